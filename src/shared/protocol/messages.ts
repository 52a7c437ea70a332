/**
 * Every JSON message of the sync protocol, as schemas. This file is the protocol's single
 * source of truth: the server and the engine parse every incoming message with these and
 * derive their types from them. docs/protocol.md describes the same messages in prose.
 */
import { z } from 'zod';
import { checkNewPath, checkPath, type PathCheck } from '../paths.js';
import { utf8Length } from '../utf8.js';

export const PROTOCOL_VERSION = 1;

const INVALID_PATH = 'invalid_path';

const uint32 = z.number().int().min(0).max(0xffff_ffff);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const Req = uint32;
export const FolderId = z.number().int().min(1).max(0xffff_ffff);
export const Rev = count;

function pathSchema(check: (path: string) => PathCheck) {
  return z.string().superRefine((path, ctx) => {
    const result = check(path);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.reason, params: { ferry: INVALID_PATH } });
  });
}

/** A path that names something that may already exist. */
export const WirePath = pathSchema(checkPath);
/** A path a commit creates: also a name every supported OS can hold (src/shared/paths.ts). */
export const NewWirePath = pathSchema(checkNewPath);

/** SHA-256 as 64 lowercase hex digits. */
export const Hash = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** A chunk of a file: its hash and its size in bytes. */
export const ChunkRef = z.tuple([Hash, count]);

export const EntryKind = z.enum(['file', 'dir', 'symlink']);

const MAX_TARGET_BYTES = 4096;
const SymlinkTarget = z
  .string()
  .refine((t) => !t.includes('\0') && utf8Length(t) <= MAX_TARGET_BYTES, 'bad symlink target');

/** Permission bits only; the exec bit is what syncs in practice. */
const Mode = z.number().int().min(0).max(0o777);

/** What a path holds at one revision; shared by the journal, the feed and history. */
export const Entry = z.object({
  path: WirePath,
  rev: Rev,
  kind: EntryKind,
  deleted: z.boolean(),
  size: count,
  mtime: count,
  mode: Mode,
  hash: z.union([Hash, z.literal('')]),
  chunks: z.array(ChunkRef),
  target: SymlinkTarget,
  device: z.string().max(256),
  time: count,
  movedFrom: WirePath.optional(),
});
export type Entry = z.infer<typeof Entry>;

/** The content-bearing part of an entry, as a client proposes it in a put. */
const Content = z.object({
  kind: EntryKind,
  size: count,
  mtime: count,
  mode: Mode,
  hash: z.union([Hash, z.literal('')]),
  chunks: z.array(ChunkRef),
  target: SymlinkTarget,
});

export const PutOp = Content.extend({ op: z.literal('put'), path: NewWirePath, baseRev: Rev }).superRefine(
  (put, ctx) => {
    const problem = contentProblem(put);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  },
);
export const DeleteOp = z.object({ op: z.literal('delete'), path: WirePath, baseRev: Rev });
/** Moves `from` (at `baseRev`) to `path`, which must not exist. A directory moves with all it holds. */
export const MoveOp = z
  .object({ op: z.literal('move'), from: WirePath, path: NewWirePath, baseRev: Rev })
  .refine((m) => m.from !== m.path && !m.path.startsWith(m.from + '/'), 'cannot move a path into itself');
export const Op = z.discriminatedUnion('op', [PutOp, DeleteOp, MoveOp]);
export type PutOp = z.infer<typeof PutOp>;
export type DeleteOp = z.infer<typeof DeleteOp>;
export type MoveOp = z.infer<typeof MoveOp>;
export type Op = z.infer<typeof Op>;

export function contentProblem(c: z.infer<typeof Content>): string | undefined {
  switch (c.kind) {
    case 'file': {
      if (c.hash === '') return 'a file needs its content hash';
      if (c.target !== '') return 'only a symlink has a target';
      let sum = 0;
      for (const [, size] of c.chunks) sum += size;
      if (sum !== c.size) return `chunk sizes add up to ${sum}, not the file size ${c.size}`;
      return undefined;
    }
    case 'dir':
      if (c.size !== 0 || c.chunks.length > 0 || c.hash !== '' || c.target !== '') {
        return 'a directory has no size, hash, chunks or target';
      }
      return undefined;
    case 'symlink':
      if (c.target === '') return 'a symlink needs a target';
      if (c.size !== 0 || c.chunks.length > 0 || c.hash !== '') return 'a symlink has no size, hash or chunks';
      return undefined;
  }
}

// ---- client → server -------------------------------------------------------------

/** What a client can read beyond the base protocol; the server sends only what was announced. */
export const FEATURE_MOVE_RUNS = 'move-runs';
export const Hello = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  client: z.string().max(256),
  features: z.array(z.string().max(64)).max(64).optional(),
});
/** `req` is optional on these: it only tags an `error` answer. */
export const Subscribe = z.object({ type: z.literal('subscribe'), req: Req.optional(), folder: FolderId, cursor: Rev });
export const Unsubscribe = z.object({ type: z.literal('unsubscribe'), req: Req.optional(), folder: FolderId });
export const Commit = z.object({ type: z.literal('commit'), req: Req, folder: FolderId, ops: z.array(Op).min(1) });
export const Has = z.object({ type: z.literal('has'), req: Req, folder: FolderId, hashes: z.array(Hash) });
export const Get = z.object({ type: z.literal('get'), req: Req, folder: FolderId, hash: Hash });
export const History = z.object({
  type: z.literal('history'),
  req: Req,
  folder: FolderId,
  path: WirePath,
  limit: z.number().int().min(1).max(1000).optional(),
});
export const Restore = z.object({ type: z.literal('restore'), req: Req, folder: FolderId, path: NewWirePath, rev: Rev });

export const ClientMessage = z.discriminatedUnion('type', [
  Hello,
  Subscribe,
  Unsubscribe,
  Commit,
  Has,
  Get,
  History,
  Restore,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageOf<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;
export const CLIENT_TYPES: ReadonlySet<string> = new Set(ClientMessage.options.map((o) => o.shape.type.value));

// ---- server → client -------------------------------------------------------------

export const Role = z.enum(['owner', 'write', 'read']);
export type Role = z.infer<typeof Role>;

export const FolderInfo = z.object({ id: FolderId, name: z.string(), rev: Rev, role: Role });
export type FolderInfo = z.infer<typeof FolderInfo>;

export const LimitsSchema = z.object({
  maxMessageBytes: count,
  maxFrameDataBytes: count,
  maxChunkBytes: count,
  maxFileBytes: count,
  maxOpsPerCommit: count,
  maxHashesPerRequest: count,
  pageEntries: count,
});

export const Welcome = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  server: z.object({ id: z.string(), version: z.string() }),
  user: z.string(),
  device: z.object({ id: z.number().int(), name: z.string() }),
  folders: z.array(FolderInfo),
  limits: LimitsSchema,
});
export const Folders = z.object({ type: z.literal('folders'), folders: z.array(FolderInfo) });
/** Where an item of a move run lies below the run's roots: '' for the root itself, else '/' and the rest. */
const RunSuffix = z.string().refine((s) => s === '' || s.startsWith('/'), "must be '' or start with '/'");

/**
 * Consecutive revisions written by one directory move, in compact form: the entries they
 * stand for are derived from the source entries the client already holds. Item i is
 * revision `rev + i`. A `copy` run writes, for each item, the entry of `from + suffix` at
 * `sourceRev` to `to + suffix` with `movedFrom` set; a `tombstone` run deletes `from + suffix`
 * (that entry being at `sourceRev`). Both take `device` and `time` from the run.
 */
export const MoveRun = z
  .object({
    run: z.enum(['copy', 'tombstone']),
    from: WirePath,
    to: WirePath,
    rev: Rev,
    device: z.string().max(256),
    time: count,
    items: z.array(z.tuple([RunSuffix, Rev])).min(1),
  })
  .superRefine((run, ctx) => {
    for (const [suffix] of run.items) {
      for (const root of [run.from, run.to]) {
        const check = checkPath(root + suffix);
        if (!check.ok) {
          ctx.addIssue({ code: 'custom', message: check.reason, params: { ferry: INVALID_PATH } });
          return;
        }
      }
    }
  });
export type MoveRun = z.infer<typeof MoveRun>;

/**
 * Every current entry with a revision in (from, rev]; `more` while catch-up continues.
 * `moves` (live messages, to clients that announced FEATURE_MOVE_RUNS) stands for the
 * revisions of directory moves, which `entries` then leaves out.
 */
export const Changes = z.object({
  type: z.literal('changes'),
  folder: FolderId,
  from: Rev,
  rev: Rev,
  more: z.boolean(),
  entries: z.array(Entry),
  moves: z.array(MoveRun).optional(),
});
export const CommitResult = z.union([
  z.object({ path: WirePath, rev: Rev }),
  z.object({ path: WirePath, conflict: Entry.nullable() }),
]);
export type CommitResult = z.infer<typeof CommitResult>;
/** `rev` is the folder's revision once this commit applied: its changes reach the feed up to there. */
export const Committed = z.object({ type: z.literal('committed'), req: Req, rev: Rev, results: z.array(CommitResult) });
export const Need = z.object({ type: z.literal('need'), req: Req, chunks: z.array(Hash) });
export const Have = z.object({ type: z.literal('have'), req: Req, missing: z.array(Hash) });
export const Stored = z.object({ type: z.literal('stored'), req: Req, hash: Hash });
export const Revisions = z.object({ type: z.literal('revisions'), req: Req, path: WirePath, entries: z.array(Entry) });
export const ErrorMessage = z.object({
  type: z.literal('error'),
  req: Req.optional(),
  code: z.string(),
  message: z.string(),
});

export const ServerMessage = z.discriminatedUnion('type', [
  Welcome,
  Folders,
  Changes,
  Committed,
  Need,
  Have,
  Stored,
  Revisions,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

// ---- parsing at the boundary -------------------------------------------------------

export type Parsed<T> =
  | { ok: true; message: T }
  /** Not a protocol message at all: the peer is broken; close with 4400. */
  | { ok: false; fatal: true; reason: string }
  /** A recognisable request that is wrong: answer `error`, keep the connection. */
  | { ok: false; fatal: false; req: number | undefined; code: string; reason: string };

/** Parses one text frame: JSON syntax, then the envelope, then the message's own schema. */
export function parseMessage<T extends { type: string }>(
  text: string,
  schema: z.ZodType<T>,
  knownTypes: ReadonlySet<string>,
): Parsed<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, fatal: true, reason: 'message is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, fatal: true, reason: 'message is not a JSON object' };
  }
  const record = value as Record<string, unknown>;
  if (typeof record.type !== 'string') return { ok: false, fatal: true, reason: 'message has no type' };
  const req = Req.safeParse(record.req).success ? (record.req as number) : undefined;
  if (!knownTypes.has(record.type)) {
    return { ok: false, fatal: false, req, code: 'unknown_type', reason: `unknown message type '${record.type.slice(0, 64)}'` };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, message: result.data };
  const issues = result.error.issues;
  const pathIssue = issues.some((i) => i.code === 'custom' && (i as { params?: { ferry?: string } }).params?.ferry === INVALID_PATH);
  const reason = issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : record.type}: ${i.message}`)
    .join('; ');
  return { ok: false, fatal: false, req, code: pathIssue ? INVALID_PATH : 'bad_request', reason };
}

export function parseClientMessage(text: string): Parsed<ClientMessage> {
  return parseMessage(text, ClientMessage, CLIENT_TYPES);
}

export const SERVER_TYPES: ReadonlySet<string> = new Set(ServerMessage.options.map((o) => o.shape.type.value));

export function parseServerMessage(text: string): Parsed<ServerMessage> {
  return parseMessage(text, ServerMessage, SERVER_TYPES);
}
