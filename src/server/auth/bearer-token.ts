import type { IncomingMessage } from 'node:http';

/**
 * The device token a request carries: `Authorization: Bearer …`, or, for a WebSocket opened
 * from a browser (which cannot set headers), a `bearer.<token>` subprotocol.
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const protocols = req.headers['sec-websocket-protocol'];
  if (!protocols) return undefined;
  for (const p of protocols.split(',')) {
    const v = p.trim();
    if (v.startsWith('bearer.')) return v.slice(7);
  }
  return undefined;
}
