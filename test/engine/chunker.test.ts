/**
 * Content-defined chunking: cut points depend only on content, never on how the bytes were
 * fed in; sizes stay within bounds; an edit changes only the chunks around it (delta sync);
 * and readFileContent's streamed chunk list matches the bytes on disk.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chunker, DEFAULT_CHUNK_PARAMS, type ChunkParams } from '../../src/engine/content/chunker.js';
import { readFileContent, type FoundChunk } from '../../src/engine/content/file-content.js';
import { HashPool } from '../../src/engine/content/hash-pool.js';

const SMALL: ChunkParams = { minSize: 2 * 1024, avgSize: 8 * 1024, maxSize: 32 * 1024 };
const TINY: ChunkParams = { minSize: 64, avgSize: 256, maxSize: 1024 };
/** The default sizes before they shrank; files committed by such clients keep these cuts. */
const FORMER_DEFAULT: ChunkParams = { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 };
const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes (xorshift32), so every run cuts the same data. */
function pseudoRandom(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

function sizesOneShot(data: Uint8Array, params: ChunkParams): number[] {
  const c = new Chunker(params);
  const sizes = c.push(data);
  const last = c.finish();
  if (last > 0) sizes.push(last);
  return sizes;
}

function sizesSplit(data: Uint8Array, params: ChunkParams, cuts: number[]): number[] {
  const c = new Chunker(params);
  const sizes: number[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    sizes.push(...c.push(data.subarray(at, cut)));
    at = cut;
  }
  sizes.push(...c.push(data.subarray(at)));
  const last = c.finish();
  if (last > 0) sizes.push(last);
  return sizes;
}

function expectBounds(sizes: number[], total: number, p: ChunkParams): void {
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
  sizes.forEach((s, i) => {
    expect(s).toBeLessThanOrEqual(p.maxSize);
    if (i < sizes.length - 1) expect(s).toBeGreaterThanOrEqual(p.minSize);
    else expect(s).toBeGreaterThan(0);
  });
}

interface Chunk {
  offset: number;
  size: number;
  hash: string;
}

function chunksOf(data: Buffer, params: ChunkParams): Chunk[] {
  let offset = 0;
  return sizesOneShot(data, params).map((size) => {
    const c = { offset, size, hash: createHash('sha256').update(data.subarray(offset, offset + size)).digest('hex') };
    offset += size;
    return c;
  });
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('Chunker', () => {
  it('rejects sizes that are not 0 < min <= avg <= max', () => {
    expect(() => new Chunker({ minSize: 0, avgSize: 8, maxSize: 16 })).toThrow();
    expect(() => new Chunker({ minSize: 16, avgSize: 8, maxSize: 32 })).toThrow();
    expect(() => new Chunker({ minSize: 4, avgSize: 64, maxSize: 32 })).toThrow();
    expect(() => new Chunker({ minSize: 8, avgSize: 8, maxSize: 8 })).not.toThrow();
  });

  it('cuts nothing from nothing, and a stream below the minimum is one chunk', () => {
    const c = new Chunker();
    expect(c.push(new Uint8Array(0))).toEqual([]);
    expect(c.finish()).toBe(0);
    expect(sizesOneShot(pseudoRandom(60 * 1024, 1), DEFAULT_CHUNK_PARAMS)).toEqual([60 * 1024]);
    expect(sizesOneShot(new Uint8Array([7]), DEFAULT_CHUNK_PARAMS)).toEqual([1]);
  });

  it('starts afresh after finish(): the same bytes cut the same way again', () => {
    const data = pseudoRandom(200 * 1024, 2);
    const c = new Chunker(SMALL);
    const first = [...c.push(data), c.finish()];
    const second = [...c.push(data), c.finish()];
    expect(second).toEqual(first);
  });

  it('is deterministic whatever the buffer split; sizes within [min, max] except the last; they sum to the input', () => {
    const input = fc.record({
      length: fc.integer({ min: 0, max: 24 * 1024 }),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      // Random bytes, and low-entropy ones (a constant byte, a short repeating pattern)
      // that cut only at the maximum size or at a fixed rhythm.
      kind: fc.constantFrom('random', 'zeros', 'pattern'),
    });
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 12 }), ({ length, seed, kind }, rawCuts) => {
        const data =
          kind === 'random' ? pseudoRandom(length, seed) : kind === 'zeros' ? Buffer.alloc(length) : Buffer.from(Array.from({ length }, (_, i) => (i * 7 + (i >> 5)) & 0xff));
        const whole = sizesOneShot(data, TINY);
        expectBounds(whole, length, TINY);
        const cuts = rawCuts.map((c) => (length === 0 ? 0 : c % (length + 1)));
        expect(sizesSplit(data, TINY, cuts)).toEqual(whole);
        // Byte by byte, for small inputs.
        if (length <= 2048) expect(sizesSplit(data, TINY, Array.from({ length }, (_, i) => i))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps default sizes within [64 KiB, 1 MiB] on a large stream, random or constant, however it arrives', () => {
    for (const data of [pseudoRandom(12 * MiB, 3), Buffer.alloc(12 * MiB)]) {
      const whole = sizesOneShot(data, DEFAULT_CHUNK_PARAMS);
      expectBounds(whole, data.length, DEFAULT_CHUNK_PARAMS);
      expect(sizesSplit(data, DEFAULT_CHUNK_PARAMS, [1 * MiB, 2 * MiB, 3 * MiB, 4 * MiB, 5 * MiB])).toEqual(whole);
      expect(sizesSplit(data, DEFAULT_CHUNK_PARAMS, Array.from({ length: 36 }, (_, i) => (i + 1) * 333_333))).toEqual(whole);
    }
  });

  it('cuts the same bytes at the same places as always (the gear table and masks never change)', () => {
    // Pinned: clients with the same sizes must cut identical bytes identically, across versions.
    expect(sizesOneShot(pseudoRandom(256 * 1024, 42), SMALL)).toEqual(GOLDEN_SMALL);
    expect(sizesOneShot(pseudoRandom(8 * MiB, 42), FORMER_DEFAULT)).toEqual(GOLDEN_FORMER_DEFAULT);
    expect(sizesOneShot(pseudoRandom(4 * MiB, 42), DEFAULT_CHUNK_PARAMS)).toEqual(GOLDEN_DEFAULT);
  });
});

describe('Chunker: an edit changes only the chunks around it', () => {
  function compare(before: Buffer, after: Buffer, params: ChunkParams, editStart: number, editEnd: number) {
    const old = chunksOf(before, params);
    const now = chunksOf(after, params);
    const oldHashes = new Set(old.map((c) => c.hash));
    const changed = now.filter((c) => !oldHashes.has(c.hash));
    const shared = now.length - changed.length;
    return { old, now, changed, sharedFraction: shared / now.length, editStart, editEnd };
  }

  const cases: [string, (b: Buffer) => { after: Buffer; start: number; end: number }][] = [
    ['100 bytes inserted in the middle', (b) => ({ after: Buffer.concat([b.subarray(0, 8 * MiB), pseudoRandom(100, 9), b.subarray(8 * MiB)]), start: 8 * MiB, end: 8 * MiB + 100 })],
    ['1 KiB overwritten', (b) => {
      const a = Buffer.from(b);
      pseudoRandom(1024, 10).copy(a, 5 * MiB + 123);
      return { after: a, start: 5 * MiB + 123, end: 5 * MiB + 123 + 1024 };
    }],
    ['3000 bytes deleted', (b) => ({ after: Buffer.concat([b.subarray(0, 12 * MiB), b.subarray(12 * MiB + 3000)]), start: 12 * MiB, end: 12 * MiB })],
    ['one byte inserted at the start', (b) => ({ after: Buffer.concat([Buffer.from([1]), b]), start: 0, end: 1 })],
    ['4 KiB appended', (b) => ({ after: Buffer.concat([b, pseudoRandom(4096, 11)]), start: b.length, end: b.length + 4096 })],
  ];

  const base = pseudoRandom(16 * MiB, 7);

  it.each(cases)('16 MiB, min 2 KiB / avg 8 KiB / max 32 KiB: %s', (_name, edit) => {
    const { after, start, end } = edit(base);
    const r = compare(base, after, SMALL, start, end);
    expect(r.old.length).toBeGreaterThan(1000);
    expect(r.sharedFraction).toBeGreaterThanOrEqual(0.9);
    // And the new chunks are all near the edit: within a few maximum sizes after it.
    expect(r.changed.length).toBeLessThanOrEqual(6);
    for (const c of r.changed) {
      expect(c.offset + c.size).toBeGreaterThan(start - SMALL.maxSize);
      expect(c.offset).toBeLessThan(end + 4 * SMALL.maxSize);
    }
  });

  it('64 MiB with the default sizes: a small insertion leaves at least 90% of the chunks as they were', () => {
    const big = pseudoRandom(64 * MiB, 8);
    const at = 40 * MiB + 777;
    const after = Buffer.concat([big.subarray(0, at), Buffer.from('an insertion'), big.subarray(at)]);
    const r = compare(big, after, DEFAULT_CHUNK_PARAMS, at, at + 12);
    expect(r.old.length).toBeGreaterThan(30);
    expect(r.sharedFraction).toBeGreaterThanOrEqual(0.9);
    expect(r.changed.length).toBeLessThanOrEqual(3);
  });
});

describe('readFileContent', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-content-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function check(name: string, data: Buffer, params: ChunkParams) {
    const file = join(dir, name);
    await writeFile(file, data);
    const content = await readFileContent(file, params);
    expect(content.size).toBe(data.length);
    expect(content.hash).toBe(sha256(data));
    expect(content.mtimeMs).toBe((await stat(file)).mtimeMs);
    // The same cuts as chunking the bytes in memory, each named by the SHA-256 of its range.
    expect(content.chunks.map(([, size]) => size)).toEqual(sizesOneShot(data, params));
    let offset = 0;
    for (const [hash, size] of content.chunks) {
      expect(hash).toBe(sha256(data.subarray(offset, offset + size)));
      offset += size;
    }
    expect(offset).toBe(data.length);
    return content;
  }

  it('an empty file has no chunks and the SHA-256 of nothing', async () => {
    const c = await check('empty', Buffer.alloc(0), DEFAULT_CHUNK_PARAMS);
    expect(c.chunks).toEqual([]);
    expect(c.hash).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('a small file is one chunk whose hash is the file hash', async () => {
    const c = await check('one-byte', Buffer.from('x'), DEFAULT_CHUNK_PARAMS);
    expect(c.chunks).toEqual([[sha256('x'), 1]]);
    const d = await check('small', pseudoRandom(60 * 1024, 5), DEFAULT_CHUNK_PARAMS);
    expect(d.chunks).toEqual([[d.hash, 60 * 1024]]);
  });

  it('chunks that span the 1 MiB reads hash their exact byte ranges', async () => {
    const c = await check('small-params', pseudoRandom(3 * MiB + 17, 6), SMALL);
    expect(c.chunks.length).toBeGreaterThan(100);
  });

  it('default sizes: chunks that span several reads, random and constant content', async () => {
    const r = await check('default-random', pseudoRandom(9 * MiB + 5, 12), DEFAULT_CHUNK_PARAMS);
    expect(r.chunks.length).toBeGreaterThan(2);
    const z = await check('default-zeros', Buffer.alloc(10 * MiB + 3), DEFAULT_CHUNK_PARAMS);
    expect(z.chunks.length).toBeGreaterThan(1);
    const f = await check('former-default-random', pseudoRandom(9 * MiB + 5, 12), FORMER_DEFAULT);
    expect(f.chunks.some(([, size]) => size > 1 * MiB)).toBe(true);
  });
});

describe('chunk bytes handed over while hashing', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-found-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Checks that the chunks handed over are, in order, the file's chunk list with its exact bytes. */
  function expectHandedOver(found: FoundChunk[], data: Buffer, chunks: [string, number][]): void {
    expect(found.map((f) => [f.hash, f.size])).toEqual(chunks);
    let offset = 0;
    for (const f of found) {
      expect(f.offset).toBe(offset);
      expect(Buffer.from(f.data).equals(data.subarray(offset, offset + f.size))).toBe(true);
      offset += f.size;
    }
    expect(offset).toBe(data.length);
  }

  it('readFileContent hands each chunk over with its bytes, and waits for a slow consumer', async () => {
    const data = pseudoRandom(5 * MiB + 333, 21);
    const file = join(dir, 'found.bin');
    await writeFile(file, data);
    const found: FoundChunk[] = [];
    let busy = false;
    const content = await readFileContent(file, DEFAULT_CHUNK_PARAMS, async (chunk) => {
      expect(busy).toBe(false); // the read waits for the consumer before it cuts the next chunk
      busy = true;
      await new Promise((r) => setTimeout(r, 2));
      found.push(chunk);
      busy = false;
    });
    expect(content.hash).toBe(sha256(data));
    expect(found.length).toBeGreaterThan(5);
    expectHandedOver(found, data, content.chunks);
  });

  it('the hash pool hands them over from its worker, skips the ones it is told to, and finishes even when the consumer fails', async () => {
    const data = pseudoRandom(12 * MiB + 5, 22);
    const file = join(dir, 'pool.bin');
    await writeFile(file, data);
    const pool = new HashPool(1);
    try {
      const found: FoundChunk[] = [];
      const content = await pool.hash(file, async (chunk) => {
        await new Promise((r) => setTimeout(r, 1));
        found.push(chunk);
      });
      expect(content.hash).toBe(sha256(data));
      expectHandedOver(found, data, content.chunks);
      // More than the worker's window of chunks fail: each is still acknowledged, so the
      // read goes on to the end, and the next job starts with the whole window.
      const failing = await pool.hash(file, () => Promise.reject(new Error('consumer failed')));
      expect(failing.chunks).toEqual(content.chunks);
      const again: FoundChunk[] = [];
      expect((await pool.hash(file, (chunk) => void again.push(chunk))).hash).toBe(content.hash);
      expectHandedOver(again, data, content.chunks);
      // Chunks named in `skip` (the previous version's) are hashed but not handed over.
      const skip = content.chunks.filter((_, i) => i % 2 === 0).map(([h]) => h);
      const some: FoundChunk[] = [];
      expect((await pool.hash(file, (chunk) => void some.push(chunk), skip)).chunks).toEqual(content.chunks);
      expect(some.map((f) => f.hash)).toEqual(content.chunks.filter((_, i) => i % 2 === 1).map(([h]) => h));
      for (const f of some) expect(Buffer.from(f.data).equals(data.subarray(f.offset, f.offset + f.size))).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

/** Chunk sizes of pseudoRandom(256 KiB, 42) with SMALL, as first recorded. */
const GOLDEN_SMALL = [
  8684, 8219, 14678, 8457, 9275, 8149, 8224, 4138, 8459, 3529, 8407, 11427, 10153, 9744, 21408, 3164, 9010, 9961, 3008, 8742, 13100, 8797, 4061, 8104,
  11601, 8634, 6772, 9873, 11856, 2510,
];
/** Chunk sizes of pseudoRandom(8 MiB, 42) with the former default sizes, as first recorded. */
const GOLDEN_FORMER_DEFAULT = [1066903, 1271090, 1090732, 313591, 350266, 1094929, 1136505, 1655158, 409434];
/** Chunk sizes of pseudoRandom(4 MiB, 42) with the default sizes (64 KiB / 256 KiB / 1 MiB), as first recorded. */
const GOLDEN_DEFAULT = [388341, 156678, 275639, 246245, 459620, 314610, 233420, 263440, 221578, 289697, 320951, 265131, 275481, 108313, 273438, 101722];
