/**
 * How this device is set up, kept in `<stateDir>/setup.json`: the mode, server, user, device
 * and folder pairs, plus the settings the app owns. Never the token (see SecretStore). The
 * file is checked when read: a damaged one is set aside and the app starts at the first run,
 * with the bad copy kept for a person to look at.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.js';

export const SETUP_FILE = 'setup.json';

const Folder = z.object({ name: z.string().min(1), dir: z.string().min(1) });
const Account = { server: z.string().url(), user: z.string().min(1), device: z.string().min(1), folders: z.array(Folder).min(1) };

export const SavedSetup = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('client'), ...Account }),
  z.object({ mode: z.literal('host'), port: z.number().int().min(1).max(65535), ...Account }),
]);
export type SavedSetup = z.infer<typeof SavedSetup>;

const Rate = z.number().int().positive().nullable();

const SetupFile = z.object({
  version: z.literal(1),
  setup: SavedSetup.nullable(),
  notifications: z.boolean(),
  limits: z.object({ upBytesPerSecond: Rate, downBytesPerSecond: Rate }),
});
export type SetupFile = z.infer<typeof SetupFile>;

export const FIRST_RUN: SetupFile = {
  version: 1,
  setup: null,
  notifications: true,
  limits: { upBytesPerSecond: null, downBytesPerSecond: null },
};

export class SetupStore {
  private readonly file: string;

  constructor(private readonly stateDir: string) {
    this.file = join(stateDir, SETUP_FILE);
  }

  /** The saved setup; the first run when there is none. `damaged` names where a bad file was moved. */
  async load(): Promise<{ saved: SetupFile; damaged?: string; reason?: string }> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { saved: FIRST_RUN };
      throw err;
    }
    let reason: string;
    try {
      const parsed = SetupFile.safeParse(JSON.parse(text));
      if (parsed.success) return { saved: parsed.data };
      const issue = parsed.error.issues[0];
      reason = `${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`;
    } catch {
      reason = 'not JSON';
    }
    const damaged = `${this.file}.damaged-${Date.now()}`;
    await rename(this.file, damaged);
    return { saved: FIRST_RUN, damaged, reason };
  }

  async save(saved: SetupFile): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
  }
}
