/**
 * Where the device token lives. The desktop app keeps it with the OS keychain (its own
 * SecretStore); headless, it is a 0600 file in the state directory, in the shape `ferry login`
 * writes (credentials.json), so either can read what the other saved.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CREDENTIALS_FILE } from '../engine/state-dir.js';
import { writeFileAtomic } from './atomic-file.js';

export interface SecretStore {
  load(): Promise<string | null>;
  save(token: string): Promise<void>;
  clear(): Promise<void>;
}

export class FileSecretStore implements SecretStore {
  private readonly file: string;

  constructor(private readonly stateDir: string) {
    this.file = join(stateDir, CREDENTIALS_FILE);
  }

  async load(): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      const token = (JSON.parse(text) as { token?: unknown } | null)?.token;
      return typeof token === 'string' && token.length > 0 ? token : null;
    } catch {
      return null; // unreadable: as good as no token; signing in again replaces the file
    }
  }

  async save(token: string): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify({ token }, null, 2), { mode: 0o600 });
  }

  async clear(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
