/**
 * Uploads a file's chunks while the scanner is still hashing it, from the bytes that very
 * read found: a new large file crosses the wire as it is read, not after a second read.
 * Only a head start: the commit's own upload then asks the server which chunks it lacks and
 * sends (read again and checked) whatever this missed. Each chunk is still verified by the
 * server against its hash; a chunk sent for a version that is never committed expires with
 * the server's upload grace period.
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

/** A consumer for the chunks of `path` (`size` bytes) on the server folder `remote`. */
export function earlyUpload(d: EarlyUploadDeps, remote: number, path: string, size: number): EarlyUpload {
  const sending = new Set<Promise<void>>();
  let progress: string | undefined;
  let failed = false;
  const send = async ({ hash, size: bytes, data }: FoundChunk): Promise<void> => {
    if (failed || !d.conn.connected) return;
    try {
      const have = await d.conn.request<ServerMessageOf<'have'>>({ type: 'has', folder: remote, hashes: [hash] });
      if (have.missing.length === 0) return;
      await d.up.take(bytes);
      progress ??= d.progress.start(d.folderId, path, 'up', size);
      const id = progress;
      await d.conn.upload(remote, hash, Buffer.from(data.buffer, data.byteOffset, data.byteLength), (n) => d.progress.add(id, n));
    } catch {
      // Disconnected or refused: the commit's upload finds out what is missing and says why.
      failed = true;
    }
  };
  return {
    onChunk(chunk) {
      const p = send(chunk).finally(() => sending.delete(p));
      sending.add(p);
      return p;
    },
    async end() {
      await Promise.all(sending);
      if (progress) d.progress.finish(progress);
    },
  };
}
