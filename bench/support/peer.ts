/**
 * What the comparison needs from a sync tool under test (a "peer"): two folders kept in sync,
 * A and B, the processes that do it, and the wire between them routed through counting
 * proxies. Everything else (the workloads, the clock, the tree comparison, memory and CPU)
 * is measured from outside, the same way for every peer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { processTree, readCpuSeconds, readPeakRssKiB, resetPeakRss } from './proc.js';
import type { WireProxies } from './wire-proxy.js';

/** One process of a peer, by its role: 'A' and 'B' are the two devices; Ferry also has a 'server'. */
export interface PeerProcess {
  role: string;
  pid: number;
}

export interface Peer {
  readonly rootA: string;
  readonly rootB: string;
  /** Names at a folder's root that belong to the tool (staging folder, marker), not to the user's tree. */
  readonly reserved: ReadonlySet<string>;
  readonly wire: WireProxies;
  /** The wire proxies' labels each device's traffic goes through. */
  readonly deviceLinks: Readonly<Record<'A' | 'B', readonly string[]>>;
  /** The processes running now (their pids change on restart). */
  processes(): PeerProcess[];
  /** Stops every process of the peer and starts them all again; resolves with when (performance.now()) the first was spawned. */
  restart(): Promise<number>;
  /**
   * Resolves with when (performance.now()) both sides were first seen connected, done
   * scanning and with nothing left to do, asking the tool itself. Used only to time a
   * restart: every other figure comes from looking at the folders.
   */
  waitIdle(timeoutMs: number): Promise<number>;
  /** What each process was doing, for an error message. */
  describe(): Promise<string>;
  /** Stops every process; safe to call twice. */
  stop(): Promise<void>;
}

/** The most bytes any one device sent and received over a span: for Ferry the larger of A's and B's link to the server, for Syncthing the A–B link. */
export function busiestDevice(peer: Peer, before: Map<string, number>, after: Map<string, number>): number {
  const device = (labels: readonly string[]): number => labels.reduce((sum, l) => sum + (after.get(l) ?? 0) - (before.get(l) ?? 0), 0);
  return Math.max(device(peer.deviceLinks.A), device(peer.deviceLinks.B));
}

/** Bytes per proxy label, both ways. */
export function wireByLink(peer: Peer): Map<string, number> {
  return new Map([...peer.wire.counts()].map(([label, c]) => [label, c.sent + c.received]));
}

export interface Usage {
  /** Peak RSS (VmHWM) per role over the span, KiB: the largest of the role's processes and their children. */
  peakKiB: Map<string, number>;
  /** CPU seconds per role over the span. */
  cpuSeconds: Map<string, number>;
}

const SAMPLE_MS = 250;

/**
 * Peak memory and CPU of every process of a peer over a span of time. VmHWM is set back to
 * the current RSS at the start, then read every quarter second and at the end. Processes
 * that were running at the start and are gone at the end (a restart stopped them) don't
 * count: a restart's figures are those of the processes it started, from their start.
 */
export class UsageWatch {
  private readonly peaks = new Map<number, { role: string; kib: number }>();
  private readonly cpuStart = new Map<number, number>();
  private readonly cpuLast = new Map<number, { role: string; seconds: number }>();
  /** The pids running at the start. */
  private readonly initial = new Set<number>();
  private running = true;
  private readonly loop: Promise<void>;

  private constructor(private readonly peer: Peer) {
    this.loop = this.sampleUntilStopped();
  }

  static async start(peer: Peer): Promise<UsageWatch> {
    const watch = new UsageWatch(peer);
    for (const { pid } of await pidsOf(peer)) {
      watch.initial.add(pid);
      await resetPeakRss(pid).catch(() => {});
      watch.cpuStart.set(pid, await readCpuSeconds(pid).catch(() => 0));
    }
    return watch;
  }

  async stop(): Promise<Usage> {
    this.running = false;
    await this.loop;
    await this.sample();
    const alive = new Set((await pidsOf(this.peer)).map((p) => p.pid));
    const counts = (pid: number): boolean => alive.has(pid) || !this.initial.has(pid);
    const peakKiB = new Map<string, number>();
    for (const [pid, { role, kib }] of this.peaks) if (counts(pid)) peakKiB.set(role, Math.max(peakKiB.get(role) ?? 0, kib));
    const cpuSeconds = new Map<string, number>();
    for (const [pid, { role, seconds }] of this.cpuLast) if (counts(pid)) cpuSeconds.set(role, (cpuSeconds.get(role) ?? 0) + seconds - (this.cpuStart.get(pid) ?? 0));
    return { peakKiB, cpuSeconds };
  }

  private async sampleUntilStopped(): Promise<void> {
    while (this.running) {
      await this.sample();
      await sleep(SAMPLE_MS);
    }
  }

  private async sample(): Promise<void> {
    for (const { role, pid } of await pidsOf(this.peer)) {
      // A process may exit between listing and reading: it keeps what was last read.
      const kib = await readPeakRssKiB(pid).catch(() => 0);
      this.peaks.set(pid, { role, kib: Math.max(kib, this.peaks.get(pid)?.kib ?? 0) });
      const seconds = await readCpuSeconds(pid).catch(() => undefined);
      if (seconds !== undefined) this.cpuLast.set(pid, { role, seconds });
      // A process that started during the span (a restart) counts from zero.
      if (!this.cpuStart.has(pid)) this.cpuStart.set(pid, 0);
    }
  }
}

/** Each process of the peer and its descendants, under its role. */
async function pidsOf(peer: Peer): Promise<PeerProcess[]> {
  const out: PeerProcess[] = [];
  for (const p of peer.processes()) for (const pid of await processTree(p.pid)) out.push({ role: p.role, pid });
  return out;
}

const QUIET_POLL_MS = 100;

/**
 * Resolves once no byte has crossed the wire for `quietMs` (or after `timeoutMs`, whatever
 * still trickles): the end of an exchange, seen from outside. Returns whether it went quiet.
 */
export async function wireQuiet(peer: Peer, quietMs: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let last = peer.wire.total();
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(QUIET_POLL_MS);
    const now = peer.wire.total();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return true;
  }
  return false;
}
