import { harajUserId } from "../dialects/haraj/ids";
import { harajMessageBody } from "../dialects/haraj/packets";
import type { Message } from "../domain/model";
import { truncateUtf8 } from "./jobs";
import { classifyHttpStatus, type HttpVerdict } from "./retry";

/** How long FCM and APNs keep an undelivered notification (seed 001: `time_to_live: 3600`). */
export const PUSH_TTL_SECONDS = 3600;
/** The message text inside `xdata`: bounded so that the whole payload stays under the 4 KiB limits. */
const XDATA_TEXT_BYTES = 1536;

export type Platform = "android" | "ios";

export interface Device {
  token: string;
  platform: Platform;
}

/** What a message push carries to the builders: the fields of a message push job they read. */
export interface PushContent {
  user_id: string;
  title: string;
  body: string;
  message: Message;
}

/** The body of one FCM HTTP v1 `messages:send` request: one device per request. */
export interface FcmSendRequest {
  message: {
    token: string;
    android?: { priority: "HIGH"; ttl: string; data: Record<string, string> };
    apns?: { headers: Record<string, string>; payload: Record<string, unknown> };
  };
}

export function fcmSendUrl(baseUrl: string, projectId: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(projectId)}/messages:send`;
}

/** The seed's `xtype`, `xdata` and `xto`, shared by both platforms. */
function harajFields(content: PushContent) {
  const message = { ...content.message, text: truncateUtf8(content.message.text, XDATA_TEXT_BYTES) };
  return {
    xtype: "NEW_MESSAGE",
    // Direct rooms between numeric users get the seed's packet; other rooms carry the canonical message.
    xdata: harajMessageBody(message) ?? message,
    xto: [harajUserId(content.user_id)],
  };
}

/**
 * Android gets a data-only message, delivered to the app in the background at high priority (seed 001,
 * "Android Format"). FCM v1 data values are strings, so `xdata` and `xto` travel JSON-encoded.
 */
export function androidRequest(content: PushContent, token: string): FcmSendRequest {
  const { xtype, xdata, xto } = harajFields(content);
  return {
    message: {
      token,
      android: {
        priority: "HIGH",
        ttl: `${PUSH_TTL_SECONDS}s`,
        data: { xtype, xdata: JSON.stringify(xdata), xto: JSON.stringify(xto) },
      },
    },
  };
}

/** iOS gets a visible alert through FCM's APNs block (seed 001, "iOS Format"). */
export function iosRequest(content: PushContent, token: string, now: number): FcmSendRequest {
  return {
    message: {
      token,
      apns: {
        headers: {
          "apns-push-type": "alert",
          "apns-priority": "10",
          "apns-expiration": String(Math.floor(now / 1000) + PUSH_TTL_SECONDS),
        },
        payload: {
          aps: {
            alert: { title: content.title, body: content.body },
            sound: "default",
            "mutable-content": 1,
          },
          ...harajFields(content),
        },
      },
    },
  };
}

export function fcmRequest(content: PushContent, device: Device, now: number): FcmSendRequest {
  return device.platform === "ios"
    ? iosRequest(content, device.token, now)
    : androidRequest(content, device.token);
}

/** What one answer from FCM means for one device. */
export type SendVerdict =
  | HttpVerdict
  /** The device token is dead: delete the device, do not retry. */
  | { kind: "dead_token"; reason: string }
  /** The access token was refused: drop it and retry with a fresh one. */
  | { kind: "reauthenticate" };

interface FcmErrorBody {
  error?: {
    status?: string;
    message?: string;
    details?: { "@type"?: string; errorCode?: string; fieldViolations?: { field?: string }[] }[];
  };
}

/**
 * Reads FCM's error body: `UNREGISTERED` always means the token is dead; `INVALID_ARGUMENT` means so only when
 * it blames the token, since a malformed payload must not cost the user their devices.
 */
export function classifyFcmResponse(status: number, body: unknown, retryAfter: string | null): SendVerdict {
  const error = (body as FcmErrorBody | null)?.error;
  const details = Array.isArray(error?.details) ? error.details : [];
  const errorCode = details.find((d) => typeof d?.errorCode === "string")?.errorCode ?? error?.status ?? "";
  const reason = `${status} ${errorCode} ${error?.message ?? ""}`.trim();
  if (status === 401) return { kind: "reauthenticate" };
  if (errorCode === "UNREGISTERED") return { kind: "dead_token", reason };
  if (errorCode === "INVALID_ARGUMENT") {
    const blamesToken =
      details.some((d) => d?.fieldViolations?.some((v) => v?.field === "message.token")) ||
      /registration token/i.test(error?.message ?? "");
    if (blamesToken) return { kind: "dead_token", reason };
  }
  return classifyHttpStatus(status, reason, retryAfter);
}
