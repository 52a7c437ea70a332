/**
 * The bridge API as data: the names of its commands and events. Every transport (the preload
 * IPC bridge, the web bridge) builds its client and its router from these lists, so a command
 * added to FerryBridge and not here fails to type-check instead of silently missing.
 * No dependencies: the renderer and the sandboxed preload import this.
 */
import {
  BridgeError,
  type BridgeResult,
  type FerryBridge,
  type Unsubscribe,
} from './bridge.js';

type ListenerOf<K extends keyof FerryBridge> = FerryBridge[K] extends (listener: (payload: infer P) => void) => Unsubscribe ? P : never;

/** `onConnection` → `connection`. */
export type EventName = {
  [K in keyof FerryBridge]: K extends `on${infer E}` ? Uncapitalize<E> : never;
}[keyof FerryBridge];

export type CommandName = Exclude<keyof FerryBridge, `on${string}`>;

export type EventPayload<E extends EventName> = ListenerOf<`on${Capitalize<E>}`>;

export type CommandArgs<C extends CommandName> = Parameters<FerryBridge[C]>;
export type CommandValue<C extends CommandName> = Awaited<ReturnType<FerryBridge[C]>>;

const commands = {
  getState: true,
  getApp: true,
  pause: true,
  resume: true,
  retry: true,
  resolveConflict: true,
  confirmDeletes: true,
  rejectDeletes: true,
  setBandwidthLimits: true,
  history: true,
  restore: true,
  connect: true,
  host: true,
  signIn: true,
  signOut: true,
  setSettings: true,
  getIgnoreRules: true,
  setIgnoreRules: true,
  showInFolder: true,
  chooseFolder: true,
} satisfies Record<CommandName, true>;

const events = {
  app: true,
  connection: true,
  folders: true,
  transfers: true,
  conflicts: true,
  issues: true,
  activity: true,
} satisfies Record<EventName, true>;

export const COMMANDS = Object.keys(commands) as CommandName[];
export const EVENTS = Object.keys(events) as EventName[];

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(commands, name);
}

export function listenerName<E extends EventName>(event: E): `on${Capitalize<E>}` {
  return `on${event[0]!.toUpperCase()}${event.slice(1)}` as `on${Capitalize<E>}`;
}

/** Subscribes to every event of `bridge` at once; one unsubscribe for all. */
export function subscribeAll(bridge: FerryBridge, send: <E extends EventName>(event: E, payload: EventPayload<E>) => void): Unsubscribe {
  const offs = EVENTS.map((event) => {
    const on = bridge[listenerName(event)] as (listener: (payload: unknown) => void) => Unsubscribe;
    return on.call(bridge, (payload) => send(event, payload as EventPayload<typeof event>));
  });
  return () => {
    for (const off of offs) off();
  };
}

/** What a client transport provides: one way to call, one way to listen. */
export interface BridgeTransport {
  call(command: CommandName, args: unknown[]): Promise<BridgeResult<unknown>>;
  listen(event: EventName, listener: (payload: unknown) => void): Unsubscribe;
}

/** Turns a transport into the bridge API: failures become BridgeError rejections. */
export function bridgeOver(transport: BridgeTransport): FerryBridge {
  const bridge: Record<string, unknown> = {};
  for (const command of COMMANDS) {
    bridge[command] = async (...args: unknown[]) => {
      const result = await transport.call(command, args);
      if (!result.ok) throw new BridgeError(result.error.code, result.error.message);
      return result.value;
    };
  }
  for (const event of EVENTS) {
    bridge[listenerName(event)] = (listener: (payload: unknown) => void) => transport.listen(event, listener);
  }
  return bridge as unknown as FerryBridge;
}

/** The receiving end's half: any failure becomes a typed result, never a thrown exception. */
export function toResult(err: unknown): BridgeResult<never> {
  if (err instanceof BridgeError) return { ok: false, error: { code: err.code, message: err.message } };
  return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
}
