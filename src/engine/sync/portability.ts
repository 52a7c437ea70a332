/**
 * Names some operating systems can't hold. A path the server has but this OS can't write
 * is not synced on this device and shows up as a sync issue instead.
 */
import { deviceNameProblem } from '../../shared/paths.js';

export type Platform = 'linux' | 'darwin' | 'win32';

const WINDOWS_CHARS = /[<>:"|?*]/;

export function currentPlatform(): Platform {
  return process.platform === 'win32' || process.platform === 'darwin' ? process.platform : 'linux';
}

/** Why `path` can't exist on `platform`, or undefined when it can. */
export function portabilityProblem(path: string, platform: Platform): string | undefined {
  if (platform !== 'win32') return undefined;
  for (const segment of path.split('/')) {
    const problem = deviceNameProblem(segment);
    if (problem) return problem;
    if (WINDOWS_CHARS.test(segment)) return `'${segment}' has a character Windows does not allow in names (< > : " | ? *)`;
  }
  if (path.length > 259) return 'the path is too long for Windows';
  return undefined;
}

/** Whether names differing only in case are the same file on this platform's usual filesystems. */
export function foldsCase(platform: Platform): boolean {
  return platform !== 'linux';
}

export function caseKey(path: string): string {
  return path.normalize('NFC').toLowerCase();
}
