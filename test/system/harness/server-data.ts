/**
 * What the server keeps, read straight from its data directory (read-only, safe while it
 * runs): the journal's revisions must be contiguous from 1 to the folder's revision, the
 * current-state table must name each path's newest revision, and every chunk a retained
 * revision references must be in the chunk table and stored (inline in the database or as a
 * file), whole and named by its hash.
 * One function, so `ferry admin fsck` can take its place once it lands.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import type { TreeItem } from '../../helpers/engine.js';

export interface ServerData {
  problems: string[];
  /** Per folder name: its live paths as the journal has them (kind and content hash). */
  trees: Map<string, Map<string, { kind: string; hash: string }>>;
}

interface RevRow {
  rev: number;
  path: string;
  kind: string;
  deleted: number;
  size: number;
  hash: string;
  chunks: string;
}

/** `verified` remembers chunks already hashed (chunk files never change), so repeated checks stay cheap. */
export async function checkServerData(dataDir: string, verified = new Set<string>()): Promise<ServerData> {
  const problems: string[] = [];
  const trees = new Map<string, Map<string, { kind: string; hash: string }>>();
  const db = new Sqlite(join(dataDir, 'ferry.db'), { readonly: true, fileMustExist: true });
  const referenced = new Map<string, number>();
  const inline = new Set<string>();
  try {
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    if (integrity !== 'ok') problems.push(`server database integrity_check: ${integrity}`);
    const chunkSize = db.prepare('SELECT size FROM chunks WHERE hash = ?').pluck();
    const revChunk = db.prepare('SELECT 1 FROM rev_chunks WHERE hash = ? AND folder_id = ? AND rev = ?').pluck();
    for (const folder of db.prepare('SELECT id, name, rev FROM folders').all() as { id: number; name: string; rev: number }[]) {
      const rows = db.prepare('SELECT rev, path, kind, deleted, size, hash, chunks FROM revisions WHERE folder_id = ? ORDER BY rev').all(folder.id) as RevRow[];
      rows.forEach((r, i) => {
        if (r.rev !== i + 1 && problems.length < 50) problems.push(`folder ${folder.name}: revision ${i + 1} is missing (found ${r.rev} in its place)`);
      });
      if ((rows.at(-1)?.rev ?? 0) !== folder.rev) problems.push(`folder ${folder.name}: its revision is ${folder.rev}, the journal ends at ${rows.at(-1)?.rev ?? 0}`);
      const newest = new Map<string, RevRow>();
      for (const r of rows) {
        newest.set(r.path, r);
        if (r.kind !== 'file' || r.deleted) continue;
        const chunks = JSON.parse(r.chunks) as [string, number][];
        const total = chunks.reduce((s, [, n]) => s + n, 0);
        if (total !== r.size) problems.push(`${folder.name} rev ${r.rev} ${r.path}: chunks add up to ${total} bytes, the entry says ${r.size}`);
        for (const [hash, size] of chunks) {
          const known = chunkSize.get(hash) as number | undefined;
          if (known === undefined) problems.push(`${folder.name} rev ${r.rev} ${r.path}: chunk ${hash} is not in the chunk table`);
          else if (known !== size) problems.push(`${folder.name} rev ${r.rev} ${r.path}: chunk ${hash} is ${known} bytes in the table, ${size} in the entry`);
          if (!revChunk.get(hash, folder.id, r.rev)) problems.push(`${folder.name} rev ${r.rev} ${r.path}: chunk ${hash} has no rev_chunks reference`);
          referenced.set(hash, size);
        }
      }
      const current = db.prepare('SELECT path, rev, kind, deleted, size FROM current WHERE folder_id = ?').all(folder.id) as RevRow[];
      const tree = new Map<string, { kind: string; hash: string }>();
      for (const c of current) {
        const n = newest.get(c.path);
        if (!n || n.rev !== c.rev || n.kind !== c.kind || n.deleted !== c.deleted || n.size !== c.size) {
          problems.push(`${folder.name} ${c.path}: current says rev ${c.rev}, the newest revision is ${n?.rev ?? 'none'}`);
        }
        if (!c.deleted) tree.set(c.path, { kind: c.kind, hash: n?.hash ?? '' });
      }
      if (current.length !== newest.size) problems.push(`${folder.name}: ${newest.size} paths in the journal, ${current.length} in current`);
      trees.set(folder.name, tree);
    }
    // Small chunks are kept inline in the database rather than as files.
    const blob = db.prepare('SELECT data FROM chunk_blobs WHERE hash = ?').pluck();
    for (const [hash, size] of referenced) {
      const data = verified.has(hash) ? undefined : (blob.get(hash) as Buffer | undefined);
      if (!data) continue;
      inline.add(hash);
      if (data.length !== size) problems.push(`chunk ${hash} is ${data.length} bytes inline, ${size} referenced`);
      else if (createHash('sha256').update(data).digest('hex') !== hash) problems.push(`inline chunk ${hash} does not match its name`);
      else verified.add(hash);
    }
  } finally {
    db.close();
  }
  for (const [hash, size] of referenced) {
    if (verified.has(hash) || inline.has(hash)) continue;
    const file = join(dataDir, 'chunks', hash.slice(0, 2), hash.slice(2, 4), hash);
    const st = await stat(file).catch(() => undefined);
    if (!st) {
      problems.push(`chunk ${hash} is referenced but not on disk`);
      continue;
    }
    if (st.size !== size) problems.push(`chunk ${hash} is ${st.size} bytes on disk, ${size} referenced`);
    else if (createHash('sha256').update(await readFile(file)).digest('hex') !== hash) problems.push(`chunk ${hash} on disk does not match its name`);
    else verified.add(hash);
  }
  return { problems, trees };
}

/** Differences between a synced folder's tree and the server's live view of the folder. */
export function diffAgainstServer(tree: Record<string, TreeItem>, server: Map<string, { kind: string; hash: string }>): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(tree)) {
    const s = server.get(path);
    if (!s) out.push(`${path}: on disk, not live on the server`);
    else if (s.kind !== item.kind || (item.kind === 'file' && s.hash !== item.sha256)) out.push(`${path}: ${item.kind} ${item.sha256.slice(0, 12)} on disk, ${s.kind} ${s.hash.slice(0, 12)} on the server`);
  }
  for (const path of server.keys()) if (!(path in tree)) out.push(`${path}: live on the server, not on disk`);
  return out;
}
