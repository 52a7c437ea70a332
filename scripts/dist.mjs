#!/usr/bin/env node
/**
 * `npm run dist`: packages the app with electron-builder for this platform (extra arguments
 * go to electron-builder, e.g. `npm run dist -- --linux AppImage`). electron-builder rebuilds
 * the native modules in node_modules for Electron; afterwards they are rebuilt for Node again,
 * so the CLI and `npm test` keep working, whether packaging succeeded or not.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  return result.status ?? 1;
}

const builder = join(ROOT, 'node_modules', 'electron-builder', 'cli.js');
const packaged = run(process.execPath, [builder, ...process.argv.slice(2)]);
const restored = run(npm, ['rebuild', 'better-sqlite3']);
if (restored !== 0) console.error('Rebuilding better-sqlite3 for Node failed: run `npm rebuild better-sqlite3` before `npm test`.');
process.exit(packaged || restored);
