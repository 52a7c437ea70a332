/**
 * Who may use the local UI API. A web page in the user's own browser can aim requests at
 * 127.0.0.1, so besides the random key: the Host header must name this server (a DNS-rebinding
 * page's Host is its own domain), and an Origin, when the browser sends one, must be this
 * server's own (anything else is another site's page: CSRF).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { KEY_PROTOCOL_PREFIX, UI_PROTOCOL } from '../../shared/web-api.js';

export type Refusal = { status: 403 | 401; message: string };

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const WILDCARD = new Set(['0.0.0.0', '::']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly key: Buffer;

  constructor(listen: string, port: number, key: string) {
    this.key = Buffer.from(key);
    const names = new Set([listen, 'localhost']);
    if (isLoopback(listen)) for (const h of ['127.0.0.1', '::1']) names.add(h);
    if (WILDCARD.has(listen)) {
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address);
    }
    this.hosts = new Set([...names].map((n) => hostPort(n, port)));
  }

  /** Host and Origin; every request, static files included. */
  checkSite(req: IncomingMessage): Refusal | undefined {
    const host = req.headers.host ?? '';
    if (!this.hosts.has(host.toLowerCase())) return { status: 403, message: `wrong Host header '${host}'; use the address ferry sync printed` };
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) return { status: 403, message: `requests from ${origin} are not allowed` };
    return undefined;
  }

  /** The key: `Authorization: Bearer <key>`, or on a WebSocket the offered subprotocol `key.<key>`. */
  checkKey(req: IncomingMessage, socket: boolean): Refusal | undefined {
    let given: string | undefined;
    if (socket) {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (offered.includes(UI_PROTOCOL)) given = offered.find((p) => p.startsWith(KEY_PROTOCOL_PREFIX))?.slice(KEY_PROTOCOL_PREFIX.length);
    } else {
      const auth = req.headers.authorization ?? '';
      if (auth.startsWith('Bearer ')) given = auth.slice(7);
    }
    const bytes = Buffer.from(given ?? '');
    if (bytes.length === this.key.length && timingSafeEqual(bytes, this.key)) return undefined;
    return { status: 401, message: given === undefined ? 'the UI key is missing' : 'wrong UI key' };
  }
}
