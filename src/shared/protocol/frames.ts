/**
 * Binary frames carry chunk bytes, a piece of at most `maxFrameDataBytes` at a time, so a
 * large chunk never holds control messages back. Layout (big-endian):
 *
 *   0   u8     kind       1 = upload (client → server), 2 = download (server → client)
 *   1   u32    req        request id, chosen by the client
 *   5   u32    folder     folder id
 *   9   32 B   hash       SHA-256 of the whole chunk
 *   41  u32    offset     where this piece starts in the chunk
 *   45  u32    total      size of the whole chunk
 *   49  …      data       the piece; a chunk is complete when offset + data length = total
 */

export const FrameKind = { upload: 1, download: 2 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const FRAME_HEADER_BYTES = 49;

export interface ChunkFrame {
  kind: FrameKind;
  req: number;
  folder: number;
  hash: string;
  offset: number;
  total: number;
  data: Buffer;
}

function writeHeader(out: Buffer, frame: Omit<ChunkFrame, 'data'>): void {
  out.writeUInt8(frame.kind, 0);
  out.writeUInt32BE(frame.req, 1);
  out.writeUInt32BE(frame.folder, 5);
  if (out.write(frame.hash, 9, 32, 'hex') !== 32) throw new Error('frame hash must be 64 hex digits');
  out.writeUInt32BE(frame.offset, 41);
  out.writeUInt32BE(frame.total, 45);
}

export function encodeFrame(frame: Omit<ChunkFrame, 'data'>, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + data.byteLength);
  writeHeader(out, frame);
  out.set(data, FRAME_HEADER_BYTES);
  return out;
}

/**
 * A frame whose data is all of `data`, built without copying it when `data` was made with
 * room for the header in front (see `withFrameRoom`); otherwise a copy, as encodeFrame.
 * Chunk bytes cross the process a gigabyte at a time: each copy saved is CPU and garbage.
 */
export function frameAround(frame: Omit<ChunkFrame, 'data'>, data: Buffer): Buffer {
  if (data.byteOffset !== FRAME_HEADER_BYTES || data.buffer.byteLength !== FRAME_HEADER_BYTES + data.byteLength) return encodeFrame(frame, data);
  const out = Buffer.from(data.buffer, 0, data.buffer.byteLength);
  writeHeader(out, frame);
  return out;
}

/** An uninitialised buffer of `size` bytes with a frame header's room in front, for frameAround. */
export function withFrameRoom(size: number): Buffer {
  // allocUnsafeSlow: a memory block of its own (never a slice of the shared pool), not zeroed.
  return Buffer.allocUnsafeSlow(FRAME_HEADER_BYTES + size).subarray(FRAME_HEADER_BYTES);
}

export type DecodedFrame = { ok: true; frame: ChunkFrame } | { ok: false; reason: string };

/** Checks the frame's own consistency; the receiver checks it against its limits. */
export function decodeFrame(buf: Buffer): DecodedFrame {
  if (buf.length < FRAME_HEADER_BYTES) return { ok: false, reason: 'binary frame shorter than its header' };
  const kind = buf.readUInt8(0);
  if (kind !== FrameKind.upload && kind !== FrameKind.download) {
    return { ok: false, reason: `unknown binary frame kind ${kind}` };
  }
  const offset = buf.readUInt32BE(41);
  const total = buf.readUInt32BE(45);
  const data = buf.subarray(FRAME_HEADER_BYTES);
  if (offset + data.length > total) return { ok: false, reason: 'binary frame runs past the end of its chunk' };
  return {
    ok: true,
    frame: {
      kind,
      req: buf.readUInt32BE(1),
      folder: buf.readUInt32BE(5),
      hash: buf.toString('hex', 9, 41),
      offset,
      total,
      data,
    },
  };
}
