/**
 * Garbage collection: drops revisions superseded longer ago than the retention period and
 * uploads that were never committed, then removes the chunks nothing references (inline
 * ones inside the journal's transaction, files after it).
 * Safe while the server runs (see DiskChunkStore.remove).
 */
import type { Logger } from 'pino';
import type { ChunkStore, JournalStore } from './store/types.js';

/** An uploaded chunk no commit uses yet is kept this long, so an interrupted upload can resume. */
const UPLOAD_GRACE_MS = 24 * 3600_000;

export async function collectGarbage(
  store: JournalStore,
  chunks: ChunkStore,
  retentionDays: number,
  log: Logger,
  now = Date.now(),
): Promise<{ chunksRemoved: number }> {
  const forgotten = await store.collectGarbage(now - retentionDays * 24 * 3600_000, now - UPLOAD_GRACE_MS);
  let removed = 0;
  for (const { hash, inline } of forgotten) {
    // An inline chunk's bytes left with its record. The file is looked for all the same: an
    // old chunk file put back while the chunk was uploaded again inline leaves both.
    const fileRemoved = await chunks.remove(hash, () => store.chunkKnown(hash));
    if (inline || fileRemoved) removed += 1;
  }
  log.info({ chunksRemoved: removed, retentionDays }, 'garbage collected');
  return { chunksRemoved: removed };
}
