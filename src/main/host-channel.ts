/**
 * The message protocol between Electron's main process and the utility process that runs the
 * app core (engine, and the embedded server when hosting), over the utility process's parent
 * port:
 *
 *   main → utility   call {id, command, args}        a bridge command
 *                    reply {id, result}              the answer to an `ask`
 *                    stop                            stop the app core cleanly (app quit)
 *   utility → main   result {id, result}             a command's BridgeResult
 *                    event {event, payload}          a bridge event
 *                    ask {id, service, args}         a secret-store or desktop-hook call
 *                    stopped                         the app core has stopped; exit follows
 *
 * Both ends validate what they receive: a malformed message is dropped and reported, never
 * thrown, and a call never waits on an answer that cannot come (closing the main end fails
 * every pending call).
 */
import { z } from 'zod';
import { BridgeError, type BridgeResult, type FerryBridge, type Unsubscribe } from '../shared/bridge.js';
import { EVENTS, subscribeAll, toResult, type BridgeTransport, type CommandName, type EventName } from '../shared/bridge-calls.js';
import { dispatch } from '../shared/bridge-schema.js';
import { EventHub } from '../app/event-hub.js';
import type { DesktopHooks } from '../app/ferry-app.js';
import type { SecretStore } from '../app/secret-store.js';

/** How main tells the utility process where the app keeps its state (the environment works for both ways of forking). */
export const STATE_DIR_VARIABLE = 'FERRY_APP_STATE';

/** What the app core needs from Electron's main process, which alone can reach the keychain and the desktop. */
export interface HostServices {
  secrets: SecretStore;
  desktop: DesktopHooks;
}

/** One end of a message channel: Electron's parent port in either process, a MessagePort in tests. */
export interface Port {
  post(message: unknown): void;
  onMessage(listener: (message: unknown) => void): Unsubscribe;
}

const Id = z.number().int().nonnegative();
const ErrorCode = z.enum(['invalid-argument', 'unsupported', 'not-set-up', 'already-set-up', 'unreachable', 'auth-failed', 'not-found', 'internal']);
const Result = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: ErrorCode, message: z.string() }) }),
]);

/** Each service method the utility process may ask main for, with its arguments. */
const ASKS = {
  'secrets.load': z.tuple([]),
  'secrets.save': z.tuple([z.string().min(1).max(4096)]),
  'secrets.clear': z.tuple([]),
  'desktop.showInFolder': z.tuple([z.string().min(1).max(8192)]),
  'desktop.chooseFolder': z.tuple([]),
  'desktop.getLaunchAtLogin': z.tuple([]),
  'desktop.setLaunchAtLogin': z.tuple([z.boolean()]),
} as const;
export type AskName = keyof typeof ASKS;

const ToUtility = z.discriminatedUnion('type', [
  z.object({ type: z.literal('call'), id: Id, command: z.string(), args: z.array(z.unknown()) }),
  z.object({ type: z.literal('reply'), id: Id, result: Result }),
  z.object({ type: z.literal('stop') }),
]);

const ToMain = z.discriminatedUnion('type', [
  z.object({ type: z.literal('result'), id: Id, result: Result }),
  z.object({ type: z.literal('event'), event: z.enum(EVENTS as [EventName, ...EventName[]]), payload: z.unknown() }),
  z.object({ type: z.literal('ask'), id: Id, service: z.enum(Object.keys(ASKS) as [AskName, ...AskName[]]), args: z.array(z.unknown()) }),
  z.object({ type: z.literal('stopped') }),
]);

export type ToUtilityMessage = z.infer<typeof ToUtility>;
export type ToMainMessage = z.infer<typeof ToMain>;

export type ProtocolErrorReporter = (problem: string) => void;

/** Requests waiting for their answer, by id. */
class Pending {
  private next = 0;
  private readonly waiting = new Map<number, (result: BridgeResult<unknown>) => void>();

  open(send: (id: number) => void): Promise<BridgeResult<unknown>> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      send(id);
    });
  }

  settle(id: number, result: BridgeResult<unknown>): boolean {
    const resolve = this.waiting.get(id);
    if (!resolve) return false;
    this.waiting.delete(id);
    resolve(result);
    return true;
  }

  failAll(message: string): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, { ok: false, error: { code: 'internal', message } });
  }
}

async function answer(services: HostServices, service: AskName, args: unknown[]): Promise<unknown> {
  switch (service) {
    case 'secrets.load':
      return services.secrets.load();
    case 'secrets.save':
      return services.secrets.save(args[0] as string);
    case 'secrets.clear':
      return services.secrets.clear();
    case 'desktop.showInFolder':
      return services.desktop.showInFolder(args[0] as string);
    case 'desktop.chooseFolder':
      return services.desktop.chooseFolder();
    case 'desktop.getLaunchAtLogin':
      return services.desktop.getLaunchAtLogin();
    case 'desktop.setLaunchAtLogin':
      return services.desktop.setLaunchAtLogin(args[0] as boolean);
  }
}

/**
 * Main's end: a BridgeTransport to the app core, answering its asks with `services`. One per
 * utility process; when the process exits, close() fails the calls still waiting.
 */
export class MainEnd implements BridgeTransport {
  private readonly pending = new Pending();
  private readonly hub: EventHub;
  private closed: string | null = null;
  private readonly off: Unsubscribe;
  private stopped: (() => void) | null = null;

  constructor(
    private readonly port: Port,
    private readonly services: HostServices,
    private readonly report: ProtocolErrorReporter,
  ) {
    this.hub = new EventHub((err) => report(`a listener failed: ${err instanceof Error ? err.message : String(err)}`));
    this.off = port.onMessage((message) => this.receive(message));
  }

  call(command: CommandName, args: unknown[]): Promise<BridgeResult<unknown>> {
    if (this.closed !== null) return Promise.resolve({ ok: false, error: { code: 'internal', message: this.closed } });
    return this.pending.open((id) => this.port.post({ type: 'call', id, command, args } satisfies ToUtilityMessage));
  }

  listen(event: EventName, listener: (payload: unknown) => void): Unsubscribe {
    return this.hub.on(event, listener);
  }

  /** Asks the app core to stop cleanly; resolves when it says it has (or the channel closes). */
  stop(): Promise<void> {
    if (this.closed !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.port.post({ type: 'stop' } satisfies ToUtilityMessage);
    });
  }

  /** The process is gone: calls still waiting fail with `reason`, later ones at once. */
  close(reason: string): void {
    if (this.closed !== null) return;
    this.closed = reason;
    this.off();
    this.pending.failAll(reason);
    this.stopped?.();
  }

  private receive(raw: unknown): void {
    const parsed = ToMain.safeParse(raw);
    if (!parsed.success) return this.report(`utility process sent a malformed message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const message = parsed.data;
    switch (message.type) {
      case 'result':
        if (!this.pending.settle(message.id, message.result as BridgeResult<unknown>)) this.report(`a result for unknown call ${message.id}`);
        return;
      case 'event':
        this.hub.emit(message.event, message.payload as never);
        return;
      case 'ask':
        void this.ask(message.id, message.service, message.args);
        return;
      case 'stopped':
        this.stopped?.();
        return;
    }
  }

  private async ask(id: number, service: AskName, args: unknown[]): Promise<void> {
    const parsed = ASKS[service].safeParse(args);
    const result: BridgeResult<unknown> = parsed.success
      ? await answer(this.services, service, parsed.data).then(
          (value) => ({ ok: true as const, value: value === undefined ? null : value }),
          (err: unknown) => toResult(err),
        )
      : { ok: false, error: { code: 'invalid-argument', message: `${service}: ${parsed.error.issues[0]?.message ?? 'bad arguments'}` } };
    if (this.closed === null) this.port.post({ type: 'reply', id, result } satisfies ToUtilityMessage);
  }
}

/**
 * The utility process's end: serves bridge calls from main (calls that arrive before the app
 * core is up wait for it), forwards its events, and gives it a SecretStore and DesktopHooks
 * that ask main.
 */
export class UtilityEnd {
  private readonly pending = new Pending();
  private readonly off: Unsubscribe;
  private bridge: Promise<FerryBridge>;
  private provide!: (bridge: FerryBridge) => void;
  private refuse!: (err: unknown) => void;
  private unsubscribeEvents: Unsubscribe = () => undefined;
  private stopCore: () => Promise<void> = async () => undefined;

  readonly secrets: SecretStore = {
    load: () => this.ask('secrets.load') as Promise<string | null>,
    save: async (token) => void (await this.ask('secrets.save', token)),
    clear: async () => void (await this.ask('secrets.clear')),
  };

  readonly desktop: DesktopHooks = {
    showInFolder: async (path) => void (await this.ask('desktop.showInFolder', path)),
    chooseFolder: () => this.ask('desktop.chooseFolder') as Promise<string | null>,
    getLaunchAtLogin: () => this.ask('desktop.getLaunchAtLogin') as Promise<boolean>,
    setLaunchAtLogin: async (on) => void (await this.ask('desktop.setLaunchAtLogin', on)),
  };

  constructor(
    private readonly port: Port,
    private readonly report: ProtocolErrorReporter,
    /** Ends this process once the core has stopped at main's request. */
    private readonly exit: () => void,
  ) {
    this.bridge = new Promise((resolve, reject) => {
      this.provide = resolve;
      this.refuse = reject;
    });
    // Calls waiting on a core that failed to start are answered from the rejection, not left unhandled.
    this.bridge.catch(() => undefined);
    this.off = port.onMessage((message) => this.receive(message));
  }

  /** The app core is up: answer calls with it, forward its events, and `stop` it when main asks. */
  serve(bridge: FerryBridge, stop: () => Promise<void>): void {
    this.stopCore = stop;
    this.unsubscribeEvents = subscribeAll(bridge, (event, payload) => this.port.post({ type: 'event', event, payload } satisfies ToMainMessage));
    this.provide(bridge);
  }

  /** The app core could not start: every call is answered with this error. */
  fail(err: unknown): void {
    this.refuse(err);
  }

  close(): void {
    this.off();
    this.unsubscribeEvents();
    this.pending.failAll('the main process closed the channel');
  }

  private async ask(service: AskName, ...args: unknown[]): Promise<unknown> {
    const result = await this.pending.open((id) => this.port.post({ type: 'ask', id, service, args } satisfies ToMainMessage));
    if (!result.ok) throw new BridgeError(result.error.code, result.error.message);
    return result.value;
  }

  private receive(raw: unknown): void {
    const parsed = ToUtility.safeParse(raw);
    if (!parsed.success) return this.report(`main process sent a malformed message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const message = parsed.data;
    switch (message.type) {
      case 'reply':
        if (!this.pending.settle(message.id, message.result as BridgeResult<unknown>)) this.report(`a reply for unknown ask ${message.id}`);
        return;
      case 'call':
        void this.run(message.id, message.command, message.args);
        return;
      case 'stop':
        void this.stop();
        return;
    }
  }

  private async stop(): Promise<void> {
    // A core still starting is stopped once it is up; one that failed to start has nothing to stop.
    const started = await this.bridge.then(
      () => true,
      () => false,
    );
    try {
      if (started) await this.stopCore();
    } catch (err) {
      this.report(`the app core failed to stop cleanly: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.unsubscribeEvents();
    this.port.post({ type: 'stopped' } satisfies ToMainMessage);
    this.exit();
  }

  private async run(id: number, command: string, args: unknown[]): Promise<void> {
    const result = await this.bridge.then(
      (bridge) => dispatch(bridge, command, args),
      (err: unknown) => toResult(err),
    );
    this.port.post({ type: 'result', id, result } satisfies ToMainMessage);
  }
}
