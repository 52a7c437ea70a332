/** The `ferry` command. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { VERSION } from '../shared/version.js';
import { adminCommand } from './admin.js';
import { login, parseUiAddress, status, sync } from './client.js';
import { CliError } from './io.js';
import { LOG_LEVELS } from './log.js';
import { DEFAULT_PORT, serve } from './serve.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const program = new Command('ferry').description('Ferry: self-hosted file sync').version(VERSION);

program
  .command('serve')
  .description('run the sync server')
  .option('--data <dir>', 'where the database and chunks live', process.env.FERRY_DATA ?? './ferry-data')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on', integer(0, 65535), DEFAULT_PORT)
  .option('--tls-cert <file>', 'serve HTTPS/WSS with this certificate (PEM)')
  .option('--tls-key <file>', 'the certificate\'s private key (PEM)')
  .option('--retention-days <days>', 'how long old and deleted versions stay restorable', integer(0, 36500), 30)
  .option('--allow-origin <origin>', 'a browser origin allowed to connect besides the server\'s own (repeatable)', collect, [])
  .addOption(new Option('--log-level <level>', 'log verbosity').choices(LOG_LEVELS).default('info'))
  .action(serve);

program.addCommand(adminCommand());

program
  .command('login')
  .description('sign this device in to a server (password on standard input) and keep its token')
  .requiredOption('--server <url>', 'the server, e.g. https://ferry.example.com')
  .requiredOption('--user <name>', 'your user name')
  .option('--device <name>', 'a name for this device (default: the host name)')
  .option('--state <dir>', 'where the client keeps its state (default: the OS app-data folder)')
  .action(login);

program
  .command('sync')
  .description('keep local folders in sync with the server until stopped')
  .option('--server <url>', 'the server (default: the one ferry login saved)')
  .option('--token <token>', 'a device token (default: the one ferry login saved)')
  .option('--folder <name>', 'the folder on the server')
  .option('--dir <path>', 'the local directory to keep in sync with it')
  .option('--config <file>', 'several folder pairs: {"server", "token", "folders": [{"name", "dir"}]}')
  .option('--state <dir>', 'where the client keeps its journal (default: the OS app-data folder)')
  .option('--rescan-minutes <n>', 'full rescan interval, as a safety net under the watcher', integer(1, 10080), 60)
  .option('--ui <[host:]port>', 'serve the Ferry UI to a browser at this address (host 127.0.0.1 unless given); it prints the address to open', parseUiAddress)
  .addOption(new Option('--log-level <level>', 'log verbosity').choices(LOG_LEVELS).default('info'))
  .action(sync);

program
  .command('status')
  .description('show what the running ferry sync is doing')
  .option('--state <dir>', 'the client\'s state directory (default: the OS app-data folder)')
  .option('--json', 'print the full state as JSON')
  .action(status);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Expected failures (bad input, a data directory from a newer Ferry, a port in use)
  // get one clear line; FERRY_DEBUG=1 shows the stack.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ferry: ${message}\n`);
  if (!(err instanceof CliError) && process.env.FERRY_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
}
