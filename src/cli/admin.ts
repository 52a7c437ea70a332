/** `ferry admin`: accounts, devices, folders and maintenance, on the data directory directly (also while the server runs). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import * as admin from '../server/admin.js';
import { fsck } from '../server/fsck.js';
import { collectGarbage } from '../server/gc.js';
import { dbFile, openStores } from '../server/server.js';
import type { SqliteJournalStore } from '../server/store/sqlite-journal-store.js';
import type { DiskChunkStore } from '../server/store/disk-chunk-store.js';
import { CliError, formatBytes, formatTime, readSecret, table } from './io.js';
import { createLogger } from './log.js';

type Stores = { store: SqliteJournalStore; chunks: DiskChunkStore };

function out(text: string): void {
  process.stdout.write(text + '\n');
}

function parseQuota(value: string): number | null {
  if (value === 'none') return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`'${value}' is not a quota: a whole number of bytes, or none`);
  return n;
}

export function adminCommand(): Command {
  const cmd = new Command('admin')
    .description('manage users, device tokens and folders (works while the server runs)')
    .requiredOption('--data <dir>', 'the server data directory', process.env.FERRY_DATA ?? './ferry-data');

  /** Runs an action with the stores open, and closes them however it ends. */
  const withStores =
    <A extends unknown[]>(action: (s: Stores, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const data = resolve(cmd.opts<{ data: string }>().data);
      if (!existsSync(dbFile(data))) process.stderr.write(`ferry: no server data in ${data} yet; creating it\n`);
      const stores = await openStores(data);
      try {
        await action(stores, ...args);
      } catch (err) {
        if (err instanceof admin.AdminError) throw new CliError(err.message);
        throw err;
      } finally {
        stores.store.close();
      }
    };

  const user = cmd.command('user').description('user accounts');
  user
    .command('add <name>')
    .description('create a user')
    .option('--password-stdin', 'read the password from standard input instead of asking for it')
    .option('--quota <bytes>', 'bytes the folders this user owns may hold, or none', 'none')
    .action(
      withStores(async ({ store }, name: string, opts: { quota: string; passwordStdin?: boolean }) => {
        const password = await readSecret(`Password for ${name}: `, opts.passwordStdin === true);
        const created = await admin.addUser(store, name, password, parseQuota(opts.quota));
        out(`created user ${created.name} (id ${created.id})`);
      }),
    );
  user
    .command('list')
    .description('list users')
    .action(
      withStores(async ({ store }) => {
        const users = await store.listUsers();
        out(table(['ID', 'NAME', 'QUOTA', 'CREATED'], users.map((u) => [u.id, u.name, u.quotaBytes === null ? 'none' : formatBytes(u.quotaBytes), formatTime(u.createdAt)])));
      }),
    );
  user
    .command('passwd <name>')
    .description('set a user\'s password')
    .option('--password-stdin', 'read the password from standard input instead of asking for it')
    .action(
      withStores(async ({ store }, name: string, opts: { passwordStdin?: boolean }) => {
        await admin.changePassword(store, name, await readSecret(`New password for ${name}: `, opts.passwordStdin === true));
        out(`password of ${name} changed`);
      }),
    );
  user
    .command('quota <name> <bytes>')
    .description('set the bytes the folders a user owns may hold (or none)')
    .action(
      withStores(async ({ store }, name: string, bytes: string) => {
        await admin.setQuota(store, name, parseQuota(bytes));
        out(`quota of ${name} set to ${bytes}`);
      }),
    );

  const token = cmd.command('token').description('device tokens');
  token
    .command('create <user>')
    .description('create a device token; it is printed once and only its hash is kept')
    .requiredOption('--device <name>', 'a name for the device')
    .action(
      withStores(async ({ store }, userName: string, opts: { device: string }) => {
        const { token: value, device } = await admin.createToken(store, userName, opts.device);
        process.stderr.write(`device ${device.id} '${device.name}' of ${userName}; the token is shown this once:\n`);
        out(value);
      }),
    );
  token
    .command('list')
    .description('list devices and their tokens\' state')
    .action(
      withStores(async ({ store }) => {
        const devices = await store.listDevices();
        out(
          table(
            ['ID', 'USER', 'DEVICE', 'CREATED', 'LAST SEEN', 'STATE'],
            devices.map((d) => [d.id, d.userName, d.name, formatTime(d.createdAt), formatTime(d.lastSeen), d.revokedAt ? `revoked ${formatTime(d.revokedAt)}` : 'active']),
          ),
        );
      }),
    );
  token
    .command('revoke <id>')
    .description('revoke a device token; a device connected with it is cut off at once')
    .action(
      withStores(async ({ store }, id: string) => {
        await admin.revokeToken(store, Number(id));
        out(`device ${id} revoked`);
      }),
    );

  const folder = cmd.command('folder').description('shared folders');
  folder
    .command('create <name>')
    .description('create a folder')
    .requiredOption('--owner <user>', 'the user who owns it')
    .action(
      withStores(async ({ store }, name: string, opts: { owner: string }) => {
        const created = await admin.createFolder(store, name, opts.owner);
        out(`created folder ${created.name} (id ${created.id})`);
      }),
    );
  folder
    .command('share <name> <user>')
    .description('give a user access to a folder, or take it away with --role none')
    .addOption(new Option('--role <role>', 'what the user may do').choices(['read', 'write', 'none']).default('write'))
    .action(
      withStores(async ({ store }, name: string, userName: string, opts: { role: 'read' | 'write' | 'none' }) => {
        await admin.shareFolder(store, name, userName, opts.role);
        out(opts.role === 'none' ? `${userName} no longer has ${name}` : `${name} shared with ${userName} (${opts.role})`);
      }),
    );
  folder
    .command('list')
    .description('list folders, owners, members and sizes')
    .action(
      withStores(async ({ store }) => {
        const folders = await store.listFolders();
        out(
          table(
            ['ID', 'NAME', 'OWNER', 'REV', 'FILES', 'SIZE', 'MEMBERS'],
            folders.map((f) => [f.id, f.name, f.ownerName, f.rev, f.files, formatBytes(f.bytes), f.members.map((m) => `${m.user}:${m.role}`).join(',')]),
          ),
        );
      }),
    );

  cmd
    .command('gc')
    .description('drop revisions older than the retention period and free the chunks nothing references')
    .option('--retention-days <days>', 'how long superseded and deleted versions stay restorable', '30')
    .action(
      withStores(async ({ store, chunks }, opts: { retentionDays: string }) => {
        const days = Number(opts.retentionDays);
        if (!(days >= 0)) throw new CliError('--retention-days is a number of days');
        const { chunksRemoved } = await collectGarbage(store, chunks, days, createLogger('silent', 'ferry-admin'));
        out(`removed ${chunksRemoved} unreferenced chunks`);
      }),
    );
  cmd
    .command('fsck')
    .description('check the database and the chunk store for damage, read-only (safe while the server runs); exit code 1 if anything is wrong')
    .option('--verify-content', 'hash every chunk again (reads the whole store)')
    .action(async (opts: { verifyContent?: boolean }) => {
      const data = resolve(cmd.opts<{ data: string }>().data);
      const report = await fsck(data, { verifyContent: opts.verifyContent === true });
      for (const p of report.problems) out(`problem (${p.kind}): ${p.message}`);
      const checked = `${report.folders} folders, ${report.revisions} revisions, ${report.chunks} chunks${opts.verifyContent ? ` (${formatBytes(report.chunkBytesChecked)} re-hashed)` : ''}`;
      if (report.problems.length === 0) {
        out(`${data}: clean — ${checked}`);
      } else {
        out(`${data}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} — ${checked}`);
        process.exitCode = 1;
      }
    });
  cmd
    .command('backup <file>')
    .description('write a consistent copy of the database while the server runs (chunks: see docs/self-hosting.md)')
    .action(
      withStores(async ({ store }, file: string) => {
        await store.backup(resolve(file));
        out(`database backed up to ${resolve(file)}`);
      }),
    );
  return cmd;
}
