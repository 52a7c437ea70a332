/** `ferry serve`: the sync server, headless. */
import { bootstrap } from '../server/admin.js';
import { DEFAULT_PORT, FerryServer } from '../server/server.js';
import { CliError } from './io.js';
import { createLogger } from './log.js';

export interface ServeOptions {
  data: string;
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  retentionDays: number;
  allowOrigin: string[];
  logLevel: string;
}

export async function serve(opts: ServeOptions): Promise<void> {
  if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new CliError('--tls-cert and --tls-key go together');
  const logger = createLogger(opts.logLevel, 'ferry-server');
  const server = await FerryServer.start({
    dataDir: opts.data,
    host: opts.host,
    port: opts.port,
    logger,
    retentionDays: opts.retentionDays,
    allowedOrigins: opts.allowOrigin,
    ...(opts.tlsCert && opts.tlsKey ? { tls: { cert: opts.tlsCert, key: opts.tlsKey } } : {}),
  });
  const first = await bootstrap(server.ctx.store);
  if (first) {
    const url = server.url;
    process.stderr.write(
      [
        '',
        'Ferry server: first start. Created the user, a device token and a folder below.',
        'This is shown once; keep the password and the token.',
        '',
        `  address   ${url}`,
        `  user      ${first.user}`,
        `  password  ${first.password}`,
        `  token     ${first.token}`,
        `  folder    ${first.folder}`,
        '',
        'Connect a device with:',
        `  ferry sync --server ${url} --token ${first.token} --folder ${first.folder} --dir ~/Ferry`,
        '',
        '',
      ].join('\n'),
    );
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

export { DEFAULT_PORT };
