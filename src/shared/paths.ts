/**
 * The rules every synced path obeys on the wire. Both the server and the engine check
 * paths with these functions before any disk or database use; a path from a peer is
 * never trusted.
 *
 * A wire path is relative, '/'-separated, NFC, with no empty, '.' or '..' segments, no
 * NUL, control characters or backslashes, and is not inside the reserved `.ferry/`
 * folder that holds the engine's staging files.
 *
 * A name that is created (a put, the destination of a move, a local file about to be
 * uploaded) must also be one every supported OS can hold: no Windows device name (CON,
 * NUL, COM1, …, with or without an extension) and no trailing dot or space. Existing
 * entries are only held to checkPath, so names stored before this rule can still be
 * synced down, deleted and moved away.
 */
import { utf8Length } from './utf8.js';

export const RESERVED_DIR = '.ferry';
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

export type PathCheck = { ok: true } | { ok: false; reason: string };

// C0 controls and DEL. A name with a newline or escape is legal on Linux but breaks
// every tool a user would inspect it with, and no other OS accepts it.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkPath(path: string): PathCheck {
  if (typeof path !== 'string' || path.length === 0) return bad('path is empty');
  if (CONTROL.test(path)) return bad('path contains a control character or NUL');
  if (path.includes('\\')) return bad('path contains a backslash');
  if (path.startsWith('/')) return bad('path is absolute');
  if (/^[A-Za-z]:/.test(path)) return bad('path starts with a drive letter');
  if (path.normalize('NFC') !== path) return bad('path is not in Unicode NFC form');
  if (utf8Length(path) > MAX_PATH_BYTES) return bad(`path is longer than ${MAX_PATH_BYTES} bytes`);
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return bad('path has an empty segment');
    if (segment === '.' || segment === '..') return bad(`path has a '${segment}' segment`);
    if (utf8Length(segment) > MAX_SEGMENT_BYTES) {
      return bad(`a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  if (segments[0] === RESERVED_DIR) return bad(`paths inside ${RESERVED_DIR}/ are reserved`);
  return { ok: true };
}

// Windows opens the device instead of the file for these, whatever the extension.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** Why one name can't exist on Windows whatever its characters, or undefined. */
export function deviceNameProblem(segment: string): string | undefined {
  if (WINDOWS_DEVICE.test(segment)) return `'${segment}' is a reserved device name on Windows`;
  if (/[. ]$/.test(segment)) return `'${segment}' ends with a dot or space, which Windows drops`;
  return undefined;
}

/** checkPath, plus the rule for names being created: no Windows device names or trailing dots and spaces. */
export function checkNewPath(path: string): PathCheck {
  const check = checkPath(path);
  if (!check.ok) return check;
  for (const segment of path.split('/')) {
    const problem = deviceNameProblem(segment);
    if (problem) return bad(problem);
  }
  return { ok: true };
}

/** The parent of a wire path, or '' for a top-level entry. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** True when `path` is `dir` itself or lies below it. */
export function isSameOrInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + '/');
}

function bad(reason: string): PathCheck {
  return { ok: false, reason };
}
