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
  /** The file's inode and ctime when reading began: any later write or rename changes one of them. */
  ino: number;
  ctimeMs: number;
  /**
   * The file's bytes, from the read that hashed them, when asked for (`keepUpTo`) and the
   * file is that small: an upload then needs no second read.
   */
  bytes?: Uint8Array;
}

/** One chunk as it is found, with its bytes: what the file held at that point of the read. */
export interface FoundChunk {
  hash: string;
  size: number;
  offset: number;
  data: Uint8Array;
}

/**
 * Receives each chunk as it is found; the read goes on once the returned promise settles,
 * so a slow consumer holds the reading back instead of piling chunks up in memory.
 */
export type ChunkConsumer = (chunk: FoundChunk) => Promise<void> | void;

const READ_BYTES = 1024 * 1024;

/**
 * Reads `file` once: its size, SHA-256 and chunk list; with `onChunk`, also each chunk's
 * bytes as soon as it is cut, copied (the read buffer is reused) into a buffer from
 * `allocate`, except for chunks whose hash is in `skip`; with `keepUpTo`, the whole file's
 * bytes (in a buffer from `allocate`) when it is one chunk of at most that many bytes.
 */
export async function readFileContent(
  file: string,
  params: ChunkParams = DEFAULT_CHUNK_PARAMS,
  onChunk?: ChunkConsumer,
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size),
  skip: ReadonlySet<string> = new Set(),
  keepUpTo = 0,
): Promise<FileContent> {
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
    /** The current chunk's bytes so far, kept only for `onChunk`. */
    const pending: Uint8Array | undefined = onChunk && new Uint8Array(params.maxSize);
    const found = async (hash: string, chunkSize: number): Promise<void> => {
      chunks.push([hash, chunkSize]);
      if (!onChunk || skip.has(hash)) return;
      const data = allocate(chunkSize);
      data.set(pending!.subarray(0, chunkSize));
      await onChunk({ hash, size: chunkSize, offset: size - chunkSize, data });
    };
    // Sized to the file (one more byte to see its end in one read): most files are small.
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, before.size + 1));
    let firstRead: Buffer | undefined;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const data = buf.subarray(0, bytesRead);
      firstRead = size === 0 ? data : undefined;
      whole.update(data);
      let start = 0;
      for (const cut of chunker.push(data)) {
        // `cut` is the whole chunk's size; part of it may have come in earlier reads.
        const end = start + (cut - chunkBytes);
        const piece = data.subarray(start, end);
        chunkHash.update(piece);
        pending?.set(piece, chunkBytes);
        size += piece.length;
        await found(chunkHash.digest('hex'), cut);
        chunkHash = createHash('sha256');
        chunkBytes = 0;
        start = end;
      }
      const rest = data.subarray(start);
      chunkHash.update(rest);
      pending?.set(rest, chunkBytes);
      chunkBytes += rest.length;
      size += rest.length;
    }
    const last = chunker.finish();
    if (last > 0) await found(chunkHash.digest('hex'), last);
    const content: FileContent = { size, hash: whole.digest('hex'), chunks, mtimeMs: before.mtimeMs, readAt, ino: before.ino, ctimeMs: before.ctimeMs };
    // One read held the whole file (and so is not overwritten by a later one): it is what was hashed.
    if (firstRead && firstRead.length === size && size <= keepUpTo && chunks.length === 1) {
      content.bytes = allocate(size);
      content.bytes.set(firstRead);
    }
    return content;
  } finally {
    await handle.close();
  }
}
