/**
 * `ferry admin` and `ferry --version` as real processes on temp data directories, checked
 * against real servers (in-process or `ferry serve` children). Needs `npm run build` first.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commitFile, ConnectRefused, RawClient, sha256 } from '../helpers/raw-client.js';
import {
  eventually,
  login,
  parseFirstStart,
  removeDir,
  ROOT,
  runFerry,
  spawnServer,
  startServer,
  tempDir,
  type SpawnedServer,
  type TestServer,
} from '../helpers/server.js';

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` before these tests');
});

const dirs: string[] = [];
const servers: TestServer[] = [];
const processes: SpawnedServer[] = [];
const clients: RawClient[] = [];

async function freshDir(): Promise<string> {
  const dir = await tempDir('ferry-cli-');
  dirs.push(dir);
  return dir;
}
async function inProcessServer(dataDir: string): Promise<TestServer> {
  const s = await startServer({ dataDir });
  servers.push(s);
  return s;
}
async function open(url: string, token: string) {
  const opened = await RawClient.open(url, token);
  clients.push(opened.client);
  return opened;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.ws.terminate();
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(dirs.map(removeDir));
});

/** `ferry admin --data DIR …`. */
function admin(dir: string, args: string[], input?: string) {
  return runFerry(['admin', '--data', dir, ...args], input);
}

/** Runs an admin command that must succeed; returns its stdout. */
async function adminOk(dir: string, args: string[], input?: string): Promise<string> {
  const r = await admin(dir, args, input);
  if (r.code !== 0) throw new Error(`ferry admin ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A table's rows below its header, split into cells (columns are two or more spaces apart). */
function rows(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s{2,}/));
}

/** Whether the data directory holds the chunk's bytes: as a file, or (small chunks) inline in the database. */
function isStored(dir: string, hash: string): boolean {
  if (existsSync(join(dir, 'chunks', hash.slice(0, 2), hash.slice(2, 4), hash))) return true;
  const db = new Sqlite(join(dir, 'ferry.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT 1 FROM chunk_blobs WHERE hash = ?').get(hash) !== undefined;
  } finally {
    db.close();
  }
}

describe('ferry --version', () => {
  it('prints the version in package.json', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runFerry(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('admin user', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await freshDir();
  });

  it('adds a user with the password from stdin, and lists it', async () => {
    const r = await admin(dir, ['user', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/created user bob/);
    expect(r.stdout + r.stderr).not.toContain('bob-password-1');
    const list = await admin(dir, ['user', 'list']);
    expect(list.code).toBe(0);
    expect(rows(list.stdout).map((row) => row[1])).toEqual(['bob']);
  });

  it('refuses a duplicate user with exit code 1 and a clear message', async () => {
    const r = await admin(dir, ['user', 'add', 'bob', '--password-stdin'], 'another-password\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ferry: .*bob.*exists/m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    const list = await adminOk(dir, ['user', 'list']);
    expect(rows(list)).toHaveLength(1);
  });

  it('refuses a short password', async () => {
    const r = await admin(dir, ['user', 'add', 'shorty', '--password-stdin'], 'short\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ferry: .*password.*8/m);
    expect(rows(await adminOk(dir, ['user', 'list'])).map((row) => row[1])).toEqual(['bob']);
  });

  it('refuses an invalid user name with a message', async () => {
    for (const name of ['bad/name', 'two words', '.hidden']) {
      const r = await admin(dir, ['user', 'add', name, '--password-stdin'], 'good-password\n');
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toMatch(/^ferry: .*not a user name/m);
    }
    expect(rows(await adminOk(dir, ['user', 'list'])).map((row) => row[1])).toEqual(['bob']);
  });

  it('user passwd sets a new password: login with it works, the old one fails', async () => {
    const srv = await inProcessServer(dir);
    expect((await login(srv.url, { user: 'bob', password: 'bob-password-1', device: 'before' })).status).toBe(200);

    const r = await admin(dir, ['user', 'passwd', 'bob'], 'bob-password-2\n');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/password of bob changed/);

    const ok = await login(srv.url, { user: 'bob', password: 'bob-password-2', device: 'laptop' });
    expect(ok.status).toBe(200);
    const { welcome } = await open(srv.wsUrl, ok.json!.token as string);
    expect(welcome).toMatchObject({ type: 'welcome', user: 'bob', device: { name: 'laptop' } });
    expect((await login(srv.url, { user: 'bob', password: 'bob-password-1', device: 'laptop' })).status).toBe(401);
  });

  it('user passwd refuses a short password and an unknown user', async () => {
    const short = await admin(dir, ['user', 'passwd', 'bob'], 'short\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^ferry: .*8/m);
    const unknown = await admin(dir, ['user', 'passwd', 'nobody'], 'long-enough-pw\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^ferry: .*nobody/m);
  });
});

describe('admin token', () => {
  let dir: string;
  let srv: TestServer;
  let token: string;
  beforeAll(async () => {
    dir = await freshDir();
    await adminOk(dir, ['user', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
    srv = await inProcessServer(dir);
  });

  it('token create prints a token on stdout that connects', async () => {
    const r = await admin(dir, ['token', 'create', 'bob', '--device', 'phone']);
    expect(r.code, r.stderr).toBe(0);
    token = r.stdout.trim();
    expect(token).toMatch(/^\S{32,}$/);
    expect(r.stdout).toBe(`${token}\n`);
    const { welcome } = await open(srv.wsUrl, token);
    expect(welcome).toMatchObject({ type: 'welcome', user: 'bob', device: { name: 'phone' } });
  });

  it('token list shows the device and never the token', async () => {
    const r = await admin(dir, ['token', 'list']);
    expect(r.code, r.stderr).toBe(0);
    const phone = rows(r.stdout).find((row) => row[2] === 'phone');
    expect(phone).toBeDefined();
    expect(phone![1]).toBe('bob');
    expect(phone![phone!.length - 1]).toBe('active');
    expect(r.stdout + r.stderr).not.toContain(token);
    expect(r.stdout + r.stderr).not.toContain(sha256(token));
  });

  it('token revoke of an unknown id exits 1 with a message', async () => {
    for (const id of ['999', 'abc']) {
      const r = await admin(dir, ['token', 'revoke', id]);
      expect(r.code, id).toBe(1);
      expect(r.stderr, id).toMatch(/^ferry: .*device/m);
    }
    const unknown = await admin(dir, ['token', 'revoke', '999']);
    expect(unknown.stderr).toMatch(/999/);
  });

  it('token revoke of a known id turns the token away, and a second revoke fails', async () => {
    const phone = rows(await adminOk(dir, ['token', 'list'])).find((row) => row[2] === 'phone')!;
    expect(await adminOk(dir, ['token', 'revoke', phone[0]!])).toMatch(/revoked/);
    await expect(RawClient.connect(srv.wsUrl, token)).rejects.toSatisfy((err) => err instanceof ConnectRefused && err.status === 401);
    const after = rows(await adminOk(dir, ['token', 'list'])).find((row) => row[2] === 'phone')!;
    expect(after[after.length - 1]).toMatch(/^revoked/);
    const again = await admin(dir, ['token', 'revoke', phone[0]!]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ferry: .*revoked already/m);
  });
});

describe('admin folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await freshDir();
    await adminOk(dir, ['user', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
    await adminOk(dir, ['user', 'add', 'carol', '--password-stdin'], 'carol-password\n');
  });

  it('creates, shares and lists folders with owner and members', async () => {
    expect(await adminOk(dir, ['folder', 'create', 'Photos', '--owner', 'bob'])).toMatch(/created folder Photos/);
    expect(await adminOk(dir, ['folder', 'share', 'Photos', 'carol', '--role', 'read'])).toMatch(/Photos shared with carol \(read\)/);
    const list = await adminOk(dir, ['folder', 'list']);
    const photos = rows(list).find((row) => row[1] === 'Photos');
    expect(photos).toBeDefined();
    expect(photos![2]).toBe('bob');
    expect(photos![photos!.length - 1]!.split(',').sort()).toEqual(['bob:owner', 'carol:read']);
  });

  it('the shared folder reaches the member with the role given', async () => {
    const srv = await inProcessServer(dir);
    const token = (await adminOk(dir, ['token', 'create', 'carol', '--device', 'tablet'])).trim();
    const { client, welcome } = await open(srv.wsUrl, token);
    expect(welcome.folders).toEqual([expect.objectContaining({ name: 'Photos', role: 'read' })]);
    const folder = (welcome.folders as { id: number }[])[0]!.id;
    expect(await client.upload(folder, Buffer.from('carol may only read'))).toMatchObject({ type: 'error', code: 'read_only' });
  });

  it('sharing with an unknown user, or an unknown folder, fails clearly', async () => {
    const user = await admin(dir, ['folder', 'share', 'Photos', 'dave']);
    expect(user.code).toBe(1);
    expect(user.stderr).toMatch(/^ferry: .*dave/m);
    const folder = await admin(dir, ['folder', 'share', 'Nowhere', 'carol']);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toMatch(/^ferry: .*Nowhere/m);
    const owner = await admin(dir, ['folder', 'create', 'Music', '--owner', 'dave']);
    expect(owner.code).toBe(1);
    expect(owner.stderr).toMatch(/^ferry: .*dave/m);
    expect(rows(await adminOk(dir, ['folder', 'list'])).map((row) => row[1])).toEqual(['Photos']);
  });
});

/** A data dir where bob owns Docs (set up through the CLI), a server on it, and bob connected. */
async function bobConnected() {
  const dir = await freshDir();
  await adminOk(dir, ['user', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
  await adminOk(dir, ['folder', 'create', 'Docs', '--owner', 'bob']);
  const token = (await adminOk(dir, ['token', 'create', 'bob', '--device', 'laptop'])).trim();
  const srv = await inProcessServer(dir);
  const { client, welcome } = await open(srv.wsUrl, token);
  return { dir, client, folder: (welcome.folders as { id: number }[])[0]!.id };
}

describe('admin gc', () => {
  it('removes the chunk of a superseded version, keeps the current one and uncommitted uploads', async () => {
    const { dir, client, folder } = await bobConnected();

    const v1 = Buffer.from('version one of the report ' + randomBytes(8).toString('hex'));
    const v2 = Buffer.from('version two of the report ' + randomBytes(8).toString('hex'));
    const pending = Buffer.from('uploaded, never committed ' + randomBytes(8).toString('hex'));
    const first = await commitFile(client, folder, 'report.txt', v1);
    expect(first).toMatchObject({ type: 'committed', results: [{ path: 'report.txt', rev: 1 }] });
    expect(await commitFile(client, folder, 'report.txt', v2, 1)).toMatchObject({ type: 'committed', results: [{ path: 'report.txt', rev: 2 }] });
    expect(await client.upload(folder, pending)).toMatchObject({ type: 'stored' });
    for (const data of [v1, v2, pending]) expect(isStored(dir, sha256(data))).toBe(true);

    // The server keeps running: gc is meant to be safe alongside it.
    const r = await admin(dir, ['gc', '--retention-days', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 1 unreferenced chunks?/);

    expect(isStored(dir, sha256(v1)), 'the superseded version\'s chunk is gone').toBe(false);
    expect(isStored(dir, sha256(v2)), 'the current version\'s chunk stays').toBe(true);
    expect(isStored(dir, sha256(pending)), 'an uncommitted upload stays').toBe(true);

    // The current version still downloads; the uncommitted chunk can still be committed.
    expect(await client.download(folder, sha256(v2))).toEqual(v2);
    const later = await client.request({ type: 'commit', folder, ops: [{ op: 'put', path: 'pending.txt', baseRev: 0, kind: 'file', size: pending.length, mtime: 1, mode: 0o644, hash: sha256(pending), chunks: [[sha256(pending), pending.length]], target: '' }] });
    expect(later).toMatchObject({ type: 'committed', results: [{ path: 'pending.txt', rev: 3 }] });
  });

  it('with the default retention, keeps a superseded version\'s chunk', async () => {
    const { dir, client, folder } = await bobConnected();
    const v1 = Buffer.from('old ' + randomBytes(8).toString('hex'));
    const v2 = Buffer.from('new ' + randomBytes(8).toString('hex'));
    await commitFile(client, folder, 'a.txt', v1);
    await commitFile(client, folder, 'a.txt', v2, 1);
    const r = await admin(dir, ['gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 0 unreferenced chunks?/);
    expect(isStored(dir, sha256(v1))).toBe(true);
    expect(await client.download(folder, sha256(v1))).toEqual(v1);
  });
});

describe('admin backup', () => {
  it('while a server process runs, writes a database that a new server serves the same folders and entries from', async () => {
    const dir = await freshDir();
    const srv = await spawnServer(dir);
    processes.push(srv);
    const banner = await eventually(() => parseFirstStart(srv.stderr()), 10_000, 'the first-start banner');
    await adminOk(dir, ['user', 'add', 'carol', '--password-stdin'], 'carol-password\n');
    await adminOk(dir, ['folder', 'create', 'Shared', '--owner', 'admin']);
    await adminOk(dir, ['folder', 'share', 'Shared', 'carol']);

    const { client, welcome } = await open(srv.wsUrl, banner.token);
    const folders = welcome.folders as { id: number; name: string }[];
    expect(folders.map((f) => f.name).sort()).toEqual(['Ferry', 'Shared']);
    const ferry = folders.find((f) => f.name === 'Ferry')!.id;
    const shared = folders.find((f) => f.name === 'Shared')!.id;
    await commitFile(client, ferry, 'notes.txt', Buffer.from('notes'));
    await commitFile(client, ferry, 'notes.txt', Buffer.from('notes, edited'), 1);
    await commitFile(client, shared, 'plan.md', Buffer.from('# plan'));
    const before = { ferry: await client.subscribe(ferry), shared: await client.subscribe(shared) };
    const serverId = (welcome.server as { id: string }).id;

    const backupFile = join(await freshDir(), 'backup.db');
    const r = await admin(dir, ['backup', backupFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(backupFile);
    expect(srv.proc.exitCode).toBeNull(); // the server kept running

    // Changes after the backup are not in it.
    await commitFile(client, ferry, 'after.txt', Buffer.from('after the backup'));

    const restoredDir = await freshDir();
    await copyFile(backupFile, join(restoredDir, 'ferry.db'));
    const restored = await spawnServer(restoredDir);
    processes.push(restored);
    const again = await open(restored.wsUrl, banner.token);
    expect(again.welcome.server).toMatchObject({ id: serverId });
    expect(again.welcome.folders).toEqual(folders.map((f) => ({ ...f, rev: f.name === 'Ferry' ? before.ferry.rev : before.shared.rev })));
    const after = { ferry: await again.client.subscribe(ferry), shared: await again.client.subscribe(shared) };
    expect(after.ferry.entries).toEqual(before.ferry.entries);
    expect(after.ferry.rev).toBe(before.ferry.rev);
    expect(after.shared.entries).toEqual(before.shared.entries);
    expect(after.shared.rev).toBe(before.shared.rev);
    // Accounts came along: carol's password works there, and no first-start banner was printed.
    expect((await login(restored.url, { user: 'carol', password: 'carol-password', device: 'd' })).status).toBe(200);
    expect(restored.stderr()).not.toContain('first start');
    expect(await restored.stop('SIGTERM')).toBe(0);
  });
});
