/**
 * Which OS notifications a new engine snapshot calls for: one for the conflicts and one for the
 * sync issues that appeared since the last snapshot, and one when the device is signed out or
 * syncing failed outright. Pure; src/main/notifier.ts shows them.
 * What already existed when main first looked (at start, or after the app core restarted) is
 * the baseline and is not announced again.
 */
import type { Conflict, ConnectionStatus, IssueKind, SyncIssue } from '../shared/bridge.js';

export interface Notice {
  title: string;
  body: string;
}

export interface Seen {
  conflicts: ReadonlySet<number>;
  issues: ReadonlySet<string>;
  /** The connection trouble already announced (or there at the start). */
  trouble: string | null;
}

export interface Snapshot {
  connection: ConnectionStatus;
  conflicts: Conflict[];
  issues: SyncIssue[];
}

/** A connection state the user has to act on; the others mend themselves. */
function troubleOf(connection: ConnectionStatus): Notice | null {
  if (connection.status === 'signed-out') return { title: 'Ferry is signed out', body: `${connection.reason}. Open Ferry to sign in again.` };
  if (connection.status === 'failed') return { title: "Ferry can't sync", body: connection.reason };
  return null;
}

const ISSUE_TITLES: Record<IssueKind, string> = {
  'unsupported-name': "A file can't be synced on this computer",
  'mass-delete': 'Ferry held back many deletions',
  'root-missing': 'A sync folder is missing',
  'read-error': "A file couldn't be read",
  'write-error': "A file couldn't be written",
  'server-refused': 'The server refused a change',
  'journal-rebuilt': 'Ferry rebuilt its damaged sync records',
};

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function conflictNotice(added: Conflict[]): Notice {
  if (added.length === 1) {
    const c = added[0]!;
    return {
      title: `Conflict in ${baseName(c.path)}`,
      body: `${c.remoteDevice} changed ${c.path} while you did. Both versions are kept; open Ferry to choose.`,
    };
  }
  return { title: `${added.length} new conflicts`, body: 'Both versions of each file are kept; open Ferry to choose.' };
}

function issueNotice(added: SyncIssue[]): Notice {
  if (added.length === 1) {
    const issue = added[0]!;
    return { title: ISSUE_TITLES[issue.kind], body: issue.message };
  }
  return { title: `${added.length} new sync issues`, body: 'Open Ferry to see what needs your attention.' };
}

export function seenOf(snapshot: Snapshot): Seen {
  const trouble = troubleOf(snapshot.connection);
  return {
    conflicts: new Set(snapshot.conflicts.map((c) => c.id)),
    issues: new Set(snapshot.issues.map((i) => i.id)),
    trouble: trouble && trouble.body,
  };
}

/** The notices for what `now` has and `before` had not; null `before` makes `now` the baseline. */
export function newNotices(before: Seen | null, now: Snapshot): Notice[] {
  if (before === null) return [];
  const conflicts = now.conflicts.filter((c) => !before.conflicts.has(c.id));
  const issues = now.issues.filter((i) => !before.issues.has(i.id));
  const trouble = troubleOf(now.connection);
  return [
    ...(trouble && trouble.body !== before.trouble ? [trouble] : []),
    ...(conflicts.length > 0 ? [conflictNotice(conflicts)] : []),
    ...(issues.length > 0 ? [issueNotice(issues)] : []),
  ];
}
