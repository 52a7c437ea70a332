import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { desktopEntry, LinuxAutostart } from '../../src/main/linux-autostart.js';
import { removeDir, tempDir } from '../helpers/server.js';

let dir: string;
afterEach(async () => removeDir(dir));

describe('LinuxAutostart', () => {
  it('writes and removes an XDG autostart entry that starts Ferry hidden', async () => {
    dir = await tempDir('ferry-autostart-');
    const autostart = new LinuxAutostart(dir, ['/home/ann/Apps/Ferry.AppImage']);
    expect(await autostart.get()).toBe(false);
    await autostart.set(true);
    expect(await autostart.get()).toBe(true);
    const file = join(dir, 'autostart', 'ferry.desktop');
    expect(await readFile(file, 'utf8')).toContain('\nExec=/home/ann/Apps/Ferry.AppImage --hidden\n');
    await autostart.set(false);
    expect(await autostart.get()).toBe(false);
    await autostart.set(false);
  });

  it('reads an entry the desktop disabled as off', async () => {
    dir = await tempDir('ferry-autostart-');
    const autostart = new LinuxAutostart(dir, ['/usr/bin/ferry']);
    await autostart.set(true);
    const file = join(dir, 'autostart', 'ferry.desktop');
    await writeFile(file, (await readFile(file, 'utf8')).replace('X-GNOME-Autostart-enabled=true', 'X-GNOME-Autostart-enabled=false'));
    expect(await autostart.get()).toBe(false);
  });

  it('quotes arguments with spaces and reserved characters', () => {
    expect(desktopEntry(['/opt/My Apps/ferry', '/src/"x"$y', '--hidden'])).toContain('Exec="/opt/My Apps/ferry" "/src/\\"x\\"\\$y" --hidden\n');
  });
});
