import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { desktopLogger, rotateLog } from '../../src/main/log-file.js';
import { removeDir, tempDir } from '../helpers/server.js';

let dir: string;
afterEach(async () => removeDir(dir));

describe('the desktop log file', () => {
  it('appends JSON lines from every process to one file, creating its folder', async () => {
    dir = await tempDir('ferry-log-');
    const file = join(dir, 'logs', 'ferry.log');
    desktopLogger('main', file, 'info').warn('the tray is up');
    desktopLogger('sync', file, 'info').error({ folder: 'Docs' }, 'the folder is missing');
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ name: 'main', level: 40, msg: 'the tray is up' }),
      expect.objectContaining({ name: 'sync', level: 50, folder: 'Docs', msg: 'the folder is missing' }),
    ]);
  });

  it('moves a file past its limit aside as one old generation', async () => {
    dir = await tempDir('ferry-log-');
    const file = join(dir, 'ferry.log');
    rotateLog(file, 10);
    await writeFile(file, 'small\n');
    rotateLog(file, 10);
    expect(await readFile(file, 'utf8')).toBe('small\n');
    await writeFile(file, 'older and larger\n');
    await writeFile(`${file}.1`, 'oldest\n');
    rotateLog(file, 10);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(`${file}.1`, 'utf8')).toBe('older and larger\n');
  });
});
