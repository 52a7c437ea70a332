/**
 * Regression: a message that was already on its way when the engine stopped reached the
 * folders after the local journal had closed ("The database connection is not open", an
 * uncaught exception that ends the process). After stop(), the connection delivers nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/shared/protocol/limits.js';
import { Connection } from '../../src/engine/net/connection.js';
import { eventually } from '../helpers/server.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

it('delivers no message that arrives after stop()', async () => {
  // A stand-in server that answers hello with welcome and a page of changes in one write,
  // so both are in the client's socket buffer together.
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => {
    ws.on('message', () => {
      const welcome = {
        type: 'welcome',
        protocol: 1,
        server: { id: 'test-server', version: '0.0.0' },
        user: 'u',
        device: { id: 1, name: 'd' },
        folders: [{ id: 1, name: 'F', rev: 1, role: 'owner' }],
        limits: DEFAULT_LIMITS,
      };
      const changes = { type: 'changes', folder: 1, from: 0, rev: 1, more: false, entries: [] };
      ws.send(JSON.stringify(welcome));
      ws.send(JSON.stringify(changes));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  closers.push(async () => {
    wss.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  const received: string[] = [];
  const conn: Connection = new Connection(
    { server: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, token: 't', client: 'test' },
    {
      welcome: () => {
        received.push('welcome');
        conn.stop(); // as Engine.stop() does, with the second message already buffered
      },
      changes: () => received.push('changes'),
      folders: () => received.push('folders'),
      state: (s) => received.push(s.status),
    },
  );
  conn.start();
  await eventually(() => received.includes('stopped'), 5000, 'the stop');
  // Give anything still buffered in the socket the chance to (wrongly) arrive.
  await new Promise((r) => setTimeout(r, 200));
  expect(received).not.toContain('changes');
});
