#!/usr/bin/env node
// npm run soak -- --seeds N [--start S] [--steps K] [--crash-trials M]
// Runs the randomized whole-system test for N seeds from S, then M crash trials, and prints a
// summary. The work happens in test/soak/soak.run.ts under vitest (the harness is TypeScript).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    start: { type: 'string', default: '1' },
    steps: { type: 'string', default: '120' },
    'crash-trials': { type: 'string', default: '200' },
  },
});
for (const [name, value] of Object.entries(values)) {
  if (!/^\d+$/.test(value)) {
    console.error(`--${name} takes a whole number, not '${value}'`);
    process.exit(2);
  }
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vitest = spawn(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(root, 'test', 'soak', 'vitest.config.ts')], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    FERRY_SOAK_SEEDS: values.seeds,
    FERRY_SOAK_START: values.start,
    FERRY_SOAK_STEPS: values.steps,
    FERRY_SOAK_CRASH_TRIALS: values['crash-trials'],
  },
});
vitest.on('exit', (code) => process.exit(code ?? 1));
