/**
 * The receiving side of every bridge transport (Electron IPC in main, the web bridge's HTTP
 * API): arguments from the other side are untrusted, so each command's are parsed here before
 * the bridge sees them, and every outcome comes back as a BridgeResult.
 */
import { z } from 'zod';
import type { BridgeResult, FerryBridge } from './bridge.js';
import { isCommand, toResult, type CommandName } from './bridge-calls.js';
import { checkPath } from './paths.js';

const FolderId = z.number().int().min(1).max(0xffff_ffff);
const Rev = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const FolderPath = z.string().refine((p) => checkPath(p).ok, 'not a valid path inside the folder');
const LocalDir = z.string().min(1).max(4096).refine((d) => !d.includes('\0'), 'contains NUL');
const Rate = z.number().int().min(1024).max(Number.MAX_SAFE_INTEGER).nullable();
const Secret = z.string().min(1).max(1024);
const Name = z.string().trim().min(1).max(128);

const ServerUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      return ['http:', 'https:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'an http:// or https:// address');

const none = z.tuple([]);

export const COMMAND_ARGS = {
  getState: none,
  getApp: none,
  pause: none,
  resume: none,
  retry: none,
  resolveConflict: z.tuple([z.number().int().min(1), z.enum(['keep-mine', 'keep-theirs', 'keep-both'])]),
  confirmDeletes: z.tuple([FolderId]),
  rejectDeletes: z.tuple([FolderId]),
  setBandwidthLimits: z.tuple([z.strictObject({ upBytesPerSecond: Rate, downBytesPerSecond: Rate })]),
  history: z.tuple([FolderId, FolderPath]),
  restore: z.tuple([FolderId, FolderPath, Rev]),
  connect: z.tuple([
    z.strictObject({ server: ServerUrl, user: Name, password: Secret, device: Name, folder: Name.optional(), dir: LocalDir }),
  ]),
  host: z.tuple([z.strictObject({ user: Name, password: Secret, dir: LocalDir, port: z.number().int().min(1).max(65535).optional() })]),
  signIn: z.tuple([Secret]),
  signOut: none,
  setSettings: z.tuple([z.strictObject({ launchAtLogin: z.boolean().optional(), notifications: z.boolean().optional() })]),
  getIgnoreRules: z.tuple([FolderId]),
  setIgnoreRules: z.tuple([FolderId, z.string().max(256 * 1024)]),
  showInFolder: z.tuple([FolderId, FolderPath]),
  chooseFolder: none,
} satisfies Record<CommandName, z.ZodTuple>;

/** Validates `args` for `command` and runs it on `bridge`; unknown commands and bad arguments are answered, not thrown. */
export async function dispatch(bridge: FerryBridge, command: string, args: unknown): Promise<BridgeResult<unknown>> {
  if (!isCommand(command)) return { ok: false, error: { code: 'invalid-argument', message: `no command '${command}'` } };
  const parsed = COMMAND_ARGS[command].safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (argument ${issue.path.join('.')})` : '';
    return { ok: false, error: { code: 'invalid-argument', message: `${command}: ${issue?.message ?? 'bad arguments'}${where}` } };
  }
  try {
    const fn = bridge[command] as (...a: unknown[]) => Promise<unknown>;
    const value = await fn.apply(bridge, parsed.data as unknown[]);
    // undefined does not survive JSON; null does, and both transports carry JSON-shaped data.
    return { ok: true, value: value === undefined ? null : value };
  } catch (err) {
    return toResult(err);
  }
}

