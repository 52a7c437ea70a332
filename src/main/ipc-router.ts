/**
 * Main's end of the preload bridge: one ipcMain handler per bridge command, each checking that
 * the call comes from Ferry's own page, validating its arguments and answering a BridgeResult
 * (dispatch() does both); bridge events go to the window on one channel. Written against the
 * few ipcMain methods it uses, so tests drive it with a stand-in.
 */
import type { BridgeResult, FerryBridge, Unsubscribe } from '../shared/bridge.js';
import { COMMANDS, subscribeAll, type EventName } from '../shared/bridge-calls.js';
import { dispatch } from '../shared/bridge-schema.js';
import { commandChannel, EVENT_CHANNEL } from '../shared/ipc-channels.js';

export interface InvokeEventLike {
  /** The frame that called; null once it navigated away or was destroyed. */
  senderFrame: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, handler: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface RouterOptions {
  /** Whether a frame at this URL may call the bridge: only our own renderer page. */
  trusted(frameUrl: string): boolean;
  /** Sends an event to the window (webContents.send); it drops it while no window is open. */
  send(channel: string, event: EventName, payload: unknown): void;
}

export class UntrustedSenderError extends Error {
  constructor(url: string) {
    super(`bridge calls are refused from ${url || 'an unknown frame'}`);
    this.name = 'UntrustedSenderError';
  }
}

/** Installs the handlers; the returned function removes them and stops forwarding events. */
export function routeBridge(ipc: IpcMainLike, bridge: FerryBridge, options: RouterOptions): Unsubscribe {
  for (const command of COMMANDS) {
    ipc.handle(commandChannel(command), async (event, ...args): Promise<BridgeResult<unknown>> => {
      const url = event.senderFrame?.url ?? '';
      // A foreign frame gets no typed answer at all: the invoke rejects in that frame.
      if (!options.trusted(url)) throw new UntrustedSenderError(url);
      return dispatch(bridge, command, args);
    });
  }
  const unsubscribe = subscribeAll(bridge, (event, payload) => options.send(EVENT_CHANNEL, event, payload));
  return () => {
    unsubscribe();
    for (const command of COMMANDS) ipc.removeHandler(commandChannel(command));
  };
}
