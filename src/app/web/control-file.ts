/**
 * `<stateDir>/control.json`: where a running `ferry sync` answers (its web bridge) and the key,
 * for `ferry status` on the same machine. 0600, removed on a clean stop.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';

export const CONTROL_FILE = 'control.json';

export interface ControlInfo {
  url: string;
  key: string;
  pid: number;
}

export async function writeControlFile(stateDir: string, info: ControlInfo): Promise<void> {
  await writeFileAtomic(join(stateDir, CONTROL_FILE), JSON.stringify(info), { mode: 0o600 });
}

/** The running client's control info; undefined when none is recorded. */
export async function readControlFile(stateDir: string): Promise<ControlInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(join(stateDir, CONTROL_FILE), 'utf8')) as Partial<ControlInfo>;
    return typeof info.url === 'string' && typeof info.key === 'string' ? { url: info.url, key: info.key, pid: Number(info.pid) } : undefined;
  } catch {
    return undefined;
  }
}

export async function removeControlFile(stateDir: string): Promise<void> {
  await rm(join(stateDir, CONTROL_FILE), { force: true });
}
