/**
 * A seeded schedule of file operations and faults. It is drawn up front from the seed alone:
 * targets come from a model of the paths the schedule itself made (not from the folders,
 * whose state depends on timing), so the same seed always yields the same steps.
 */
import { Prng } from './prng.js';

export const ANCHORS_DIR = 'anchors';
export const CONFLICTS_DIR = 'conflicts';
/** Files no step deletes: they keep any one batch of deletions well under the mass-delete guard's "half the folder". */
export const ANCHOR_COUNT = 30;
/** A directory with more files than this is never deleted whole, for the same reason. */
const MAX_DIR_DELETE = 8;

export type Step =
  | { op: 'create' | 'overwrite'; client: number; path: string; size: number }
  | { op: 'append'; client: number; path: string; size: number }
  | { op: 'truncate'; client: number; path: string; fraction: number }
  | { op: 'delete'; client: number; path: string }
  | { op: 'rename'; client: number; from: string; to: string }
  | { op: 'mkdir' | 'rmdir'; client: number; path: string }
  | { op: 'editor-save'; client: number; path: string; size: number; tmp: string }
  | { op: 'delete-recreate'; client: number; path: string; size: number }
  | { op: 'burst'; client: number; dir: string; count: number }
  | { op: 'concurrent-edit'; clients: [number, number]; path: string; size: number }
  | { op: 'pause'; ms: number }
  | { op: 'drop-connection'; client: number }
  | { op: 'kill-client'; client: number; downMs: number }
  | { op: 'stop-client'; client: number; downMs: number }
  | { op: 'freeze-client'; client: number; ms: number }
  | { op: 'kill-server'; downMs: number };

export interface Schedule {
  seed: number;
  clients: number;
  steps: { gapMs: number; step: Step }[];
}

const WEIGHTS = {
  create: 14,
  overwrite: 9,
  append: 5,
  truncate: 3,
  delete: 6,
  rename: 5,
  'rename-dir': 3,
  mkdir: 4,
  rmdir: 2,
  'editor-save': 6,
  'delete-recreate': 4,
  burst: 2,
  'concurrent-edit': 4,
  pause: 3,
  'drop-connection': 3,
  'kill-client': 3,
  'stop-client': 1.5,
  'freeze-client': 1.5,
  'kill-server': 1.5,
};

export function fileSize(r: Prng): number {
  const k = r.next();
  if (k < 0.7) return r.int(0, 2048);
  if (k < 0.9) return r.int(2048, 64 * 1024);
  if (k < 0.98) return r.int(64 * 1024, 1024 * 1024);
  return r.int(1024 * 1024, 5 * 1024 * 1024);
}

export function drawSchedule(seed: number, stepCount: number, clients = 3): Schedule {
  const r = new Prng(seed);
  const files = new Set<string>(Array.from({ length: ANCHOR_COUNT }, (_, i) => anchorPath(i)));
  const dirs = new Set<string>([ANCHORS_DIR]);
  let n = 0;
  const fresh = (prefix: string, ext = '') => `${prefix}${seed.toString(36)}-${n++}${ext}`;
  const placeIn = () => r.pick(['', '', ...[...dirs].sort()]);
  const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
  const under = (dir: string) => (p: string) => p.startsWith(dir + '/');
  const mutableFiles = () => [...files].sort();
  const deletableFiles = () => mutableFiles().filter((f) => !f.startsWith(ANCHORS_DIR + '/'));
  const movableDirs = () => [...dirs].sort().filter((d) => d !== ANCHORS_DIR);
  const client = () => r.int(0, clients - 1);
  const steps: Schedule['steps'] = [];

  while (steps.length < stepCount) {
    const kind = r.weighted(WEIGHTS);
    let step: Step | undefined;
    switch (kind) {
      case 'create':
      case 'burst': {
        if (kind === 'create') {
          const path = join(placeIn(), fresh('f', r.pick(['.txt', '.bin', '', '.md'])));
          files.add(path);
          step = { op: 'create', client: client(), path, size: fileSize(r) };
        } else {
          const dir = join(placeIn(), fresh('burst'));
          const count = r.int(10, 40);
          dirs.add(dir);
          for (let i = 0; i < count; i++) files.add(`${dir}/b${i}.txt`);
          step = { op: 'burst', client: client(), dir, count };
        }
        break;
      }
      case 'overwrite':
      case 'append':
      case 'truncate':
      case 'editor-save':
      case 'delete-recreate': {
        const path = r.pick(mutableFiles());
        const c = client();
        if (kind === 'overwrite') step = { op: 'overwrite', client: c, path, size: fileSize(r) };
        else if (kind === 'append') step = { op: 'append', client: c, path, size: r.int(1, 4096) };
        else if (kind === 'truncate') step = { op: 'truncate', client: c, path, fraction: r.next() };
        else if (kind === 'editor-save') step = { op: 'editor-save', client: c, path, size: fileSize(r), tmp: r.chance(0.5) ? `${path}~` : join(parentOf(path), `.${fresh('save')}.tmp`) };
        else step = { op: 'delete-recreate', client: c, path, size: fileSize(r) };
        break;
      }
      case 'delete': {
        const candidates = deletableFiles();
        if (candidates.length === 0) continue;
        const path = r.pick(candidates);
        files.delete(path);
        step = { op: 'delete', client: client(), path };
        break;
      }
      case 'rename': {
        const candidates = deletableFiles();
        if (candidates.length === 0) continue;
        const from = r.pick(candidates);
        const to = join(placeIn(), fresh('r', r.pick(['.txt', '', '.dat'])));
        files.delete(from);
        files.add(to);
        step = { op: 'rename', client: client(), from, to };
        break;
      }
      case 'rename-dir': {
        const candidates = movableDirs();
        if (candidates.length === 0) continue;
        const from = r.pick(candidates);
        const target = placeIn();
        if (target === from || target.startsWith(from + '/')) continue;
        const to = join(target, fresh('rd'));
        for (const set of [files, dirs]) {
          for (const p of [...set].filter((p) => p === from || under(from)(p))) {
            set.delete(p);
            set.add(to + p.slice(from.length));
          }
        }
        step = { op: 'rename', client: client(), from, to };
        break;
      }
      case 'mkdir': {
        const path = join(placeIn(), fresh('d'));
        dirs.add(path);
        step = { op: 'mkdir', client: client(), path };
        break;
      }
      case 'rmdir': {
        const candidates = movableDirs().filter((d) => [...files].filter(under(d)).length <= MAX_DIR_DELETE);
        if (candidates.length === 0) continue;
        const path = r.pick(candidates);
        for (const set of [files, dirs]) for (const p of [...set].filter((p) => p === path || under(path)(p))) set.delete(p);
        step = { op: 'rmdir', client: client(), path };
        break;
      }
      case 'concurrent-edit': {
        const a = client();
        const b = (a + r.int(1, clients - 1)) % clients;
        step = { op: 'concurrent-edit', clients: [a, b], path: `${CONFLICTS_DIR}/${fresh('c', '.txt')}`, size: r.int(1, 8192) };
        break;
      }
      case 'pause':
        step = { op: 'pause', ms: r.int(200, 2000) };
        break;
      case 'drop-connection':
        step = { op: 'drop-connection', client: client() };
        break;
      case 'kill-client':
        step = { op: 'kill-client', client: client(), downMs: r.int(0, 4000) };
        break;
      case 'stop-client':
        step = { op: 'stop-client', client: client(), downMs: r.int(500, 5000) };
        break;
      case 'freeze-client':
        step = { op: 'freeze-client', client: client(), ms: r.int(500, 5000) };
        break;
      case 'kill-server':
        step = { op: 'kill-server', downMs: r.int(0, 3000) };
        break;
    }
    steps.push({ gapMs: r.chance(0.3) ? 0 : r.int(0, 300), step: step! });
  }
  return { seed, clients, steps };
}

export function anchorPath(i: number): string {
  return `${ANCHORS_DIR}/a${String(i).padStart(2, '0')}.txt`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function describeStep(s: Step): string {
  const { op, ...rest } = s;
  return `${op} ${JSON.stringify(rest)}`;
}
