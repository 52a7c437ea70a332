/** The comparison's tables, notes and JSON, with the targets the figures are held against. */
import { spawnSync } from 'node:child_process';
import { LIMIT_RUNS } from './limits.js';
import { duration, grid, size } from './report.js';
import type { Outcome } from './session.js';
import type { Limits, RowSpec } from './workloads.js';

export const PEERS = ['ferry', 'syncthing'] as const;
export type PeerName = (typeof PEERS)[number];

const TARGETS = { timeRatio: 0.5, p50Ms: 200, wireFactor: 2 };

/** A row's figures: per peer an outcome or why it failed, and the limits. */
export interface Result {
  spec: RowSpec;
  peers: Partial<Record<PeerName, Outcome | { failed: string }>>;
  limits: Limits;
}

function outcome(r: Result, p: PeerName): Outcome | undefined {
  const o = r.peers[p];
  return o && !('failed' in o) ? o : undefined;
}

function cell(r: Result, p: PeerName, show: (o: Outcome) => string): string {
  const o = r.peers[p];
  if (!o) return '—';
  return 'failed' in o ? 'failed' : show(o);
}

const figure = (o: Outcome): string => o.shown ?? duration(o.seconds);
const MiBof = (kib: number | undefined): string => (kib === undefined ? '—' : `${(kib / 1024).toFixed(0)}`);
const devicesPeak = (o: Outcome): number => Math.max(o.usage.peakKiB.get('A') ?? 0, o.usage.peakKiB.get('B') ?? 0);

function mark(met: boolean | undefined): string {
  return met === undefined ? '—' : met ? 'ok' : 'MISS';
}

/** Time: Ferry at most half of Syncthing's; the latency row also its p50 under 200 ms. */
function timeVerdict(r: Result): boolean | undefined {
  const f = outcome(r, 'ferry');
  const s = outcome(r, 'syncthing');
  const ratio = f && s ? f.seconds <= TARGETS.timeRatio * s.seconds : undefined;
  if (!r.spec.latency || !f) return ratio;
  const p50 = f.seconds * 1000 < TARGETS.p50Ms;
  return ratio === undefined ? p50 : ratio && p50;
}

function limitCell(r: Result): string {
  const f = outcome(r, 'ferry');
  const { cp, sha } = r.limits;
  if (!cp && !sha) return '—';
  const vs = (l: { seconds: number }): string => (f && !r.spec.latency ? ` (${(f.seconds / l.seconds).toFixed(1)}×)` : '');
  return [cp ? `cp ${duration(cp.seconds)}${vs(cp)}` : '', sha ? `sha ${duration(sha.seconds)}${vs(sha)}` : ''].filter(Boolean).join(', ');
}

/** CPU seconds of all the peer's processes over the span: steadier than wall time on a busy machine. */
const cpuTotal = (o: Outcome): string => [...o.usage.cpuSeconds.values()].reduce((a, b) => a + b, 0).toFixed(1);

export function timeTable(results: readonly Result[]): string {
  return grid(
    ['workload', 'Ferry', 'Syncthing', 'Ferry/Syncthing', 'limit (Ferry ×)', 'target', 'ok', 'CPU s Ferry / Syncthing'],
    results.map((r) => {
      const f = outcome(r, 'ferry');
      const s = outcome(r, 'syncthing');
      const target = r.spec.latency ? `≤ ${TARGETS.timeRatio}×, p50 < ${TARGETS.p50Ms} ms` : `≤ ${TARGETS.timeRatio}×`;
      const cpu = `${cell(r, 'ferry', cpuTotal)} / ${cell(r, 'syncthing', cpuTotal)}`;
      return [r.spec.title, cell(r, 'ferry', figure), cell(r, 'syncthing', figure), f && s ? `${(f.seconds / s.seconds).toFixed(2)}` : '—', limitCell(r), target, mark(timeVerdict(r)), cpu];
    }),
  );
}

function wireVerdict(r: Result): boolean | undefined {
  const f = outcome(r, 'ferry');
  return f && r.spec.changed ? f.wireDevice <= TARGETS.wireFactor * r.spec.changed.bytes : undefined;
}

function rssVerdict(r: Result): boolean | undefined {
  const f = outcome(r, 'ferry');
  const s = outcome(r, 'syncthing');
  return f && s ? devicesPeak(f) < devicesPeak(s) : undefined;
}

export function resourceTable(results: readonly Result[]): string {
  const wire = (o: Outcome): string => `${size(o.wireDevice)} (${size(o.wireTotal)})`;
  const rss = (o: Outcome): string => {
    const server = o.usage.peakKiB.get('server');
    return `${MiBof(o.usage.peakKiB.get('A'))} / ${MiBof(o.usage.peakKiB.get('B'))}${server === undefined ? '' : ` / ${MiBof(server)}`}`;
  };
  return grid(
    ['workload', 'changed', 'Ferry wire', 'Syncthing wire', `≤ ${TARGETS.wireFactor}× changed`, 'Ferry RSS MiB A/B/server', 'Syncthing RSS MiB A/B', 'RSS below'],
    results.map((r) => [
      r.spec.title,
      r.spec.changed ? size(r.spec.changed.bytes) : '—',
      cell(r, 'ferry', wire),
      cell(r, 'syncthing', wire),
      mark(wireVerdict(r)),
      cell(r, 'ferry', rss),
      cell(r, 'syncthing', rss),
      mark(rssVerdict(r)),
    ]),
  );
}

function cpuNote(o: Outcome): string {
  return [...o.usage.cpuSeconds].map(([role, s]) => `${role} ${s.toFixed(1)} s`).join(', ');
}

export function notes(results: readonly Result[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    out.push(`  ${r.spec.title.trim()}:`);
    for (const p of PEERS) {
      const o = r.peers[p];
      if (!o) continue;
      out.push(`    ${p}: ${'failed' in o ? `FAILED: ${o.failed}` : `${o.note}; CPU ${cpuNote(o)}`}`);
    }
    const limits = [r.limits.cp, r.limits.sha].filter(Boolean).map((l) => `${l!.what} ${duration(l!.seconds)}`);
    if (limits.length) out.push(`    limits (best of ${LIMIT_RUNS}): ${limits.join('; ')}`);
    if (r.spec.changed) out.push(`    changed: ${size(r.spec.changed.bytes)}, ${r.spec.changed.what}`);
  }
  return out;
}

export const LEGEND = [
  'time: from the end of the change in A until B held the same tree (paths, sizes, SHA-256), looked at from outside;',
  '  restart: from spawning every process of the peer until both sides said they were connected and idle.',
  'limit: the same data on the same disk in the same run: cp = cp + sync (for an edit: writing the changed bytes + fdatasync),',
  '  sha = SHA-256 of it in Node; (Ferry ×) is Ferry\'s time over that limit. CPU s: all the peer\'s processes over the workload.',
  'wire: TCP payload through the counting proxies every connection of the peer goes through: the busiest device\'s bytes sent +',
  '  received, in brackets all of the peer\'s (Ferry: A↔server + B↔server; Syncthing: A↔B, so both figures are the same).',
  'RSS: peak (VmHWM, reset at the start of each span, read every 250 ms) of each process; "RSS below" compares the larger device (A or B),',
  '  leaving Ferry\'s server out (Syncthing has none; its figure is shown).',
].join('\n');

/** The commit measured, so runs can be compared; '' outside a git checkout. */
export function commitInfo(): string {
  const git = (...args: string[]): string => spawnSync('git', args, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD');
  if (!head) return '';
  return `commit: ${head}${git('status', '--porcelain', '--', 'src').length > 0 ? ' with uncommitted changes in src/' : ''}`;
}

export function toJson(results: readonly Result[], header: Record<string, unknown>): string {
  const outcomeJson = (o: Outcome | { failed: string } | undefined): unknown => {
    if (!o || 'failed' in o) return o;
    // Only the figures: a workload's outcome may carry more (the tree it compared).
    const { seconds, shown, wireTotal, wireDevice, note } = o;
    const cpuSeconds = [...o.usage.cpuSeconds].map(([role, s]) => [role, Math.round(s * 100) / 100]);
    return { seconds, shown, wireTotal, wireDevice, peakKiB: Object.fromEntries(o.usage.peakKiB), cpuSeconds: Object.fromEntries(cpuSeconds), note };
  };
  const rows = results.map((r) => ({
    key: r.spec.key,
    title: r.spec.title.trim(),
    changedBytes: r.spec.changed?.bytes,
    ferry: outcomeJson(r.peers.ferry),
    syncthing: outcomeJson(r.peers.syncthing),
    limits: r.limits,
    verdicts: { time: timeVerdict(r), wire: wireVerdict(r), rss: rssVerdict(r) },
  }));
  return JSON.stringify({ ...header, targets: TARGETS, rows }, null, 2);
}
