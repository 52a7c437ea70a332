/**
 * The web bridge's wire contract, shared by its server (src/app/web) and its clients (the
 * browser UI, `ferry status`): commands are `POST /v1/call/<command>` with the arguments as a
 * JSON array and a BridgeResult as the answer; events arrive on one WebSocket as
 * `{event, payload}`. No dependencies beyond the bridge types: the browser bundle imports this.
 */
import type { BridgeResult } from './bridge.js';
import type { EventName } from './bridge-calls.js';

export const CALL_PATH = '/v1/call/';
export const EVENTS_PATH = '/v1/events';
/** Browsers can't set headers on a WebSocket: the key travels as a second offered subprotocol. */
export const UI_PROTOCOL = 'ferry-ui.v1';
export const KEY_PROTOCOL_PREFIX = 'key.';
export const MAX_CALL_BODY_BYTES = 1024 * 1024;

export interface EventMessage {
  event: EventName;
  payload: unknown;
}

/** The subset of fetch the client needs, so both the DOM's and Node's fetch fit. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ status: number; text(): Promise<string> }>;

/**
 * One command over HTTP. A failure to reach the client is `unreachable`; an answer that is not a
 * BridgeResult (a proxy's error page, a wrong key) becomes a result too, never a thrown exception.
 */
export async function postCall(fetchFn: FetchLike, baseUrl: string, key: string, command: string, args: unknown[]): Promise<BridgeResult<unknown>> {
  let status: number;
  let text: string;
  try {
    const res = await fetchFn(`${baseUrl.replace(/\/+$/, '')}${CALL_PATH}${encodeURIComponent(command)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    return { ok: false, error: { code: 'unreachable', message: `the Ferry client does not answer: ${err instanceof Error ? err.message : String(err)}` } };
  }
  const body = parseResult(text);
  if (body) return body;
  if (status === 401) return { ok: false, error: { code: 'auth-failed', message: 'the Ferry client refused the UI key; open the address it printed again' } };
  return { ok: false, error: { code: 'internal', message: `the Ferry client answered HTTP ${status}` } };
}

function parseResult(text: string): BridgeResult<unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('ok' in value)) return undefined;
  const v = value as { ok: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
  if (v.ok === true) return { ok: true, value: v.value };
  if (v.ok === false && typeof v.error?.code === 'string' && typeof v.error.message === 'string') {
    return { ok: false, error: { code: v.error.code as never, message: v.error.message } };
  }
  return undefined;
}
