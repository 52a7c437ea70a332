/**
 * Content-defined chunking (FastCDC with normalized chunking). Cut points depend only on
 * the bytes around them, so inserting bytes into a file moves the cuts near the edit and
 * leaves every other chunk, and its hash, as it was: that is what makes delta sync and
 * deduplication work.
 *
 * The gear table and the masks are fixed: two clients with the same sizes cut the same bytes
 * the same way, which is what lets their chunks deduplicate. Changing the sizes costs only
 * that deduplication with files cut before.
 */
import { createHash } from 'node:crypto';

export interface ChunkParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/**
 * Small enough that a 1 MiB edit anywhere in a file touches ~1.5 MiB of chunks (1 MiB
 * averages touched ~3 MiB), and no larger than one binary frame, so a chunk crosses the
 * wire as one frame. Earlier versions cut with min 256 KiB / avg 1 MiB / max 4 MiB; their
 * chunk lists stay valid, since a file's chunks are whatever its committing client sent
 * and chunks are stored and deduplicated by hash, whatever their size
 * (docs/sync-engine.md).
 */
export const DEFAULT_CHUNK_PARAMS: Readonly<ChunkParams> = Object.freeze({
  minSize: 64 * 1024,
  avgSize: 256 * 1024,
  maxSize: 1024 * 1024,
});

/**
 * 256 fixed pseudo-random 32-bit values, derived from SHA-256 so anyone can rebuild them.
 * Held as signed 32-bit integers: the rolling hash then stays a small integer for V8 (a
 * value over 2^31 would be boxed as a double on every byte, which made chunking ~10× slower);
 * the bits, and so the cut points, are the same.
 */
const GEAR = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = createHash('sha256').update(`ferry-gear-${i}`).digest().readInt32BE(0);
  return table;
})();

/**
 * A mask of `bits` one-bits in the top of a 32-bit word (as a signed integer, like the hash).
 * The gear hash shifts left each byte, so its top bits depend on the most bytes; testing
 * those gives a ~32-byte window.
 */
function topMask(bits: number): number {
  return (0xffffffff << (32 - bits)) | 0;
}

/** Splits a byte stream into chunks; feed it buffers in order, read back chunk sizes. */
export class Chunker {
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;
  /** Bytes of the current, unfinished chunk. */
  private pos = 0;
  private hash = 0;

  constructor(params: ChunkParams = DEFAULT_CHUNK_PARAMS) {
    const { minSize, avgSize, maxSize } = params;
    if (!(0 < minSize && minSize <= avgSize && avgSize <= maxSize)) throw new Error('chunk sizes must satisfy 0 < min <= avg <= max');
    const bits = Math.round(Math.log2(avgSize));
    this.min = minSize;
    this.avg = avgSize;
    this.max = maxSize;
    // Normalized chunking: a stricter mask before the average size and a looser one
    // after it pull chunk sizes towards the average.
    this.maskS = topMask(Math.min(31, bits + 2));
    this.maskL = topMask(Math.max(1, bits - 2));
  }

  /** Consumes `data`; returns the sizes of the chunks it completed, in order. */
  push(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const { min, avg, max, maskS, maskL } = this;
    let i = 0;
    const n = data.length;
    let pos = this.pos;
    let hash = this.hash;
    while (i < n) {
      if (pos < min) {
        // Nothing can cut before the minimum size: skip those bytes unhashed.
        const skip = Math.min(min - pos, n - i);
        pos += skip;
        i += skip;
        continue;
      }
      let cut = false;
      // The inner loops count bytes by `i` alone; `pos` catches up after each.
      const normalEnd = Math.min(n, i + (avg - pos > 0 ? avg - pos : 0));
      let from = i;
      while (i < normalEnd) {
        hash = ((hash << 1) + GEAR[data[i]!]!) | 0;
        i++;
        if ((hash & maskS) === 0) {
          cut = true;
          break;
        }
      }
      pos += i - from;
      if (!cut && pos >= avg) {
        const hardEnd = Math.min(n, i + (max - pos));
        from = i;
        while (i < hardEnd) {
          hash = ((hash << 1) + GEAR[data[i]!]!) | 0;
          i++;
          if ((hash & maskL) === 0) {
            cut = true;
            break;
          }
        }
        pos += i - from;
        if (pos >= max) cut = true;
      }
      if (cut) {
        cuts.push(pos);
        pos = 0;
        hash = 0;
      }
    }
    this.pos = pos;
    this.hash = hash;
    return cuts;
  }

  /** Ends the stream; returns the size of the last chunk, or 0 when nothing is left. */
  finish(): number {
    const rest = this.pos;
    this.pos = 0;
    this.hash = 0;
    return rest;
  }
}
