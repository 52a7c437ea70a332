/**
 * The bridge API over Electron IPC, as the preload script exposes it: each command is an
 * `invoke` on its own channel, answered with a BridgeResult; events arrive on one channel and
 * fan out to the listeners of their name. Written against the few ipcRenderer methods it uses,
 * so tests drive it over a stand-in IPC pair.
 */
import type { BridgeErrorCode, BridgeResult, FerryBridge, Unsubscribe } from '../shared/bridge.js';
import { bridgeOver, COMMANDS, toResult, type EventName } from '../shared/bridge-calls.js';
import { commandChannel, EVENT_CHANNEL } from '../shared/ipc-channels.js';

export type RendererListener = (event: unknown, ...args: unknown[]) => void;

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: RendererListener): unknown;
  removeListener(channel: string, listener: RendererListener): unknown;
}

export function createIpcBridge(ipc: IpcRendererLike): FerryBridge {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  // One IPC listener for all events, attached while anyone listens: a closed window leaves none behind.
  const onEvent: RendererListener = (_event, name, payload) => {
    if (typeof name !== 'string') return;
    for (const listener of [...(listeners.get(name) ?? [])]) listener(payload);
  };
  const listenerCount = () => [...listeners.values()].reduce((n, set) => n + set.size, 0);

  return bridgeOver({
    call: (command, args) => ipc.invoke(commandChannel(command), ...args) as Promise<BridgeResult<unknown>>,
    listen(event: EventName, listener): Unsubscribe {
      if (listenerCount() === 0) ipc.on(EVENT_CHANNEL, onEvent);
      // A wrapper per subscription, so the same function subscribed twice unsubscribes once each.
      const entry = (payload: unknown) => listener(payload);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(entry);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        set.delete(entry);
        if (listenerCount() === 0) ipc.removeListener(EVENT_CHANNEL, onEvent);
      };
    },
  });
}

/** A failed call as the page receives it: the bridge error's fields as plain data. */
export interface BridgeFailure {
  name: 'BridgeError';
  code: BridgeErrorCode;
  message: string;
}

/**
 * The bridge as it crosses Electron's context bridge into the page. That bridge rebuilds a
 * thrown or rejected Error in the page from its message alone, so a BridgeError would arrive
 * without its code; a plain object crosses whole, so failures are rejected as BridgeFailure.
 */
export function forContextBridge(bridge: FerryBridge): FerryBridge {
  const exposed: Record<string, unknown> = { ...bridge };
  for (const command of COMMANDS) {
    const call = bridge[command] as (...args: unknown[]) => Promise<unknown>;
    exposed[command] = (...args: unknown[]) =>
      call(...args).catch((err: unknown) => {
        const { error } = toResult(err) as { error: { code: BridgeErrorCode; message: string } };
        throw { name: 'BridgeError', code: error.code, message: error.message } satisfies BridgeFailure;
      });
  }
  return exposed as unknown as FerryBridge;
}
