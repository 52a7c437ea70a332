/**
 * What the tray shows for a given engine state: the icon, the tooltip and the context menu, as
 * plain data. Pure, so every state is unit-tested; src/main/tray.ts only draws it.
 *
 * The icon says the most urgent thing first: something needs the user (an error, a sync
 * issue, a revoked sign-in) > a conflict to resolve > paused > offline > syncing > up to date.
 */
import type { AppInfo, EngineState } from '../shared/bridge.js';

export type TrayIcon = 'idle' | 'syncing' | 'offline' | 'paused' | 'error' | 'conflict';
export const TRAY_ICONS: readonly TrayIcon[] = ['idle', 'syncing', 'offline', 'paused', 'error', 'conflict'];

export type MenuAction = { kind: 'open-window' } | { kind: 'open-folder'; dir: string } | { kind: 'pause' } | { kind: 'resume' } | { kind: 'quit' };

export type MenuItemModel =
  | { type: 'item'; label: string; enabled: boolean; action: MenuAction | null }
  | { type: 'submenu'; label: string; items: MenuItemModel[] }
  | { type: 'separator' };

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  menu: MenuItemModel[];
}

/** The part of the engine's state the tray and the notifications follow. */
export type EngineView = Pick<EngineState, 'connection' | 'paused' | 'folders' | 'transfers' | 'conflicts' | 'issues'>;

/** What main knows right now: either may be missing while the app core starts or restarts. */
export interface TrayInput {
  state: EngineView | null;
  app: AppInfo | null;
  /** Why the app core is not running (it crashed and is being restarted); null while it runs. */
  hostDown: string | null;
}

/** Sizes for people: decimal units, as file managers show them. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  const shown = i === 0 || n >= 10 ? Math.round(n) : Math.round(n * 10) / 10;
  // 999.6 KB rounds to 1000 KB: say 1 MB instead.
  if (shown >= 1000 && i < units.length - 1) return `1 ${units[i + 1]}`;
  return `${shown} ${units[i]}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function syncingText(state: EngineView): string {
  const pending = state.folders.reduce((sum, f) => sum + f.pending, 0);
  const files = Math.max(pending, state.transfers.items.length);
  const { bytesDone, bytesTotal } = state.transfers;
  const what = files > 0 ? `Syncing ${plural(files, 'file')}` : state.folders.some((f) => f.phase === 'scanning') ? 'Scanning' : 'Syncing';
  return bytesTotal > 0 ? `${what} — ${formatSize(bytesDone)} of ${formatSize(bytesTotal)}` : what;
}

function isSyncing(state: EngineView): boolean {
  return (
    state.transfers.items.length > 0 ||
    state.folders.some((f) => f.pending > 0 || f.phase === 'syncing' || f.phase === 'scanning' || f.phase === 'starting')
  );
}

function status(input: TrayInput): { icon: TrayIcon; text: string } {
  if (input.hostDown !== null) return { icon: 'error', text: `Sync stopped: ${input.hostDown}` };
  const { state, app } = input;
  if (app?.setup.mode === 'none') return { icon: 'offline', text: 'Not set up yet' };
  if (!state) return { icon: 'offline', text: 'Starting' };
  const c = state.connection;
  if (c.status === 'signed-out') return { icon: 'error', text: `Signed out: ${c.reason}` };
  if (c.status === 'failed') return { icon: 'error', text: `Can't sync: ${c.reason}` };
  const broken = state.folders.find((f) => f.phase === 'error');
  if (broken) return { icon: 'error', text: `${broken.name}: ${broken.message ?? 'error'}` };
  if (state.issues.length > 0) return { icon: 'error', text: `${plural(state.issues.length, 'sync issue')} to look at` };
  if (state.conflicts.length > 0) return { icon: 'conflict', text: `${plural(state.conflicts.length, 'conflict')} to resolve` };
  if (state.paused) return { icon: 'paused', text: 'Paused' };
  if (c.status === 'offline') return { icon: 'offline', text: `Offline: ${c.reason}` };
  if (c.status === 'connecting') return { icon: 'offline', text: 'Connecting' };
  if (c.status === 'stopped') return { icon: 'offline', text: 'Stopped' };
  if (isSyncing(state)) return { icon: 'syncing', text: syncingText(state) };
  return { icon: 'idle', text: 'Up to date' };
}

function folderItems(state: EngineView | null): MenuItemModel[] {
  const folders = state?.folders ?? [];
  if (folders.length <= 1) {
    const dir = folders[0]?.root;
    return [{ type: 'item', label: 'Open sync folder', enabled: dir !== undefined, action: dir === undefined ? null : { kind: 'open-folder', dir } }];
  }
  return [
    {
      type: 'submenu',
      label: 'Open sync folder',
      items: folders.map((f) => ({ type: 'item', label: f.name, enabled: true, action: { kind: 'open-folder', dir: f.root } })),
    },
  ];
}

export function trayModel(input: TrayInput): TrayModel {
  const { icon, text } = status(input);
  const paused = input.state?.paused ?? false;
  const canPause = input.hostDown === null && input.state !== null && input.app?.setup.mode !== 'none';
  return {
    icon,
    tooltip: `Ferry — ${text}`,
    menu: [
      { type: 'item', label: text, enabled: false, action: null },
      { type: 'separator' },
      { type: 'item', label: 'Open Ferry', enabled: true, action: { kind: 'open-window' } },
      ...folderItems(input.state),
      { type: 'separator' },
      paused
        ? { type: 'item', label: 'Resume syncing', enabled: canPause, action: { kind: 'resume' } }
        : { type: 'item', label: 'Pause syncing', enabled: canPause, action: { kind: 'pause' } },
      { type: 'separator' },
      { type: 'item', label: 'Quit Ferry', enabled: true, action: { kind: 'quit' } },
    ],
  };
}

/**
 * The icon file for a state, by platform: macOS takes black-and-alpha template images (the
 * menu bar tints them; Electron picks the @2x file beside it), Windows a multi-size .ico, the
 * rest a PNG with its @2x beside it.
 */
export function trayIconFile(icon: TrayIcon, platform: NodeJS.Platform): string {
  if (platform === 'darwin') return `tray-${icon}Template.png`;
  if (platform === 'win32') return `tray-${icon}.ico`;
  return `tray-${icon}.png`;
}
