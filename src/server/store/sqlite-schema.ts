/**
 * The server database's schema, one migration per `user_version`. Append new migrations;
 * never edit one that has shipped.
 */
import type { Database } from 'better-sqlite3';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    quota_bytes INTEGER,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_seen INTEGER,
    revoked_at INTEGER
  );

  CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    rev INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    files INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE members (
    folder_id INTEGER NOT NULL REFERENCES folders(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'write', 'read')),
    PRIMARY KEY (folder_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX members_user ON members(user_id);

  -- Every change ever committed and still retained. A row is superseded when a newer
  -- revision of its path commits; superseded rows are dropped after the retention period.
  CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    hash TEXT NOT NULL,
    chunks TEXT NOT NULL,
    target TEXT NOT NULL,
    device TEXT NOT NULL,
    time INTEGER NOT NULL,
    moved_from TEXT,
    superseded_at INTEGER
  );
  CREATE UNIQUE INDEX revisions_rev ON revisions(folder_id, rev);
  CREATE INDEX revisions_path ON revisions(folder_id, path, rev);
  CREATE INDEX revisions_superseded ON revisions(superseded_at) WHERE superseded_at IS NOT NULL;

  -- The newest revision of every path, tombstones included.
  CREATE TABLE current (
    folder_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    rev INTEGER NOT NULL,
    kind TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (folder_id, path)
  ) WITHOUT ROWID;
  CREATE INDEX current_rev ON current(folder_id, rev);

  CREATE TABLE chunks (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_at INTEGER NOT NULL) WITHOUT ROWID;

  -- Which retained revision uses which chunk: what garbage collection keeps, and what a
  -- folder's members may download.
  CREATE TABLE rev_chunks (
    hash TEXT NOT NULL,
    folder_id INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    PRIMARY KEY (hash, folder_id, rev)
  ) WITHOUT ROWID;
  CREATE INDEX rev_chunks_rev ON rev_chunks(folder_id, rev);

  -- Chunks uploaded into a folder and not (yet) committed; they count as the folder's for
  -- a grace period, so an interrupted upload resumes where it stopped.
  CREATE TABLE uploads (
    folder_id INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (folder_id, hash)
  ) WITHOUT ROWID;
  CREATE INDEX uploads_hash ON uploads(hash);
  `,
  `
  -- The bytes of small chunks (see INLINE_CHUNK_BYTES), written in the transaction that
  -- records them: a group of them costs one WAL sync instead of a file and an fsync each.
  -- Larger chunks are files under chunks/. A row here always has its row in chunks.
  CREATE TABLE chunk_blobs (hash TEXT PRIMARY KEY, data BLOB NOT NULL);
  `,
];

/** The user_version a database has once every migration ran. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(
      `the database has schema version ${version}, newer than this Ferry understands (${MIGRATIONS.length}); upgrade Ferry`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
