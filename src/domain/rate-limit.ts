/** A token bucket: `tokens` left at time `at` (ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

export interface RateDecision {
  allowed: boolean;
  bucket: Bucket;
  /** Whole seconds until one token is available, when refused. */
  retryAfter: number;
}

export function takeToken(
  bucket: Bucket | undefined,
  now: number,
  perSecond: number,
  burst: number,
): RateDecision {
  const prior = bucket ?? { tokens: burst, at: now };
  const refilled = Math.min(burst, prior.tokens + ((now - prior.at) / 1000) * perSecond);
  if (refilled >= 1) return { allowed: true, bucket: { tokens: refilled - 1, at: now }, retryAfter: 0 };
  return {
    allowed: false,
    bucket: { tokens: refilled, at: now },
    retryAfter: Math.max(1, Math.ceil((1 - refilled) / perSecond)),
  };
}
