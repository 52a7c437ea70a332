/**
 * The desktop app's log: JSON lines (pino) in a file in the OS log folder, since a packaged app
 * has no terminal, and on stdout too for `npm start`. Main and the utility process append to the
 * same file; at each start of main a file past its size limit is moved aside as one old
 * generation, so the log never grows without bound. Writes are synchronous: the last lines
 * before a crash or an exit are the ones that matter.
 */
import { renameSync, statSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export const LOG_FILE_VARIABLE = 'FERRY_LOG_FILE';
const MAX_BYTES = 10 * 1024 * 1024;

/** Moves `file` to `file.1` (replacing an older one) once it is over `maxBytes`. */
export function rotateLog(file: string, maxBytes = MAX_BYTES): void {
  try {
    if (statSync(file).size > maxBytes) renameSync(file, `${file}.1`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export function desktopLogger(name: string, file: string | undefined, level = process.env.FERRY_LOG ?? 'info'): Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (!file) return pino(options);
  return pino(options, pino.multistream([{ stream: process.stdout }, { stream: pino.destination({ dest: file, append: true, mkdir: true, sync: true }) }]));
}
