/**
 * Keeps the app core running in its own process: forks it, talks to it over a MainEnd, and
 * forks it again after a crash (with growing pauses, so a core that dies at once does not spin).
 * Its `bridge` outlives the processes: listeners stay subscribed across restarts, and a call
 * made while the core is down fails at once with a clear message instead of hanging.
 * Written against a `fork` function, so tests run the same host entry as a Node child process.
 */
import { EventHub } from '../app/event-hub.js';
import type { FerryBridge } from '../shared/bridge.js';
import { bridgeOver, EVENTS } from '../shared/bridge-calls.js';
import { MainEnd, type HostServices, type Port } from './host-channel.js';

export interface HostProcess {
  port: Port;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

export interface SupervisorOptions {
  fork(): HostProcess;
  services: HostServices;
  log(level: 'warn' | 'error', message: string): void;
  /** A new core process is up (the first, or one after a crash). */
  onUp(): void;
  /** The core process exited unasked; a restart is scheduled. */
  onDown(reason: string): void;
  /** Pauses before the 1st, 2nd, … restart in a row; the last one repeats. */
  restartDelaysMs?: readonly number[];
  /** A process that ran this long resets the count of crashes in a row. */
  stableMs?: number;
  /** How long a clean stop may take before the process is killed. */
  stopTimeoutMs?: number;
}

const DEFAULT_DELAYS_MS = [500, 2_000, 5_000, 15_000, 60_000];

/** The pause before restarting after `crashesInARow` crashes (1 for the first). */
export function restartDelay(crashesInARow: number, delays: readonly number[] = DEFAULT_DELAYS_MS): number {
  return delays[Math.min(Math.max(crashesInARow, 1), delays.length) - 1]!;
}

interface Running {
  process: HostProcess;
  end: MainEnd;
  startedAt: number;
  exited: Promise<void>;
}

export class EngineSupervisor {
  readonly bridge: FerryBridge;
  private current: Running | null = null;
  private crashes = 0;
  private downReason = 'the sync process is starting';
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** The bridge's listeners: they stay when the process under them is replaced. */
  private readonly hub: EventHub;

  constructor(private readonly o: SupervisorOptions) {
    this.hub = new EventHub((err) => o.log('error', `a bridge listener failed: ${err instanceof Error ? err.message : String(err)}`));
    this.bridge = bridgeOver({
      call: (command, args) =>
        this.current ? this.current.end.call(command, args) : Promise.resolve({ ok: false, error: { code: 'internal', message: this.downReason } }),
      listen: (event, listener) => this.hub.on(event, listener),
    });
  }

  start(): void {
    this.spawn();
  }

  /** Stops the core cleanly (it flushes its journals), killing it if it takes too long. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const running = this.current;
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.o.stopTimeoutMs ?? 10_000)));
    const outcome = await Promise.race([running.end.stop().then(() => running.exited), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.o.log('warn', 'the sync process did not stop in time; killing it');
      running.process.kill();
      await running.exited;
    }
  }

  private spawn(): void {
    this.restartTimer = null;
    const child = this.o.fork();
    const end = new MainEnd(child.port, this.o.services, (problem) => this.o.log('error', problem));
    for (const event of EVENTS) end.listen(event, (payload) => this.hub.emit(event, payload as never));
    let exited!: () => void;
    const running: Running = { process: child, end, startedAt: Date.now(), exited: new Promise((resolve) => (exited = resolve)) };
    child.onExit((code) => {
      this.exited(running, code);
      exited();
    });
    this.current = running;
    this.o.onUp();
  }

  private exited(running: Running, code: number | null): void {
    const reason = this.stopping ? 'Ferry is quitting' : `the sync process exited (code ${code ?? 'none'}); restarting it`;
    running.end.close(reason);
    if (this.current === running) this.current = null;
    this.downReason = reason;
    if (this.stopping) return;
    this.crashes = Date.now() - running.startedAt >= (this.o.stableMs ?? 60_000) ? 1 : this.crashes + 1;
    const delay = restartDelay(this.crashes, this.o.restartDelaysMs);
    this.o.log('error', `${reason} in ${delay} ms`);
    this.o.onDown(reason);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }
}
