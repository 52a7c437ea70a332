/** Transfers in flight with their progress, rate and ETA, as the UI shows them. */
import type { Transfer, TransfersSnapshot } from '../../shared/bridge.js';

/** Rates are measured over this window. */
const WINDOW_MS = 3000;

class Meter {
  private samples: { at: number; bytes: number }[] = [];

  add(bytes: number, now: number): void {
    this.samples.push({ at: now, bytes });
    while (this.samples.length > 0 && this.samples[0]!.at < now - WINDOW_MS) this.samples.shift();
  }

  rate(now: number): number {
    const recent = this.samples.filter((s) => s.at >= now - WINDOW_MS);
    if (recent.length === 0) return 0;
    const bytes = recent.reduce((sum, s) => sum + s.bytes, 0);
    const span = Math.max(500, now - recent[0]!.at);
    return (bytes * 1000) / span;
  }
}

interface Live extends Omit<Transfer, 'rate' | 'etaSeconds'> {
  meter: Meter;
}

export class Progress {
  private readonly live = new Map<string, Live>();
  private readonly overall = new Meter();
  private nextId = 1;

  constructor(private readonly changed: () => void) {}

  start(folder: number, path: string, direction: 'up' | 'down', bytesTotal: number): string {
    const id = `${direction}-${this.nextId++}`;
    this.live.set(id, { id, folder, path, direction, bytesDone: 0, bytesTotal, meter: new Meter() });
    this.changed();
    return id;
  }

  add(id: string, bytes: number): void {
    const t = this.live.get(id);
    if (!t) return;
    const now = Date.now();
    t.bytesDone += bytes;
    t.meter.add(bytes, now);
    this.overall.add(bytes, now);
    this.changed();
  }

  finish(id: string): void {
    if (this.live.delete(id)) this.changed();
  }

  snapshot(): TransfersSnapshot {
    const now = Date.now();
    const items: Transfer[] = [...this.live.values()].map(({ meter, ...t }) => {
      const rate = meter.rate(now);
      return { ...t, rate, etaSeconds: eta(t.bytesTotal - t.bytesDone, rate) };
    });
    const bytesDone = items.reduce((s, t) => s + t.bytesDone, 0);
    const bytesTotal = items.reduce((s, t) => s + t.bytesTotal, 0);
    const rate = this.overall.rate(now);
    return { items, bytesDone, bytesTotal, rate, etaSeconds: items.length ? eta(bytesTotal - bytesDone, rate) : null };
  }
}

function eta(left: number, rate: number): number | null {
  return rate > 0 ? Math.ceil(left / rate) : null;
}
