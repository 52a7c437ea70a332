/**
 * The name a local version takes when it loses its path to a conflicting remote one:
 * `report (conflict from laptop 2026-11-23 154500).txt`, next to the original so the
 * user finds both.
 */
import { MAX_SEGMENT_BYTES, parentPath } from '../../shared/paths.js';

export function conflictName(path: string, device: string, when: Date, taken: (candidate: string) => boolean): string {
  const dir = parentPath(path);
  const base = dir === '' ? path : path.slice(dir.length + 1);
  // A leading dot is a hidden file's name, not an extension.
  const dot = base.lastIndexOf('.');
  let stem = dot > 0 ? base.slice(0, dot) : base;
  const ext = dot > 0 ? base.slice(dot) : '';
  const stamp = formatStamp(when);
  const who = [...device.normalize('NFC').replace(/[\\/:*?"<>|\u0000-\u001f\u007f]/g, '_')].slice(0, 64).join('');
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : ` ${n}`;
    const mark = ` (conflict from ${who} ${stamp}${suffix})`;
    // The name must still fit a path segment: shorten the stem, whole characters at a time.
    while (stem.length > 1 && Buffer.byteLength(stem + mark + ext) > MAX_SEGMENT_BYTES) stem = [...stem].slice(0, -1).join('');
    const name = stem + mark + ext;
    const candidate = dir === '' ? name : `${dir}/${name}`;
    if (!taken(candidate)) return candidate;
  }
}

function formatStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const CONFLICT_MARK = / \(conflict from .+ \d{4}-\d{2}-\d{2} \d{6}(?: \d+)?\)(?:\.[^./]*)?$/;

/** True for a name this module made, so the UI can list conflict copies. */
export function isConflictCopy(path: string): boolean {
  return CONFLICT_MARK.test(path);
}
