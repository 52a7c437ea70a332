/**
 * For the desktop shell's tests: stand-ins for what only an Electron binary provides (the
 * keychain, the desktop's dialogs and login items), a message-port pair like the utility
 * process's parent port, and a real FerryApp to put behind them.
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { pino } from 'pino';
import type { DesktopHooks } from '../../src/app/ferry-app.js';
import { FerryApp } from '../../src/app/ferry-app.js';
import type { SecretStore } from '../../src/app/secret-store.js';
import type { HostProcess } from '../../src/main/engine-supervisor.js';
import { STATE_DIR_VARIABLE, type Port } from '../../src/main/host-channel.js';
import type { InvokeEventLike, IpcMainLike } from '../../src/main/ipc-router.js';
import type { Sealer } from '../../src/main/sealed-token-file.js';
import type { IpcRendererLike, RendererListener } from '../../src/preload/ipc-bridge.js';
import { ROOT } from './server.js';

/** Stands in for Electron's safeStorage: a keyed XOR, reversible only with its key. */
export function keychainStandIn(key = 0x5a, available = true): Sealer {
  const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ key));
  return {
    isEncryptionAvailable: () => available,
    encryptString: (plain) => xor(Buffer.from(`sealed:${plain}`)),
    decryptString(sealed) {
      const text = xor(sealed).toString();
      if (!text.startsWith('sealed:')) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      return text.slice('sealed:'.length);
    },
  };
}

/** Stands in for Electron's shell, dialog and login items; remembers what it was asked. */
export interface DesktopStandIn extends DesktopHooks {
  shown: string[];
  nextFolder: string | null;
  launchAtLogin: boolean;
}

export function desktopStandIn(): DesktopStandIn {
  const desktop: DesktopStandIn = {
    shown: [],
    nextFolder: null,
    launchAtLogin: false,
    showInFolder: async (path) => void desktop.shown.push(path),
    chooseFolder: async () => desktop.nextFolder,
    getLaunchAtLogin: async () => desktop.launchAtLogin,
    setLaunchAtLogin: async (on) => void (desktop.launchAtLogin = on),
  };
  return desktop;
}

/** Both ends of a structured-clone message channel, as the utility process's parent port is. */
export function portPair(): { main: Port; utility: Port; close(): void } {
  const { port1, port2 } = new MessageChannel();
  const wrap = (port: typeof port1): Port => ({
    post: (message) => port.postMessage(message),
    onMessage(listener) {
      port.on('message', listener);
      return () => void port.off('message', listener);
    },
  });
  return {
    main: wrap(port1),
    utility: wrap(port2),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

/** A real app core on a temp state directory, tuned like the engine tests' clients. */
export function startFerryApp(stateDir: string, secrets: SecretStore, desktop?: DesktopHooks): Promise<FerryApp> {
  return FerryApp.start({
    stateDir,
    logger: pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' }),
    secrets,
    ...(desktop ? { desktop } : {}),
    canHost: true,
    hostListen: '127.0.0.1',
    engine: { folderOptions: { settleMs: 10 }, connection: { backoffBaseMs: 50, backoffMaxMs: 500 } },
  });
}

type Handler = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>;

/**
 * Stands in for Electron's IPC: ipcMain.handle/removeHandler on one side, ipcRenderer
 * invoke/on on the other (one renderer per frame URL), webContents.send between them. Values
 * are structured-cloned as Electron does, a handler that throws rejects the invoke with
 * Electron's wording, and a second handler on one channel is refused as Electron refuses it.
 */
export class IpcStandIn {
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Map<string, Set<RendererListener>>();

  readonly ipcMain: IpcMainLike = {
    handle: (channel, handler) => {
      if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      this.handlers.set(channel, handler);
    },
    removeHandler: (channel) => void this.handlers.delete(channel),
  };

  channels(): string[] {
    return [...this.handlers.keys()];
  }

  /** The renderer of a frame at `url` (null: a frame already gone). */
  renderer(url: string | null): IpcRendererLike {
    return {
      invoke: async (channel, ...args) => {
        const handler = this.handlers.get(channel);
        if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
        try {
          return structuredClone(await handler({ senderFrame: url === null ? null : { url } }, ...structuredClone(args)));
        } catch (err) {
          throw new Error(`Error invoking remote method '${channel}': ${String(err)}`);
        }
      },
      on: (channel, listener) => {
        let set = this.listeners.get(channel);
        if (!set) this.listeners.set(channel, (set = new Set()));
        set.add(listener);
      },
      removeListener: (channel, listener) => void this.listeners.get(channel)?.delete(listener),
    };
  }

  /** webContents.send */
  send(channel: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(channel) ?? [])]) listener({}, ...structuredClone(args));
  }

  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }
}

/** The utility-process entry (out/main/engine-host.js, from `electron-vite build`) as a Node child process, for the supervisor. */
export function forkNodeHost(stateDir: string): HostProcess & { child: ChildProcess } {
  const entry = join(ROOT, 'out', 'main', 'engine-host.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npx electron-vite build\` first (npm test does)`);
  const child = fork(entry, [], {
    env: { ...process.env, [STATE_DIR_VARIABLE]: stateDir, FERRY_LOG: process.env.FERRY_TEST_LOG ?? 'silent' },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A message posted in the moment between the child's death and its exit event fails here, not in the test.
  child.on('error', () => undefined);
  return {
    child,
    port: {
      post: (message) => void (child.connected && child.send(message as Serializable)),
      onMessage(listener) {
        child.on('message', listener);
        return () => void child.off('message', listener);
      },
    },
    onExit: (listener) => void child.once('exit', (code) => listener(code)),
    kill: () => void child.kill('SIGKILL'),
  };
}
