/** The desktop actions the app core asks main for, done with Electron's shell, dialog and login items. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { app, dialog, shell, type BrowserWindow, type OpenDialogOptions } from 'electron';
import type { DesktopHooks } from '../app/ferry-app.js';
import { HIDDEN_FLAG, LinuxAutostart } from './linux-autostart.js';

function linuxAutostart(): LinuxAutostart {
  // An AppImage runs from a temporary mount; APPIMAGE names the file itself.
  const program = process.env.APPIMAGE ?? process.execPath;
  const command = app.isPackaged ? [program] : [program, app.getAppPath()];
  return new LinuxAutostart(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), command);
}

export function electronDesktopHooks(parent: () => BrowserWindow | null): DesktopHooks {
  const autostart = process.platform === 'linux' ? linuxAutostart() : null;
  return {
    showInFolder: async (path) => shell.showItemInFolder(path),
    async chooseFolder() {
      const options: OpenDialogOptions = { title: 'Choose a folder to sync', properties: ['openDirectory', 'createDirectory'] };
      const window = parent();
      const picked = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return picked.canceled ? null : (picked.filePaths[0] ?? null);
    },
    getLaunchAtLogin: async () => (autostart ? autostart.get() : app.getLoginItemSettings().openAtLogin),
    async setLaunchAtLogin(on) {
      if (autostart) return autostart.set(on);
      app.setLoginItemSettings({ openAtLogin: on, args: [HIDDEN_FLAG] });
    },
  };
}
