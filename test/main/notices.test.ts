import { describe, expect, it } from 'vitest';
import type { Conflict, ConnectionStatus, SyncIssue } from '../../src/shared/bridge.js';
import { newNotices, seenOf, type Snapshot } from '../../src/main/notices.js';

const conflict = (id: number, path = `docs/report-${id}.txt`): Conflict => ({
  id,
  folder: 1,
  path,
  copy: `${path} (conflict)`,
  localDevice: 'laptop',
  remoteDevice: 'desk',
  localSize: 1,
  remoteSize: 2,
  localTime: 1,
  remoteTime: 1,
  time: 1,
});
const issue = (id: string, kind: SyncIssue['kind'] = 'mass-delete', message = '1,200 files were deleted; confirm to sync it'): SyncIssue => ({
  id,
  folder: 1,
  kind,
  path: null,
  message,
  count: 1200,
});

const connected: ConnectionStatus = { status: 'connected', since: 1 };
const snap = (conflicts: Conflict[], issues: SyncIssue[] = [], connection: ConnectionStatus = connected): Snapshot => ({ connection, conflicts, issues });
const revoked: ConnectionStatus = { status: 'signed-out', reason: 'the device token was revoked' };

describe('newNotices', () => {
  it('takes the first snapshot as the baseline', () => {
    expect(newNotices(null, snap([conflict(1)], [issue('a')]))).toEqual([]);
  });

  it('announces one new conflict by file and device', () => {
    const before = seenOf(snap([conflict(1)]));
    expect(newNotices(before, snap([conflict(1), conflict(2, 'notes/plan.md')]))).toEqual([
      { title: 'Conflict in plan.md', body: 'desk changed notes/plan.md while you did. Both versions are kept; open Ferry to choose.' },
    ]);
  });

  it('sums up several new conflicts in one notice', () => {
    expect(newNotices(seenOf(snap([])), snap([conflict(1), conflict(2), conflict(3)]))).toEqual([
      { title: '3 new conflicts', body: 'Both versions of each file are kept; open Ferry to choose.' },
    ]);
  });

  it('announces new issues by kind, and several at once in one notice', () => {
    expect(newNotices(seenOf(snap([])), snap([], [issue('a')]))).toEqual([
      { title: 'Ferry held back many deletions', body: '1,200 files were deleted; confirm to sync it' },
    ]);
    expect(newNotices(seenOf(snap([])), snap([], [issue('a', 'unsupported-name', 'x'), issue('b', 'read-error', 'y')]))).toEqual([
      { title: '2 new sync issues', body: 'Open Ferry to see what needs your attention.' },
    ]);
  });

  it('gives a conflict and an issue that appear together a notice each', () => {
    expect(newNotices(seenOf(snap([])), snap([conflict(7)], [issue('root', 'root-missing', '/home/ann/Ferry is missing')]))).toEqual([
      expect.objectContaining({ title: 'Conflict in report-7.txt' }),
      { title: 'A sync folder is missing', body: '/home/ann/Ferry is missing' },
    ]);
  });

  it('stays quiet for resolved and unchanged items, and announces an issue that comes back', () => {
    const first = snap([conflict(1), conflict(2)], [issue('a')]);
    const resolved = snap([conflict(2)], []);
    expect(newNotices(seenOf(first), first)).toEqual([]);
    expect(newNotices(seenOf(first), resolved)).toEqual([]);
    expect(newNotices(seenOf(resolved), snap([conflict(2)], [issue('a')]))).toHaveLength(1);
  });

  it('announces being signed out or failing once, and again after it mended', () => {
    expect(newNotices(seenOf(snap([])), snap([], [], revoked))).toEqual([
      { title: 'Ferry is signed out', body: 'the device token was revoked. Open Ferry to sign in again.' },
    ]);
    expect(newNotices(seenOf(snap([], [], revoked)), snap([], [], revoked))).toEqual([]);
    expect(newNotices(seenOf(snap([], [], revoked)), snap([]))).toEqual([]);
    expect(newNotices(seenOf(snap([])), snap([], [], { status: 'failed', reason: 'protocol version 9 is not supported' }))).toEqual([
      { title: "Ferry can't sync", body: 'protocol version 9 is not supported' },
    ]);
    // Going offline and coming back needs nobody's help: no notice.
    expect(newNotices(seenOf(snap([])), snap([], [], { status: 'offline', reason: 'server unreachable', retryAt: 1 }))).toEqual([]);
    expect(newNotices(null, snap([], [], revoked))).toEqual([]);
  });
});
