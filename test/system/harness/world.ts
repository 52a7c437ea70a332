/**
 * The system under test, all real processes: one `ferry serve` and several `ferry sync`
 * clients on temp folders. Each client reaches the server through its own loopback TCP
 * relay, so a connection can be cut from outside (a dropped network, not a polite close)
 * and the server can come back on another port without the clients knowing.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Sqlite from 'better-sqlite3';
import * as admin from '../../../src/server/admin.js';
import { openStores } from '../../../src/server/server.js';
import { controlState, isIdle, spawnSyncWith, stagingLeftovers, treeOf, type SpawnedClient, type TreeItem } from '../../helpers/engine.js';
import { removeDir, spawnServer, tempDir, type SpawnedServer } from '../../helpers/server.js';

export const FOLDER = 'Docs';

/** A TCP relay from a local port to the server's current port; `cut()` drops every connection. */
class Relay {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static async open(target: () => number | undefined): Promise<Relay> {
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const port = target();
      if (port === undefined) return void inbound.destroy();
      const outbound = connect(port, '127.0.0.1');
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.once('close', () => outbound.destroy());
      outbound.once('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new Relay(server, (server.address() as AddressInfo).port, sockets);
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface WorldClient {
  index: number;
  root: string;
  stateDir: string;
  token: string;
  relay: Relay;
  proc: SpawnedClient | undefined;
  /** Stopped with SIGSTOP (frozen, sockets open). */
  frozen: boolean;
}

export class World {
  server: SpawnedServer | undefined;
  private serverPort: number | undefined;
  readonly clients: WorldClient[] = [];
  /** Every process and directory this world made, for cleanup. */
  private readonly dirs: string[] = [];

  private constructor(readonly dataDir: string) {
    this.dirs.push(dataDir);
  }

  /** A server with user alice owning folder Docs, and `n` clients (one device token each) on empty folders. */
  static async create(n: number): Promise<World> {
    const world = new World(await tempDir('ferry-sys-data-'));
    const tokens: string[] = [];
    const { store } = await openStores(world.dataDir);
    try {
      await admin.addUser(store, 'alice', 'alice-password');
      await admin.createFolder(store, FOLDER, 'alice');
      for (let i = 0; i < n; i++) tokens.push((await admin.createToken(store, 'alice', `device${i}`)).token);
    } finally {
      store.close();
    }
    await world.startServer();
    for (let i = 0; i < n; i++) {
      const root = await tempDir(`ferry-sys-root${i}-`);
      const stateDir = await tempDir(`ferry-sys-state${i}-`);
      world.dirs.push(root, stateDir);
      const relay = await Relay.open(() => world.serverPort);
      world.clients.push({ index: i, root, stateDir, token: tokens[i]!, relay, proc: undefined, frozen: false });
    }
    for (const c of world.clients) await world.startClient(c.index);
    return world;
  }

  async startServer(): Promise<void> {
    this.server = await spawnServer(this.dataDir);
    this.serverPort = Number(new URL(this.server.url).port);
  }

  /** kill -9 (or SIGTERM) the server; the relays refuse connections until it is back. */
  async stopServer(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.serverPort = undefined;
    for (const c of this.clients) c.relay.cut();
    await this.server?.stop(signal);
    this.server = undefined;
  }

  async startClient(i: number): Promise<void> {
    const c = this.clients[i]!;
    if (c.proc) return;
    const url = `http://127.0.0.1:${c.relay.port}`;
    c.proc = await spawnSyncWith(['--server', url, '--token', c.token, '--folder', FOLDER, '--dir', c.root, '--state', c.stateDir], c.root, c.stateDir);
  }

  async stopClient(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const c = this.clients[i]!;
    if (!c.proc) return null;
    if (c.frozen) this.thaw(i);
    const code = await c.proc.stop(signal);
    c.proc = undefined;
    return code;
  }

  freeze(i: number): void {
    const c = this.clients[i]!;
    if (!c.proc || c.frozen) return;
    c.proc.proc.kill('SIGSTOP');
    c.frozen = true;
  }

  thaw(i: number): void {
    const c = this.clients[i]!;
    if (!c.proc || !c.frozen) return;
    c.proc.proc.kill('SIGCONT');
    c.frozen = false;
  }

  /** Everything running again: server up, every client started and thawed. */
  async heal(): Promise<void> {
    if (!this.server) await this.startServer();
    for (const c of this.clients) {
      this.thaw(c.index);
      await this.startClient(c.index);
    }
  }

  /**
   * Waits until every client is idle and every folder holds the same tree, twice in a row a
   * moment apart; returns the tree, or throws with what differs after `timeoutMs`.
   */
  async converge(timeoutMs: number): Promise<Record<string, TreeItem>> {
    const deadline = Date.now() + timeoutMs;
    let stable = 0;
    let last = '';
    for (;;) {
      const trees = await Promise.all(this.clients.map((c) => treeOf(c.root)));
      const states = await Promise.all(this.clients.map((c) => controlState(c.stateDir).catch(() => undefined)));
      const idle = states.every((s) => s !== undefined && isIdle(s));
      const same = trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]));
      stable = idle && same ? stable + 1 : 0;
      if (stable >= 3) return trees[0]!;
      if (Date.now() > deadline) {
        last = describeDivergence(trees, states);
        throw new Error(`no convergence within ${timeoutMs} ms:\n${last}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async staging(): Promise<string[][]> {
    return Promise.all(this.clients.map((c) => stagingLeftovers(c.root)));
  }

  /** Stops every client with SIGTERM (their exit codes) and checks each client journal's integrity. */
  async stopClientsCleanly(): Promise<{ exitCodes: (number | null)[]; journals: string[] }> {
    const exitCodes: (number | null)[] = [];
    for (const c of this.clients) exitCodes.push(await this.stopClient(c.index, 'SIGTERM'));
    const journals = this.clients.map((c) => {
      const db = new Sqlite(join(c.stateDir, 'journal.db'), { readonly: true });
      try {
        return String(db.pragma('integrity_check', { simple: true }));
      } finally {
        db.close();
      }
    });
    return { exitCodes, journals };
  }

  /** Stops everything and removes its directories, unless `keep` (to look into a failure); returns them. */
  async destroy(keep = false): Promise<string[]> {
    for (const c of this.clients) {
      await this.stopClient(c.index).catch(() => undefined);
      await c.relay.close();
    }
    await this.stopServer().catch(() => undefined);
    if (!keep) for (const d of this.dirs) await removeDir(d);
    return this.dirs;
  }
}

function describeDivergence(trees: Record<string, TreeItem>[], states: (unknown | undefined)[]): string {
  const paths = [...new Set(trees.flatMap((t) => Object.keys(t)))].sort();
  const lines: string[] = [];
  for (const p of paths) {
    const seen = trees.map((t) => (t[p] ? `${t[p].kind}:${t[p].sha256.slice(0, 8)}` : '-'));
    if (new Set(seen).size > 1) lines.push(`  ${p}: ${seen.join(' | ')}`);
  }
  const st = states.map((s, i) => `  client ${i}: ${s === undefined ? 'no answer' : JSON.stringify(summarize(s))}`);
  return [`paths that differ (${lines.length}):`, ...lines.slice(0, 60), 'client states:', ...st].join('\n');
}

function summarize(s: unknown): unknown {
  const st = s as { connection: unknown; folders: { phase: string; pending: number; message?: string }[]; transfers: { items: unknown[] }; issues: unknown[] };
  return { connection: st.connection, folders: st.folders.map((f) => [f.phase, f.pending, f.message]), transfers: st.transfers.items.length, issues: st.issues };
}
