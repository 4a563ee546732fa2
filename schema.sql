-- Parley's D1 schema: the shared index across rooms. Each RoomDO is the single writer of its room's rows;
-- the Worker writes users and devices. Every statement is idempotent, so `npm start` applies it on every run.

CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT,
  avatar TEXT,
  -- User-level push switch (1 on, 0 off).
  push_enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
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
  deleted_at TEXT,
  -- History pages and unread counts walk (room_id, seq).
  PRIMARY KEY (room_id, seq)
);

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
