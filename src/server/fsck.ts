/**
 * `ferry admin fsck`: checks a server data directory without changing it, so it is safe
 * while the server runs. It reads the database through a read-only connection (one
 * consistent snapshot), with the small chunks kept inline in it, and the chunk files beside
 * it, and names every inconsistency:
 * a damaged database, a folder whose journal does not add up, a chunk a retained revision
 * needs that is missing, of the wrong size or (with `verifyContent`) of the wrong content,
 * and files left behind by an interrupted write.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { Hash } from '../shared/protocol/messages.js';
import { SCHEMA_VERSION } from './store/sqlite-schema.js';

export interface FsckOptions {
  /** Hash every referenced chunk again (reads every byte of the store). */
  verifyContent?: boolean;
  /** Files younger than this in tmp/, trash/ or chunks/ may belong to a write in progress. */
  graceMs?: number;
  now?: number;
}

export interface FsckProblem {
  kind:
    | 'database'
    | 'schema'
    | 'journal'
    | 'missing-chunk'
    | 'chunk-size'
    | 'chunk-content'
    | 'chunk-record'
    | 'orphan-file';
  message: string;
}

export interface FsckReport {
  problems: FsckProblem[];
  folders: number;
  revisions: number;
  chunks: number;
  chunkBytesChecked: number;
}

const DEFAULT_GRACE_MS = 10 * 60_000;

interface RevisionRow {
  folder_id: number;
  rev: number;
  path: string;
  kind: string;
  deleted: number;
  size: number;
  chunks: string;
  superseded_at: number | null;
}

export async function fsck(dataDir: string, options: FsckOptions = {}): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  const report: FsckReport = { problems, folders: 0, revisions: 0, chunks: 0, chunkBytesChecked: 0 };
  const dbPath = join(dataDir, 'ferry.db');
  if (!existsSync(dbPath)) {
    problems.push({ kind: 'database', message: `${dbPath} does not exist` });
    return report;
  }
  let db: Database;
  try {
    db = new Sqlite(dbPath, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    problems.push({ kind: 'database', message: `cannot open ${dbPath}: ${(err as Error).message}` });
    return report;
  }
  try {
    // One read transaction: every query sees the same snapshot while the server commits on.
    db.exec('BEGIN');
    if (!checkDatabase(db, problems)) return report;
    const sizes = checkJournal(db, problems, report);
    await checkChunkBytes(db, dataDir, sizes, problems, report, options);
    await checkLeftovers(dataDir, problems, options);
  } catch (err) {
    problems.push({ kind: 'database', message: `reading the database failed: ${(err as Error).message}` });
  } finally {
    db.close();
  }
  return report;
}

/** SQLite's own checks and the schema version; false when the rest can't be trusted to run. */
function checkDatabase(db: Database, problems: FsckProblem[]): boolean {
  const integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check);
  if (integrity.length !== 1 || integrity[0] !== 'ok') {
    for (const line of integrity) problems.push({ kind: 'database', message: `SQLite integrity_check: ${line}` });
  }
  for (const fk of db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]) {
    problems.push({ kind: 'database', message: `${fk.table} row ${fk.rowid} refers to a missing ${fk.parent} row` });
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== SCHEMA_VERSION) {
    problems.push({ kind: 'schema', message: `schema version ${version}, expected ${SCHEMA_VERSION}` });
    return false;
  }
  const tables = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
  const missing = ['meta', 'users', 'devices', 'folders', 'members', 'revisions', 'current', 'chunks', 'rev_chunks', 'uploads', 'chunk_blobs'].filter((t) => !tables.has(t));
  for (const t of missing) problems.push({ kind: 'schema', message: `table ${t} is missing` });
  return missing.length === 0;
}

/**
 * Each folder's journal: revisions within 1..head with the head present, `current` naming
 * each path's newest revision, and every chunk a retained revision uses recorded with one
 * size. Returns the size each chunk must have on disk.
 */
function checkJournal(db: Database, problems: FsckProblem[], report: FsckReport): Map<string, number> {
  const journal = (folder: string, message: string) => problems.push({ kind: 'journal', message: `folder ${folder}: ${message}` });
  const folders = db.prepare('SELECT id, name, rev FROM folders ORDER BY id').all() as { id: number; name: string; rev: number }[];
  report.folders = folders.length;
  const recorded = new Map((db.prepare('SELECT hash, size FROM chunks').all() as { hash: string; size: number }[]).map((r) => [r.hash, r.size]));
  const revChunks = new Set((db.prepare('SELECT hash, folder_id, rev FROM rev_chunks').all() as { hash: string; folder_id: number; rev: number }[]).map((r) => `${r.folder_id}:${r.rev}:${r.hash}`));
  const needed = new Map<string, number>();
  const revisions = db.prepare('SELECT folder_id, rev, path, kind, deleted, size, chunks, superseded_at FROM revisions WHERE folder_id = ? ORDER BY rev');
  const current = db.prepare('SELECT path, rev, kind, deleted FROM current WHERE folder_id = ?');
  for (const f of folders) {
    const name = `'${f.name}' (id ${f.id})`;
    const rows = revisions.all(f.id) as RevisionRow[];
    report.revisions += rows.length;
    const byRev = new Map(rows.map((r) => [r.rev, r]));
    const newestOfPath = new Map<string, RevisionRow>();
    for (const r of rows) {
      if (r.rev < 1 || r.rev > f.rev) journal(name, `revision ${r.rev} lies outside 1..${f.rev}`);
      newestOfPath.set(r.path, r);
      if (r.kind !== 'file' || r.deleted) continue;
      let chunks: [string, number][];
      try {
        chunks = JSON.parse(r.chunks) as [string, number][];
      } catch {
        journal(name, `revision ${r.rev} (${r.path}) has an unreadable chunk list`);
        continue;
      }
      let sum = 0;
      for (const [hash, size] of chunks) {
        sum += size;
        if (!Hash.safeParse(hash).success) {
          journal(name, `revision ${r.rev} (${r.path}) names a malformed chunk hash`);
          continue;
        }
        const known = recorded.get(hash);
        if (known === undefined) {
          problems.push({ kind: 'chunk-record', message: `chunk ${hash} of ${r.path} (folder ${name}, rev ${r.rev}) is not in the chunks table` });
        } else if (known !== size) {
          problems.push({ kind: 'chunk-record', message: `chunk ${hash} is recorded as ${known} bytes, revision ${r.rev} of ${r.path} says ${size}` });
        }
        if (!revChunks.has(`${f.id}:${r.rev}:${hash}`)) {
          problems.push({ kind: 'chunk-record', message: `chunk ${hash} of ${r.path} (folder ${name}, rev ${r.rev}) is not marked as used, so gc could drop it` });
        }
        needed.set(hash, known ?? size);
      }
      if (sum !== r.size) journal(name, `revision ${r.rev} (${r.path}) is ${r.size} bytes but its chunks add up to ${sum}`);
    }
    if (f.rev > 0 && !byRev.has(f.rev)) journal(name, `its head revision ${f.rev} is missing`);
    const cur = current.all(f.id) as { path: string; rev: number; kind: string; deleted: number }[];
    const currentPaths = new Set<string>();
    for (const c of cur) {
      currentPaths.add(c.path);
      const row = byRev.get(c.rev);
      if (!row) journal(name, `the current entry of ${c.path} is revision ${c.rev}, which is missing`);
      else if (row.path !== c.path) journal(name, `the current entry of ${c.path} is revision ${c.rev}, which is of ${row.path}`);
      else if (newestOfPath.get(c.path) !== row) journal(name, `the current entry of ${c.path} is revision ${c.rev}, not its newest ${newestOfPath.get(c.path)!.rev}`);
      else if (row.kind !== c.kind || row.deleted !== c.deleted) journal(name, `the current entry of ${c.path} disagrees with revision ${c.rev}`);
    }
    for (const [path, row] of newestOfPath) {
      if (!currentPaths.has(path)) journal(name, `${path} has revisions (newest ${row.rev}) but no current entry`);
      else if (row.superseded_at !== null) journal(name, `the newest revision ${row.rev} of ${path} is marked superseded`);
    }
  }
  // Uploaded and not yet committed chunks must be there as well.
  for (const { hash } of db.prepare('SELECT DISTINCT hash FROM uploads').all() as { hash: string }[]) {
    const size = recorded.get(hash);
    if (size === undefined) problems.push({ kind: 'chunk-record', message: `uploaded chunk ${hash} is not in the chunks table` });
    else needed.set(hash, size);
  }
  for (const [hash, size] of recorded) if (!needed.has(hash)) needed.set(hash, size);
  return needed;
}

/**
 * Every chunk the database counts on is there, inline or as a file, of the right size (and,
 * if asked, content).
 */
async function checkChunkBytes(db: Database, dataDir: string, sizes: Map<string, number>, problems: FsckProblem[], report: FsckReport, options: FsckOptions): Promise<void> {
  report.chunks = sizes.size;
  const inline = new Map((db.prepare('SELECT hash, length(data) AS size FROM chunk_blobs').all() as { hash: string; size: number }[]).map((r) => [r.hash, r.size]));
  const blob = db.prepare('SELECT data FROM chunk_blobs WHERE hash = ?').pluck();
  for (const hash of inline.keys()) {
    if (!sizes.has(hash)) problems.push({ kind: 'chunk-record', message: `inline chunk ${hash} is not in the chunks table` });
  }
  for (const [hash, size] of sizes) {
    if (!Hash.safeParse(hash).success) continue;
    const inlineSize = inline.get(hash);
    if (inlineSize !== undefined) {
      if (inlineSize !== size) {
        problems.push({ kind: 'chunk-size', message: `chunk ${hash} is ${inlineSize} bytes inline, ${size} expected` });
      } else if (options.verifyContent) {
        const actual = createHash('sha256').update(blob.get(hash) as Buffer).digest('hex');
        report.chunkBytesChecked += size;
        if (actual !== hash) problems.push({ kind: 'chunk-content', message: `inline chunk ${hash} holds data that hashes to ${actual}` });
      }
      continue;
    }
    const file = chunkPath(dataDir, hash);
    let st;
    try {
      st = await stat(file);
    } catch {
      problems.push({ kind: 'missing-chunk', message: `chunk ${hash} (${size} bytes) is missing: ${file}` });
      continue;
    }
    if (st.size !== size) {
      problems.push({ kind: 'chunk-size', message: `chunk ${hash} is ${st.size} bytes on disk, ${size} expected` });
      continue;
    }
    if (options.verifyContent) {
      const actual = await sha256File(file);
      report.chunkBytesChecked += st.size;
      if (actual !== hash) problems.push({ kind: 'chunk-content', message: `chunk ${hash} holds data that hashes to ${actual}` });
    }
  }
  // Chunk files the database does not know: a crash between the write and its record.
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const now = options.now ?? Date.now();
  for (const file of await listFiles(join(dataDir, 'chunks'))) {
    const name = file.slice(file.lastIndexOf('/') + 1);
    const expected = Hash.safeParse(name).success ? chunkPath(dataDir, name) : undefined;
    if (expected === file && sizes.has(name)) continue;
    if (expected === file && (await youngerThan(file, now - grace))) continue;
    problems.push({ kind: 'orphan-file', message: `${file} is not a chunk the database knows` });
  }
}

/** Half-written chunks (tmp/) and chunks caught mid-removal (trash/) older than the grace period. */
async function checkLeftovers(dataDir: string, problems: FsckProblem[], options: FsckOptions): Promise<void> {
  const cutoff = (options.now ?? Date.now()) - (options.graceMs ?? DEFAULT_GRACE_MS);
  for (const dir of ['tmp', 'trash']) {
    for (const file of await listFiles(join(dataDir, dir))) {
      if (await youngerThan(file, cutoff)) continue;
      problems.push({ kind: 'orphan-file', message: `${file} was left by an interrupted ${dir === 'tmp' ? 'write' : 'removal'} (the server removes it at its next start)` });
    }
  }
}

function chunkPath(dataDir: string, hash: string): string {
  return join(dataDir, 'chunks', hash.slice(0, 2), hash.slice(2, 4), hash);
}

async function youngerThan(file: string, cutoff: number): Promise<boolean> {
  try {
    return (await stat(file)).mtimeMs > cutoff;
  } catch {
    return true; // gone meanwhile: it was in use
  }
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
