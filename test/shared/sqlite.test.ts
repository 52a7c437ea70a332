import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/shared/sqlite.js';
import { removeDir, ROOT, tempDir } from '../helpers/server.js';

const saved = process.env.FERRY_SQLITE_BINDING;
let dir: string;
afterEach(async () => {
  if (saved === undefined) delete process.env.FERRY_SQLITE_BINDING;
  else process.env.FERRY_SQLITE_BINDING = saved;
  await removeDir(dir);
});

describe('openSqlite', () => {
  it('loads the binding FERRY_SQLITE_BINDING names, and the default one without it', async () => {
    dir = await tempDir('ferry-sqlite-');
    delete process.env.FERRY_SQLITE_BINDING;
    openSqlite(join(dir, 'a.db')).close();
    process.env.FERRY_SQLITE_BINDING = join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    const db = openSqlite(join(dir, 'b.db'));
    expect(db.prepare('select 1 + 1 as two').get()).toEqual({ two: 2 });
    db.close();
    process.env.FERRY_SQLITE_BINDING = join(dir, 'missing', 'better_sqlite3.node');
    expect(() => openSqlite(join(dir, 'c.db'))).toThrow(/missing/);
  });
});
