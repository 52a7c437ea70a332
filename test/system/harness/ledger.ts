/**
 * What the clients actually did to their folders, as facts for the invariants: every
 * content version written (by hash), every path created, every path deleted or renamed
 * away, and every pair of edits made to one file on two devices at once.
 */
import { createHash } from 'node:crypto';
import { isConflictCopy } from '../../../src/engine/sync/conflict-name.js';
import type { TreeItem } from '../../helpers/engine.js';
import { parentOf } from './schedule.js';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export interface EditPair {
  path: string;
  hashes: [string, string];
}

export class Ledger {
  /** hash → where it was first written, for the report. */
  readonly written = new Map<string, string>();
  readonly sizes = new Set<number>();
  readonly created = new Set<string>();
  readonly removed = new Set<string>();
  readonly pairs: EditPair[] = [];
  /** Concurrent edits that turned out not to be concurrent (one side already saw the other), or not to land. */
  notConcurrent = 0;

  wrote(data: Buffer, where: string): string {
    const hash = sha256(data);
    if (!this.written.has(hash)) this.written.set(hash, where);
    this.sizes.add(data.length);
    return hash;
  }

  /** Whether `path` or any folder above it was ever deleted or renamed away. */
  private goneOrUnder(path: string): boolean {
    for (let p = path; p !== ''; p = parentOf(p)) if (this.removed.has(p)) return true;
    return false;
  }

  /** Every broken invariant in the converged `tree`. */
  check(tree: Record<string, TreeItem>): string[] {
    const problems: string[] = [];
    for (const [path, item] of Object.entries(tree)) {
      if (item.kind === 'file' && !this.written.has(item.sha256)) problems.push(`${path}: content ${item.sha256.slice(0, 12)} (${item.size} bytes) is no version any client wrote`);
      if (item.kind === 'symlink') problems.push(`${path}: a symlink no client made`);
    }
    for (const path of [...this.created].sort()) {
      if (!this.goneOrUnder(path) && !tree[path]) problems.push(`${path}: created, never deleted or renamed away, and missing`);
    }
    for (const pair of this.pairs) {
      const dir = parentOf(pair.path);
      const name = pair.path.slice(dir ? dir.length + 1 : 0);
      const stem = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name;
      const holders = Object.entries(tree).filter(
        ([p]) => p === pair.path || (parentOf(p) === dir && isConflictCopy(p) && p.slice(dir ? dir.length + 1 : 0).startsWith(`${stem} (conflict from `)),
      );
      for (const h of pair.hashes) {
        if (!holders.some(([, item]) => item.sha256 === h)) problems.push(`${pair.path}: the concurrent edit ${h.slice(0, 12)} (${this.written.get(h)}) is neither at the path nor in a conflict copy`);
      }
    }
    return problems;
  }
}
