import { describe, expect, it } from 'vitest';
import type { AppInfo, Conflict, FolderStatus, SyncIssue, Transfer } from '../../src/shared/bridge.js';
import { formatSize, trayIconFile, trayModel, TRAY_ICONS, type EngineView, type MenuItemModel, type TrayInput } from '../../src/main/tray-model.js';

function folder(over: Partial<FolderStatus> = {}): FolderStatus {
  return { id: 1, name: 'Ferry', root: '/home/ann/Ferry', phase: 'idle', message: null, files: 10, bytes: 1000, pending: 0, lastSyncAt: 1, ...over };
}

function view(over: Partial<EngineView> = {}): EngineView {
  return {
    connection: { status: 'connected', since: 1 },
    paused: false,
    folders: [folder()],
    transfers: { items: [], bytesDone: 0, bytesTotal: 0, rate: 0, etaSeconds: null },
    conflicts: [],
    issues: [],
    ...over,
  };
}

const app: AppInfo = {
  version: '0.1.0',
  setup: { mode: 'client', server: 'http://127.0.0.1:7711', user: 'ann', device: 'laptop', folders: [{ name: 'Ferry', dir: '/home/ann/Ferry' }] },
  capabilities: { host: true, showInFolder: true, chooseFolder: true, launchAtLogin: true, notifications: true },
  settings: { launchAtLogin: false, notifications: true },
  defaultDir: '/home/ann/Ferry',
};

function input(state: EngineView | null, over: Partial<TrayInput> = {}): TrayInput {
  return { state, app, hostDown: null, ...over };
}

const conflict: Conflict = { id: 1, folder: 1, path: 'a.txt', copy: 'a (conflict).txt', localDevice: 'laptop', remoteDevice: 'desk', localSize: 1, remoteSize: 2, localTime: 1, remoteTime: 1, time: 1 };
const issue: SyncIssue = { id: 'x', folder: 1, kind: 'unsupported-name', path: 'CON', message: 'CON is reserved on Windows', count: null };
const transfer = (bytesDone: number, bytesTotal: number): Transfer => ({ id: `t${bytesDone}`, folder: 1, path: 'big.bin', direction: 'down', bytesDone, bytesTotal, rate: 0, etaSeconds: null });

function labels(menu: MenuItemModel[]): string[] {
  return menu.map((m) => (m.type === 'separator' ? '-' : m.label));
}

function item(menu: MenuItemModel[], label: string) {
  const found = menu.find((m) => m.type !== 'separator' && m.label === label);
  if (!found) throw new Error(`no menu item ${label}`);
  return found;
}

describe('trayModel', () => {
  it('is up to date when connected, idle and with nothing to resolve', () => {
    const model = trayModel(input(view()));
    expect(model.icon).toBe('idle');
    expect(model.tooltip).toBe('Ferry — Up to date');
  });

  it('says how many files and bytes are syncing', () => {
    const model = trayModel(
      input(
        view({
          folders: [folder({ phase: 'syncing', pending: 3 })],
          transfers: { items: [transfer(42e6, 100e6)], bytesDone: 42e6, bytesTotal: 120e6, rate: 1e6, etaSeconds: 78 },
        }),
      ),
    );
    expect(model.icon).toBe('syncing');
    expect(model.tooltip).toBe('Ferry — Syncing 3 files — 42 MB of 120 MB');
    expect(model.menu[0]).toEqual({ type: 'item', label: 'Syncing 3 files — 42 MB of 120 MB', enabled: false, action: null });
  });

  it('counts transfers when they outnumber pending paths, and says "file" for one', () => {
    expect(trayModel(input(view({ transfers: { items: [transfer(0, 10)], bytesDone: 0, bytesTotal: 0, rate: 0, etaSeconds: null } }))).tooltip).toBe(
      'Ferry — Syncing 1 file',
    );
    expect(trayModel(input(view({ folders: [folder({ phase: 'scanning' })] })))).toMatchObject({ icon: 'syncing', tooltip: 'Ferry — Scanning' });
    expect(trayModel(input(view({ folders: [folder({ phase: 'starting' })] })))).toMatchObject({ icon: 'syncing', tooltip: 'Ferry — Syncing' });
  });

  it('orders states: error > conflict > paused > offline > syncing > up to date', () => {
    const syncing = { folders: [folder({ phase: 'syncing', pending: 2 })] };
    const offline = { connection: { status: 'offline' as const, reason: 'server unreachable', retryAt: 5 } };
    const paused = { paused: true };
    const conflicted = { conflicts: [conflict] };
    const broken = { issues: [issue] };
    expect(trayModel(input(view({ ...syncing })))).toMatchObject({ icon: 'syncing' });
    expect(trayModel(input(view({ ...syncing, ...offline })))).toMatchObject({ icon: 'offline', tooltip: 'Ferry — Offline: server unreachable' });
    expect(trayModel(input(view({ ...syncing, ...offline, ...paused })))).toMatchObject({ icon: 'paused', tooltip: 'Ferry — Paused' });
    expect(trayModel(input(view({ ...syncing, ...offline, ...paused, ...conflicted })))).toMatchObject({
      icon: 'conflict',
      tooltip: 'Ferry — 1 conflict to resolve',
    });
    expect(trayModel(input(view({ ...syncing, ...offline, ...paused, ...conflicted, ...broken })))).toMatchObject({
      icon: 'error',
      tooltip: 'Ferry — 1 sync issue to look at',
    });
    expect(trayModel(input(view({ conflicts: [conflict, { ...conflict, id: 2 }] }))).tooltip).toBe('Ferry — 2 conflicts to resolve');
  });

  it('shows a revoked sign-in, a failed connection and a folder in error as errors', () => {
    expect(trayModel(input(view({ connection: { status: 'signed-out', reason: 'token revoked' }, conflicts: [conflict] })))).toMatchObject({
      icon: 'error',
      tooltip: 'Ferry — Signed out: token revoked',
    });
    expect(trayModel(input(view({ connection: { status: 'failed', reason: 'protocol version 9 not supported' } })))).toMatchObject({
      icon: 'error',
      tooltip: "Ferry — Can't sync: protocol version 9 not supported",
    });
    expect(trayModel(input(view({ folders: [folder({ phase: 'error', message: 'the folder is missing' })] })))).toMatchObject({
      icon: 'error',
      tooltip: 'Ferry — Ferry: the folder is missing',
    });
  });

  it('is offline while connecting or stopped', () => {
    expect(trayModel(input(view({ connection: { status: 'connecting', attempt: 2 } })))).toMatchObject({ icon: 'offline', tooltip: 'Ferry — Connecting' });
    expect(trayModel(input(view({ connection: { status: 'stopped' } })))).toMatchObject({ icon: 'offline', tooltip: 'Ferry — Stopped' });
  });

  it('covers the app core starting, not set up, and down', () => {
    expect(trayModel(input(null))).toMatchObject({ icon: 'offline', tooltip: 'Ferry — Starting' });
    expect(trayModel(input(null, { app: { ...app, setup: { mode: 'none' } } }))).toMatchObject({ icon: 'offline', tooltip: 'Ferry — Not set up yet' });
    const down = trayModel(input(view(), { hostDown: 'the sync process exited (code 1); restarting it' }));
    expect(down).toMatchObject({ icon: 'error', tooltip: 'Ferry — Sync stopped: the sync process exited (code 1); restarting it' });
    expect(item(down.menu, 'Pause syncing')).toMatchObject({ enabled: false });
  });

  it('builds the menu: status, Open Ferry, Open sync folder, Pause, Quit', () => {
    const model = trayModel(input(view()));
    expect(labels(model.menu)).toEqual(['Up to date', '-', 'Open Ferry', 'Open sync folder', '-', 'Pause syncing', '-', 'Quit Ferry']);
    expect(item(model.menu, 'Open Ferry')).toMatchObject({ enabled: true, action: { kind: 'open-window' } });
    expect(item(model.menu, 'Open sync folder')).toMatchObject({ enabled: true, action: { kind: 'open-folder', dir: '/home/ann/Ferry' } });
    expect(item(model.menu, 'Pause syncing')).toMatchObject({ enabled: true, action: { kind: 'pause' } });
    expect(item(model.menu, 'Quit Ferry')).toMatchObject({ enabled: true, action: { kind: 'quit' } });
  });

  it('offers Resume while paused', () => {
    const model = trayModel(input(view({ paused: true })));
    expect(labels(model.menu)).toContain('Resume syncing');
    expect(labels(model.menu)).not.toContain('Pause syncing');
    expect(item(model.menu, 'Resume syncing')).toMatchObject({ enabled: true, action: { kind: 'resume' } });
  });

  it('lists several folders in a submenu, and disables folder and pause items before setup', () => {
    const two = trayModel(input(view({ folders: [folder(), folder({ id: 2, name: 'Photos', root: '/home/ann/Pictures' })] })));
    expect(item(two.menu, 'Open sync folder')).toEqual({
      type: 'submenu',
      label: 'Open sync folder',
      items: [
        { type: 'item', label: 'Ferry', enabled: true, action: { kind: 'open-folder', dir: '/home/ann/Ferry' } },
        { type: 'item', label: 'Photos', enabled: true, action: { kind: 'open-folder', dir: '/home/ann/Pictures' } },
      ],
    });
    const fresh = trayModel(input(view({ folders: [] }), { app: { ...app, setup: { mode: 'none' } } }));
    expect(item(fresh.menu, 'Open sync folder')).toMatchObject({ enabled: false, action: null });
    expect(item(fresh.menu, 'Pause syncing')).toMatchObject({ enabled: false });
  });
});

describe('formatSize', () => {
  it('uses decimal units with one decimal below 10', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(999)).toBe('999 B');
    expect(formatSize(1000)).toBe('1 KB');
    expect(formatSize(4_250)).toBe('4.3 KB');
    expect(formatSize(42e6)).toBe('42 MB');
    expect(formatSize(999_600)).toBe('1 MB');
    expect(formatSize(1.5e12)).toBe('1.5 TB');
    expect(formatSize(2e15)).toBe('2000 TB');
  });
});

describe('trayIconFile', () => {
  it('picks template PNGs on macOS, .ico on Windows, PNG elsewhere', () => {
    expect(TRAY_ICONS.map((i) => trayIconFile(i, 'darwin'))).toContain('tray-syncingTemplate.png');
    expect(trayIconFile('error', 'win32')).toBe('tray-error.ico');
    expect(trayIconFile('conflict', 'linux')).toBe('tray-conflict.png');
  });
});
