#!/usr/bin/env node
/**
 * `npm start`: the desktop app in development. Makes sure there is a better-sqlite3 built for
 * Electron (scripts/electron-sqlite.mjs) and runs electron-vite with it: `preview` builds and
 * starts the app. (No dev server with hot reload: its inline refresh script is what the
 * renderer's Content-Security-Policy forbids.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { electronSqlite } from './electron-sqlite.mjs';

const binding = await electronSqlite();
const cli = join(import.meta.dirname, '..', 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
const child = spawn(process.execPath, [cli, 'preview'], { stdio: 'inherit', env: { ...process.env, FERRY_SQLITE_BINDING: binding } });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
