#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// V8 doubles its young generation each time a scavenge finds it full, up to 2 × 16 MiB;
// loading our modules alone takes it to that, and the pages stay resident. Kept at its
// first size (2 × 1 MiB) it saves 10–15 MiB per process, and the measured CPU time of a
// sync did not grow (docs/performance.md, "Memory"). Set before anything else loads: the
// V8 flag is read each time the young generation would grow.
setFlagsFromString('--semi-space-growth-factor=1');

await import('../dist/src/cli/main.js');
