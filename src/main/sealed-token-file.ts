/**
 * The device token, kept in a file in the app's data directory, sealed with the OS keychain
 * (Electron's safeStorage: Keychain, DPAPI, libsecret/kwallet). On a system with no keychain
 * the token is kept unsealed in an owner-only file, as the headless client keeps its own, and
 * that is logged: syncing beats refusing to run.
 */
import { readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../app/atomic-file.js';
import type { SecretStore } from '../app/secret-store.js';

/** The part of Electron's safeStorage this uses. */
export interface Sealer {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(sealed: Buffer): string;
}

const Stored = z.object({ v: z.literal(1), sealed: z.boolean(), data: z.string() });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export class SealedTokenFile implements SecretStore {
  constructor(
    private readonly file: string,
    private readonly sealer: Sealer,
    private readonly warn: (message: string) => void,
  ) {}

  async load(): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const parsed = Stored.safeParse(parseJson(text));
    if (!parsed.success) {
      this.warn(`ignoring an unreadable token file ${this.file}; sign in again`);
      return null;
    }
    const { sealed, data } = parsed.data;
    if (!sealed) return data;
    if (!this.sealer.isEncryptionAvailable()) {
      this.warn('the OS keychain is not available, so the saved token cannot be unsealed; sign in again');
      return null;
    }
    try {
      return this.sealer.decryptString(Buffer.from(data, 'base64'));
    } catch {
      // Sealed by another user account or a keychain that was reset.
      this.warn('the saved token could not be unsealed; sign in again');
      return null;
    }
  }

  async save(token: string): Promise<void> {
    const sealed = this.sealer.isEncryptionAvailable();
    if (!sealed) this.warn('no OS keychain: the device token is kept unsealed in an owner-only file');
    const data = sealed ? this.sealer.encryptString(token).toString('base64') : token;
    await writeFileAtomic(this.file, JSON.stringify({ v: 1, sealed, data }), { mode: 0o600 });
  }

  async clear(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
