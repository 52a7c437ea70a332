/**
 * For the desktop shell's tests: stand-ins for what only an Electron binary provides (the
 * keychain, the desktop's dialogs and login items), a message-port pair like the utility
 * process's parent port, and a real FerryApp to put behind them.
 */
import { MessageChannel } from 'node:worker_threads';
import { pino } from 'pino';
import type { DesktopHooks } from '../../src/app/ferry-app.js';
import { FerryApp } from '../../src/app/ferry-app.js';
import type { SecretStore } from '../../src/app/secret-store.js';
import type { Port } from '../../src/main/host-channel.js';
import type { Sealer } from '../../src/main/sealed-token-file.js';

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
