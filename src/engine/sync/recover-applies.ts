/**
 * After a crash: engine writes that landed on disk but were never recorded. The engine
 * notes each write in the journal (a PendingApply) before it lands and clears the note when
 * it records the write; a note still there at start is a write a crash interrupted. Left
 * alone, the scanner would take the engine's own write for a local edit, and once the
 * server had moved on meanwhile, the reconciler would make a conflict copy of it.
 *
 * What is at the path now is taken as the engine's write, synced at the noted revision, only
 * when it is that version: the same kind, and for a file the same content (hashed, not
 * judged by its stat) and exec bit, for a link the same target. Then it holds nothing the
 * server lacks, so recording it as synced can lose nothing. Anything else is left to the
 * scanner as a local change: a user edit made after the crash is never taken for the
 * engine's write. A file that is still the one the engine put there (its inode) but holds
 * other content was edited after it landed: the noted revision becomes its base, so the edit
 * goes up as an edit of that version (or meets a newer one as a conflict), as it would have
 * without the crash.
 *
 * Run before staging is emptied: a staged file never renamed in still holds its inode, so
 * no new file at the path can have it.
 */
import type { Stats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import type { HashPool } from '../content/hash-pool.js';
import type { LocalFile, LocalJournal, PendingApply } from '../journal/local-journal.js';
import { sameAsKnown, type FolderDisk } from './disk.js';

/** What a pending apply turned out to be: the write as it landed, the write edited since, or neither. */
type Outcome = { landed: LocalFile } | 'edited' | undefined;

/** Settles every pending apply of a folder; returns the paths recorded as the engine's writes (edited or not). */
export async function recoverPendingApplies(journal: LocalJournal, folder: number, disk: FolderDisk, hashes: HashPool): Promise<string[]> {
  const recovered: string[] = [];
  for (const pending of journal.pendingApplies(folder)) {
    // Unreadable now: left to the scanner, which reports why.
    const outcome = await settle(pending, journal.local(folder, pending.path), disk, hashes).catch(() => undefined);
    journal.batch(() => {
      if (outcome) {
        if (outcome !== 'edited') journal.setLocal(folder, pending.path, outcome.landed);
        journal.setSynced(folder, pending.path, pending.synced);
        recovered.push(pending.path);
      }
      journal.clearPendingApply(folder, pending.path);
    });
  }
  return recovered;
}

async function settle(pending: PendingApply, known: LocalFile | undefined, disk: FolderDisk, hashes: HashPool): Promise<Outcome> {
  const st = await disk.stat(pending.path);
  // Nothing there, or what the journal records: the write did not land.
  if (!st || (sameAsKnown(st, known) && known!.mode === (st.mode & 0o777))) return undefined;
  const local = await landed(pending.path, pending.local, st, disk, hashes);
  if (local) return { landed: local };
  return pending.local.kind === 'file' && st.isFile() && st.ino === pending.local.ino ? 'edited' : undefined;
}

/** The local state of the path if it holds the version the engine was writing. */
async function landed(path: string, want: LocalFile, st: Stats, disk: FolderDisk, hashes: HashPool): Promise<LocalFile | undefined> {
  const base = { size: 0, mtime: Math.floor(st.mtimeMs), ino: st.ino, mode: st.mode & 0o777, hash: '', target: '', chunks: [] };
  if (want.kind === 'dir') return st.isDirectory() ? { ...base, kind: 'dir' } : undefined;
  if (want.kind === 'symlink') {
    if (!st.isSymbolicLink()) return undefined;
    const target = await readlink(disk.path(path));
    return target === want.target ? { ...base, kind: 'symlink', target } : undefined;
  }
  if (!st.isFile() || st.size !== want.size || Boolean(st.mode & 0o111) !== Boolean(want.mode & 0o111)) return undefined;
  const content = await hashes.hash(disk.path(path), undefined, undefined, 0, st.size);
  const after = await disk.stat(path);
  // Changed while it was read: someone is writing it, so it is not (only) the engine's write.
  if (!after || after.ino !== st.ino || after.size !== content.size || Math.floor(after.mtimeMs) !== Math.floor(content.mtimeMs) || after.mode !== st.mode) return undefined;
  if (content.hash !== want.hash) return undefined;
  return { ...base, kind: 'file', size: content.size, mtime: Math.floor(after.mtimeMs), hash: content.hash, chunks: content.chunks };
}
