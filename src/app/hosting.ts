/**
 * "Host on this computer": the sync server embedded in the app, with its data in
 * `<stateDir>/server`. The first user and the folder are made through the same admin functions
 * as `ferry admin`; a later host set-up on the same data signs the same user in again.
 */
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BridgeError } from '../shared/bridge.js';
import { AdminError, addUser, createFolder, createToken, MIN_PASSWORD_LENGTH, shareFolder } from '../server/admin.js';
import { verifyPassword } from '../server/auth/secrets.js';
import { FerryServer } from '../server/server.js';

export const HOST_FOLDER = 'Ferry';
export const DEFAULT_HOST_PORT = 7711;

export function hostDataDir(stateDir: string): string {
  return join(stateDir, 'server');
}

export async function startHostedServer(stateDir: string, listen: string, port: number, logger: Logger): Promise<FerryServer> {
  try {
    return await FerryServer.start({ dataDir: hostDataDir(stateDir), host: listen, port, logger: logger.child({ part: 'server' }) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new BridgeError('invalid-argument', `port ${port} is in use by another program; choose another port`);
    if (code === 'EACCES') throw new BridgeError('invalid-argument', `this system does not let Ferry listen on port ${port}; choose a port above 1024`);
    throw err;
  }
}

/** The address this device's own engine uses: loopback, unless the server listens on one address only. */
export function localUrl(server: FerryServer, listen: string): string {
  return listen === '0.0.0.0' || listen === '::' ? `http://127.0.0.1:${server.port}` : server.url;
}

/** What other devices type in: each non-internal IPv4 address, and loopback, when listening on all of them. */
export function hostAddresses(listen: string, port: number): string[] {
  if (listen !== '0.0.0.0' && listen !== '::') return [`http://${listen.includes(':') ? `[${listen}]` : listen}:${port}`];
  const addresses: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) addresses.push(`http://${a.address}:${port}`);
  }
  addresses.push(`http://127.0.0.1:${port}`);
  return addresses;
}

/** The host's user (created, or the existing one when the password matches), the shared folder, and a device token. */
export async function provisionHost(server: FerryServer, user: string, password: string, device: string): Promise<{ token: string; folder: string }> {
  const store = server.ctx.store;
  if (password.length < MIN_PASSWORD_LENGTH) throw new BridgeError('invalid-argument', `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  try {
    const existing = await store.userByName(user);
    if (existing) {
      if (!(await verifyPassword(password, existing.passwordHash))) {
        throw new BridgeError('auth-failed', `this computer already hosts a user named '${user}' with another password`);
      }
    } else {
      await addUser(store, user, password);
    }
    const folder = await store.folderByName(HOST_FOLDER);
    if (!folder) await createFolder(store, HOST_FOLDER, user);
    else if (!(await store.roleOf(folder.id, (await store.userByName(user))!.id))) await shareFolder(store, HOST_FOLDER, user, 'write');
    const { token } = await createToken(store, user, device);
    return { token, folder: HOST_FOLDER };
  } catch (err) {
    if (err instanceof AdminError) throw new BridgeError('invalid-argument', err.message);
    throw err;
  }
}
