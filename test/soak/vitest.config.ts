import { defineConfig } from 'vitest/config';

// The soak: long runs of the randomized whole-system test and the crash trials (test/soak/run.mjs).
export default defineConfig({
  test: {
    include: ['test/soak/soak.run.ts'],
    testTimeout: 0,
    hookTimeout: 60_000,
  },
});
