/**
 * Builds the desktop app into out/: main (the Electron shell and the utility process that runs
 * the engine), preload (CommonJS, as sandboxed preloads must be) and the renderer, which the
 * headless client's web bridge also serves to browsers.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: 'src/main/index.ts',
          'engine-host': 'src/main/engine-host.ts',
          // The engine starts its hashing workers from ./hash-worker.js beside its own module.
          'hash-worker': 'src/engine/content/hash-worker.ts',
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: 'src/preload/index.ts' },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    // Minified: browsers fetch it from the web bridge too, not only the app's disk.
    build: { minify: true, rollupOptions: { input: 'src/renderer/index.html' } },
    plugins: [react()],
  },
});
