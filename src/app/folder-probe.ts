/**
 * Which folders a device token can sync: one short session to the server (hello → welcome,
 * whose `folders` lists the user's folders, docs/protocol.md), then closed.
 */
import { BridgeError } from '../shared/bridge.js';
import type { ServerMessageOf } from '../shared/protocol/messages.js';
import { VERSION } from '../shared/version.js';
import { Connection } from '../engine/net/connection.js';

type FolderInfo = ServerMessageOf<'welcome'>['folders'][number];

const PROBE_TIMEOUT_MS = 20_000;

export function serverFolders(server: string, token: string): Promise<FolderInfo[]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.stop();
      outcome();
    };
    const conn = new Connection(
      { server, token, client: `ferry-app/${VERSION}`, backoffBaseMs: 10_000 },
      {
        welcome: (w) => finish(() => resolve(w.folders)),
        changes: () => {},
        folders: () => {},
        state: (s) => {
          if (s.status === 'offline' || s.status === 'failed' || s.status === 'signed-out') {
            finish(() => reject(new BridgeError(s.status === 'signed-out' ? 'auth-failed' : 'unreachable', `the server did not let this device in: ${s.reason}`)));
          }
        },
      },
    );
    const timer = setTimeout(() => finish(() => reject(new BridgeError('unreachable', `${server} did not answer within ${PROBE_TIMEOUT_MS / 1000} s`))), PROBE_TIMEOUT_MS);
    conn.start();
  });
}
