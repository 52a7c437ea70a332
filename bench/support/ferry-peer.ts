/**
 * Ferry as a peer: a real `ferry serve` and two real `ferry sync` processes (A and B) from
 * bin/ferry.js, each client on its own folder and state directory, each reaching the server
 * through its own counting wire proxy.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as admin from '../../src/server/admin.js';
import { openStores } from '../../src/server/server.js';
import { ClientProcess, summarize, type ClientOptions } from './client-process.js';
import type { Peer, PeerProcess } from './peer.js';
import { freePort } from './ports.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { WireProxies } from './wire-proxy.js';

const FOLDER = 'bench';
const START_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 120_000;

export interface FerryOptions {
  /** The clients' log level. */
  logLevel: string;
  /** Extra node flags for the clients and the server (e.g. --cpu-prof). */
  nodeArgs: readonly string[];
}

/** A user with one device token per client and the one folder they share. */
async function seedDataDir(dataDir: string): Promise<{ A: string; B: string }> {
  const { store } = await openStores(dataDir);
  try {
    await admin.addUser(store, 'bench', 'bench-password');
    const A = (await admin.createToken(store, 'bench', 'bench A')).token;
    const B = (await admin.createToken(store, 'bench', 'bench B')).token;
    await admin.createFolder(store, FOLDER, 'bench');
    return { A, B };
  } finally {
    store.close();
  }
}

class FerryPeer implements Peer {
  readonly reserved = new Set(['.ferry']);
  readonly deviceLinks = { A: ['A ↔ server'], B: ['B ↔ server'] } as const;

  private constructor(
    readonly wire: WireProxies,
    private readonly dataDir: string,
    private readonly serverPort: number,
    private readonly options: { A: ClientOptions; B: ClientOptions },
    private server: ServerProcess | undefined,
    private clients: ClientProcess[],
  ) {}

  get rootA(): string {
    return this.options.A.root;
  }

  get rootB(): string {
    return this.options.B.root;
  }

  /** Starts everything in `dir` and resolves once both clients are connected and idle. */
  static async start(dir: string, o: FerryOptions): Promise<FerryPeer> {
    const dataDir = join(dir, 'server');
    const tokens = await seedDataDir(dataDir);
    const serverPort = await freePort();
    const wire = WireProxies.start();
    const client = async (name: 'A' | 'B'): Promise<ClientOptions> => ({
      server: `http://127.0.0.1:${await wire.add(`${name} ↔ server`, serverPort)}`,
      token: tokens[name],
      folder: FOLDER,
      root: join(dir, `root-${name.toLowerCase()}`),
      stateDir: join(dir, `state-${name.toLowerCase()}`),
      logFile: join(dir, `client-${name.toLowerCase()}.log`),
      logLevel: o.logLevel,
      nodeArgs: o.nodeArgs,
    });
    const options = { A: await client('A'), B: await client('B') };
    await Promise.all([mkdir(options.A.root, { recursive: true }), mkdir(options.B.root, { recursive: true })]);
    const peer = new FerryPeer(wire, dataDir, serverPort, options, undefined, []);
    try {
      await peer.startProcesses();
      await peer.waitIdle(READY_TIMEOUT_MS);
      return peer;
    } catch (err) {
      await peer.stop();
      throw err;
    }
  }

  processes(): PeerProcess[] {
    return [...(this.server ? [{ role: 'server', pid: this.server.pid }] : []), ...this.clients.map((c) => ({ role: c.name, pid: c.pid }))];
  }

  async restart(): Promise<number> {
    await this.stopProcesses();
    return this.startProcesses();
  }

  async waitIdle(timeoutMs: number): Promise<number> {
    const at = await Promise.all(this.clients.map((c) => c.waitIdle(timeoutMs)));
    return Math.max(...at);
  }

  async describe(): Promise<string> {
    const lines = [];
    for (const c of this.clients) {
      const state = await c.state().then(summarize, (err: Error) => `no state: ${err.message}`);
      lines.push(`client ${c.name} (pid ${c.pid}, log ${c.options.logFile}): ${state}`, `client ${c.name} last log lines:\n${c.tail()}`);
    }
    return lines.join('\n');
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    await this.wire.close();
  }

  /**
   * The server on its fixed port (the proxies point at it), then both clients at once, as two
   * devices start independently; resolves with when the server was spawned.
   */
  private async startProcesses(): Promise<number> {
    const spawnedAt = performance.now();
    this.server = await startServerProcess(this.dataDir, this.options.A.nodeArgs, this.serverPort);
    const started = await Promise.allSettled((['A', 'B'] as const).map((name) => ClientProcess.start(name, this.options[name], START_TIMEOUT_MS)));
    for (const s of started) if (s.status === 'fulfilled') this.clients.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return spawnedAt;
  }

  private async stopProcesses(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.stop()));
    this.clients = [];
    await this.server?.stop();
    this.server = undefined;
  }
}

export function startFerryPeer(dir: string, options: FerryOptions): Promise<Peer> {
  return FerryPeer.start(dir, options);
}
