/**
 * Ferry against Syncthing, side by side, measured from outside and identically for both.
 * Each tool (a "peer": Ferry = `ferry serve` + two `ferry sync`; Syncthing = two
 * `syncthing serve`) gets a fresh pair of folders, A and B, per workload. The same workload
 * code changes folder A and times until folder B holds the same tree (paths, sizes, SHA-256);
 * bytes on the wire are counted by TCP proxies every connection of the peer goes through;
 * each process's peak RSS comes from /proc. Beside the figures: the physical limits of the
 * same machine on the same data (cp + sync on the same disk, SHA-256), measured in the same
 * run. It asserts nothing and is not part of `npm test`.
 *
 *   npm run bench:compare                        every workload, both tools
 *   npm run bench:compare -- --quick             small sizes: a smoke run of a few minutes
 *   npm run bench:compare -- --only latency --only rename
 *   npm run bench:compare -- --peer ferry        Ferry alone (what `npm run bench:sync` runs)
 *   --json PATH (default bench-results/compare-<time>.json)   --keep (keep temp folders and logs)
 *   --syncthing PATH (default: syncthing on the PATH)
 *   BENCH_SYNC_LOG_LEVEL, BENCH_SYNC_NODE_ARGS   the Ferry clients' log level; extra node flags for the clients and the server
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commitInfo, LEGEND, notes, PEERS, resourceTable, timeTable, toJson, type PeerName, type Result } from './support/compare-report.js';
import { startFerryPeer } from './support/ferry-peer.js';
import type { Peer } from './support/peer.js';
import { Session } from './support/session.js';
import { startSyncthingPeer, syncthingVersion } from './support/syncthing-peer.js';
import { duration, machineInfo, size } from './support/report.js';
import { FULL, QUICK, WORKLOAD_OF, WORKLOADS, type WorkloadName } from './support/workloads.js';

function note(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

interface Options {
  workloads: WorkloadName[];
  peers: PeerName[];
  quick: boolean;
  keep: boolean;
  json: string;
  syncthing: string;
  workDir: string;
}

/** The peer running now, so an interrupt can stop it cleanly. */
let running: Peer | undefined;
let interrupted = false;

function startPeer(name: PeerName, dir: string, o: Options): Promise<Peer> {
  if (name === 'syncthing') return startSyncthingPeer(dir, o.syncthing);
  return startFerryPeer(dir, {
    logLevel: process.env.BENCH_SYNC_LOG_LEVEL ?? 'info',
    nodeArgs: (process.env.BENCH_SYNC_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  });
}

/**
 * One workload on every peer in turn, each in a fresh directory; the limits on the first
 * peer's folder A once it has stopped. A peer's failure becomes its cells in the table, so
 * the rest still runs.
 */
async function runWorkload(name: WorkloadName, o: Options): Promise<Result[]> {
  const workload = WORKLOAD_OF[name](o.quick ? QUICK : FULL);
  const results: Result[] = workload.rows.map((spec) => ({ spec, peers: {}, limits: {} }));
  let limitsTaken = false;
  for (const peerName of o.peers) {
    if (interrupted) break;
    const dir = join(o.workDir, `${name}-${peerName}`);
    await mkdir(dir, { recursive: true });
    note(`${name} on ${peerName}…`);
    let peer: Peer | undefined;
    let rootA: string | undefined;
    try {
      peer = await startPeer(peerName, dir, o);
      running = peer;
      rootA = peer.rootA;
      const outcomes = await workload.run(new Session(peer, dir));
      for (const r of results) {
        const out = outcomes.get(r.spec.key);
        if (out) r.peers[peerName] = out;
        if (out) note(`  ${r.spec.title.trim()}: ${out.shown ?? duration(out.seconds)}; wire ${size(out.wireTotal)}`);
      }
    } catch (err) {
      const message = (err as Error).message;
      note(`  ${name} failed on ${peerName}: ${message}`);
      if (peer) note(await peer.describe());
      for (const r of results) r.peers[peerName] ??= { failed: message.split('\n')[0]! };
    } finally {
      running = undefined;
      await peer?.stop();
    }
    if (rootA && !limitsTaken && results.every((r) => r.peers[peerName] && !('failed' in r.peers[peerName]))) {
      const limits = await workload.limits(rootA).catch((err: Error) => {
        note(`  limits of ${name} not measured: ${err.message}`);
        return new Map();
      });
      for (const r of results) r.limits = limits.get(r.spec.key) ?? {};
      limitsTaken = true;
    }
    if (!o.keep) await rm(dir, { recursive: true, force: true });
  }
  return results;
}

// ---- main ---------------------------------------------------------------------------

function options(): Omit<Options, 'workDir'> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      peer: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      syncthing: { type: 'string', default: 'syncthing' },
    },
  });
  const list = <T extends string>(given: string[] | undefined, all: readonly T[], what: string): T[] => {
    const names = (given ?? []).flatMap((g) => g.split(',')).filter(Boolean);
    for (const n of names) if (!(all as readonly string[]).includes(n)) throw new Error(`unknown ${what} '${n}'; choose from ${all.join(', ')}`);
    return names.length ? all.filter((a) => names.includes(a)) : [...all];
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return {
    workloads: list(values.only, WORKLOADS, 'workload'),
    peers: list(values.peer, PEERS, 'peer'),
    quick: values.quick,
    keep: values.keep,
    json: resolve(values.json ?? join('bench-results', `compare-${stamp}${values.quick ? '-quick' : ''}.json`)),
    syncthing: values.syncthing,
  };
}

async function main(): Promise<void> {
  const chosen = options();
  const version = chosen.peers.includes('syncthing') ? syncthingVersion(chosen.syncthing) : undefined;
  if (chosen.peers.includes('syncthing') && !version) {
    note(`SKIPPING SYNCTHING: '${chosen.syncthing}' does not run (not installed? e.g. apt install syncthing, or --syncthing PATH); measuring Ferry alone`);
    chosen.peers = chosen.peers.filter((p) => p !== 'syncthing');
  }
  if (chosen.peers.length === 0) return;
  const loadAtStart = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'ferry-bench-compare-'));
  note(`work in ${workDir}${chosen.quick ? ' (quick sizes)' : ''}`);
  // Ctrl-C or a kill stops the running peer and removes the temp folders; the children's
  // own 'exit' handlers kill whatever is left if even that fails.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      note(`${signal}: stopping`);
      void (async () => {
        await running?.stop().catch(() => {});
        if (!chosen.keep) await rm(workDir, { recursive: true, force: true }).catch(() => {});
        process.exit(130);
      })();
    });
  }
  const results: Result[] = [];
  try {
    for (const w of chosen.workloads) results.push(...(await runWorkload(w, { ...chosen, workDir })));
  } finally {
    if (chosen.keep) note(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
  const machine = machineInfo(loadAtStart);
  const header = [
    '',
    `${chosen.peers.map((p) => (p === 'ferry' ? 'Ferry' : 'Syncthing')).join(' vs ')} on loopback${chosen.quick ? ' — QUICK SIZES (a smoke run, not the benchmark)' : ''}`,
    ...machine,
    `disk:   ${workDir}`,
    `syncthing: ${version ?? 'not run'}`,
    commitInfo(),
  ].filter(Boolean);
  const text = [...header, '', timeTable(results), '', resourceTable(results), '', 'notes:', ...notes(results), '', LEGEND, ''].join('\n');
  process.stdout.write(text);
  await mkdir(dirname(chosen.json), { recursive: true });
  await writeFile(chosen.json, toJson(results, { date: new Date().toISOString(), quick: chosen.quick, machine, syncthing: version, commit: commitInfo(), peers: chosen.peers }));
  note(`wrote ${chosen.json}`);
}

await main();
