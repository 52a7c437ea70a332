/**
 * Garbage collection: drops revisions superseded longer ago than the retention period and
 * uploads that were never committed, then removes the chunk files nothing references.
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
  const hashes = await store.collectGarbage(now - retentionDays * 24 * 3600_000, now - UPLOAD_GRACE_MS);
  let removed = 0;
  for (const hash of hashes) {
    if (await chunks.remove(hash, () => store.chunkKnown(hash))) removed += 1;
  }
  log.info({ chunksRemoved: removed, retentionDays }, 'garbage collected');
  return { chunksRemoved: removed };
}
