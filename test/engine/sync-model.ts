/**
 * A small executable model of the sync loop, for property tests of the reconciler.
 *
 * The server is a journal of revisions with compare-and-swap commits (the rules of
 * src/server/store/sqlite-journal-store.ts, without directories' parent/child checks: the
 * model's paths are flat). Each client keeps, per path, its local content, the newest entry
 * the feed brought (remote), and the agreed base (synced), and runs decide() exactly the way
 * src/engine/sync/folder-sync.ts does:
 *   - plan: every dirty path with no op queued and whose own commit is not still on its way
 *     back (quietUntil) is decided again right before acting;
 *   - record: synced = {remote rev, local identity};
 *   - commit: an op with baseRev = the newest known revision (0 with no remote entry) is
 *     queued (a local delete with nothing live remotely only records); a file's upload marks
 *     the path dirty when it ends;
 *   - apply: the remote entry is written (or removed) locally and recorded as synced;
 *   - conflict: the local content moves to conflictName(...), a new path with no synced
 *     state; the path and the copy are planned again;
 *   - flush: queued ops go to the server as one batch; success records synced = {rev, op's
 *     identity}, a conflict answer replaces the remote view (or clears it), and every path is
 *     held quiet until the feed has caught up with the batch.
 * Nothing here is mocked: decide(), identity() and conflictName() are the engine's own.
 */
import type { Entry } from '../../src/shared/protocol/messages.js';
import { conflictName, isConflictCopy } from '../../src/engine/sync/conflict-name.js';
import { decide, identity, remoteIdentity, type Action, type Identity, type LocalState, type SyncedState } from '../../src/engine/sync/reconcile.js';

// ---- contents ---------------------------------------------------------------------------

/** What a path can hold: three file contents (one also with the exec bit), a dir, two links. */
export const TOKENS = ['A', 'Ax', 'B', 'C', 'dir', 'link1', 'link2'] as const;
export type Tok = (typeof TOKENS)[number];

const HASHES: Record<string, string> = { A: 'a'.repeat(64), B: 'b'.repeat(64), C: 'c'.repeat(64) };

export function localOf(t: Tok): LocalState {
  switch (t) {
    case 'A':
    case 'B':
    case 'C':
      return { kind: 'file', size: 1, mtime: 1, ino: 1, mode: 0o644, hash: HASHES[t]!, target: '' };
    case 'Ax':
      return { kind: 'file', size: 1, mtime: 1, ino: 1, mode: 0o755, hash: HASHES.A!, target: '' };
    case 'dir':
      return { kind: 'dir', size: 0, mtime: 1, ino: 1, mode: 0o755, hash: '', target: '' };
    case 'link1':
    case 'link2':
      return { kind: 'symlink', size: 0, mtime: 1, ino: 1, mode: 0o777, hash: '', target: t === 'link1' ? 'one' : 'two' };
  }
}

export function idOf(t: Tok | undefined | null): Identity {
  return t ? identity(localOf(t)) : null;
}

const TOK_BY_ID = new Map<Identity, Tok>(TOKENS.map((t) => [idOf(t), t]));

export function tokOfEntry(e: Entry): Tok | undefined {
  return e.deleted ? undefined : TOK_BY_ID.get(remoteIdentity(e));
}

export function entryOf(path: string, rev: number, tok: Tok | null, device: string, before?: Entry): Entry {
  if (tok === null) {
    return { path, rev, kind: before?.kind ?? 'file', deleted: true, size: 0, mtime: 0, mode: 0, hash: '', chunks: [], target: '', device, time: rev };
  }
  const l = localOf(tok);
  return {
    path,
    rev,
    kind: l.kind,
    deleted: false,
    size: l.size,
    mtime: l.mtime,
    mode: l.mode,
    hash: l.hash,
    chunks: l.kind === 'file' ? [[l.hash, l.size]] : [],
    target: l.target,
    device,
    time: rev,
  };
}

// ---- the server -------------------------------------------------------------------------

export type ModelOp = { op: 'put'; path: string; baseRev: number; tok: Tok } | { op: 'delete'; path: string; baseRev: number };
export type ModelResult = { path: string; rev: number } | { path: string; conflict: Entry | null };

export class ModelServer {
  /** log[i] is revision i + 1. */
  readonly log: Entry[] = [];
  readonly current = new Map<string, Entry>();
  /** The head after each commit: the feed brings a commit's revisions in one message. */
  readonly commits: number[] = [];

  get head(): number {
    return this.log.length;
  }

  write(path: string, tok: Tok | null, device: string): number {
    const e = entryOf(path, this.head + 1, tok, device, this.current.get(path));
    this.log.push(e);
    this.current.set(path, e);
    return e.rev;
  }

  /** A history revision that is a commit of its own. */
  writeCommit(path: string, tok: Tok | null, device: string): number {
    const rev = this.write(path, tok, device);
    this.commits.push(rev);
    return rev;
  }

  /** The end of the commit that holds revision `rev` (feeds never split a commit). */
  commitEnd(rev: number): number {
    return this.commits.find((r) => r >= rev) ?? this.head;
  }

  /** One commit: ops in order, in one transaction, consecutive revisions. */
  commit(ops: ModelOp[], device: string): { results: ModelResult[]; rev: number } {
    const results: ModelResult[] = [];
    for (const op of ops) {
      const cur = this.current.get(op.path);
      if (op.op === 'put') {
        const casOk = !cur ? op.baseRev === 0 : cur.deleted ? op.baseRev === 0 || op.baseRev === cur.rev : op.baseRev === cur.rev;
        if (!casOk) results.push({ path: op.path, conflict: cur ?? null });
        else results.push({ path: op.path, rev: this.write(op.path, op.tok, device) });
      } else {
        if (!cur || (cur.deleted && op.baseRev === 0) || cur.rev !== op.baseRev) results.push({ path: op.path, conflict: cur ?? null });
        else if (cur.deleted) results.push({ path: op.path, rev: cur.rev });
        else results.push({ path: op.path, rev: this.write(op.path, null, device) });
      }
    }
    if (this.head > (this.commits[this.commits.length - 1] ?? 0)) this.commits.push(this.head);
    return { results, rev: this.head };
  }

  /** Live content per path. */
  live(): Map<string, Identity> {
    const out = new Map<string, Identity>();
    for (const [p, e] of this.current) if (!e.deleted) out.set(p, remoteIdentity(e));
    return out;
  }
}

// ---- a client ---------------------------------------------------------------------------

interface QueuedOp {
  op: ModelOp;
  id: Identity;
}

export class ModelClient {
  readonly local = new Map<string, Tok>();
  readonly remote = new Map<string, Entry>();
  readonly synced = new Map<string, SyncedState>();
  readonly quiet = new Map<string, number>();
  readonly dirty = new Set<string>();
  queue: QueuedOp[] = [];
  cursor = 0;

  constructor(readonly name: string) {}

  paths(): string[] {
    return [...new Set([...this.local.keys(), ...this.remote.keys(), ...this.synced.keys()])].sort();
  }

  decideAt(path: string): Action {
    const l = this.local.get(path);
    return decide(this.remote.get(path), l ? localOf(l) : undefined, this.synced.get(path));
  }

  clone(): ModelClient {
    const c = new ModelClient(this.name);
    for (const [k, v] of this.local) c.local.set(k, v);
    for (const [k, v] of this.remote) c.remote.set(k, v);
    for (const [k, v] of this.synced) c.synced.set(k, v);
    for (const [k, v] of this.quiet) c.quiet.set(k, v);
    for (const p of this.dirty) c.dirty.add(p);
    c.queue = [...this.queue];
    c.cursor = this.cursor;
    return c;
  }

  /** Everything the client holds, with the commit queue as a multiset. */
  snapshot(): string {
    const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify({
      local: sorted(this.local),
      remote: sorted(this.remote).map(([p, e]) => [p, e.rev]),
      synced: sorted(this.synced),
      quiet: sorted(this.quiet),
      dirty: [...this.dirty].sort(),
      queue: this.queue.map((q) => JSON.stringify(q)).sort(),
      cursor: this.cursor,
    });
  }

  liveLocal(): Map<string, Identity> {
    const out = new Map<string, Identity>();
    for (const [p, t] of this.local) out.set(p, idOf(t));
    return out;
  }
}

/** The engine would crash or misbehave here: the model stops and the property fails. */
export class ModelViolation extends Error {}

// ---- worlds and schedules ----------------------------------------------------------------

export const PATHS = ['report.txt', 'notes', '.hidden'] as const;
export const DEVICES = ['alpha', 'beta', 'gamma'] as const;

/** Raw random choices; buildWorld turns them into a consistent starting state. */
export interface RawWorld {
  /** Per path, the versions the server's journal holds, oldest first (null = deletion). */
  histories: (Tok | null)[][];
  /** Which path each revision goes to, to interleave the histories. */
  interleave: number[];
  clients: RawClient[];
}

export interface RawClient {
  /** Never synced with this server (first contact / merge): no synced state at all. */
  fresh: boolean;
  /** Picks the cursor in [0, head]. */
  cursorPick: number;
  /** Per path: which eligible version is the base (0 = none). */
  syncedPick: number[];
  /** Per path: unchanged from the base, or this content, or deleted. */
  local: ('same' | 'absent' | Tok)[];
}

export interface World {
  server: ModelServer;
  clients: ModelClient[];
}

export function buildWorld(raw: RawWorld): World {
  const server = new ModelServer();
  // Normalize: a path's history starts live and never deletes what is already deleted.
  const queues = raw.histories.map((h) => {
    const out: (Tok | null)[] = [];
    for (const v of h) if (v !== null || (out.length > 0 && out[out.length - 1] !== null)) out.push(v);
    return out;
  });
  const pending = queues.map((q) => [...q]);
  const order = [...raw.interleave.map((i) => i % PATHS.length)];
  for (let i = 0; i < PATHS.length; i++) for (let k = 0; k < queues[i]!.length; k++) order.push(i);
  for (const i of order) {
    const next = pending[i]!.shift();
    if (next !== undefined) server.writeCommit(PATHS[i]!, next, 'history');
  }
  const versions = (path: string, upto: number) => server.log.filter((e) => e.path === path && e.rev <= upto);
  const clients = raw.clients.map((rc, ci) => {
    const c = new ModelClient(DEVICES[ci]!);
    c.cursor = rc.cursorPick % (server.head + 1);
    PATHS.forEach((path, pi) => {
      const seen = versions(path, c.cursor);
      const remote = seen[seen.length - 1];
      if (remote) c.remote.set(path, remote);
      // The base is a version no newer than the remote view (the feed had caught up when it was recorded).
      let base: Entry | undefined;
      if (!rc.fresh && seen.length > 0) {
        const pick = (rc.syncedPick[pi] ?? 0) % (seen.length + 1);
        base = pick === 0 ? undefined : seen[pick - 1];
      }
      if (base) c.synced.set(path, { rev: base.rev, id: remoteIdentity(base) });
      const choice = rc.local[pi] ?? 'same';
      const tok = choice === 'same' ? (base ? tokOfEntry(base) : undefined) : choice === 'absent' ? undefined : choice;
      if (tok) c.local.set(path, tok);
      c.dirty.add(path);
    });
    return c;
  });
  return { server, clients };
}

export type Step = { t: 'feed'; c: number; frac: number } | { t: 'plan'; c: number; seed: number } | { t: 'flush'; c: number; max: number };

export interface RunOptions {
  /** Process each planned batch (and each commit batch, per path) in a random order. */
  shuffle: boolean;
  /** Fair rounds (feed all, plan, flush all on every client) allowed after the schedule. */
  drainRounds: number;
  /** Every flush sends the whole queue as one batch. */
  wholeFlush?: boolean;
  /** At every plan, also plan a copy of the client in a shuffled order and compare. */
  checkPlanOrder?: boolean;
}

export interface RunResult {
  world: World;
  /** Rounds the drain needed to reach the fixpoint; undefined when it did not. */
  rounds: number | undefined;
  trace: string[];
  /** Plans whose outcome depended on the order of the batch (with checkPlanOrder). */
  orderMismatches: string[];
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  const r = rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const BASE_TIME = new Date(2026, 10, 23, 15, 45, 0).getTime();

export function run(raw: RawWorld, schedule: Step[], opts: RunOptions): RunResult {
  const world = buildWorld(raw);
  const { server, clients } = world;
  const trace: string[] = [];
  const orderMismatches: string[] = [];
  let stepNo = 0;
  let quietTrace = false;
  const note = (line: string) => {
    if (!quietTrace) trace.push(line);
  };

  const feed = (c: ModelClient, to: number) => {
    const upto = to > c.cursor ? server.commitEnd(to) : c.cursor;
    for (let rev = c.cursor + 1; rev <= upto; rev++) {
      const e = server.log[rev - 1]!;
      c.remote.set(e.path, e);
      c.dirty.add(e.path);
    }
    if (upto > c.cursor) trace.push(`${c.name}: feed ${c.cursor + 1}..${upto}`);
    c.cursor = Math.max(c.cursor, upto);
  };

  const act = (c: ModelClient, path: string, action: Action) => {
    const l = c.local.get(path);
    const remote = c.remote.get(path);
    if (action !== 'none') note(`${c.name}: ${action} ${path} (remote ${remote ? `${tokOfEntry(remote) ?? 'deleted'}@${remote.rev}` : '-'}, local ${l ?? '-'}, synced ${JSON.stringify(c.synced.get(path) ?? null)})`);
    switch (action) {
      case 'none':
        return;
      case 'record':
        c.synced.set(path, { rev: remote?.rev ?? 0, id: idOf(l) });
        return;
      case 'commit': {
        // As the engine: the newest revision known for the path, none when the server lacks it.
        const baseRev = remote ? Math.max(remote.rev, c.synced.get(path)?.rev ?? 0) : 0;
        if (!l) {
          if (remote && !remote.deleted) c.queue.push({ op: { op: 'delete', path, baseRev }, id: null });
          else c.synced.set(path, { rev: baseRev, id: null });
          return;
        }
        c.queue.push({ op: { op: 'put', path, baseRev, tok: l }, id: idOf(l) });
        // A file goes up as a transfer, which marks its path dirty when it ends.
        if (localOf(l).kind === 'file') c.dirty.add(path);
        return;
      }
      case 'apply': {
        if (!remote) throw new ModelViolation(`${c.name}: decide() said 'apply' for ${path} with no remote entry (applyRemote dereferences record.remote!)`);
        if (remote.deleted) {
          c.local.delete(path);
          c.synced.set(path, { rev: remote.rev, id: null });
          return;
        }
        const tok = tokOfEntry(remote)!;
        const onlyMode = l !== undefined && localOf(l).kind === 'file' && remote.kind === 'file' && localOf(l).hash === remote.hash;
        c.local.set(path, tok);
        c.synced.set(path, { rev: remote.rev, id: remoteIdentity(remote) });
        // A download is a transfer, which marks its path dirty when it ends.
        if (remote.kind === 'file' && !onlyMode) c.dirty.add(path);
        return;
      }
      case 'conflict': {
        if (!l) throw new ModelViolation(`${c.name}: decide() said 'conflict' for ${path} with nothing on disk`);
        const copy = conflictName(path, c.name, new Date(BASE_TIME + stepNo * 1000), (p) => c.local.has(p));
        c.local.set(copy, l);
        c.local.delete(path);
        c.dirty.add(path);
        c.dirty.add(copy);
        note(`${c.name}:   ${l} moved to ${copy}`);
        return;
      }
    }
  };

  const plan = (c: ModelClient, seed: number | undefined) => {
    if (opts.checkPlanOrder && seed !== undefined) {
      const other = c.clone();
      quietTrace = true;
      planOnce(other, seed ^ 0x5bd1e995, true);
      quietTrace = false;
      planOnce(c, seed, opts.shuffle);
      if (other.snapshot() !== c.snapshot()) orderMismatches.push(`${c.name} at step ${stepNo}:\n  ${c.snapshot()}\n  ${other.snapshot()}`);
      return;
    }
    planOnce(c, seed, opts.shuffle);
  };

  const planOnce = (c: ModelClient, seed: number | undefined, shuffle: boolean) => {
    const picked: string[] = [];
    for (const path of [...c.dirty]) {
      // As the engine: a path with an op queued or on its way stays dirty until its answer.
      if (c.queue.some((q) => q.op.path === path)) continue;
      const q = c.quiet.get(path);
      if (q !== undefined) {
        if (q > c.cursor) continue;
        c.quiet.delete(path);
      }
      c.dirty.delete(path);
      picked.push(path);
    }
    let order: string[];
    if (seed !== undefined && shuffle) {
      order = shuffled(picked, seed);
    } else {
      // The engine's order: creations first, deletions last (children before parents).
      const deleting = (p: string) => {
        const a = c.decideAt(p);
        return (a === 'apply' && c.remote.get(p)?.deleted) || (a === 'commit' && !c.local.has(p));
      };
      const ordered = picked.filter((p) => !deleting(p));
      const deletesLast = picked.filter(deleting).reverse();
      order = [...ordered, ...deletesLast];
    }
    // Each path is decided again right before acting, from its current record.
    for (const path of order) act(c, path, c.decideAt(path));
  };

  const flush = (c: ModelClient, max: number, seed: number | undefined) => {
    if (c.queue.length === 0) return;
    let batch = c.queue.splice(0, opts.wholeFlush ? c.queue.length : max);
    if (seed !== undefined && opts.shuffle) {
      // Another order of the batch's paths; ops for one path keep their relative order.
      const paths = shuffled([...new Set(batch.map((b) => b.op.path))], seed);
      batch = paths.flatMap((p) => batch.filter((b) => b.op.path === p));
    }
    const answer = server.commit(
      batch.map((b) => b.op),
      c.name,
    );
    answer.results.forEach((result, i) => {
      const item = batch[i]!;
      const what = item.op.op === 'put' ? `put ${item.op.tok}` : 'delete';
      if ('rev' in result) {
        c.synced.set(item.op.path, { rev: result.rev, id: item.id });
        trace.push(`${c.name}: commit ${what} ${item.op.path} base ${item.op.baseRev} -> rev ${result.rev}`);
      } else if (result.conflict) {
        c.remote.set(item.op.path, result.conflict);
        trace.push(`${c.name}: commit ${what} ${item.op.path} base ${item.op.baseRev} -> conflict ${tokOfEntry(result.conflict) ?? 'deleted'}@${result.conflict.rev}`);
      } else {
        c.remote.delete(item.op.path);
        trace.push(`${c.name}: commit ${what} ${item.op.path} base ${item.op.baseRev} -> conflict (absent)`);
      }
      c.dirty.add(item.op.path);
      c.quiet.set(item.op.path, answer.rev);
    });
  };

  for (const step of schedule) {
    stepNo++;
    const c = clients[step.c % clients.length]!;
    if (step.t === 'feed') feed(c, c.cursor + Math.ceil(((server.head - c.cursor) * step.frac) / 4));
    else if (step.t === 'plan') plan(c, step.seed);
    else flush(c, step.max, stepNo * 7919);
  }
  const atFixpoint = () =>
    clients.every((c) => c.queue.length === 0 && c.cursor === server.head && c.paths().every((p) => c.decideAt(p) === 'none'));
  for (let round = 0; round <= opts.drainRounds; round++) {
    if (atFixpoint()) return { world, rounds: round, trace, orderMismatches };
    for (const c of clients) {
      stepNo++;
      feed(c, server.head);
      plan(c, stepNo);
      flush(c, c.queue.length, stepNo);
    }
  }
  return { world, rounds: atFixpoint() ? opts.drainRounds + 1 : undefined, trace, orderMismatches };
}

// ---- what the properties compare ---------------------------------------------------------

/** The path a conflict copy was made from (copies of copies too). */
export function originOf(path: string): string {
  let p = path;
  for (;;) {
    if (!isConflictCopy(p)) return p;
    const next = p.replace(/ \(conflict from .+ \d{4}-\d{2}-\d{2} \d{6}(?: \d+)?\)((?:\.[^./]*)?)$/, '$1');
    if (next === p) return p;
    p = next;
  }
}

/** The changes a starting world holds, which a correct sync keeps (or lets supersede). */
export interface Expectations {
  /** Per path: contents some client changed to locally, which must survive at the path or a copy of it. */
  localChanges: Map<string, Set<Identity>>;
  /** Per path: the server's live content, unless a client that had it as its base changed it. */
  serverContent: Map<string, Identity>;
  /**
   * Per path: every content that may exist at the end (at the path or a copy of it): what
   * some client held apart from its synced base, and the server's content unless superseded.
   */
  justified: Map<string, Set<Identity>>;
}

/**
 * A client's local content is a change of its own when it differs from its synced base.
 * It must survive, unless it is the same as a server version the client has not yet gone
 * past in the feed: then decide() may record it as agreement with that version (identical
 * content is the same version), and whoever replaced or deleted that version on the server
 * did so having seen it. Which happens depends on when the client plans, so such content
 * is allowed at the end but not required.
 */
export function expectations(raw: RawWorld): Expectations {
  const { server, clients } = buildWorld(raw);
  const localChanges = new Map<string, Set<Identity>>();
  const serverContent = new Map<string, Identity>();
  const justified = new Map<string, Set<Identity>>();
  for (const path of PATHS) {
    const required = new Set<Identity>();
    const ok = new Set<Identity>();
    let superseded = false;
    const cur = server.current.get(path);
    const history = server.log.filter((e) => e.path === path);
    for (const c of clients) {
      const l = idOf(c.local.get(path));
      const s = c.synced.get(path);
      const viewRev = c.remote.get(path)?.rev ?? 0;
      if (l !== (s?.id ?? null)) {
        if (l !== null) {
          ok.add(l);
          if (!history.some((v) => v.rev >= viewRev && !v.deleted && remoteIdentity(v) === l)) required.add(l);
        }
        // A client that had the current version as its base changed it: it may go.
        if (cur && s && s.rev === cur.rev) superseded = true;
      }
    }
    localChanges.set(path, required);
    if (cur && !cur.deleted && !superseded) {
      serverContent.set(path, remoteIdentity(cur));
      ok.add(remoteIdentity(cur));
    }
    justified.set(path, ok);
  }
  return { localChanges, serverContent, justified };
}

/** Contents per origin path in a final state. */
export function byOrigin(state: Map<string, Identity>): Map<string, Set<Identity>> {
  const out = new Map<string, Set<Identity>>();
  for (const [p, id] of state) {
    const o = originOf(p);
    if (!out.has(o)) out.set(o, new Set());
    out.get(o)!.add(id);
  }
  return out;
}
