/**
 * The bridge API for the UI in a browser: commands over HTTP, events over one WebSocket, to a
 * headless `ferry sync --ui` (src/app/web). Bundled into the browser UI, so no Node imports;
 * tests in Node pass the `ws` package as the WebSocket constructor.
 */
import type { ConnectionStatus, FerryBridge } from '../../shared/bridge.js';
import { bridgeOver, type EventName } from '../../shared/bridge-calls.js';
import { EVENTS_PATH, KEY_PROTOCOL_PREFIX, postCall, UI_PROTOCOL, type EventMessage, type FetchLike } from '../../shared/web-api.js';

/** What the bridge needs of a WebSocket: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: unknown) => void): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

export interface WebBridgeOptions {
  /** The client's address, e.g. http://127.0.0.1:43117 (in the browser: location.origin). */
  baseUrl: string;
  /** The UI key `ferry sync --ui` printed (the `#key=` part of its address). */
  key: string;
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
}

export interface WebBridge extends FerryBridge {
  /** Resolves once the event socket is open: events of what happens after that arrive. */
  whenOpen(): Promise<void>;
  /** Closes the event socket for good. */
  close(): void;
}

const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export function createWebBridge(options: WebBridgeOptions): WebBridge {
  const globals = globalThis as unknown as { fetch: FetchLike; WebSocket: WebSocketConstructor };
  const fetchFn = options.fetch ?? ((url, init) => globals.fetch(url, init));
  const Socket = options.WebSocket ?? globals.WebSocket;
  const eventsUrl = options.baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws') + EVENTS_PATH;
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  // 'down': the event socket was lost; calls fail fast until it is back, so the UI shows one
  // clear state instead of a pile of timeouts.
  let link: 'connecting' | 'open' | 'down' = 'connecting';
  let socket: WebSocketLike | undefined;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let opened: () => void = () => {};
  let openNow = new Promise<void>((resolve) => (opened = resolve));

  const deliver = (event: EventName, payload: unknown): void => {
    for (const listener of [...(listeners.get(event) ?? [])]) listener(payload);
  };

  const bridge = bridgeOver({
    call: async (command, args) => {
      if (link === 'down') return { ok: false, error: { code: 'unreachable', message: 'lost contact with the Ferry client; reconnecting' } };
      return postCall(fetchFn, options.baseUrl, options.key, command, args);
    },
    listen: (event, listener) => {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  });

  // After a gap the UI may have missed events: hand it the current state as events.
  const resync = async (): Promise<void> => {
    try {
      const [app, state] = await Promise.all([bridge.getApp(), bridge.getState()]);
      deliver('app', app);
      deliver('connection', state.connection);
      deliver('folders', state.folders);
      deliver('transfers', state.transfers);
      deliver('conflicts', state.conflicts);
      deliver('issues', state.issues);
    } catch {
      /* the socket's own close handling reports a client that went away again */
    }
  };

  const connect = (): void => {
    const ws = new Socket(eventsUrl, [UI_PROTOCOL, KEY_PROTOCOL_PREFIX + options.key]);
    socket = ws;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      const wasDown = link === 'down';
      link = 'open';
      attempt = 0;
      opened();
      if (wasDown) void resync();
    });
    ws.addEventListener('message', (event) => {
      const data = (event as { data?: unknown }).data;
      if (socket !== ws || typeof data !== 'string') return;
      let message: EventMessage;
      try {
        message = JSON.parse(data) as EventMessage;
      } catch {
        return;
      }
      deliver(message.event, message.payload);
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = undefined;
      if (closed) return;
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      if (link !== 'down') {
        link = 'down';
        const offline: ConnectionStatus = { status: 'offline', reason: 'lost contact with the Ferry client', retryAt: Date.now() + delay };
        deliver('connection', offline);
        openNow = new Promise<void>((resolve) => (opened = resolve));
      }
      timer = setTimeout(connect, delay);
    });
  };
  connect();

  return Object.assign(bridge, {
    whenOpen: () => openNow,
    close: () => {
      closed = true;
      clearTimeout(timer);
      const ws = socket;
      socket = undefined;
      ws?.close(1000, 'closed by the UI');
    },
  });
}
