-- Parley's D1 schema: the shared index across rooms. Each RoomDO is the single writer of its room's rows;
-- the Worker writes users and devices. Every statement is idempotent, so `npm start` applies it on every run.
-- `CREATE TABLE IF NOT EXISTS` never adds a column to a table that exists: a local database made before a column
-- was added here must be reset (delete .wrangler/state/v3/d1) before `npm start`.

CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT,
  avatar TEXT,
  -- User-level push switch (1 on, 0 off).
  push_enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Service-wide bans (POST /v1/admin/users/{id}/ban), next to each room's own: a banned user's tokens are refused
-- at every upgrade, first-frame auth and HTTP request, and their live sockets are closed (4005).
CREATE TABLE IF NOT EXISTS user_bans (
  user_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  banned_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS rooms (
  -- The numeric id some dialects use.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- The stable string key: the public id, and the name of the room's Durable Object.
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('group', 'direct', 'live')),
  name TEXT,
  description TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  -- Sequence number of the newest message flushed to D1 (0 when none).
  last_message_seq INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS memberships (
  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  -- Per-room push mute (1 muted).
  muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1)),
  joined_at TEXT NOT NULL,
  -- The member's own pin of the room in their room list (pinned rooms first, newest pin first).
  pinned_at TEXT,
  PRIMARY KEY (room_id, user_id)
);
-- "Rooms of a user" (room list, presence rule, push decision).
CREATE INDEX IF NOT EXISTS memberships_by_user ON memberships (user_id, room_id);

CREATE TABLE IF NOT EXISTS messages (
  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  sender_id TEXT NOT NULL,
  sender_name TEXT,
  sender_avatar TEXT,
  type TEXT NOT NULL CHECK (type IN ('text', 'command')),
  text TEXT NOT NULL,
  custom_type TEXT,
  data TEXT,
  -- A whisper inside a room: only the sender and this user see it.
  recipient_id TEXT,
  parent_id TEXT,
  temp_id TEXT,
  created_at TEXT NOT NULL,
  edited_at TEXT,
  -- A tombstone: text is '' and data, reactions, pin and mentions are wiped.
  deleted_at TEXT,
  -- 1 when posted, one more per edit.
  version INTEGER NOT NULL DEFAULT 1,
  -- Seq of the durable event that last changed the row (the message's own seq until it changes), what that change
  -- was and when. A flush never replaces a row with an older change, and a resume from D1 replays the rows changed
  -- after its position.
  changed_seq INTEGER NOT NULL DEFAULT 0,
  last_change TEXT NOT NULL DEFAULT 'post'
    CHECK (last_change IN ('post', 'edit', 'thread', 'reaction', 'pin', 'delete')),
  changed_at TEXT,
  -- On a thread root with replies: its summary (JSON), as the room last computed it.
  thread TEXT,
  -- JSON array of {emoji, count, users}.
  reactions TEXT NOT NULL DEFAULT '[]',
  -- When a moderator pinned it in the room.
  pinned_at TEXT,
  -- JSON array of mentioned user ids, and whether @room was used.
  mentions TEXT NOT NULL DEFAULT '[]',
  mentions_room INTEGER NOT NULL DEFAULT 0 CHECK (mentions_room IN (0, 1)),
  -- History pages and unread counts walk (room_id, seq).
  PRIMARY KEY (room_id, seq)
);
-- A resume from D1: the rows changed after a position.
CREATE INDEX IF NOT EXISTS messages_by_change ON messages (room_id, changed_seq);
-- A thread's history.
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (room_id, parent_id, seq) WHERE parent_id IS NOT NULL;

-- Full-text search over message text. Contentless (the text lives in `messages`), keyed by
-- room_id * 2^32 + seq: a key computed from the primary key survives VACUUM, which may renumber the implicit
-- rowids an external-content index would point at. The triggers keep it in step with every write to `messages`,
-- the flush's upserts and a room's deletion alike; a tombstone's empty text leaves nothing indexed.
-- Each trigger is on one line: test/setup.ts splits this file at semicolons that end a line.
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
  text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages WHEN new.text != '' BEGIN INSERT INTO messages_fts (rowid, text) VALUES (new.room_id * 4294967296 + new.seq, new.text); END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text ON messages BEGIN DELETE FROM messages_fts WHERE rowid = old.room_id * 4294967296 + old.seq; INSERT INTO messages_fts (rowid, text) SELECT new.room_id * 4294967296 + new.seq, new.text WHERE new.text != ''; END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN DELETE FROM messages_fts WHERE rowid = old.room_id * 4294967296 + old.seq; END;

CREATE TABLE IF NOT EXISTS read_markers (
  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (room_id, user_id)
);

CREATE TABLE IF NOT EXISTS devices (
  -- A push token belongs to one user at a time: the newest registration wins.
  token TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  platform TEXT NOT NULL CHECK (platform IN ('android', 'ios')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_by_user ON devices (user_id);

-- Push
-- One row per push or webhook job and target (a device token or a webhook URL) once that target has its final
-- answer, written after the send: a redelivered job skips these targets, so it never sends twice.
CREATE TABLE IF NOT EXISTS push_deliveries (
  job_id TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'rejected')),
  delivered_at TEXT NOT NULL,
  PRIMARY KEY (job_id, target)
);
-- Pruning walks rows by age.
CREATE INDEX IF NOT EXISTS push_deliveries_by_time ON push_deliveries (delivered_at);

-- Jobs that exhausted their retries, as the dead-letter consumer received them, kept for inspection and replay.
CREATE TABLE IF NOT EXISTS push_dead_letters (
  -- The dead-letter queue's message id.
  message_id TEXT PRIMARY KEY,
  job_id TEXT,
  kind TEXT,
  body TEXT NOT NULL,
  dead_lettered_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS push_dead_letters_by_time ON push_dead_letters (dead_lettered_at);
