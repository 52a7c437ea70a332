#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// V8 doubles its young generation each time a scavenge finds it full, up to 2 × 16 MiB;
// loading our modules alone takes it there, and the pages stay resident. Kept at its first
// size (2 × 1 MiB) it saves ~6 MiB per idle process and 10–20 MiB on bulk syncs, with no CPU
// change the bench could tell from its noise (docs/performance.md, "Memory"). Set before
// anything else loads; V8 reads this flag each time the young generation would grow.
setFlagsFromString('--semi-space-growth-factor=1');

await import('../dist/src/cli/main.js');
