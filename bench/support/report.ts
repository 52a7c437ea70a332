/** Figures and the table they are printed in. */
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';

export type Verdict = 'ok' | 'miss' | '—';

export interface Row {
  workload: string;
  figure: string;
  target: string;
  verdict: Verdict;
  /** How the figure was made, printed under the table. */
  note?: string;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function verdict(met: boolean): Verdict {
  return met ? 'ok' : 'miss';
}

/** 12345.6 → "12,346". */
export function whole(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `loadAtStart` is os.loadavg() from before the run. */
export function machineInfo(loadAtStart: readonly number[]): string[] {
  const cpu = cpus();
  return [
    `cpu:    ${cpu[0]?.model.trim() ?? 'unknown'}, ${cpu.length} cores (${availableParallelism()} available)`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `os:     ${type()} ${release()}`,
    `node:   ${process.version}`,
    // Other work on the machine shows up in wall-clock figures; server CPU per op does not.
    `load:   1-min average ${loadAtStart[0]?.toFixed(2)} at the start, ${loadavg()[0]?.toFixed(2)} at the end`,
  ];
}

/** The figures as aligned columns, then each row's note. */
export function table(rows: readonly Row[]): string {
  return grid(
    ['workload', 'figure', 'target', 'ok/miss'],
    rows.map((r) => [r.workload, r.figure, r.target, r.verdict]),
    rows.map((r) => ({ label: r.workload, note: r.note })),
  );
}

/** Cells as aligned columns under a header and a rule, then the notes that are given. */
export function grid(header: readonly string[], rows: readonly (readonly string[])[], notes: readonly { label: string; note?: string | undefined }[] = []): string {
  const cells = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...cells.map((row) => (row[col] ?? '').length)));
  const line = (row: readonly string[]): string => row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const noted = notes.filter((n) => n.note).map((n) => `  ${n.label}: ${n.note}`);
  return [line(header), rule, ...rows.map(line), ...(noted.length ? ['', 'notes:', ...noted] : [])].join('\n');
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** 0.00042 → "0.42 ms", 0.0123 → "12 ms", 3.456 → "3.46 s". */
export function duration(s: number): string {
  if (s < 0.01) return `${(s * 1000).toFixed(2)} ms`;
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

/** 1536 → "1.5 KiB". */
export function size(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${n.toFixed(0)} B`;
}
