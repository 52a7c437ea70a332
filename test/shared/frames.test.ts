import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES, frameAround, FrameKind, withFrameRoom } from '../../src/shared/protocol/frames.js';

const hash = 'ab'.repeat(32);

describe('chunk frames', () => {
  it('round-trips every header field and the data', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(FrameKind.upload, FrameKind.download),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 1000 }),
        (kind, req, folder, data, extra) => {
          const offset = extra;
          const total = offset + data.length + extra;
          const decoded = decodeFrame(encodeFrame({ kind, req, folder, hash, offset, total }, data));
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) return;
          expect(decoded.frame).toMatchObject({ kind, req, folder, hash, offset, total });
          expect(Buffer.compare(decoded.frame.data, Buffer.from(data))).toBe(0);
        },
      ),
    );
  });

  it('rejects short, unknown and overrunning frames with a reason', () => {
    expect(decodeFrame(Buffer.alloc(FRAME_HEADER_BYTES - 1))).toMatchObject({ ok: false, reason: expect.stringContaining('shorter') });
    const unknown = encodeFrame({ kind: FrameKind.upload, req: 1, folder: 1, hash, offset: 0, total: 1 }, Buffer.from('x'));
    unknown[0] = 9;
    expect(decodeFrame(unknown)).toMatchObject({ ok: false, reason: expect.stringContaining('kind 9') });
    const overrun = encodeFrame({ kind: FrameKind.upload, req: 1, folder: 1, hash, offset: 5, total: 6 }, Buffer.from('xy'));
    expect(decodeFrame(overrun)).toMatchObject({ ok: false, reason: expect.stringContaining('past the end') });
  });

  it('builds a frame around data made with room for its header without copying it, and copies any other data', () => {
    const header = { kind: FrameKind.download, req: 7, folder: 3, hash, offset: 0, total: 5 };
    const roomy = withFrameRoom(5);
    roomy.write('hello');
    const inPlace = frameAround(header, roomy);
    expect(inPlace.buffer).toBe(roomy.buffer);
    const plain = Buffer.from('hello');
    // A slice that merely sits 49 bytes into a larger buffer is not ours to write a header into.
    const bigger = Buffer.alloc(FRAME_HEADER_BYTES + 10);
    const inside = bigger.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 5);
    inside.write('hello');
    for (const data of [plain, inside]) {
      const copied = frameAround(header, data);
      expect(bigger.subarray(0, FRAME_HEADER_BYTES).every((b) => b === 0)).toBe(true);
      expect(decodeFrame(copied)).toEqual(decodeFrame(inPlace));
      copied[FRAME_HEADER_BYTES] = 0x21; // a copy: the data itself is untouched
      expect(data.toString()).toBe('hello');
    }
    const decoded = decodeFrame(inPlace);
    expect(decoded.ok && decoded.frame).toMatchObject({ ...header, data: Buffer.from('hello') });
  });

  it('refuses to encode a malformed hash', () => {
    expect(() => encodeFrame({ kind: FrameKind.upload, req: 1, folder: 1, hash: 'zz', offset: 0, total: 1 }, Buffer.from('x'))).toThrow();
  });
});
