import { describe, expect, it } from "vitest";
import { harajMessageBody } from "../../src/dialects/haraj/packets";
import {
  androidRequest,
  classifyFcmResponse,
  fcmRequest,
  fcmSendUrl,
  iosRequest,
  PUSH_TTL_SECONDS,
} from "../../src/push/fcm";
import { messagePushJob, parsePushJob, pushAlert, truncateUtf8 } from "../../src/push/jobs";
import { SEED_PACKET, seedMessage } from "../helpers/seed-001";
import { seedPushJob } from "./fake-push";

const SEED_XDATA = SEED_PACKET;

/** Seed 001, "iOS Format (APNS)". */
const SEED_IOS = {
  aps: { alert: { title: "abdullah_zagat", body: "hello!" }, sound: "default", "mutable-content": 1 },
  xtype: "NEW_MESSAGE",
  xdata: SEED_XDATA,
  xto: [1],
};

const NOW = Date.parse("2026-01-01T00:00:00Z");

describe("the Haraj message packet (xdata)", () => {
  it("matches the seed field by field", () => {
    expect(harajMessageBody(seedMessage())).toStrictEqual(SEED_XDATA);
  });

  it("carries the canonical message for rooms the Haraj packet cannot name", () => {
    const message = seedMessage({ room: "r_lobby" });
    const request = androidRequest(seedPushJob("1", { message, room: "r_lobby", room_kind: "group" }), "tok");
    expect(JSON.parse(request.message.android?.data.xdata ?? "")).toMatchObject({
      id: message.id,
      room: "r_lobby",
    });
  });
});

describe("FCM HTTP v1 requests", () => {
  const job = seedPushJob("1");

  it("builds the Android data message of the seed", () => {
    const request = androidRequest(job, "<fcm_token_1>");
    expect(Object.keys(request.message).sort()).toEqual(["android", "token"]);
    expect(request.message.token).toBe("<fcm_token_1>");
    const android = request.message.android;
    expect(android?.priority).toBe("HIGH");
    expect(android?.ttl).toBe("3600s");
    expect(Object.keys(android?.data ?? {}).sort()).toEqual(["xdata", "xto", "xtype"]);
    for (const value of Object.values(android?.data ?? {})) expect(typeof value).toBe("string");
    expect(android?.data.xtype).toBe("NEW_MESSAGE");
    expect(JSON.parse(android?.data.xdata ?? "")).toStrictEqual(SEED_XDATA);
    expect(JSON.parse(android?.data.xto ?? "")).toStrictEqual([1]);
  });

  it("builds the iOS alert of the seed through the APNs block", () => {
    const request = iosRequest(job, "<apns_token>", NOW);
    expect(Object.keys(request.message).sort()).toEqual(["apns", "token"]);
    expect(request.message.token).toBe("<apns_token>");
    expect(request.message.apns?.payload).toStrictEqual(SEED_IOS);
    expect(request.message.apns?.headers).toStrictEqual({
      "apns-push-type": "alert",
      "apns-priority": "10",
      "apns-expiration": String(NOW / 1000 + PUSH_TTL_SECONDS),
    });
  });

  it("picks the builder by the device's platform", () => {
    expect(fcmRequest(job, { token: "a", platform: "android" }, NOW).message.android).toBeDefined();
    expect(fcmRequest(job, { token: "i", platform: "ios" }, NOW).message.apns).toBeDefined();
  });

  it("keeps a long text inside the payload limits", () => {
    const long = seedPushJob("1", { message: seedMessage({ text: "ع".repeat(8000) }) });
    const android = JSON.stringify(androidRequest(long, "t"));
    const ios = JSON.stringify(iosRequest({ ...long, ...pushAlert(long.message, 1) }, "t", NOW));
    expect(new TextEncoder().encode(android).length).toBeLessThan(4096);
    expect(new TextEncoder().encode(ios).length).toBeLessThan(4096);
    expect(JSON.parse(JSON.parse(android).message.android.data.xdata).content.payload.text).toMatch(/…$/);
  });

  it("names the send endpoint under the configured base URL", () => {
    expect(fcmSendUrl("https://fcm.googleapis.com", "my-proj")).toBe(
      "https://fcm.googleapis.com/v1/projects/my-proj/messages:send",
    );
    expect(fcmSendUrl("http://localhost:9099/", "p")).toBe(
      "http://localhost:9099/v1/projects/p/messages:send",
    );
  });
});

describe("FCM answers", () => {
  const fcmError = (
    code: number,
    status: string,
    errorCode?: string,
    extra: object[] = [],
    message = "x",
  ) => ({
    error: {
      code,
      status,
      message,
      details: [
        ...(errorCode ? [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] : []),
        ...extra,
      ],
    },
  });

  it("treats 2xx as sent", () => {
    expect(classifyFcmResponse(200, { name: "projects/p/messages/1" }, null)).toEqual({ kind: "sent" });
  });

  it("treats UNREGISTERED as a dead token", () => {
    expect(classifyFcmResponse(404, fcmError(404, "NOT_FOUND", "UNREGISTERED"), null).kind).toBe(
      "dead_token",
    );
  });

  it("treats INVALID_ARGUMENT as a dead token only when it blames the token", () => {
    const onToken = fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", [
      { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "message.token" }] },
    ]);
    expect(classifyFcmResponse(400, onToken, null).kind).toBe("dead_token");
    const byMessage = fcmError(
      400,
      "INVALID_ARGUMENT",
      undefined,
      [],
      "The registration token is not a valid FCM registration token",
    );
    expect(classifyFcmResponse(400, byMessage, null).kind).toBe("dead_token");
    const onPayload = fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", [
      {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [{ field: "message.android.ttl" }],
      },
    ]);
    expect(classifyFcmResponse(400, onPayload, null).kind).toBe("rejected");
  });

  it("asks for a new access token on 401", () => {
    expect(classifyFcmResponse(401, fcmError(401, "UNAUTHENTICATED"), null)).toEqual({
      kind: "reauthenticate",
    });
  });

  it("retries 429 and 5xx with the server's Retry-After", () => {
    expect(
      classifyFcmResponse(429, fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), "17"),
    ).toMatchObject({
      kind: "retry",
      retryAfter: "17",
    });
    expect(classifyFcmResponse(503, null, null)).toMatchObject({ kind: "retry", retryAfter: null });
    expect(classifyFcmResponse(500, "not json", null).kind).toBe("retry");
  });

  it("rejects any other 4xx for good", () => {
    expect(
      classifyFcmResponse(403, fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), null).kind,
    ).toBe("rejected");
    expect(classifyFcmResponse(400, null, null).kind).toBe("rejected");
  });
});

describe("message push jobs", () => {
  it("carries the sender as title and the text as body", () => {
    const message = seedMessage();
    const job = messagePushJob("1", { room: message.room, room_kind: "direct", count: 1, message });
    expect(job).toStrictEqual({
      kind: "message",
      job_id: `push:1:${message.id}`,
      user_id: "1",
      room: "dm:1:2",
      room_kind: "direct",
      count: 1,
      message,
      title: "abdullah_zagat",
      body: "hello!",
    });
  });

  it("says how many more messages a collapsed push stands for", () => {
    expect(pushAlert(seedMessage(), 3)).toEqual({ title: "abdullah_zagat", body: "hello! (+2 more)" });
    const long = pushAlert(seedMessage({ text: "x".repeat(2000) }), 2);
    expect(new TextEncoder().encode(long.body).length).toBeLessThanOrEqual(512);
    expect(long.body).toMatch(/… \(\+1 more\)$/);
  });

  it("cuts UTF-8 text on character boundaries", () => {
    expect(truncateUtf8("hello", 5)).toBe("hello");
    expect(truncateUtf8("hello!", 5)).toBe("he…");
    expect(truncateUtf8("😀😀😀", 8)).toBe("😀…");
  });

  it("reads back every job it writes", () => {
    const job = seedPushJob("1");
    expect(parsePushJob(job)).toEqual({ ok: true, job });
    expect(parsePushJob(JSON.parse(JSON.stringify(job)))).toEqual({ ok: true, job });
  });

  it("refuses bodies that are not jobs", () => {
    const job = seedPushJob("1");
    const refused = [
      null,
      "text",
      {},
      { kind: "placeholder" },
      { ...job, job_id: "" },
      { ...job, count: 0 },
      { ...job, room_kind: "channel" },
      { ...job, message: { ...job.message, sender: null } },
      { ...job, message: { ...job.message, seq: "1" } },
      {
        kind: "webhook",
        job_id: "w",
        url: "ftp://x.test/",
        occurred_at: "t",
        event: "message.created",
        payload: {},
      },
      {
        kind: "webhook",
        job_id: "w",
        url: "https://x.test/",
        occurred_at: "t",
        event: "room.created",
        payload: {},
      },
      {
        kind: "webhook",
        job_id: "w",
        url: "https://x.test/",
        occurred_at: "t",
        event: "member.left",
        payload: [],
      },
    ];
    for (const body of refused) expect(parsePushJob(body).ok, JSON.stringify(body)).toBe(false);
  });
});
