import type { Message } from "../../src/domain/model";

/**
 * Seed 001's example ("Message Packet"): user 2 "abdullah_zagat" writes "hello!" to user 1 in their p2p topic,
 * as a canonical message, and the packet (FCM `xdata`) it must become.
 */
export function seedMessage(overrides: Partial<Message> = {}): Message {
  return {
    id: `m-${crypto.randomUUID()}`,
    room: "dm:1:2",
    seq: 1519011921221,
    sender: { id: "2", name: "abdullah_zagat", avatar: null },
    type: "text",
    text: "hello!",
    custom_type: null,
    data: null,
    to: null,
    parent_id: null,
    temp_id: null,
    created_at: "2018-10-08T08:30:39.657Z",
    edited_at: null,
    deleted_at: null,
    version: 1,
    changed_seq: 1519011921221,
    thread: null,
    reactions: [],
    pinned_at: null,
    mentions: [],
    mentions_room: false,
    ...overrides,
  };
}

export const SEED_PACKET = {
  topic_id: "p2p1_2",
  seq_id: 1519011921221,
  from_id: 2,
  name: "abdullah_zagat",
  content: { type: "text/plain", payload: { text: "hello!" } },
  status: { "1": false },
  ts: "2018-10-08T08:30:39.657Z",
};
