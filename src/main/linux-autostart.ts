/**
 * Launch at login on Linux, where Electron's login-item settings do nothing: an XDG autostart
 * entry (~/.config/autostart/ferry.desktop) that starts Ferry in the tray.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The flag an autostarted Ferry gets: it opens to the tray, without a window. */
export const HIDDEN_FLAG = '--hidden';

/** A desktop-entry Exec value: quoted, with the characters the spec reserves escaped. */
function execArg(arg: string): string {
  return /^[A-Za-z0-9_./+:=@%,-]+$/.test(arg) ? arg : `"${arg.replace(/([\\"`$])/g, '\\$1')}"`;
}

export function desktopEntry(command: string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Ferry',
    'Comment=Keep your folders in sync',
    `Exec=${command.map(execArg).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export class LinuxAutostart {
  private readonly file: string;

  /** `command`: the program and its arguments (an AppImage's own path, not its mount). */
  constructor(
    configDir: string,
    private readonly command: string[],
  ) {
    this.file = join(configDir, 'autostart', 'ferry.desktop');
  }

  async get(): Promise<boolean> {
    try {
      const text = await readFile(this.file, 'utf8');
      return !/^(Hidden=true|X-GNOME-Autostart-enabled=false)$/m.test(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async set(on: boolean): Promise<void> {
    if (!on) return rm(this.file, { force: true });
    await mkdir(join(this.file, '..'), { recursive: true });
    await writeFile(this.file, desktopEntry([...this.command, HIDDEN_FLAG]));
  }
}
