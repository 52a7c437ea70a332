/**
 * Property tests of the reconciler, run through a model of the sync loop (sync-model.ts):
 * for random starting triples of remote/local/synced trees on two or three clients and a
 * random interleaving of feeds, plans and commits, planning terminates, every client
 * converges on the server's state, no local or remote change is lost (nor anything brought
 * back that nobody kept), and the order in which a batch is processed does not matter.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/engine/sync/reconcile.js';
import { byOrigin, expectations, PATHS, run, TOKENS, type RawWorld, type RunResult, type Step } from './sync-model.js';

const DRAIN_ROUNDS = 12;
const RUNS = Number(process.env.MODEL_RUNS ?? 2000);

const tok = fc.constantFrom(...TOKENS);

const rawWorld: fc.Arbitrary<RawWorld> = fc.record({
  histories: fc.array(fc.array(fc.option(tok, { nil: null, freq: 3 }), { maxLength: 3 }), { minLength: PATHS.length, maxLength: PATHS.length }),
  interleave: fc.array(fc.nat(PATHS.length - 1), { maxLength: 9 }),
  clients: fc.array(
    fc.record({
      fresh: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) }),
      cursorPick: fc.nat(1000),
      syncedPick: fc.array(fc.nat(4), { minLength: PATHS.length, maxLength: PATHS.length }),
      local: fc.array(
        fc.oneof(
          { weight: 3, arbitrary: fc.constant('same' as const) },
          { weight: 1, arbitrary: fc.constant('absent' as const) },
          { weight: 3, arbitrary: tok },
        ),
        { minLength: PATHS.length, maxLength: PATHS.length },
      ),
    }),
    { minLength: 2, maxLength: 3 },
  ),
});

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant('feed' as const), c: fc.nat(2), frac: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('plan' as const), c: fc.nat(2), seed: fc.nat() }),
  fc.record({ t: fc.constant('flush' as const), c: fc.nat(2), max: fc.integer({ min: 1, max: 3 }) }),
);
const schedule = fc.array(step, { maxLength: 40 });

function show(ids: Iterable<Identity>): string {
  return `{${[...ids].map((i) => i ?? 'absent').join(', ')}}`;
}

function describeFinal(r: RunResult): string {
  const lines = [`server: ${JSON.stringify(Object.fromEntries(r.world.server.live()))}`];
  for (const c of r.world.clients) lines.push(`${c.name}: ${JSON.stringify(Object.fromEntries(c.liveLocal()))}`);
  return [...lines, 'trace:', ...r.trace.map((t) => `  ${t}`)].join('\n');
}

/** Every violation of (a) termination, (b) convergence, (c) no loss, for one run. */
function violations(raw: RawWorld, steps: Step[], shuffle = false): { problems: string[]; result: RunResult } {
  const result = run(raw, steps, { shuffle, drainRounds: DRAIN_ROUNDS });
  const problems: string[] = [];
  const { server, clients } = result.world;
  if (result.rounds === undefined) {
    problems.push(`no fixpoint after ${DRAIN_ROUNDS} fair rounds`);
    return { problems, result };
  }
  const live = server.live();
  for (const c of clients) {
    const mine = c.liveLocal();
    const paths = new Set([...live.keys(), ...mine.keys()]);
    for (const p of paths) {
      if (mine.get(p) !== live.get(p)) problems.push(`${c.name} holds ${mine.get(p) ?? 'nothing'} at ${p}, the server ${live.get(p) ?? 'nothing'}`);
    }
  }
  const want = expectations(raw);
  const have = byOrigin(live);
  for (const path of PATHS) {
    const kept = have.get(path) ?? new Set<Identity>();
    for (const id of want.localChanges.get(path)!) {
      if (!kept.has(id)) problems.push(`local change ${id} at ${path} was lost (kept ${show(kept)})`);
    }
    const s = want.serverContent.get(path);
    if (s !== undefined && !kept.has(s)) problems.push(`server content ${s} at ${path} was lost (kept ${show(kept)})`);
  }
  for (const [origin, ids] of have) {
    const ok = want.justified.get(origin);
    for (const id of ids) {
      if (!ok?.has(id)) problems.push(`${id} exists at ${origin} (or a copy of it) though no side kept it: justified ${show(ok ?? [])}`);
    }
  }
  return { problems, result };
}

function assertClean(raw: RawWorld, steps: Step[], shuffle = false): void {
  const { problems, result } = violations(raw, steps, shuffle);
  if (problems.length > 0) expect.fail(`${problems.join('\n')}\n${describeFinal(result)}`);
}

/**
 * A race the random search finds (in some thousands of runs): alpha creates report.txt (B)
 * for the first time and queues its put with baseRev 0. Before the answer, the feed brings
 * C, which another device had created there: alpha makes a conflict copy of B and applies C.
 * Meanwhile beta, having C as its base, deletes it. alpha's queued put then meets the
 * tombstone, which accepts baseRev 0, so it succeeds, and commitBatch records
 * synced = {rev, B} although C is now on disk. decide() then sees C as a local edit of B
 * and commits it: C, which beta deleted and nobody changed, comes back, over B.
 */
const RESURRECTION: [RawWorld, Step[]] = [
  {
    histories: [['C'], [], []],
    interleave: [],
    clients: [
      { fresh: true, cursorPick: 0, syncedPick: [0, 0, 0], local: ['B', 'same', 'same'] },
      { fresh: false, cursorPick: 1, syncedPick: [1, 0, 0], local: ['absent', 'same', 'same'] },
    ],
  },
  [
    { t: 'plan', c: 0, seed: 1 },
    { t: 'feed', c: 0, frac: 4 },
    { t: 'plan', c: 0, seed: 1 },
    { t: 'plan', c: 0, seed: 1 },
    { t: 'plan', c: 1, seed: 1 },
    { t: 'flush', c: 1, max: 3 },
    { t: 'flush', c: 0, max: 3 },
  ],
];

describe('the reconciler in a model sync loop: known schedules', () => {
  it('a first commit that lands after its path was conflicted and re-applied does not bring back what another device deleted', () => {
    assertClean(...RESURRECTION);
  });

  it('edit vs delete, delete vs edit, both deleted, concurrent edits and first contact all settle without loss', () => {
    const world: RawWorld = {
      // report.txt: A then B; notes: a dir; .hidden: A then deleted.
      histories: [['A', 'B'], ['dir'], ['A', null]],
      interleave: [0, 1, 2],
      clients: [
        // alpha synced report.txt at A and edited it to C (concurrent with B); deleted the dir.
        { fresh: false, cursorPick: 1000, syncedPick: [1, 1, 1], local: ['C', 'absent', 'same'] },
        // beta synced everything at the newest and deleted report.txt, edited .hidden (deleted there).
        { fresh: false, cursorPick: 1000, syncedPick: [2, 1, 2], local: ['absent', 'same', 'Ax'] },
        // gamma meets the server for the first time with its own versions.
        { fresh: true, cursorPick: 0, syncedPick: [0, 0, 0], local: ['B', 'link1', 'same'] },
      ],
    };
    for (const steps of [[], [{ t: 'plan', c: 1, seed: 7 }, { t: 'flush', c: 1, max: 3 }] as Step[], [{ t: 'plan', c: 2, seed: 3 }, { t: 'flush', c: 2, max: 1 }] as Step[]]) {
      assertClean(world, steps);
      assertClean(world, steps, true);
    }
  });
});

describe('the reconciler in a model sync loop', () => {
  it('terminates: a fair loop reaches a fixpoint where decide() is none everywhere', () => {
    let worst = 0;
    fc.assert(
      fc.property(rawWorld, schedule, (raw, steps) => {
        const r = run(raw, steps, { shuffle: false, drainRounds: DRAIN_ROUNDS });
        expect(r.rounds, describeFinal(r)).toBeDefined();
        worst = Math.max(worst, r.rounds!);
      }),
      { numRuns: RUNS },
    );
    expect(worst).toBeLessThanOrEqual(DRAIN_ROUNDS);
  });

  it('converges and never loses a local or remote change, nor brings back what nobody kept', () => {
    fc.assert(
      fc.property(rawWorld, schedule, (raw, steps) => assertClean(raw, steps)),
      { numRuns: RUNS, examples: [RESURRECTION] },
    );
  });

  it('converges and loses nothing when every batch is processed in a random order', () => {
    fc.assert(
      fc.property(rawWorld, schedule, (raw, steps) => assertClean(raw, steps, true)),
      { numRuns: RUNS, examples: [RESURRECTION] },
    );
  });

  it('does not depend on the order of a batch: each plan ends in the same client state, commit queue as a multiset', () => {
    fc.assert(
      fc.property(rawWorld, schedule, (raw, steps) => {
        const r = run(raw, steps, { shuffle: false, drainRounds: DRAIN_ROUNDS, checkPlanOrder: true });
        expect(r.orderMismatches, describeFinal(r)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('does not depend on the order of a batch: shuffled plans and commit batches end in the same state', () => {
    // Whole-queue flushes: with partial ones, another plan order sends other ops first,
    // which is a different race with the other clients, not another order of one batch.
    fc.assert(
      fc.property(rawWorld, schedule, (raw, steps) => {
        const a = run(raw, steps, { shuffle: false, drainRounds: DRAIN_ROUNDS, wholeFlush: true });
        const b = run(raw, steps, { shuffle: true, drainRounds: DRAIN_ROUNDS, wholeFlush: true });
        const state = (r: RunResult) => ({
          server: Object.fromEntries([...r.world.server.live()].sort()),
          clients: r.world.clients.map((c) => Object.fromEntries([...c.liveLocal()].sort())),
        });
        expect(state(b), `engine order:\n${describeFinal(a)}\nshuffled:\n${describeFinal(b)}`).toEqual(state(a));
      }),
      { numRuns: RUNS },
    );
  });
});
