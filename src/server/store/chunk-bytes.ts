/**
 * Where a chunk's bytes are kept. A small chunk lives inline in the journal, written in the
 * transaction that records it: no file and no fsync of its own (its group's WAL sync covers
 * it), and reading it back is the query that checks access anyway. A larger chunk is a file
 * in the ChunkStore, read straight into a frame and sent without a copy.
 */
import type { ChunkStore, JournalStore } from './types.js';
import { verifyChunk } from './types.js';

/**
 * Chunks up to this size are kept inline. Every small file is one chunk this small, and
 * SQLite reads and writes blobs of this size faster than a file of their own; above it the
 * copy a blob costs on the way out starts to matter, and the engine's chunks are 256 KiB
 * or 1 MiB there.
 */
export const INLINE_CHUNK_BYTES = 64 * 1024;

/** Stores an uploaded chunk and records it as uploaded into `folder`; durable once it resolves. */
export async function keepChunk(store: JournalStore, chunks: ChunkStore, folder: number, hash: string, data: Buffer, time: number): Promise<void> {
  if (data.length <= INLINE_CHUNK_BYTES) {
    verifyChunk(hash, data);
    return store.recordUpload(folder, hash, data.length, time, data);
  }
  await chunks.put(hash, data);
  await store.recordUpload(folder, hash, data.length, time);
  // Garbage collection may have taken the file between the two steps above; the record is
  // in place now, so putting the bytes back is final. (Inline bytes go with their record.)
  if (!(await chunks.has(hash))) await chunks.put(hash, data);
}

/** The chunk's bytes, if `folder` may read it. */
export async function readChunk(store: JournalStore, chunks: ChunkStore, folder: number, hash: string): Promise<Buffer | undefined> {
  const chunk = await store.readableChunk(folder, hash);
  if (!chunk) return undefined;
  return chunk.inline ?? chunks.get(hash, chunk.size);
}
