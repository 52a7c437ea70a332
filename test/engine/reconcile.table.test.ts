/**
 * decide() exhaustively, for every combination of {absent, deleted, content A, content B,
 * dir, symlink} as remote, local and synced state, against the rule table of DESIGN.md:
 *
 *   local vs synced | remote vs synced | action
 *   same            | same             | nothing
 *   changed         | same             | commit
 *   same            | changed          | apply
 *   changed         | changed          | same content: record; else conflict
 *   deleted         | changed          | the change wins: restore (apply)
 *   changed         | deleted          | the change wins: commit it again
 *
 * plus "never delete by accident": what the server lacks is not a deletion.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { decide, identity, remoteIdentity, type Action, type Identity, type LocalState, type SyncedState } from '../../src/engine/sync/reconcile.js';
import { entryOf, localOf, type Tok } from './sync-model.js';

type Content = 'A' | 'B' | 'dir' | 'link';
type State = 'absent' | 'deleted' | Content;
const CONTENTS: Content[] = ['A', 'B', 'dir', 'link'];
const STATES: State[] = ['absent', 'deleted', ...CONTENTS];
const TOK: Record<Content, Tok> = { A: 'A', B: 'B', dir: 'dir', link: 'link1' };

const BASE_REV = 3;
const NEWER_REV = 5;
const P = 'docs/report.txt';

const idOfState = (s: State): Identity => (s === 'absent' || s === 'deleted' ? null : identity(localOf(TOK[s])));

interface Case {
  name: string;
  remote: Entry | undefined;
  local: LocalState | undefined;
  synced: SyncedState | undefined;
  /** What the server has relative to the agreed base. */
  remoteIs: 'same' | 'newer' | 'missing';
  expected: Action;
}

function remoteEntry(s: State, rev: number): Entry | undefined {
  if (s === 'absent') return undefined;
  if (s === 'deleted') return entryOf(P, rev, null, 'other');
  return entryOf(P, rev, TOK[s], 'other');
}

/** The rule table, written from DESIGN.md independently of the implementation. */
function rule(remoteIs: Case['remoteIs'], remote: State, local: State, synced: State): Action {
  const idS = idOfState(synced);
  const idL = idOfState(local);
  const idR = remoteIs === 'missing' ? null : idOfState(remote);
  const localChanged = idL !== idS;
  const remoteChanged = remoteIs !== 'same';
  if (!localChanged && !remoteChanged) return 'none';
  if (idL === idR) return 'record'; // both sides hold the same thing
  if (localChanged && !remoteChanged) return 'commit';
  if (!localChanged) {
    // The server lacks what both agreed on: not a deletion; upload it again.
    return remoteIs === 'missing' ? 'commit' : 'apply';
  }
  if (idL === null) return 'apply'; // deleted here, changed there: restore
  if (idR === null) return 'commit'; // changed here, deleted there: commit it again
  return 'conflict';
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const synced of STATES) {
    const syncedState: SyncedState | undefined = synced === 'absent' ? undefined : { rev: BASE_REV, id: idOfState(synced) };
    const remotes: { state: State; remoteIs: Case['remoteIs']; entry: Entry | undefined }[] = [];
    if (synced === 'absent') {
      // Never synced (first contact): whatever the server has is new to this device.
      remotes.push({ state: 'absent', remoteIs: 'same', entry: undefined });
      for (const s of STATES.slice(1)) remotes.push({ state: s, remoteIs: 'newer', entry: remoteEntry(s, NEWER_REV) });
    } else {
      remotes.push({ state: synced, remoteIs: 'same', entry: remoteEntry(synced, BASE_REV) });
      for (const s of STATES.slice(1)) remotes.push({ state: s, remoteIs: 'newer', entry: remoteEntry(s, NEWER_REV) });
      remotes.push({ state: 'absent', remoteIs: 'missing', entry: undefined });
    }
    for (const r of remotes) {
      for (const local of STATES.filter((s) => s !== 'deleted')) {
        const remoteName = r.remoteIs === 'same' ? `${r.state} (as synced)` : r.remoteIs === 'missing' ? 'absent (server lacks it)' : `${r.state} (newer)`;
        out.push({
          name: `remote ${remoteName} | local ${local === 'absent' ? 'deleted/absent' : local} | synced ${synced}`,
          remote: r.entry,
          local: local === 'absent' ? undefined : localOf(TOK[local]),
          synced: syncedState,
          remoteIs: r.remoteIs,
          expected: rule(r.remoteIs, r.state, local, synced),
        });
      }
    }
  }
  return out;
}

const ALL = cases();

describe('decide(): the rule table, every combination', () => {
  it('covers every combination', () => {
    // synced absent: 6 remotes × 5 locals; synced in 5 states: 7 remotes × 5 locals.
    expect(ALL.length).toBe(6 * 5 + 5 * 7 * 5);
  });

  it.each(ALL.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(decide(c.remote, c.local, c.synced)).toBe(c.expected);
  });
});

describe('decide(): safety, every combination', () => {
  it.each(ALL.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const action = decide(c.remote, c.local, c.synced);
    const idL = identity(c.local);
    const idS = c.synced?.id ?? null;
    const idR = remoteIdentity(c.remote);
    const localChanged = idL !== idS;
    const remoteNewer = c.remoteIs === 'newer';
    switch (action) {
      case 'apply':
        // The engine's applyRemote works from record.remote: there must be one.
        expect(c.remote, 'apply without a remote entry').toBeDefined();
        // Never over an unsynced local edit (restoring a locally deleted path is fine).
        expect(!localChanged || idL === null, 'apply over an unsynced local edit').toBe(true);
        break;
      case 'commit':
        // Never a delete over a remote edit this device has not seen.
        if (idL === null) expect(remoteNewer && idR !== null, 'commit of a delete over an unseen remote edit').toBe(false);
        // Never a put over an unseen remote edit either: only over a remote deletion.
        else if (remoteNewer) expect(idR, 'commit over an unseen remote edit').toBeNull();
        break;
      case 'conflict':
        expect(idL).not.toBeNull();
        expect(idR).not.toBeNull();
        expect(idL).not.toBe(idR);
        break;
      case 'record':
        expect(idL).toBe(idR);
        break;
      case 'none':
        expect(localChanged).toBe(false);
        expect(c.remoteIs).toBe('same');
        break;
    }
  });
});

describe('decide(): the rows of DESIGN.md by name', () => {
  const A = localOf('A');
  const B = localOf('B');
  const idA = identity(A);
  const at = (rev: number, t: Tok | null) => entryOf(P, rev, t, 'other');

  it('same | same → nothing', () => {
    expect(decide(at(3, 'A'), A, { rev: 3, id: idA })).toBe('none');
    expect(decide(undefined, undefined, undefined)).toBe('none');
    expect(decide(at(3, null), undefined, { rev: 3, id: null })).toBe('none');
  });

  it('changed | same → commit', () => {
    expect(decide(at(3, 'A'), B, { rev: 3, id: idA })).toBe('commit');
    expect(decide(at(3, 'A'), undefined, { rev: 3, id: idA })).toBe('commit'); // a local delete
    expect(decide(at(3, 'A'), localOf('Ax'), { rev: 3, id: idA })).toBe('commit'); // only the exec bit
    expect(decide(undefined, B, undefined)).toBe('commit'); // a new file
  });

  it('same | changed → apply', () => {
    expect(decide(at(5, 'B'), A, { rev: 3, id: idA })).toBe('apply');
    expect(decide(at(5, null), A, { rev: 3, id: idA })).toBe('apply'); // a remote delete
    expect(decide(at(5, 'B'), undefined, undefined)).toBe('apply'); // new on the server
  });

  it('changed | changed: same content → record, else conflict', () => {
    expect(decide(at(5, 'B'), B, { rev: 3, id: idA })).toBe('record');
    expect(decide(at(5, null), undefined, { rev: 3, id: idA })).toBe('record'); // both deleted
    expect(decide(at(5, 'B'), localOf('C'), { rev: 3, id: idA })).toBe('conflict');
    expect(decide(at(5, 'B'), localOf('dir'), { rev: 3, id: idA })).toBe('conflict'); // file there, dir here
    expect(decide(at(5, 'link1'), localOf('link2'), { rev: 3, id: idA })).toBe('conflict');
    expect(decide(at(5, 'Ax'), A, { rev: 3, id: identity(localOf('C')) })).toBe('conflict'); // only the mode differs
  });

  it('first contact: same → record, different → conflict (union merge, a copy for the loser)', () => {
    expect(decide(at(5, 'A'), A, undefined)).toBe('record');
    expect(decide(at(5, 'dir'), localOf('dir'), undefined)).toBe('record');
    expect(decide(at(5, 'A'), B, undefined)).toBe('conflict');
    expect(decide(at(5, null), B, undefined)).toBe('commit'); // deleted there long ago, new here
    expect(decide(at(5, null), undefined, undefined)).toBe('record');
  });

  it('deleted | changed → the change wins: restore', () => {
    expect(decide(at(5, 'B'), undefined, { rev: 3, id: idA })).toBe('apply');
    expect(decide(at(5, 'dir'), undefined, { rev: 3, id: idA })).toBe('apply');
  });

  it('changed | deleted → the change wins: commit it again', () => {
    expect(decide(at(5, null), B, { rev: 3, id: idA })).toBe('commit');
    expect(decide(at(5, null), localOf('Ax'), { rev: 3, id: idA })).toBe('commit');
  });

  it('what the server lacks is not a deletion: a synced path missing from the server is uploaded again', () => {
    // The server answered a commit with "no such path" (commitBatch clears the remote),
    // e.g. after it was restored from a backup: decide() must not ask applyRemote to
    // apply an entry that is not there.
    expect(decide(undefined, A, { rev: 3, id: idA })).toBe('commit');
    expect(decide(undefined, undefined, { rev: 3, id: idA })).toBe('record');
  });

  it('a remote entry older than the base is a stale view, not a change to apply', () => {
    // Our own commit made rev 5; the feed has not brought it back yet and still shows rev 4.
    const stale = entryOf(P, 4, 'A', 'x');
    expect(decide(stale, localOf('B'), { rev: 5, id: identity(localOf('B')) })).toBe('none');
    expect(decide(stale, localOf('C'), { rev: 5, id: identity(localOf('B')) })).toBe('commit');
  });
});

describe('identity()', () => {
  const file = (hash: string, mode: number, extra: Partial<LocalState> = {}): LocalState => ({ kind: 'file', size: 1, mtime: 1, ino: 1, mode, hash, target: '', ...extra });

  it('is kind, content and the exec bit, nothing else', () => {
    expect(identity(file('h', 0o644))).toBe('f:h:-');
    expect(identity(file('h', 0o600))).toBe(identity(file('h', 0o644)));
    expect(identity(file('h', 0o644, { size: 99, mtime: 123, ino: 9 }))).toBe(identity(file('h', 0o644)));
    for (const x of [0o100, 0o010, 0o001, 0o755]) expect(identity(file('h', x))).toBe('f:h:x');
    expect(identity(file('h', 0o644))).not.toBe(identity(file('g', 0o644)));
    const other = (kind: LocalState['kind'], mode: number, target = ''): LocalState => ({ kind, size: 0, mtime: mode, ino: mode, mode, hash: '', target });
    expect(identity(other('dir', 0o700))).toBe('d');
    expect(identity(other('dir', 0o755))).toBe('d');
    expect(identity(other('symlink', 0o777, 'a/b'))).toBe('l:a/b');
    expect(identity(other('symlink', 0o777, 'a/c'))).not.toBe(identity(other('symlink', 0o777, 'a/b')));
    expect(identity(undefined)).toBeNull();
    expect(identity(null)).toBeNull();
  });

  it('is the same for a local state and the remote entry made from it; a deleted entry is absence', () => {
    for (const t of ['A', 'Ax', 'B', 'dir', 'link1'] as Tok[]) expect(remoteIdentity(entryOf(P, 1, t, 'x'))).toBe(identity(localOf(t)));
    expect(remoteIdentity(entryOf(P, 1, null, 'x'))).toBeNull();
    expect(remoteIdentity(undefined)).toBeNull();
  });
});

describe('decide(): properties over arbitrary triples', () => {
  const tok = fc.constantFrom<Tok>('A', 'Ax', 'B', 'C', 'dir', 'link1', 'link2');
  const remote = fc.option(fc.record({ rev: fc.integer({ min: 1, max: 6 }), tok: fc.option(tok, { nil: null }) }), { nil: undefined });
  const local = fc.option(tok, { nil: undefined });
  const synced = fc.option(fc.record({ rev: fc.integer({ min: 0, max: 6 }), tok: fc.option(tok, { nil: null }) }), { nil: undefined });

  const build = (r: { rev: number; tok: Tok | null } | undefined, l: Tok | undefined, s: { rev: number; tok: Tok | null } | undefined) => {
    const deep = <T>(o: T): T => {
      if (o && typeof o === 'object') {
        for (const v of Object.values(o)) deep(v);
        Object.freeze(o);
      }
      return o;
    };
    return [
      r ? deep(entryOf(P, r.rev, r.tok, 'x')) : undefined,
      l ? deep(localOf(l)) : undefined,
      s ? deep({ rev: s.rev, id: s.tok ? identity(localOf(s.tok)) : null }) : undefined,
    ] as const;
  };

  it('is pure and never overwrites an unsynced local edit, nor deletes over an unseen remote edit', () => {
    fc.assert(
      fc.property(remote, local, synced, (r, l, s) => {
        const [re, lo, sy] = build(r, l, s);
        const action = decide(re, lo, sy); // frozen inputs: a mutation would throw
        expect(decide(re, lo, sy)).toBe(action);
        const idL = identity(lo);
        const idS = sy?.id ?? null;
        const idR = remoteIdentity(re);
        // A remote entry older than the base is a stale view, not a change; no remote entry
        // where there was a base is a change (the server lacks the path).
        const remoteChanged = re ? re.rev > (sy?.rev ?? 0) : (sy?.rev ?? 0) > 0;
        if (action === 'apply') expect(idL === idS || idL === null).toBe(true);
        if (action === 'commit' && idL === null) expect(remoteChanged).toBe(false);
        if (action === 'commit' && remoteChanged) expect(idR).toBeNull();
        if (action === 'conflict') expect(idL !== null && idR !== null && idL !== idR).toBe(true);
        if (action === 'record') expect(idL).toBe(idR);
        if (action === 'none') expect(idL === idS && !remoteChanged).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('after its action is carried out, the path is settled: decide() says none', () => {
    // What the engine does with each action, on one path, with the server accepting the commit.
    fc.assert(
      fc.property(remote, local, synced, (r, l, s) => {
        const [re, lo, sy] = build(r, l, s);
        const action = decide(re, lo, sy);
        let remoteAfter: Entry | undefined = re;
        let localAfter: LocalState | undefined = lo;
        let syncedAfter: SyncedState | undefined = sy;
        const next = Math.max(re?.rev ?? 0, sy?.rev ?? 0) + 1;
        switch (action) {
          case 'none':
            return;
          case 'record':
            syncedAfter = { rev: re?.rev ?? 0, id: identity(lo) };
            break;
          case 'commit':
            if (!lo && !(re && !re.deleted)) {
              syncedAfter = { rev: re?.rev ?? 0, id: null };
            } else {
              const tokNow = l ?? null;
              remoteAfter = entryOf(P, next, tokNow, 'me', re);
              syncedAfter = { rev: next, id: identity(lo) };
            }
            break;
          case 'apply':
            if (!re) return; // covered by the table
            localAfter = re.deleted ? undefined : localOf(r!.tok!);
            syncedAfter = { rev: re.rev, id: remoteIdentity(re) };
            break;
          case 'conflict':
            // The local version leaves for a copy; the path is then decided again.
            localAfter = undefined;
            expect(decide(remoteAfter, localAfter, syncedAfter)).toBe('apply');
            localAfter = localOf(r!.tok!);
            syncedAfter = { rev: re!.rev, id: remoteIdentity(re) };
            break;
        }
        expect(decide(remoteAfter, localAfter, syncedAfter)).toBe('none');
      }),
      { numRuns: 3000 },
    );
  });
});
