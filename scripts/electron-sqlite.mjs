#!/usr/bin/env node
/**
 * Builds better-sqlite3 for the installed Electron's ABI into .electron-native/, once per
 * Electron and better-sqlite3 version, and prints the binding's path. node_modules is left
 * alone: it keeps the Node build that the CLI and the tests load. The app in development finds
 * this build through FERRY_SQLITE_BINDING (scripts/start.mjs sets it).
 *
 * A copy of the package is rebuilt in the cache with @electron/rebuild, which takes a
 * prebuilt binary when one is published for this Electron and compiles against Electron's
 * headers otherwise (that needs network access the first time and a C++ toolchain).
 */
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const CACHE = join(ROOT, '.electron-native');

async function versionOf(pkg) {
  return JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

async function exists(file) {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function electronSqlite() {
  const electron = await versionOf('electron');
  const sqlite = await versionOf('better-sqlite3');
  const binding = join(CACHE, `better_sqlite3-${sqlite}-electron-${electron}-${process.platform}-${process.arch}.node`);
  if (await exists(binding)) return binding;

  const work = join(CACHE, 'build');
  await rm(work, { recursive: true, force: true });
  const module = join(work, 'node_modules', 'better-sqlite3');
  await mkdir(module, { recursive: true });
  await writeFile(join(work, 'package.json'), JSON.stringify({ name: 'ferry-electron-native', private: true, dependencies: { 'better-sqlite3': sqlite } }));
  // The sources only: the copied build/ holds the Node binary this must not reuse.
  await cp(join(ROOT, 'node_modules', 'better-sqlite3'), module, {
    recursive: true,
    filter: (source) => !source.startsWith(join(ROOT, 'node_modules', 'better-sqlite3', 'build')),
  });
  const { rebuild } = await import('@electron/rebuild');
  console.error(`building better-sqlite3 ${sqlite} for Electron ${electron} (once)…`);
  await rebuild({ buildPath: work, electronVersion: electron, onlyModules: ['better-sqlite3'], force: true });
  await cp(join(module, 'build', 'Release', 'better_sqlite3.node'), binding);
  await rm(work, { recursive: true, force: true });
  return binding;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await electronSqlite());
}
