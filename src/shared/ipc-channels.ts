/**
 * The Electron IPC channel names the preload bridge and main's router agree on: one channel per
 * bridge command, one for every event. No dependencies: the sandboxed preload imports this.
 */
import type { CommandName } from './bridge-calls.js';

const PREFIX = 'ferry:';

export const EVENT_CHANNEL = `${PREFIX}event`;

export function commandChannel(command: CommandName): string {
  return PREFIX + command;
}
