import { z } from "@hono/zod-openapi";
import { avatarUrlSchema, displayNameSchema } from "../auth/jwt";
import { JSON_LIMITS } from "../domain/bounds";
import { MAX_EMOJI_LENGTH, normalizeEmoji } from "../domain/emoji";
import { ROOM_KEY_PATTERN } from "../domain/ids";
import { REACTOR_PREVIEW, ROLES, ROOM_KINDS, THREAD_PREVIEW } from "../domain/model";
import {
  boundedJsonSchema,
  messageTypeSchema,
  refineJsonBounds,
  tempIdSchema,
  userIdSchema,
} from "../domain/validation";
import { MAX_QUERY_CHARS, MAX_QUERY_TERMS, MAX_SEARCH_PAGE } from "../storage/search";

/** Request and response shapes of HTTP API v1: the validators and `/v1/openapi.json` both come from these. */

/** Registered (named) schemas are made nullable with a union: `.nullable()` would change the named schema itself. */
const isoTime = z.string().openapi({ format: "date-time", example: "2026-01-01T12:00:00.000Z" });

export const roleSchema = z.enum(ROLES).openapi("Role");

export const profileSchema = z
  .object({
    id: z.string().openapi({ example: "alice" }),
    name: z.string().nullable().openapi({ example: "Alice" }),
    avatar: z.string().nullable().openapi({ example: "https://example.com/alice.png" }),
  })
  .openapi("Profile");

export const userSchema = profileSchema
  .extend({
    push_enabled: z.boolean(),
    created_at: isoTime.nullable().openapi({ description: "Null until the profile is stored (PUT /v1/me)" }),
    updated_at: isoTime.nullable(),
  })
  .openapi("User");

export const meSchema = userSchema
  .extend({
    total_unread: z
      .number()
      .int()
      .openapi({ description: "Unread messages across my rooms: the sum of the room list's unread_count" }),
  })
  .openapi("Me");

const JSON_BOUNDS_TEXT =
  `at most ${JSON_LIMITS.maxDepth} levels deep, ${JSON_LIMITS.maxKeysPerObject} keys per object, ` +
  `${JSON_LIMITS.maxItemsPerArray} items per array, ${JSON_LIMITS.maxStringChars} characters per string and ` +
  `${JSON_LIMITS.maxValues} values`;

const metadataSchema = z
  .record(z.string(), z.unknown())
  .superRefine(refineJsonBounds)
  .openapi({
    description: `Free-form JSON object owned by the application: ${JSON_BOUNDS_TEXT}`,
    example: { topic: "launch" },
  });

export const roomSchema = z
  .object({
    key: z.string().openapi({ description: "Stable string key, the room's id in URLs", example: "team-42" }),
    number: z
      .number()
      .int()
      .openapi({ description: "Numeric id; also accepted wherever a room id is", example: 7 }),
    kind: z.enum(ROOM_KINDS),
    name: z.string().nullable(),
    description: z.string().nullable(),
    metadata: metadataSchema,
    private: z.boolean().openapi({ description: "A private live room admits members only" }),
    created_by: z.string(),
    created_at: isoTime,
  })
  .openapi("Room");

export const memberSchema = z
  .object({ user_id: z.string(), role: roleSchema, joined_at: isoTime })
  .openapi("Member");

export const threadSummarySchema = z
  .object({
    replies_count: z.number().int(),
    participants_count: z.number().int(),
    participants_preview: z
      .array(profileSchema)
      .openapi({ description: `Up to ${THREAD_PREVIEW}: the root's author first, then by first reply` }),
    last_reply_at: isoTime.nullable(),
  })
  .openapi("ThreadSummary");

export const reactionSchema = z
  .object({
    emoji: z.string().openapi({ example: "👍" }),
    count: z.number().int(),
    users: z.array(profileSchema).openapi({ description: `Up to ${REACTOR_PREVIEW} reactors, oldest first` }),
  })
  .openapi("Reaction");

export const messageSchema = z
  .object({
    id: z.string().openapi({ description: "UUIDv7" }),
    room: z.string(),
    seq: z.number().int().openapi({ description: "Position in the room's event sequence" }),
    sender: profileSchema,
    type: messageTypeSchema,
    text: z.string(),
    custom_type: z.string().nullable(),
    data: z.unknown().openapi({ description: `Application JSON sent with the message: ${JSON_BOUNDS_TEXT}` }),
    to: z
      .string()
      .nullable()
      .openapi({ description: "Set on a whisper: only the sender and this user see it" }),
    parent_id: z.string().nullable().openapi({ description: "The thread root this message replies to" }),
    parent_seq: z.number().int().nullish().openapi({ description: "That root's seq, when known" }),
    temp_id: z.string().nullable().openapi({ description: "The sender's idempotency key" }),
    created_at: isoTime,
    edited_at: isoTime.nullable(),
    deleted_at: isoTime.nullable().openapi({ description: "Set on a tombstone: text and data are wiped" }),
    version: z.number().int().openapi({ description: "1 when created, one more per edit" }),
    changed_seq: z.number().int().openapi({ description: "Seq of the event that last changed the message" }),
    thread: z
      .union([threadSummarySchema, z.null()])
      .openapi({ description: "On a thread root with replies: the thread's summary" }),
    reactions: z.array(reactionSchema).openapi({ description: "One entry per emoji, oldest first" }),
    pinned_at: isoTime.nullable().openapi({ description: "When a moderator pinned it in the room" }),
    mentions: z.array(z.string()).openapi({ description: "User ids mentioned with `@id`" }),
    mentions_room: z.boolean().openapi({ description: "Whether `@room` or `@all` was used" }),
  })
  .openapi("Message");

export const roomViewSchema = z
  .object({
    room: roomSchema,
    members: z.array(
      memberSchema
        .extend({ name: z.string().nullable(), avatar: z.string().nullable() })
        .openapi("MemberProfile", {
          description: "A member with the name and avatar known when they joined",
        }),
    ),
    role: z
      .union([roleSchema, z.null()])
      .openapi({ description: "My role; null when I view a public live room" }),
    head: z.number().int().openapi({ description: "Sequence number of the room's newest event" }),
  })
  .openapi("RoomView");

export const roomListItemSchema = z
  .object({
    room: roomSchema,
    role: roleSchema,
    muted: z.boolean(),
    unread_count: z.number().int(),
    last_message: z
      .union([messageSchema, z.null()])
      .openapi({ description: "Null while the room has no message" }),
  })
  .openapi("RoomListItem");

export const roomListSchema = z
  .object({
    rooms: z.array(roomListItemSchema),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null at the end" }),
  })
  .openapi("RoomList");

export const deviceSchema = z
  .object({
    token: z.string(),
    platform: z.enum(["android", "ios"]),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .openapi("Device");

const nullableName = displayNameSchema.nullish().openapi({ example: "Alice" });
const nullableAvatar = avatarUrlSchema.nullish().openapi({ example: "https://example.com/alice.png" });

export const profileBodySchema = z
  .object({ name: nullableName, avatar: nullableAvatar })
  .openapi("ProfileUpdate");

export const settingsBodySchema = z.object({ push_enabled: z.boolean() }).openapi("Settings");

export const deviceBodySchema = z
  .object({
    platform: z.enum(["android", "ios"]),
    token: z
      .string()
      .min(1)
      .max(4096)
      .openapi({ description: "FCM registration token or APNs device token" }),
  })
  .openapi("DeviceRegistration");

/** A room as named in a URL: its string key or its numeric id. */
const roomRefSchema = z
  .string()
  .min(1)
  .max(300)
  .openapi({ description: "Room key, or the room's numeric id", example: "team-42" });

export const roomParamsSchema = z.object({
  id: roomRefSchema.openapi({ param: { name: "id", in: "path" } }),
});

export const memberParamsSchema = roomParamsSchema.extend({
  user: userIdSchema.openapi({ param: { name: "user", in: "path" }, example: "bob" }),
});

export const deviceParamsSchema = z.object({
  token: z
    .string()
    .min(1)
    .max(4096)
    .openapi({ param: { name: "token", in: "path" } }),
});

const roomTextSchema = z.string().max(256);
const descriptionSchema = z.string().max(4096);

export const createRoomBodySchema = z
  .object({
    kind: z.enum(["group", "live"]).default("group"),
    key: z
      .string()
      .regex(ROOM_KEY_PATTERN, "key must be 1-128 of A-Z a-z 0-9 _ . : -, not starting with dm:")
      .optional()
      .openapi({
        description:
          "Chosen key; generated when absent. An all-digit key without a leading zero (at most 15 digits) is also the room's number",
        example: "team-42",
      }),
    name: roomTextSchema.nullish(),
    description: descriptionSchema.nullish(),
    metadata: metadataSchema.optional(),
    private: z.boolean().optional(),
    members: z
      .array(userIdSchema)
      .max(500)
      .default([])
      .openapi({ description: "Other initial members (plain members); I become owner" }),
  })
  .openapi("RoomCreation");

export const updateRoomBodySchema = z
  .object({
    name: roomTextSchema.nullish(),
    description: descriptionSchema.nullish(),
    metadata: metadataSchema.optional(),
    private: z.boolean().optional(),
  })
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), "nothing to update")
  .openapi("RoomUpdate");

export const addMembersBodySchema = z
  .object({ user_ids: z.array(userIdSchema).min(1).max(500), role: roleSchema.default("member") })
  .openapi("MembersAddition");

export const membersSchema = z.object({ members: z.array(memberSchema) }).openapi("Members");

export const roleBodySchema = z.object({ role: roleSchema }).openapi("RoleChange");

export const muteBodySchema = z.object({ muted: z.boolean() }).openapi("Mute");

export const directBodySchema = z
  .object({ user_id: userIdSchema.openapi({ example: "bob" }) })
  .openapi("DirectRoom");

const pageLimit = z.coerce.number().int().min(1).max(100).default(50);

export const roomListQuerySchema = z.object({
  limit: pageLimit.openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page" }),
});

/** A message named in a URL by its id. */
const messageIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9A-Za-z_-]+$/, "not a message id");

const seqParam = z.coerce.number().int().min(0).optional();

export const historyQuerySchema = z.object({
  before: seqParam.openapi({
    param: { name: "before", in: "query" },
    description: "Only messages with seq < before",
  }),
  after: seqParam.openapi({
    param: { name: "after", in: "query" },
    description: "Only messages with seq > after",
  }),
  limit: pageLimit.openapi({ param: { name: "limit", in: "query" } }),
  thread: messageIdSchema
    .optional()
    .openapi({ param: { name: "thread", in: "query" }, description: "A thread root's id: only its replies" }),
});

export const messagesSchema = z.object({ messages: z.array(messageSchema) }).openapi("Messages");

export const messageParamsSchema = roomParamsSchema.extend({
  message: messageIdSchema.openapi({ param: { name: "message", in: "path" }, description: "The message id" }),
});

export const reactionParamsSchema = messageParamsSchema.extend({
  emoji: z
    .string()
    .max(MAX_EMOJI_LENGTH)
    .transform((raw, ctx) => {
      const emoji = normalizeEmoji(raw);
      if (emoji === null) ctx.addIssue({ code: "custom", message: "not one emoji or :shortcode:" });
      return emoji ?? z.NEVER;
    })
    .openapi({
      param: { name: "emoji", in: "path" },
      description: "One emoji (percent-encoded), or a `:shortcode:` of 1-32 characters from a-z 0-9 _ + -",
      example: "👍",
    }),
});

export const sendBodySchema = z
  .object({
    temp_id: tempIdSchema.optional().openapi({
      description:
        "Idempotency key (or the Idempotency-Key header): a retry with it returns the first result",
    }),
    text: z.string().openapi({ description: "Up to MAX_MESSAGE_CHARS characters (8000 by default)" }),
    type: messageTypeSchema.optional(),
    custom_type: z.string().max(64).nullish(),
    data: boundedJsonSchema.optional().openapi({ description: `Application JSON: ${JSON_BOUNDS_TEXT}` }),
    to: userIdSchema.nullish().openapi({ description: "Whisper: only this member and I see it" }),
    parent_id: messageIdSchema.nullish().openapi({ description: "Reply in the thread of this root message" }),
  })
  .openapi("MessageDraft");

export const idempotencyHeadersSchema = z.object({
  "idempotency-key": tempIdSchema.optional().openapi({
    param: { name: "idempotency-key", in: "header" },
    description: "Idempotency key of the send; must equal `temp_id` when both are given",
  }),
});

export const sentSchema = z
  .object({
    message: messageSchema,
    epoch: z.string().openapi({ description: "The room's epoch: with `message.seq`, a resume position" }),
    duplicate: z.boolean().openapi({ description: "True when the key was used before: the first result" }),
  })
  .openapi("Sent");

export const editBodySchema = z
  .object({ text: z.string(), data: boundedJsonSchema.optional() })
  .openapi("MessageEdit");

export const messageResultSchema = z.object({ message: messageSchema }).openapi("MessageResult");

export const readBodySchema = z
  .object({
    seq: z
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: "Read up to this seq; the room's head when absent" }),
  })
  .openapi("ReadMarker");

export const readSchema = z
  .object({ seq: z.number().int().openapi({ description: "My read marker after the call" }) })
  .openapi("ReadPosition");

export const roomPinSchema = z
  .object({
    pinned_at: isoTime.nullable().openapi({ description: "When I pinned the room; null when unpinned" }),
  })
  .openapi("RoomPin");

export const notificationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["mention", "reply", "direct", "added"]),
    room: z.string().openapi({ description: "The room key" }),
    message_id: z.string().nullable().openapi({ description: "The message it is about; null for `added`" }),
    message_seq: z.number().int().nullable(),
    thread_id: z.string().nullable().openapi({ description: "The thread root, for replies" }),
    actor: profileSchema,
    text: z.string().nullable().openapi({ description: "A short preview of the message text" }),
    created_at: isoTime,
    read_at: isoTime.nullable(),
  })
  .openapi("Notification");

export const notificationsQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(50)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" } }),
  before: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ param: { name: "before", in: "query" }, description: "next_before of the previous page" }),
});

export const notificationsSchema = z
  .object({
    notifications: z.array(notificationSchema).openapi({ description: "Newest first" }),
    unread: z.number().int().openapi({ description: "Entries not read yet (the new-notifications count)" }),
    next_before: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `before` for the next page; null at the end" }),
  })
  .openapi("Notifications");

export const notificationsReadBodySchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "The entry to mark read; all when absent" }),
  })
  .openapi("NotificationsRead");

export const unreadNotificationsSchema = z
  .object({ unread: z.number().int().openapi({ description: "Entries still unread" }) })
  .openapi("NotificationCount");

export const searchQuerySchema = z.object({
  q: z
    .string()
    .min(1)
    .max(MAX_QUERY_CHARS)
    .openapi({
      param: { name: "q", in: "query" },
      description: `Words that must all match (up to ${MAX_QUERY_TERMS} used); a word ending in * matches as a prefix`,
      example: "launch plan*",
    }),
  room: roomRefSchema
    .optional()
    .openapi({ param: { name: "room", in: "query" }, description: "Only this room" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_SEARCH_PAGE)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page" }),
  order: z
    .enum(["recent", "relevance"])
    .default("recent")
    .openapi({ param: { name: "order", in: "query" }, description: "Newest first, or best match first" }),
});

export const searchResultSchema = z
  .object({
    messages: z.array(messageSchema),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null at the end" }),
  })
  .openapi("SearchResult");

export const tokenBodySchema = z
  .object({
    user_id: userIdSchema.openapi({ example: "alice" }),
    name: nullableName,
    avatar: nullableAvatar,
    ttl: z
      .number()
      .int()
      .positive()
      .optional()
      .openapi({ description: "Lifetime in seconds, capped by TOKEN_TTL_SECONDS" }),
    room: roomRefSchema.optional().openapi({ description: "Fill this room into the room socket URLs" }),
  })
  .openapi("TokenRequest");

export const tokenResponseSchema = z
  .object({
    token: z.string(),
    expires_at: isoTime,
    user_id: z.string(),
    urls: z
      .object({
        native_user: z.string().openapi({ example: "wss://chat.example.com/v1/ws" }),
        native_room: z.string().openapi({ example: "wss://chat.example.com/v1/rooms/{room}/ws" }),
        stomp: z.string().openapi({ example: "wss://chat.example.com/v1/rooms/{room}/stomp" }),
        haraj: z.string().openapi({ example: "wss://chat.example.com/chat/ws" }),
      })
      .openapi({ description: "WebSocket URLs; `{room}` is templated unless the request named a room" }),
  })
  .openapi("Token");
