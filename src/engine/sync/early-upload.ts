/**
 * Uploads a file's chunks while the scanner is still hashing it, from the bytes that very
 * read found: a new large file crosses the wire as it is read, not after a second read.
 * Only a head start: the commit's own upload then asks the server which chunks it lacks and
 * sends (read again and checked) whatever this missed. Each chunk is still verified by the
 * server against its hash; a chunk sent for a version that is never committed expires with
 * the server's upload grace period.
 *
 * The hashing waits for it while more than a window of chunks is in flight, so it must not
 * make the scan (and with it the pass, and every other path) wait for a slow link: it gives
 * up, leaving the rest to the commit's upload beside the pass, once it has made the read wait
 * more than eight times as long as the read itself took (and over 2 s), and it does not start
 * at all under an upload bandwidth limit.
 */
import type { ServerMessageOf } from '../../shared/protocol/messages.js';
import type { ChunkConsumer, FoundChunk } from '../content/file-content.js';
import type { Connection } from '../net/connection.js';
import type { Throttle } from '../net/throttle.js';
import type { Progress } from './progress.js';

export interface EarlyUploadDeps {
  conn: Connection;
  up: Throttle;
  progress: Progress;
  folderId: number;
}

export interface EarlyUpload {
  onChunk: ChunkConsumer;
  /** Resolves once every chunk handed over has been sent or given up on. */
  end(): Promise<void>;
}

/** Chunk bytes in flight at once. */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** The read may always wait this long in all for the uploads… */
const WAIT_ALLOWED_MS = 2000;
/** …and beyond it, up to this many times as long as it spent reading: a fast link (LAN, loopback) keeps up within that, a slow one never does. */
const WAIT_PER_READ = 8;

/** A consumer for the chunks of `path` (`size` bytes) on the server folder `remote`; none under a bandwidth limit. */
export function earlyUpload(d: EarlyUploadDeps, remote: number, path: string, size: number): EarlyUpload | undefined {
  if (d.up.limit !== null) return undefined;
  const sending = new Set<Promise<void>>();
  let inFlight = 0;
  let progress: string | undefined;
  let stopped = false;
  const startedAt = performance.now();
  let waitedMs = 0;
  const send = async ({ hash, data }: FoundChunk): Promise<void> => {
    try {
      const have = await d.conn.request<ServerMessageOf<'have'>>({ type: 'has', folder: remote, hashes: [hash] });
      if (have.missing.length === 0 || stopped) return;
      progress ??= d.progress.start(d.folderId, path, 'up', size);
      const id = progress;
      await d.conn.upload(remote, hash, Buffer.from(data.buffer, data.byteOffset, data.byteLength), (n) => d.progress.add(id, n));
    } catch {
      // Disconnected or refused: the commit's upload finds out what is missing and says why.
      stopped = true;
    }
  };
  return {
    async onChunk(chunk) {
      if (stopped || !d.conn.connected) return;
      const p: Promise<void> = send(chunk).finally(() => {
        sending.delete(p);
        inFlight -= chunk.size;
      });
      sending.add(p);
      inFlight += chunk.size;
      if (inFlight < WINDOW_BYTES) return;
      const waitFrom = performance.now();
      while (inFlight >= WINDOW_BYTES) await Promise.race(sending);
      waitedMs += performance.now() - waitFrom;
      // Uploads slower than the read itself: the rest waits for the commit's upload.
      if (waitedMs > WAIT_ALLOWED_MS && waitedMs > WAIT_PER_READ * (performance.now() - startedAt - waitedMs)) stopped = true;
    },
    async end() {
      await Promise.all(sending);
      if (progress) d.progress.finish(progress);
    },
  };
}
