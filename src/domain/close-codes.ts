/**
 * WebSocket close codes shared by every dialect. The 4001–4012 meanings come from the Swappart API (seed 002)
 * so that its clients and ours read a close the same way.
 */
export const CloseCode = {
  NoAuthToken: 4001,
  InvalidToken: 4002,
  Afk: 4003,
  AdminAction: 4004,
  Banned: 4005,
  ServerError: 4006,
  ServerShutdown: 4007,
  NewDevice: 4008,
  ConnectionClosed: 4009,
  BadMessageStructure: 4010,
  HatefulSpeech: 4011,
  UnauthorizedAction: 4012,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
