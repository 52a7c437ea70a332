/**
 * The reconciler: for one path, given what the server last sent (remote), what is on disk
 * (local) and what both last agreed on (synced), decide what to do. Pure, so it can be
 * tested exhaustively; the engine turns decisions into I/O.
 *
 * The rule underneath every row: a change is never discarded. When both sides changed,
 * a deletion loses to an edit, and two different edits are both kept (a conflict copy).
 */
import type { Entry } from '../../shared/protocol/messages.js';

export type Kind = Entry['kind'];

/** What the scanner saw on disk at a path. */
export interface LocalState {
  kind: Kind;
  size: number;
  mtime: number;
  ino: number;
  mode: number;
  /** Whole-content hash of a file; '' for directories and symlinks. */
  hash: string;
  target: string;
}

/** The version both sides last agreed on. */
export interface SyncedState {
  rev: number;
  id: Identity;
}

/**
 * What a version is, for comparing across sides: kind, content and the exec bit, nothing
 * else (mtimes and owners differ between machines and are not changes). null is absence.
 */
export type Identity = string | null;

interface Content {
  kind: Kind;
  hash: string;
  target: string;
  mode: number;
}

export function identity(c: Content | undefined | null): Identity {
  if (!c) return null;
  switch (c.kind) {
    case 'file':
      return `f:${c.hash}:${c.mode & 0o111 ? 'x' : '-'}`;
    case 'dir':
      return 'd';
    case 'symlink':
      return `l:${c.target}`;
  }
}

export function remoteIdentity(r: Entry | undefined): Identity {
  return !r || r.deleted ? null : identity(r);
}

export type Action =
  /** Nothing to do. */
  | 'none'
  /** Both sides already hold the same thing: remember it as synced. */
  | 'record'
  /** The local change goes to the server (a put, or a delete when the path is gone). */
  | 'commit'
  /** The remote change comes to disk (write, mkdir, link, or delete). */
  | 'apply'
  /** Both changed differently: the local version becomes a conflict copy, the remote takes the path. */
  | 'conflict';

export function decide(remote: Entry | undefined, local: LocalState | undefined, synced: SyncedState | undefined): Action {
  const idL = identity(local);
  const idR = remoteIdentity(remote);
  const idS = synced?.id ?? null;
  const localChanged = idL !== idS;
  // A remote entry older than the base is a stale view (our own commit has not come back
  // through the feed yet), not a change. No remote entry at all, where there was a base,
  // means the server lacks the path (it was reset or restored): that is a change too.
  const remoteChanged = remote ? remote.rev > (synced?.rev ?? 0) : (synced?.rev ?? 0) > 0;
  if (!localChanged && !remoteChanged) return 'none';
  if (idL === idR) return 'record';
  if (!remoteChanged) return 'commit';
  // What the server lacks is uploaded again, never read as a deletion.
  if (!localChanged) return remote ? 'apply' : 'commit';
  // Both changed, to different things.
  if (idL === null) return 'apply'; // deleted here, edited there: the edit wins
  if (idR === null) return 'commit'; // edited here, deleted there: the edit wins
  return 'conflict';
}
