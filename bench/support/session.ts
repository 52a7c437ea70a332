/**
 * One peer under measurement: changes made in its folder A, timed from outside until its
 * folder B holds the same tree, with the bytes on the wire and every process's memory and
 * CPU counted around them the same way for every peer.
 */
import { performance } from 'node:perf_hooks';
import { busiestDevice, UsageWatch, wireByLink, wireQuiet, type Peer, type Usage } from './peer.js';
import { duration } from './report.js';
import { TreeWatcher, type Tree } from './tree.js';

/** Generous: a run that needs it is a finding, and the table says so. */
const SYNC_TIMEOUT_MS = 1_800_000;
/** The exchange counts as over once nothing crossed the wire for this long (Ferry pings every 15 s, Syncthing every 90 s). */
const QUIET_MS = 2_000;
const QUIET_TIMEOUT_MS = 60_000;

/** What one peer did on one row. */
export interface Outcome {
  /** The figure compared: from the end of the change in A until B held the same tree (latency: the p50). */
  seconds: number;
  /** The figure as printed, when it is more than a duration. */
  shown?: string;
  /** Bytes through every wire proxy of the peer, both ways. */
  wireTotal: number;
  /** The most bytes one device sent and received. */
  wireDevice: number;
  usage: Usage;
  note: string;
}

export interface Measured extends Outcome {
  /** The tree A held after the change. */
  tree: Tree;
}

/** Watches B, and counts wire and usage, around a change made in A. */
export class Session {
  readonly watcher: TreeWatcher;

  constructor(
    readonly peer: Peer,
    /** The peer's own directory: room for files prepared outside its folders. */
    readonly dir: string,
  ) {
    this.watcher = new TreeWatcher(peer.rootB, peer.reserved);
  }

  /**
   * Makes a change in A (which returns the tree A then holds) and times from its end until
   * B holds the same tree. Wire and usage run on until the wire has gone quiet, so they
   * cover the whole exchange.
   */
  async measure(change: () => Promise<Tree>): Promise<Measured> {
    return this.span(async () => {
      const started = performance.now();
      const tree = await change();
      const changed = performance.now();
      const convergedAt = await this.watcher.waitFor(tree, SYNC_TIMEOUT_MS);
      return { tree, seconds: (convergedAt - changed) / 1000, note: `change written into A in ${duration((changed - started) / 1000)}` };
    });
  }

  /** Runs `work` with the wire and every process's usage counted until the wire is quiet again after it. */
  async span<T extends { seconds: number; note: string }>(work: () => Promise<T>): Promise<T & Outcome> {
    const before = wireByLink(this.peer);
    const totalBefore = this.peer.wire.total();
    const usage = await UsageWatch.start(this.peer);
    try {
      const result = await work();
      const quiet = await wireQuiet(this.peer, QUIET_MS, QUIET_TIMEOUT_MS);
      return {
        ...result,
        wireTotal: this.peer.wire.total() - totalBefore,
        wireDevice: busiestDevice(this.peer, before, wireByLink(this.peer)),
        usage: await usage.stop(),
        note: quiet ? result.note : `${result.note}; the wire was still busy ${QUIET_TIMEOUT_MS / 1000} s after`,
      };
    } catch (err) {
      await usage.stop();
      throw err;
    }
  }
}
