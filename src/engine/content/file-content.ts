/**
 * Reading a file's content identity: its size, SHA-256 and content-defined chunks, in one
 * streaming pass with bounded memory. Runs inside a hashing worker (hash-pool.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Chunker, DEFAULT_CHUNK_PARAMS, type ChunkParams } from './chunker.js';

export type ChunkList = [hash: string, size: number][];

export interface FileContent {
  size: number;
  hash: string;
  chunks: ChunkList;
  /** The file's mtime when reading began; the caller compares it afterwards. */
  mtimeMs: number;
  /** When reading began (epoch ms), to tell how long before it the file was last written. */
  readAt: number;
}

const READ_BYTES = 1024 * 1024;

export async function readFileContent(file: string, params: ChunkParams = DEFAULT_CHUNK_PARAMS): Promise<FileContent> {
  const handle = await open(file, 'r');
  try {
    const before = await handle.stat();
    const readAt = Date.now();
    const whole = createHash('sha256');
    const chunker = new Chunker(params);
    const chunks: ChunkList = [];
    let chunkHash: Hash = createHash('sha256');
    let chunkBytes = 0;
    let size = 0;
    // Sized to the file (one more byte to see its end in one read): most files are small.
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, before.size + 1));
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const data = buf.subarray(0, bytesRead);
      size += bytesRead;
      whole.update(data);
      let start = 0;
      for (const cut of chunker.push(data)) {
        // `cut` is the whole chunk's size; part of it may have come in earlier reads.
        const end = start + (cut - chunkBytes);
        chunkHash.update(data.subarray(start, end));
        chunks.push([chunkHash.digest('hex'), cut]);
        chunkHash = createHash('sha256');
        chunkBytes = 0;
        start = end;
      }
      chunkHash.update(data.subarray(start));
      chunkBytes += data.length - start;
    }
    const last = chunker.finish();
    if (last > 0) chunks.push([chunkHash.digest('hex'), last]);
    return { size, hash: whole.digest('hex'), chunks, mtimeMs: before.mtimeMs, readAt };
  } finally {
    await handle.close();
  }
}
