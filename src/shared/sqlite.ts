/**
 * Opens a SQLite database (Node only: the engine's journal and the server's store).
 * FERRY_SQLITE_BINDING names a better-sqlite3 binding built for another runtime: `npm start`
 * points it at a build for Electron's ABI, so node_modules keeps the Node build that the CLI
 * and the tests load.
 */
import Sqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';

export function openSqlite(file: string): Database {
  return new Sqlite(file, { nativeBinding: process.env.FERRY_SQLITE_BINDING || undefined });
}
