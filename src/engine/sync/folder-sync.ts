/**
 * One folder pair: a local directory kept in sync with a server folder. It gathers what
 * changed (the scanner for local paths, the feed for remote ones), asks the reconciler what
 * each changed path needs, and carries that out: commits up, writes down, conflict copies.
 *
 * Work happens in passes. A pass scans what the watcher pointed at, then plans every dirty
 * path that is not already being worked on. Transfers run beside the pass, a few at a time,
 * and mark their path dirty again when they end, so whatever changed meanwhile is planned
 * again against fresh state.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Activity, FolderPhase, FolderStatus, IssueKind, SyncIssue } from '../../shared/bridge.js';
import { isSameOrInside, parentPath } from '../../shared/paths.js';
import type { Entry, Op, ServerMessageOf } from '../../shared/protocol/messages.js';
import type { ChunkList } from '../content/file-content.js';
import { expandRuns } from '../../shared/protocol/move-runs.js';
import type { HashPool } from '../content/hash-pool.js';
import { ChangedSinceHashed, KeptBytes } from '../content/kept-bytes.js';
import type { LocalFile, LocalJournal, PathRecord, PendingApply } from '../journal/local-journal.js';
import { Disconnected, RequestFailed, type Connection } from '../net/connection.js';
import type { MissingChunks } from '../net/missing-chunks.js';
import type { Throttle } from '../net/throttle.js';
import { IGNORE_FILE, IgnoreRules } from '../scan/ignore-rules.js';
import { FRESH_MS, RootMissing, Scanner } from '../scan/scanner.js';
import { Watcher } from '../scan/watcher.js';
import { conflictName } from './conflict-name.js';
import { earlyUpload } from './early-upload.js';
import { FolderDisk, HashMismatch, TargetChanged, type Landed, type RangeReader, type StagedWrite } from './disk.js';
import { Groups } from './groups.js';
import { caseKey, foldsCase, portabilityProblem, type Platform } from './portability.js';
import type { Progress } from './progress.js';
import { recoverPendingApplies } from './recover-applies.js';
import { Slots } from './slots.js';
import { decide, identity, remoteIdentity, type Action, type Identity, type SyncedState } from './reconcile.js';

export interface FolderSyncOptions {
  platform: Platform;
  /** A full rescan this often, to catch what any watcher misses. */
  rescanMs: number;
  /** Quiet time after a watcher event before the path is scanned. */
  settleMs: number;
  /** Large files transferred at once. */
  transfers: number;
  /** Small files (one chunk) transferred at once: their cost is round trips and flushes, not bandwidth. */
  smallTransfers: number;
  /** Deletions held for confirmation: more than `max`, or more than `fraction` of the folder (and at least `floor`). */
  massDelete: { max: number; fraction: number; floor: number };
  watch: boolean;
}

export const DEFAULT_FOLDER_OPTIONS: FolderSyncOptions = {
  platform: 'linux',
  rescanMs: 3600_000,
  settleMs: 20,
  transfers: 4,
  smallTransfers: 32,
  massDelete: { max: 1000, fraction: 0.5, floor: 10 },
  watch: true,
};

export interface FolderEvents {
  changed(): void;
  conflicts(): void;
  issues(): void;
  activity(activity: Omit<Activity, 'id'>): void;
}

export interface FolderSyncDeps {
  journal: LocalJournal;
  folderId: number;
  name: string;
  root: string;
  conn: Connection;
  missingChunks: MissingChunks;
  hashes: HashPool;
  device: () => string;
  up: Throttle;
  down: Throttle;
  progress: Progress;
  events: FolderEvents;
  log: Logger;
  options: FolderSyncOptions;
}

interface QueuedOp {
  op: Op;
  /** What the commit will make the path (for a put or delete), to record as synced. */
  id: Identity;
  /** Paths to hold still until the feed has brought this commit back. */
  touches: string[];
}

/** A path a local copy of a remote move carries, and what it becomes at its new place. */
interface MovedPath {
  from: string;
  to: string;
  local: LocalFile;
  synced: SyncedState | undefined;
}

const RETRY_MS = 2000;
/** How long the status view's totals are kept while syncing. */
const TOTALS_MS = 1000;
/** A file this small is one chunk (the chunker's minimum): it takes a small-transfer slot. */
const SMALL_FILE_BYTES = 256 * 1024;
/**
 * Chunk bytes of one file in flight at once, each way (uploads awaiting `stored`, downloads
 * fetched ahead of the write), so round trips and server writes overlap: counted in bytes,
 * as chunk sizes differ by client version (1 MiB at most now, 4 MiB before).
 */
const WINDOW_BYTES = 8 * 1024 * 1024;

export class FolderSync {
  private readonly disk: FolderDisk;
  private readonly scanner: Scanner;
  private readonly keptBytes = new KeptBytes();
  private rules = new IgnoreRules();
  private readonly watcher: Watcher | undefined;
  private remoteId: number | undefined;
  private caughtUp = false;
  /** A subscribe is on its way: feed messages that don't fit are leftovers of the old one. */
  private resubscribed = false;
  private paused = false;
  private stopped = false;
  private phase: FolderPhase = 'starting';
  private message: string | null = null;
  private lastSyncAt: number | null = null;
  private totals: { files: number; bytes: number; at: number } | undefined;

  private scanEverything = true;
  private readonly toScan = new Set<string>();
  private readonly dirty = new Set<string>();
  /** Conflicted paths whose other version is still to be written; listed once it is. */
  private readonly awaitingTheirs = new Set<string>();
  private readonly busy = new Set<string>();
  /** Paths whose own commit is on its way back through the feed, up to this revision. */
  private readonly quietUntil = new Map<string, number>();
  /** A path that vanished and one that appeared with the same inode or content: new → old. */
  private readonly moveHints = new Map<string, string>();
  private readonly commitQueue: QueuedOp[] = [];
  /** Paths with an op queued or on its way: planning them now would race their own commit. */
  private readonly committingPaths = new Set<string>();
  private held: { paths: Set<string>; direction: 'local' | 'remote' } | undefined;
  private confirmedDeletes = false;
  private readonly issues = new Map<string, SyncIssue>();

  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private readonly largeSlots: Slots;
  private readonly smallSlots: Slots;
  private committing: Promise<void> = Promise.resolve();
  private readonly landings = new Groups<StagedWrite, Landed>((writes) => this.landGroup(writes));

  constructor(private readonly d: FolderSyncDeps) {
    this.disk = new FolderDisk(d.root);
    this.largeSlots = new Slots(d.options.transfers);
    this.smallSlots = new Slots(d.options.smallTransfers);
    if (d.options.watch) {
      this.watcher = new Watcher(d.root, (path) => this.rules.ignores(path, false), (path) => this.onLocalEvent(path), (err, message) =>
        d.log.warn({ err, folder: d.name }, message),
      );
    }
    const watcher = this.watcher;
    // Larger files go up while they are hashed; a small file's bytes wait for its upload.
    const tap = (path: string, size: number) =>
      size > SMALL_FILE_BYTES && this.remoteId !== undefined && d.conn.connected ? earlyUpload(d, this.remoteId, path, size) : undefined;
    this.scanner = new Scanner(d.root, d.hashes, () => this.rules, watcher && ((path, ino) => watcher.watchDir(path, ino)), tap, this.keptBytes);
  }

  get id(): number {
    return this.d.folderId;
  }

  get root(): string {
    return this.d.root;
  }

  remoteMatches(folder: number): boolean {
    return this.remoteId === folder;
  }

  /** The folder's id on the server; only known while connected. */
  remote(): number {
    if (this.remoteId === undefined) throw new Disconnected();
    return this.remoteId;
  }

  /**
   * Whether the other device's version of a conflicted path is in place. Until then the
   * conflict is not offered for resolving: "keep mine" would put this device's version back
   * before theirs arrived, and the arrival would be a second conflict.
   */
  theirsInPlace(path: string): boolean {
    const record = this.d.journal.get(this.d.folderId, path);
    return !record?.remote || record.synced?.rev === record.remote.rev;
  }

  /** Looks at these paths again soon (after the engine itself changed them). */
  touch(paths: string[]): void {
    for (const p of paths) this.toScan.add(p);
    this.schedule(0);
  }

  // ---- lifecycle --------------------------------------------------------------------

  async start(): Promise<void> {
    try {
      await this.scanner.checkRoot();
      const recovered = await recoverPendingApplies(this.d.journal, this.d.folderId, this.disk, this.d.hashes);
      if (recovered.length > 0) this.d.log.info({ folder: this.d.name, paths: recovered }, 'writes a crash left unrecorded, settled at start');
      await this.disk.prepare();
      await this.loadRules();
    } catch (err) {
      if (!(err instanceof RootMissing)) throw err;
    }
    this.rescanTimer = setInterval(() => {
      this.scanEverything = true;
      this.schedule(0);
    }, this.d.options.rescanMs);
    this.rescanTimer.unref();
    this.markUnsettled();
    this.schedule(0);
  }

  /** Stops taking new work. The engine then closes the connection, which ends transfers. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.rescanTimer);
    await this.watcher?.close();
  }

  /** Resolves once the pass, the transfers and the commits in flight have ended. */
  async drained(): Promise<void> {
    while (this.running || this.largeSlots.active + this.smallSlots.active > 0) {
      await this.running;
      if (this.largeSlots.active + this.smallSlots.active > 0) await new Promise((r) => setTimeout(r, 10));
    }
    await this.committing;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.updatePhase();
    if (!paused) {
      this.scanEverything = true;
      this.schedule(0);
    }
  }

  retry(): void {
    for (const [key, issue] of this.issues) if (issue.kind !== 'mass-delete') this.issues.delete(key);
    this.d.events.issues();
    this.markUnsettled();
    this.scanEverything = true;
    this.schedule(0);
  }

  /**
   * Marks every path the journal says has work left. The dirty set lives in memory only:
   * after a restart (or a retry) this finds what was scanned but not committed, received
   * but not applied, or failed.
   */
  private markUnsettled(): void {
    for (const r of this.d.journal.all(this.d.folderId)) {
      if (decide(r.remote, r.local, r.synced) !== 'none') this.dirty.add(r.path);
    }
  }

  status(): FolderStatus {
    const totals = this.localTotals();
    return {
      id: this.d.folderId,
      name: this.d.name,
      root: this.d.root,
      phase: this.phase,
      message: this.message,
      files: totals.files,
      bytes: totals.bytes,
      pending: this.dirty.size + this.busy.size + this.toScan.size,
      lastSyncAt: this.lastSyncAt,
    };
  }

  /**
   * What is on disk, for the status view. Counting it reads every path of the folder, and a
   * sync asks for the status ten times a second: while syncing the count is kept for a
   * second; in any other phase it is fresh.
   */
  private localTotals(): { files: number; bytes: number } {
    const now = Date.now();
    if (!this.totals || this.phase !== 'syncing' || now - this.totals.at >= TOTALS_MS) {
      this.totals = { ...this.d.journal.localTotals(this.d.folderId), at: now };
    }
    return this.totals;
  }

  issueList(): SyncIssue[] {
    return [...this.issues.values()];
  }

  // ---- inputs -------------------------------------------------------------------------

  private onLocalEvent(path: string): void {
    if (path === IGNORE_FILE) void this.loadRules();
    // Busy from the moment a change is seen, not from when its scan starts.
    if (this.phase === 'idle') this.setPhase('syncing');
    this.toScan.add(path);
    this.schedule(this.d.options.settleMs);
  }

  private async loadRules(): Promise<void> {
    try {
      this.rules = new IgnoreRules(await readFile(this.disk.path(IGNORE_FILE), 'utf8'));
    } catch {
      this.rules = new IgnoreRules();
    }
  }

  /** A (re)connection: find the folder on the server, check who the server is, subscribe. */
  onWelcome(welcome: ServerMessageOf<'welcome'>): void {
    const info = welcome.folders.find((f) => f.name === this.d.name);
    this.caughtUp = false;
    if (!info) {
      this.remoteId = undefined;
      this.setIssue('server', 'server-refused', null, `the server has no folder '${this.d.name}' this account can use`);
      this.updatePhase();
      return;
    }
    this.clearIssue('server');
    const row = this.d.journal.folder(this.d.folderId);
    // Another server, or this one restored from a backup: what it lacks is not a deletion.
    if ((row.serverId !== null && row.serverId !== welcome.server.id) || info.rev < row.cursor) {
      this.d.log.warn({ folder: this.d.name, was: row.serverId, now: welcome.server.id }, 'server identity or history changed; merging');
      this.d.journal.forgetServer(this.d.folderId);
    }
    this.d.journal.setFolderRemote(this.d.folderId, info.id, welcome.server.id);
    this.remoteId = info.id;
    this.subscribe();
  }

  private subscribe(): void {
    if (this.remoteId === undefined || !this.d.conn.connected) return;
    this.caughtUp = false;
    this.resubscribed = true;
    this.d.conn.notify({ type: 'subscribe', folder: this.remoteId, cursor: this.d.journal.folder(this.d.folderId).cursor });
  }

  onChanges(message: ServerMessageOf<'changes'>): void {
    if (message.folder !== this.remoteId) return;
    const cursor = this.d.journal.folder(this.d.folderId).cursor;
    if (message.from !== cursor) {
      if (message.from !== 0) {
        // A gap: ask again from where we are (once; messages already on their way are dropped).
        if (!this.resubscribed) this.subscribe();
        return;
      }
      // The server answered a cursor past its head with everything: merge.
      this.d.journal.forgetServer(this.d.folderId);
    }
    const expanded = expandRuns(message.entries, message.moves ?? [], (path) => this.d.journal.get(this.d.folderId, path)?.remote);
    if ('missing' in expanded) {
      // A move of something this device does not hold as the server had it: catch-up pages
      // always carry full entries.
      this.d.log.warn({ folder: this.d.name, path: expanded.missing }, 'a move on the feed names an entry this device lacks; catching up');
      this.subscribe();
      return;
    }
    this.resubscribed = false;
    const accepted: Entry[] = [];
    for (const entry of expanded.entries) {
      const problem = portabilityProblem(entry.path, this.d.options.platform);
      if (problem && !entry.deleted) {
        this.setIssue(`name:${entry.path}`, 'unsupported-name', entry.path, `not synced on this device: ${problem}`);
        continue;
      }
      accepted.push(entry);
    }
    this.d.journal.batch(() => {
      this.d.journal.applyFeed(this.d.folderId, accepted, message.rev);
      for (const entry of accepted) {
        this.carryOverMove(entry);
        this.dirty.add(entry.path);
      }
    });
    // Pages with `more` (on subscribe, or when the server pages in a feed that fell behind)
    // leave paths changed later at older revisions: plan only once the last page is in.
    this.caughtUp = !message.more;
    this.schedule(0);
  }

  /**
   * A path that arrives as moved from another, where this device already has content it
   * never synced, and what moved is what was synced at the old path: this device made the
   * move, so the moved version is the base of the new path, not a conflicting arrival.
   */
  private carryOverMove(entry: Entry): void {
    if (!entry.movedFrom || entry.deleted) return;
    const here = this.d.journal.get(this.d.folderId, entry.path);
    if (!here?.local || here.synced) return;
    const before = this.d.journal.get(this.d.folderId, entry.movedFrom);
    if (before?.synced && before.synced.id === remoteIdentity(entry)) {
      this.d.journal.setSynced(this.d.folderId, entry.path, { rev: entry.rev, id: before.synced.id });
    }
  }

  // ---- the pass -----------------------------------------------------------------------

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runPass(), delayMs);
  }

  private runPass(): void {
    if (this.running || this.stopped) return;
    this.again = false;
    this.running = this.pass()
      .catch((err) => this.d.log.error({ err, folder: this.d.name }, 'sync pass failed'))
      .finally(() => {
        this.running = undefined;
        this.updatePhase();
        if (this.again) this.schedule(0);
      });
  }

  private async pass(): Promise<void> {
    if (this.paused) return;
    this.setPhase(this.scanEverything ? 'scanning' : 'syncing');
    try {
      await this.scan();
    } catch (err) {
      if (!(err instanceof RootMissing)) throw err;
      this.setIssue('root', 'root-missing', null, err.message);
      this.message = err.message;
      setTimeout(() => this.schedule(0), 5000).unref();
      return;
    }
    this.clearIssue('root');
    if (!this.d.conn.connected || !this.caughtUp || this.remoteId === undefined) return;
    await this.plan();
    // Bytes kept for a path the plan did not send up (nothing to do, or not yet) would only take room.
    this.keptBytes.retainOnly((path) => this.busy.has(path));
    this.flushCommits();
  }

  private async scan(): Promise<void> {
    if (this.issues.has('root')) this.scanEverything = true; // back after missing: look at everything
    await this.scanner.checkRoot();
    if (!this.scanEverything && this.toScan.size === 0) return;
    const journal = this.d.journal;
    const folder = this.d.folderId;
    let paths: string[] | undefined;
    let knownPaths: Iterable<string>;
    let known: (path: string) => LocalFile | undefined;
    if (this.scanEverything) {
      this.scanEverything = false;
      this.toScan.clear();
      paths = undefined;
      // One read of the whole local tree instead of a query per path: a start-up scan of a
      // large folder is otherwise dominated by them.
      const all = journal.allLocal(folder);
      knownPaths = all.keys();
      known = (path) => all.get(path);
    } else {
      paths = [...this.toScan].filter((p) => !this.busy.has(p));
      for (const p of paths) this.toScan.delete(p);
      const below: string[] = [];
      for (const p of paths) {
        for (const k of journal.localPaths(folder, p)) below.push(k);
      }
      knownPaths = below;
      const cache = new Map<string, LocalFile | undefined>();
      known = (path) => {
        if (!cache.has(path)) cache.set(path, journal.local(folder, path));
        return cache.get(path);
      };
    }
    const result = await this.scanner.scan(known, knownPaths, paths, (ino) => journal.filesWithInode(folder, ino));
    this.noteMoves(result.changed, known);
    journal.batch(() => {
      for (const [path, local] of result.changed) {
        journal.setLocal(folder, path, local);
        this.dirty.add(path);
      }
    });
    for (const issue of result.issues) {
      if (issue.unsupportedName) this.setIssue(`name:${issue.path}`, 'unsupported-name', issue.path, issue.message);
      else this.setIssue(`read:${issue.path}`, 'read-error', issue.path, issue.message);
    }
    if (result.fresh.length > 0) {
      for (const p of result.fresh) this.toScan.add(p);
      setTimeout(() => this.schedule(0), FRESH_MS).unref();
    }
    if (result.unsettled.length > 0) {
      // Still being written: look again once it has been quiet for a moment.
      for (const p of result.unsettled) this.toScan.add(p);
      setTimeout(() => this.schedule(0), 200).unref();
    }
  }

  /** Pairs what vanished with what appeared, by inode (a rename) or content hash (a copy-and-delete). */
  private noteMoves(changed: Map<string, LocalFile | undefined>, known: (p: string) => LocalFile | undefined): void {
    const gone = new Map<string, string>();
    for (const [path, local] of changed) {
      const before = known(path);
      if (!local && before) {
        gone.set(`i:${before.kind}:${before.ino}`, path);
        if (before.kind === 'file') gone.set(`h:${before.hash}`, path);
      }
    }
    if (gone.size === 0) return;
    for (const [path, local] of changed) {
      if (!local || known(path)) continue;
      const from = gone.get(`i:${local.kind}:${local.ino}`) ?? (local.kind === 'file' ? gone.get(`h:${local.hash}`) : undefined);
      if (from && (local.kind !== 'dir' || this.sameTree(from, path, changed, known))) this.moveHints.set(path, from);
    }
  }

  /**
   * A directory counts as moved only if everything it held reappears below the new name with
   * the same inodes: a new directory that merely reuses a deleted one's inode number is not
   * a move, and must not pull the old contents in on the server.
   */
  private sameTree(from: string, to: string, changed: Map<string, LocalFile | undefined>, known: (p: string) => LocalFile | undefined): boolean {
    for (const [path, local] of changed) {
      if (local || !isSameOrInside(path, from) || path === from) continue;
      const before = known(path);
      const moved = changed.get(to + path.slice(from.length));
      if (before && (!moved || moved.ino !== before.ino || moved.kind !== before.kind)) return false;
    }
    return true;
  }

  private async plan(): Promise<void> {
    const journal = this.d.journal;
    const folder = this.d.folderId;
    const cursor = journal.folder(folder).cursor;
    const decisions: { record: PathRecord; action: Action }[] = [];
    for (const path of this.dirty) {
      if (this.busy.has(path) || this.committingPaths.has(path)) continue;
      const quiet = this.quietUntil.get(path);
      if (quiet !== undefined) {
        if (quiet > cursor) continue;
        this.quietUntil.delete(path);
      }
      this.dirty.delete(path);
      if (this.rules.ignores(path, false)) continue;
      const record = journal.get(folder, path) ?? { path };
      decisions.push({ record, action: decide(record.remote, record.local, record.synced) });
    }
    if (decisions.length === 0) return;
    // Moves first: a renamed tree is not a mass deletion.
    const moves = this.planMoves(decisions);
    const allowed = this.guardMassDelete(decisions.filter((x) => !moves.has(x.record.path)));

    // Parents before children when creating, children before parents when deleting.
    allowed.sort((a, b) => depth(a.record.path) - depth(b.record.path));
    const deletesLast: string[] = [];
    const ordered: string[] = [];
    for (const item of allowed) {
      // Nothing to do (a download's own path, planned again once it landed): an action that
      // changes another path's record marks that path dirty for the next pass.
      if (moves.has(item.record.path) || item.action === 'none') continue;
      const deleting =
        (item.action === 'apply' && item.record.remote?.deleted) || (item.action === 'commit' && !item.record.local);
      if (deleting) deletesLast.unshift(item.record.path);
      else ordered.push(item.record.path);
    }
    // Each path is decided again right before acting: an earlier action in this pass (a
    // directory renamed into place, say) may have changed its record.
    for (const path of [...ordered, ...deletesLast]) {
      if (this.busy.has(path) || this.committingPaths.has(path)) continue;
      const record = journal.get(folder, path) ?? { path };
      await this.act(record, decide(record.remote, record.local, record.synced));
    }
  }

  /**
   * Holds deletions that would empty much of the folder until the user confirms them: a
   * missing disk, a bad script or a broken server must never wipe everything everywhere.
   */
  private guardMassDelete(decisions: { record: PathRecord; action: Action }[]) {
    const localDeletes = decisions.filter((x) => x.action === 'commit' && !x.record.local && x.record.synced?.id);
    // Paths another device moved away are not deletions either.
    const movedAway = decisions.map((x) => x.record.remote?.movedFrom).filter((p): p is string => p !== undefined);
    const remoteDeletes = decisions.filter(
      (x) => x.action === 'apply' && x.record.remote?.deleted && x.record.local && !movedAway.some((m) => isSameOrInside(x.record.path, m)),
    );
    const { max, fraction, floor } = this.d.options.massDelete;
    const heldBefore = this.held?.paths.size ?? 0;
    if (localDeletes.length + remoteDeletes.length + heldBefore < floor && !this.confirmedDeletes) return decisions;
    const synced = this.d.journal.countSynced(this.d.folderId);
    const tooMany = (n: number) => n > max || (n >= floor && n > synced * fraction);
    let held: typeof decisions = [];
    let direction: 'local' | 'remote' = 'local';
    if (this.confirmedDeletes) {
      this.confirmedDeletes = false;
      this.held = undefined;
      this.clearIssue('mass-delete');
    } else if (tooMany(localDeletes.length + (this.held?.direction === 'local' ? this.held.paths.size : 0))) {
      held = localDeletes;
    } else if (tooMany(remoteDeletes.length + (this.held?.direction === 'remote' ? this.held.paths.size : 0))) {
      held = remoteDeletes;
      direction = 'remote';
    }
    if (held.length === 0) return decisions;
    const paths = this.held?.direction === direction ? this.held.paths : new Set<string>();
    for (const x of held) paths.add(x.record.path);
    this.held = { paths, direction };
    const where = direction === 'local' ? 'on this device' : 'on the server';
    this.setIssue('mass-delete', 'mass-delete', null, `${paths.size} items were deleted ${where}; confirm to delete them everywhere, or reject to bring them back`, paths.size);
    const heldSet = new Set(held);
    return decisions.filter((x) => !heldSet.has(x));
  }

  /** Lets held deletions go ahead. */
  confirmDeletes(): void {
    if (!this.held) return;
    for (const p of this.held.paths) this.dirty.add(p);
    this.confirmedDeletes = true;
    this.schedule(0);
  }

  /** Brings held deletions back instead: from the server for local ones, from disk for remote ones. */
  rejectDeletes(): void {
    if (!this.held) return;
    const { paths, direction } = this.held;
    this.held = undefined;
    this.clearIssue('mass-delete');
    this.d.journal.batch(() => {
      for (const p of paths) {
        // Forgetting the agreed base turns "deleted here" into "the server has it" (restore)
        // and "deleted there" into "this device has it" (upload again).
        const rec = this.d.journal.get(this.d.folderId, p);
        if (direction === 'local') this.d.journal.setSynced(this.d.folderId, p, undefined);
        else if (rec?.remote) this.d.journal.setSynced(this.d.folderId, p, { rev: rec.remote.rev, id: null });
        this.dirty.add(p);
      }
    });
    this.schedule(0);
  }

  /** Local renames become move ops: nothing is uploaded again, other devices rename too. */
  private planMoves(decisions: { record: PathRecord; action: Action }[]): Set<string> {
    const handled = new Set<string>();
    if (this.moveHints.size === 0) return handled;
    const byPath = new Map(decisions.map((x) => [x.record.path, x]));
    // Outermost first: a directory's move carries its contents, which were seen as moved too.
    const hints = [...this.moveHints].sort(([a], [b]) => depth(a) - depth(b));
    for (const [to, from] of hints) {
      const add = byPath.get(to);
      const del = byPath.get(from);
      this.moveHints.delete(to);
      if (handled.has(to) || handled.has(from)) continue;
      if (!add || !del || add.action !== 'commit' || del.action !== 'commit') continue;
      const src = del.record;
      if (!add.record.local || add.record.synced || src.local || !src.remote || src.remote.deleted || !src.synced) continue;
      if (identity(add.record.local) !== src.synced.id || src.remote.rev !== src.synced.rev) continue;
      const touches = [from, to];
      if (add.record.local.kind === 'dir') {
        // The directory's whole subtree moves with it; its entries come back through the feed.
        for (const x of decisions) {
          if (isSameOrInside(x.record.path, from) || isSameOrInside(x.record.path, to)) {
            handled.add(x.record.path);
            touches.push(x.record.path);
          }
        }
      }
      handled.add(from).add(to);
      this.enqueue({ op: { op: 'move', from, path: to, baseRev: src.remote.rev }, id: null, touches });
      this.activity(to, 'moved', 'up', this.d.device(), from);
    }
    return handled;
  }

  private async act(record: PathRecord, action: Action): Promise<void> {
    const { path } = record;
    try {
      switch (action) {
        case 'none':
          return;
        case 'record':
          this.d.journal.setSynced(this.d.folderId, path, { rev: record.remote?.rev ?? 0, id: identity(record.local) });
          this.noteSynced();
          return;
        case 'commit':
          return this.commitLocal(record);
        case 'apply':
          return await this.applyRemote(record);
        case 'conflict':
          return await this.keepBoth(record);
      }
    } catch (err) {
      this.onActError(path, err);
    }
  }

  private onActError(path: string, err: unknown): void {
    if (err instanceof TargetChanged) {
      this.toScan.add(err.path);
      this.toScan.add(path);
      this.dirty.add(path);
      this.schedule(this.d.options.settleMs);
    } else if (err instanceof Disconnected) {
      this.dirty.add(path);
    } else if (err instanceof RequestFailed && err.code === 'not_found') {
      // The version we wanted is gone from the server; a newer one is on its way.
      this.dirty.add(path);
      setTimeout(() => this.schedule(0), RETRY_MS).unref();
    } else {
      const message = err instanceof Error ? err.message : String(err);
      this.d.log.warn({ err, path, folder: this.d.name }, 'sync of a path failed');
      this.setIssue(`write:${path}`, err instanceof HashMismatch ? 'read-error' : 'write-error', path, message);
    }
  }

  // ---- up -----------------------------------------------------------------------------

  private commitLocal(record: PathRecord): void {
    const { path, local, remote } = record;
    // The newest revision known for the path; none when the server does not have it.
    const baseRev = remote ? Math.max(remote.rev, record.synced?.rev ?? 0) : 0;
    if (!local) {
      if (remote && !remote.deleted) {
        this.enqueue({ op: { op: 'delete', path, baseRev }, id: null, touches: [path] });
        this.activity(path, 'deleted', 'up', this.d.device(), null);
      } else {
        this.d.journal.setSynced(this.d.folderId, path, { rev: baseRev, id: null });
      }
      return;
    }
    const content = { kind: local.kind, size: 0, mtime: local.mtime, mode: local.mode, hash: '', chunks: [] as [string, number][], target: '' };
    if (local.kind === 'dir') {
      this.enqueue({ op: { op: 'put', path, baseRev, ...content }, id: identity(local), touches: [path] });
      return;
    }
    if (local.kind === 'symlink') {
      this.enqueue({ op: { op: 'put', path, baseRev, ...content, target: local.target }, id: identity(local), touches: [path] });
      return;
    }
    this.busy.add(path);
    void this.transfer(path, local.size, () => this.upload(record as PathRecord & { local: LocalFile }, baseRev));
  }

  /** Sends the chunks the server lacks, then queues the put. */
  private async upload(record: PathRecord & { local: LocalFile }, baseRev: number): Promise<void> {
    const { path, local } = record;
    const folder = this.remoteId!;
    const conn = this.d.conn;
    const missing = await this.d.missingChunks.of(folder, [...new Set(local.chunks.map(([h]) => h))]);
    let total = 0;
    for (const [h, size] of local.chunks) if (missing.has(h)) total += size;
    const progress = this.d.progress.start(this.d.folderId, path, 'up', total);
    // A few chunks in flight at once, so each one's round trip overlaps the others.
    const inFlight = new Set<Promise<void>>();
    let inFlightBytes = 0;
    try {
      let offset = 0;
      for (const [hash, size] of local.chunks) {
        if (missing.delete(hash)) {
          const data = (local.chunks.length === 1 && this.keptBytesOf(path, hash)) || (await this.readChunk(path, hash, offset, size));
          await this.d.up.take(size);
          const sent: Promise<void> = conn.upload(folder, hash, data, (n) => this.d.progress.add(progress, n)).finally(() => {
            inFlight.delete(sent);
            inFlightBytes -= size;
          });
          sent.catch(() => {}); // observed by the race or the final wait; never unhandled meanwhile
          inFlight.add(sent);
          inFlightBytes += size;
          while (inFlightBytes >= WINDOW_BYTES) await Promise.race(inFlight);
        }
        offset += size;
      }
      await Promise.all(inFlight);
    } finally {
      await Promise.allSettled(inFlight);
      this.d.progress.finish(progress);
      this.keptBytes.drop(path);
    }
    const op: Op = { op: 'put', path, baseRev, kind: 'file', size: local.size, mtime: local.mtime, mode: local.mode, hash: local.hash, chunks: local.chunks, target: '' };
    this.enqueue({ op, id: identity(local), touches: [path] });
    this.activity(path, record.remote && !record.remote.deleted ? 'changed' : 'added', 'up', this.d.device(), null);
  }

  /** The bytes the scan's hashing read kept for a one-chunk file, while the file is still what was hashed. */
  private keptBytesOf(path: string, hash: string): Buffer | undefined {
    try {
      return this.keptBytes.take(path, hash, this.disk.path(path));
    } catch (err) {
      if (err instanceof ChangedSinceHashed) throw new TargetChanged(path);
      throw err;
    }
  }

  /** A chunk read again from the file, checked against the hash its scan recorded. */
  private async readChunk(path: string, hash: string, offset: number, size: number): Promise<Buffer> {
    const data = await this.disk.readRange(path, offset, size);
    if (data.length !== size || createHash('sha256').update(data).digest('hex') !== hash) {
      // The file holds other bytes than its scan recorded, yet may look unchanged (a
      // write that kept size and mtime): only hashing it again can tell what it holds.
      this.scanner.distrust(path);
      throw new TargetChanged(path);
    }
    return data;
  }

  private enqueue(item: QueuedOp): void {
    this.commitQueue.push(item);
    for (const p of item.touches) this.committingPaths.add(p);
  }

  /** The op's answer is in (or it was dropped): its paths may be planned again. */
  private settle(item: QueuedOp): void {
    for (const p of item.touches) {
      this.committingPaths.delete(p);
      this.dirty.add(p);
    }
  }

  /** Sends queued ops as commits, a batch at a time, and records what came back. */
  private flushCommits(): void {
    this.committing = this.committing.then(async () => {
      while (this.commitQueue.length > 0 && this.remoteId !== undefined && this.d.conn.connected && !this.stopped) {
        const batch = this.commitQueue.splice(0, this.d.conn.limits.maxOpsPerCommit);
        await this.commitBatch(batch);
      }
      // Ops left behind by a lost connection are planned again from fresh state.
      for (const item of this.commitQueue.splice(0)) this.settle(item);
    });
  }

  private async commitBatch(batch: QueuedOp[]): Promise<void> {
    const journal = this.d.journal;
    const folder = this.d.folderId;
    let answer: ServerMessageOf<'committed'> | ServerMessageOf<'need'>;
    try {
      answer = await this.d.conn.request({ type: 'commit', folder: this.remoteId!, ops: batch.map((b) => b.op) });
    } catch (err) {
      for (const item of batch) this.settle(item);
      if (this.stopped) return;
      if (err instanceof RequestFailed) {
        this.d.log.warn({ err, folder: this.d.name }, 'commit refused');
        for (const item of batch) this.setIssue(`commit:${item.op.path}`, 'server-refused', item.op.path, err.message);
      }
      return;
    }
    if (answer.type === 'need') {
      // A chunk went missing on the server between upload and commit: plan again.
      for (const item of batch) this.settle(item);
      this.schedule(RETRY_MS);
      return;
    }
    journal.batch(() => {
      answer.results.forEach((result, i) => {
        const item = batch[i]!;
        if ('rev' in result) {
          if (item.op.op !== 'move') journal.setSynced(folder, item.op.path, { rev: result.rev, id: item.id });
          this.clearIssue(`commit:${item.op.path}`);
        } else if (result.conflict) {
          journal.setRemote(folder, result.conflict);
        } else {
          journal.clearRemote(folder, result.path);
        }
        for (const p of [...item.touches, result.path]) this.quietUntil.set(p, answer.rev);
        this.settle(item);
        this.dirty.add(result.path);
      });
    });
    this.noteSynced();
    this.schedule(0);
  }

  // ---- down ---------------------------------------------------------------------------

  private async applyRemote(record: PathRecord): Promise<void> {
    const remote = record.remote!;
    const { path, local } = record;
    const journal = this.d.journal;
    const folder = this.d.folderId;
    const problem = this.nameClash(path);
    if (problem && !remote.deleted) {
      this.setIssue(`name:${path}`, 'unsupported-name', path, problem);
      return;
    }
    if (remote.deleted) {
      const removed = await this.disk.remove(path, local);
      if (!removed) {
        // Something new lives in the directory: keep the directory (the edit wins).
        this.enqueue({ op: { op: 'put', path, baseRev: remote.rev, kind: 'dir', size: 0, mtime: local!.mtime, mode: local!.mode, hash: '', chunks: [], target: '' }, id: identity(local), touches: [path] });
        return;
      }
      journal.batch(() => {
        journal.setLocal(folder, path, undefined);
        journal.setSynced(folder, path, { rev: remote.rev, id: null });
      });
      this.activity(path, 'deleted', 'down', remote.device, null);
      this.noteSynced();
      return;
    }
    if (remote.movedFrom && !local && (await this.moveLocally(remote))) return;
    if (local && local.kind !== remote.kind) {
      // A change of kind: what is here (unchanged, or the decision would differ) goes
      // first. A directory still holding entries waits for their deletions.
      if (!(await this.disk.remove(path, local))) {
        this.dirty.add(path);
        setTimeout(() => this.schedule(0), RETRY_MS).unref();
        return;
      }
      journal.setLocal(folder, path, undefined);
      return this.applyRemote({ ...record, local: undefined });
    }
    if (remote.kind === 'file' && local?.kind === 'file' && local.hash === remote.hash) {
      // Only the exec bit differs.
      const st = await this.applying((note) => this.disk.setMode(path, remote.mode, local, (landing) => note([this.applied(remote, landing, local.chunks)])));
      this.recordWritten(remote, st, local.chunks);
      return;
    }
    if (remote.kind === 'file') {
      this.busy.add(path);
      void this.transfer(path, remote.size, () => this.download(remote, local));
      return;
    }
    const st = await this.applying((note) => {
      const announce = (landing: Stats | undefined) => note([this.applied(remote, landing, [])]);
      return remote.kind === 'dir' ? this.disk.makeDir(remote, local, announce) : this.disk.makeSymlink(remote, local, announce);
    });
    this.recordWritten(remote, st, []);
    this.activity(path, local ? 'changed' : 'added', 'down', remote.device, null);
  }

  /** A remote move of something this device has unchanged: rename it here too. */
  private async moveLocally(remote: Entry): Promise<boolean> {
    const journal = this.d.journal;
    const folder = this.d.folderId;
    const from = journal.get(folder, remote.movedFrom!);
    if (!from?.local || identity(from.local) !== remoteIdentity(remote) || from.synced?.id !== identity(from.local)) return false;
    // What the server deleted inside the directory before it moved must not travel with it
    // (nothing would ever delete it at the new path): then the new paths arrive one by one.
    if (from.local.kind === 'dir' && journal.below(folder, from.path).some((r) => r.local && r.remote?.deleted && r.remote.rev < remote.rev && r.remote.rev > (r.synced?.rev ?? 0))) {
      return false;
    }
    let moved: MovedPath[] = [];
    await this.applying((note) =>
      this.disk.move(from.path, remote.path, from.local, (landing) => {
        moved = this.movedPaths(from as PathRecord & { local: LocalFile }, remote, landing!);
        note(moved.filter((m): m is MovedPath & { synced: SyncedState } => m.synced !== undefined).map((m) => ({ path: m.to, local: m.local, synced: m.synced })));
      }),
    );
    journal.batch(() => {
      for (const m of moved) {
        journal.setLocal(folder, m.to, m.local);
        journal.setLocal(folder, m.from, undefined);
        if (m.synced) journal.setSynced(folder, m.to, m.synced);
        journal.clearPendingApply(folder, m.to);
        this.dirty.add(m.from);
        this.dirty.add(m.to);
      }
    });
    this.activity(remote.path, 'moved', 'down', remote.device, from.path);
    this.noteSynced();
    return true;
  }

  /** What copying a remote move locally makes of the moved path and each path below it. */
  private movedPaths(from: PathRecord & { local: LocalFile }, remote: Entry, landing: Stats): MovedPath[] {
    const journal = this.d.journal;
    const folder = this.d.folderId;
    const moved: MovedPath[] = [
      { from: from.path, to: remote.path, local: { ...from.local, ino: landing.ino, mtime: Math.floor(landing.mtimeMs) }, synced: { rev: remote.rev, id: remoteIdentity(remote) } },
    ];
    const subtree = from.local.kind === 'dir' ? journal.below(folder, from.path).filter((r) => r.local) : [];
    for (const r of subtree) {
      const to = remote.path + r.path.slice(from.path.length);
      // What moved is what was synced at the old path; its revision at the new path is
      // the moved entry if the feed brought it with that same content, else unknown (0)
      // and the feed decides: a file edited elsewhere before the move arrives changed.
      let synced: SyncedState | undefined;
      if (r.synced && r.synced.id === identity(r.local)) {
        const arrived = journal.get(folder, to)?.remote;
        const same = arrived?.movedFrom === r.path && remoteIdentity(arrived) === r.synced.id;
        synced = { rev: same ? arrived.rev : 0, id: r.synced.id };
      }
      moved.push({ from: r.path, to, local: r.local!, synced });
    }
    return moved;
  }

  /**
   * Runs an engine write to the folder that notes, right before it lands, what it puts where
   * (durable in the journal before the write: see PendingApply and recoverPendingApplies).
   * The write's record clears the notes; a write that failed clears them here.
   */
  private async applying<T>(write: (note: (applies: PendingApply[]) => void) => Promise<T>): Promise<T> {
    const noted: string[] = [];
    try {
      return await write((applies) => {
        this.d.journal.setPendingApplies(this.d.folderId, applies);
        for (const a of applies) noted.push(a.path);
      });
    } catch (err) {
      for (const path of noted) this.d.journal.clearPendingApply(this.d.folderId, path);
      throw err;
    }
  }

  /** The pending apply of writing `remote`, given the stat of what lands (none for a new directory). */
  private applied(remote: Entry, landing: Stats | undefined, chunks: ChunkList): PendingApply {
    return { path: remote.path, local: this.writtenLocal(remote, landing, chunks), synced: { rev: remote.rev, id: remoteIdentity(remote) } };
  }

  private async download(remote: Entry, local: LocalFile | undefined): Promise<void> {
    const progress = this.d.progress.start(this.d.folderId, remote.path, 'down', remote.size);
    const reader = this.disk.rangeReader();
    const fetched = new Map<number, Promise<Buffer>>();
    const fetch = (i: number): Promise<Buffer> => {
      let p = fetched.get(i);
      if (!p) {
        const [hash, size] = remote.chunks[i]!;
        p = this.chunk(hash, size, progress, reader);
        p.catch(() => {}); // awaited in order below; a prefetch may fail unobserved first
        fetched.set(i, p);
      }
      return p;
    };
    const kept = keptInPlace(remote, local);
    try {
      const source = (_hash: string, _size: number, i: number): Promise<Buffer> => {
        // Some bytes ahead, so the round trips hide behind the writing.
        for (let k = i, ahead = 0; k < remote.chunks.length && ahead < WINDOW_BYTES; k++) {
          if (kept.has(k)) continue;
          void fetch(k);
          ahead += remote.chunks[k]![1];
        }
        const data = fetch(i);
        fetched.delete(i);
        return data;
      };
      const staged = await this.disk.stageFile(remote, local, source, kept);
      // No file read from stays open across the rename.
      await reader.close();
      const { createdDirs } = await this.landings.submit({ entry: remote, known: local, staged });
      this.recordDirs(createdDirs);
      this.afterWritten(remote.path);
      this.activity(remote.path, local ? 'changed' : 'added', 'down', remote.device, null);
    } finally {
      await reader.close();
      this.d.progress.finish(progress);
    }
  }

  /**
   * Lands staged downloads together, so a burst of small files costs two journal
   * transactions per group, not two per file: the group's notes committed before its first
   * rename, then the records of those that landed (and the notes of those that did not
   * cleared) in one transaction after its last.
   */
  private async landGroup(writes: StagedWrite[]): Promise<PromiseSettledResult<Landed>[]> {
    const folder = this.d.folderId;
    let noted: PendingApply[] = [];
    const results = await this.disk.landFiles(writes, (landing) => {
      noted = landing.map(({ entry, written }) => this.applied(entry, written, entry.chunks));
      this.d.journal.setPendingApplies(folder, noted);
    });
    const landed = new Set(writes.filter((_, i) => results[i]!.status === 'fulfilled').map((w) => w.entry.path));
    this.d.journal.recordApplies(
      folder,
      noted.filter((a) => landed.has(a.path)),
      noted.filter((a) => !landed.has(a.path)).map((a) => a.path),
    );
    return results;
  }

  /** A chunk's bytes: from a local file that has it (checked), else from the server. */
  private async chunk(hash: string, size: number, progress: string, reader: RangeReader): Promise<Buffer> {
    for (const at of this.d.journal.findChunk(this.d.folderId, hash)) {
      try {
        const data = await reader.read(at.path, at.offset, size);
        if (data.length === size && createHash('sha256').update(data).digest('hex') === hash) {
          this.d.progress.add(progress, size);
          return data;
        }
      } catch {
        /* that copy is gone; try the next source */
      }
    }
    await this.d.down.take(size);
    return this.d.conn.download(this.remoteId!, hash, size, (n) => this.d.progress.add(progress, n));
  }

  /** What the engine itself wrote, recorded so the watcher's echo of it is not sent back. */
  private recordWritten(remote: Entry, st: Stats, chunks: ChunkList): void {
    this.d.journal.recordApplies(this.d.folderId, [this.applied(remote, st, chunks)]);
    this.afterWritten(remote.path);
  }

  /** A remote version is in place and recorded. */
  private afterWritten(path: string): void {
    this.noteSynced();
    if (this.awaitingTheirs.delete(path)) this.d.events.conflicts();
  }

  /** The local state of what the engine wrote for `remote`, given the stat of what landed. */
  private writtenLocal(remote: Entry, st: Stats | undefined, chunks: ChunkList): LocalFile {
    const size = remote.kind === 'file' ? remote.size : 0;
    return { kind: remote.kind, size, mtime: st ? Math.floor(st.mtimeMs) : 0, ino: st?.ino ?? 0, mode: remote.mode, hash: remote.hash, target: remote.target, chunks };
  }

  private recordDirs(dirs: string[]): void {
    for (const dir of dirs) this.toScan.add(dir);
  }

  /** On a case-insensitive system, a second path differing only in case can't be written. */
  private nameClash(path: string): string | undefined {
    if (!foldsCase(this.d.options.platform)) return undefined;
    const key = caseKey(path);
    const parent = parentPath(path);
    const siblings = parent === '' ? this.d.journal.all(this.d.folderId).filter((r) => !r.path.includes('/')) : this.d.journal.below(this.d.folderId, parent).filter((r) => parentPath(r.path) === parent);
    const other = siblings.find((r) => r.path !== path && caseKey(r.path) === key && r.local);
    return other ? `'${path}' differs only in case from '${other.path}', which this system treats as the same name` : undefined;
  }

  // ---- conflicts ----------------------------------------------------------------------

  /** Both sides changed: the local version moves to a conflict copy, the remote one takes the path. */
  private async keepBoth(record: PathRecord): Promise<void> {
    const { path, local, remote } = record;
    const journal = this.d.journal;
    const folder = this.d.folderId;
    const copy = conflictName(path, this.d.device(), new Date(), (p) => journal.get(folder, p)?.local !== undefined);
    // No pending apply: after a crash here the copy is a new local file (uploaded, as it
    // would be anyway) and the path is gone, which the remote version fills.
    const st = await this.disk.move(path, copy, local, () => {});
    journal.batch(() => {
      const subtree = local!.kind === 'dir' ? journal.below(folder, path).filter((r) => r.local) : [];
      journal.setLocal(folder, copy, { ...local!, ino: st.ino });
      journal.setLocal(folder, path, undefined);
      for (const r of subtree) {
        journal.setLocal(folder, copy + r.path.slice(path.length), r.local);
        journal.setLocal(folder, r.path, undefined);
        this.dirty.add(copy + r.path.slice(path.length));
        this.dirty.add(r.path);
      }
      journal.addConflict({
        folder,
        path,
        copy,
        localDevice: this.d.device(),
        remoteDevice: remote?.device ?? '',
        localSize: local!.size,
        remoteSize: remote?.size ?? 0,
        localTime: local!.mtime,
        remoteTime: remote?.mtime ?? 0,
        time: Date.now(),
      });
    });
    this.dirty.add(path);
    this.dirty.add(copy);
    this.awaitingTheirs.add(path);
    this.activity(path, 'conflict', 'down', remote?.device ?? '', null);
    this.d.events.conflicts();
    this.schedule(0);
  }

  // ---- helpers ------------------------------------------------------------------------

  /** Runs a transfer in one of a few slots; the path is planned again when it ends. */
  private async transfer(path: string, size: number, work: () => Promise<void>): Promise<void> {
    const slots = size <= SMALL_FILE_BYTES ? this.smallSlots : this.largeSlots;
    await slots.acquire();
    this.d.events.changed();
    try {
      await work();
    } catch (err) {
      this.onActError(path, err);
    } finally {
      slots.release();
      this.busy.delete(path);
      this.dirty.add(path);
      if (!this.stopped) {
        this.flushCommits();
        this.schedule(0);
      }
    }
  }

  private noteSynced(): void {
    this.lastSyncAt = Date.now();
  }

  private activity(path: string, action: Activity['action'], direction: Activity['direction'], device: string, from: string | null): void {
    this.d.events.activity({ time: Date.now(), folder: this.d.folderId, path, action, direction, device, from });
  }

  private setIssue(key: string, kind: IssueKind, path: string | null, message: string, count: number | null = null): void {
    this.issues.set(key, { id: `${this.d.folderId}:${key}`, folder: this.d.folderId, kind, path, message, count });
    this.d.events.issues();
  }

  private clearIssue(key: string): void {
    if (this.issues.delete(key)) this.d.events.issues();
  }

  private setPhase(phase: FolderPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.d.events.changed();
  }

  private updatePhase(): void {
    if (this.paused) return this.setPhase('paused');
    if (this.issues.has('root') || this.issues.has('server')) {
      this.message = (this.issues.get('root') ?? this.issues.get('server'))!.message;
      return this.setPhase('error');
    }
    this.message = this.held ? this.issues.get('mass-delete')?.message ?? null : null;
    const working = this.running || this.busy.size > 0 || this.committingPaths.size > 0 || this.toScan.size > 0;
    const waiting = [...this.dirty].some((p) => !this.quietUntil.has(p));
    this.setPhase(working || (waiting && this.d.conn.connected && this.caughtUp) ? 'syncing' : 'idle');
  }
}

/**
 * The chunks of `remote` that the local file already holds at the same offsets, when they
 * are most of it (an overwrite in place): the download then starts from a copy of the local
 * file and writes only the rest (FolderDisk.stageFile). None otherwise.
 */
function keptInPlace(remote: Entry, local: LocalFile | undefined): Set<number> {
  const kept = new Set<number>();
  if (local?.kind !== 'file' || local.chunks.length === 0) return kept;
  const localAt = new Map<number, string>();
  let offset = 0;
  for (const [hash, size] of local.chunks) {
    localAt.set(offset, hash);
    offset += size;
  }
  let keptBytes = 0;
  offset = 0;
  remote.chunks.forEach(([hash, size], i) => {
    if (localAt.get(offset) === hash) {
      kept.add(i);
      keptBytes += size;
    }
    offset += size;
  });
  return keptBytes * 2 >= remote.size ? kept : new Set();
}

function depth(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}
