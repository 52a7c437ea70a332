/**
 * Syncthing as a peer: two `syncthing serve` processes (A and B), each with its own home
 * (keys, config, database), sharing one folder. Everything stays on 127.0.0.1: no global or
 * local discovery, no relays, no NAT traversal, no usage or crash reports, no upgrades, and
 * each device knows the other only at an address that is a counting wire proxy, so all their
 * traffic (whichever side dials) is counted. The filesystem watcher is on with its delay at
 * the minimum (1 s); full rescans stay at the default hour. The REST API (on 127.0.0.1, with
 * an API key) is asked only whether both are connected and idle.
 *
 * Only A dials, and only once B listens: when both dial each other at once, Syncthing 1.19
 * can leave both connections hanging in the Hello exchange for its 20 s timeout (seen in
 * about one start in three here), and a dial that finds B not yet listening is retried only
 * some seconds later; either would be timed as part of a restart.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Peer, PeerProcess } from './peer.js';
import { freePort } from './ports.js';
import { WireProxies } from './wire-proxy.js';

const FOLDER_ID = 'bench';
/** Syncthing's folder marker, created in both roots before it starts. */
const MARKER = '.stfolder';
const START_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const POLL_MS = 50;
/** Idle counts when two looks this far apart both say so, as for Ferry's clients. */
const IDLE_CONFIRM_MS = 100;
const TAIL_LINES = 30;

/** Whether `bin` runs; its version line, or undefined. */
export function syncthingVersion(bin: string): string | undefined {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

interface Side {
  name: 'A' | 'B';
  home: string;
  root: string;
  id: string;
  listenPort: number;
  guiPort: number;
  apiKey: string;
  logFile: string;
}

function run(bin: string, args: string[]): string {
  const out = spawnSync(bin, args, { encoding: 'utf8', env: syncthingEnv() });
  if (out.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited with ${out.status}: ${out.stderr || out.stdout}`);
  return out.stdout;
}

/**
 * No default folder, no upgrades, and no monitor process: STMONITORED tells Syncthing that it
 * already is the monitored child, so each device is one process (without it a monitor
 * process that only restarts the child runs as well, even with --no-restart).
 */
function syncthingEnv(): NodeJS.ProcessEnv {
  return { ...process.env, STNODEFAULTFOLDER: '1', STNOUPGRADE: '1', STNORESTART: '1', STMONITORED: 'yes' };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The whole config of one side; what it leaves out takes Syncthing's defaults. `dial` is the
 * port this side reaches the other at, or undefined when it never dials ('dynamic' with all
 * discovery off).
 */
function configXml(self: Side, other: Side, dial: number | undefined): string {
  const device = (s: Side, port: number | undefined): string =>
    `    <device id="${s.id}" name="${s.name}" compression="metadata" introducer="false">\n` +
    `        <address>${port === undefined ? 'dynamic' : `tcp://127.0.0.1:${port}`}</address>\n` +
    `        <autoAcceptFolders>false</autoAcceptFolders>\n` +
    `    </device>`;
  return `<configuration version="36">
    <folder id="${FOLDER_ID}" label="bench" path="${xml(self.root)}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="1" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="${self.id}"></device>
        <device id="${other.id}"></device>
        <markerName>${MARKER}</markerName>
    </folder>
${device(self, self.listenPort)}
${device(other, dial)}
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:${self.guiPort}</address>
        <apikey>${self.apiKey}</apikey>
    </gui>
    <options>
        <listenAddress>tcp://127.0.0.1:${self.listenPort}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <urAccepted>-1</urAccepted>
        <crashReportingEnabled>false</crashReportingEnabled>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <startBrowser>false</startBrowser>
        <restartOnWakeup>false</restartOnWakeup>
        <setLowPriority>false</setLowPriority>
        <stunServer></stunServer>
    </options>
</configuration>
`;
}

class SyncthingPeer implements Peer {
  readonly reserved = new Set([MARKER]);
  readonly deviceLinks = { A: ['A → B'], B: ['A → B'] } as const;
  private procs = new Map<'A' | 'B', { proc: ChildProcess; exited: Promise<void>; lines: string[] }>();
  /** Date.now() when the processes were last spawned: a scan counts for idle only if it ended after. */
  private spawnedWall = 0;

  private constructor(
    private readonly bin: string,
    readonly wire: WireProxies,
    private readonly sides: readonly [Side, Side],
  ) {}

  get rootA(): string {
    return this.sides[0].root;
  }

  get rootB(): string {
    return this.sides[1].root;
  }

  static async start(dir: string, bin: string): Promise<SyncthingPeer> {
    const side = async (name: 'A' | 'B'): Promise<Side> => {
      const home = join(dir, `home-${name.toLowerCase()}`);
      run(bin, ['generate', `--home=${home}`, '--no-default-folder']);
      const id = run(bin, ['serve', `--home=${home}`, '--device-id']).trim();
      const root = join(dir, `root-${name.toLowerCase()}`);
      await mkdir(join(root, MARKER), { recursive: true });
      return { name, home, root, id, listenPort: await freePort(), guiPort: await freePort(), apiKey: randomBytes(16).toString('hex'), logFile: join(dir, `syncthing-${name.toLowerCase()}.log`) };
    };
    const a = await side('A');
    const b = await side('B');
    const wire = WireProxies.start();
    await writeFile(join(a.home, 'config.xml'), configXml(a, b, await wire.add('A → B', b.listenPort)));
    await writeFile(join(b.home, 'config.xml'), configXml(b, a, undefined));
    const peer = new SyncthingPeer(bin, wire, [a, b]);
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
    return [...this.procs].map(([role, p]) => ({ role, pid: p.proc.pid! }));
  }

  async restart(): Promise<number> {
    await this.stopProcesses();
    return this.startProcesses();
  }

  async waitIdle(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const at = performance.now();
      if (await this.bothIdle()) {
        await sleep(IDLE_CONFIRM_MS);
        if (await this.bothIdle()) return at;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`Syncthing was not idle within ${timeoutMs} ms`);
  }

  async describe(): Promise<string> {
    const lines = [];
    for (const s of this.sides) {
      const state = await this.status(s).then((st) => JSON.stringify(st), (err: Error) => `no status: ${err.message}`);
      lines.push(`syncthing ${s.name} (log ${s.logFile}): ${state}`, `syncthing ${s.name} last log lines:\n${this.procs.get(s.name)?.lines.join('\n') ?? ''}`);
    }
    return lines.join('\n');
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    await this.wire.close();
  }

  /** B, then A once B answers (its listener starts before its REST API); resolves with when B was spawned. */
  private async startProcesses(): Promise<number> {
    const spawnedAt = performance.now();
    this.spawnedWall = Date.now();
    for (const s of [this.sides[1], this.sides[0]]) {
      this.spawn(s);
      await this.waitRest(s);
    }
    return spawnedAt;
  }

  private spawn(s: Side): void {
    const args = ['serve', `--home=${s.home}`, '--no-browser', '--no-restart', '--no-upgrade', '--logflags=3', `--gui-address=http://127.0.0.1:${s.guiPort}`, `--gui-apikey=${s.apiKey}`];
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: syncthingEnv() });
    const log = createWriteStream(s.logFile, { flags: 'a' });
    const lines: string[] = [];
    const take = (d: Buffer): void => {
      log.write(d);
      lines.push(...d.toString('utf8').split('\n').filter(Boolean));
      lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // Never leave a Syncthing behind if the bench dies.
    const killOnExit = (): void => void proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    void exited.then(() => {
      process.off('exit', killOnExit);
      log.end();
    });
    this.procs.set(s.name, { proc, exited, lines });
  }

  private async waitRest(s: Side): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    const p = this.procs.get(s.name)!;
    while (performance.now() < deadline) {
      if (p.proc.exitCode !== null) throw new Error(`syncthing ${s.name} exited with ${p.proc.exitCode}:\n${p.lines.join('\n')}`);
      if (await this.rest(s, '/rest/system/ping').then(() => true, () => false)) return;
      await sleep(POLL_MS);
    }
    throw new Error(`syncthing ${s.name} did not answer its REST API within ${START_TIMEOUT_MS} ms:\n${p.lines.join('\n')}`);
  }

  private async stopProcesses(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async ({ proc, exited }) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.procs.clear();
  }

  private async rest(s: Side, path: string): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${s.guiPort}${path}`, { headers: { 'X-API-Key': s.apiKey } });
    if (!res.ok) throw new Error(`syncthing ${s.name} ${path}: HTTP ${res.status}`);
    return res.json();
  }

  /** What the side says about the folder and its peer. */
  private async status(s: Side): Promise<SideStatus> {
    const other = this.sides.find((o) => o !== s)!;
    const [connections, db, completion, stats] = (await Promise.all([
      this.rest(s, '/rest/system/connections'),
      this.rest(s, `/rest/db/status?folder=${FOLDER_ID}`),
      this.rest(s, `/rest/db/completion?folder=${FOLDER_ID}&device=${other.id}`),
      this.rest(s, '/rest/stats/folder'),
    ])) as [Connections, DbStatus, Completion, FolderStats];
    // lastScan has whole seconds: a scan that ended in the second of the spawn counts.
    const lastScan = Date.parse(stats[FOLDER_ID]?.lastScan ?? '');
    return {
      connected: connections.connections[other.id]?.connected ?? false,
      scanned: lastScan >= Math.floor(this.spawnedWall / 1000) * 1000,
      state: db.state,
      needTotalItems: db.needTotalItems,
      otherCompletion: completion.completion,
      otherNeedItems: completion.needItems,
    };
  }

  /** Connected to the other, scanned since it started, not scanning or pulling, needing nothing, and the other needing nothing from it. */
  private async bothIdle(): Promise<boolean> {
    try {
      const all = await Promise.all(this.sides.map((s) => this.status(s)));
      return all.every((st) => st.connected && st.scanned && st.state === 'idle' && st.needTotalItems === 0 && st.otherCompletion === 100 && st.otherNeedItems === 0);
    } catch {
      return false; // REST not up yet after a restart
    }
  }
}

interface Connections {
  connections: Record<string, { connected: boolean }>;
}

interface DbStatus {
  state: string;
  needTotalItems: number;
}

interface Completion {
  completion: number;
  needItems: number;
}

type FolderStats = Record<string, { lastScan: string } | undefined>;

interface SideStatus {
  connected: boolean;
  scanned: boolean;
  state: string;
  needTotalItems: number;
  otherCompletion: number;
  otherNeedItems: number;
}

export function startSyncthingPeer(dir: string, bin: string): Promise<Peer> {
  return SyncthingPeer.start(dir, bin);
}
