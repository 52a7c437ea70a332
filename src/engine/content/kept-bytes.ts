/**
 * Small files' bytes as the scan's hashing read found them, kept until their upload, so a
 * small file is read once, not twice (most of a sending client's cost per small file was the
 * second read). Bounded: once full, nothing more is kept until uploads take theirs (the scan
 * runs ahead of the uploads, which go in the order it found the files), and an upload without
 * kept bytes reads the file again, as before.
 *
 * What is uploaded must be what was hashed, and what the file still holds: the bytes are
 * given out only while the file's size, mtime, inode and ctime are those it had when the
 * hashing read began. Any write or rename since sets a new ctime (or inode), which the user
 * can't set back, so a file changed between hash and upload is never committed with the old
 * hash: its upload stops and the file is scanned again.
 */
import { lstatSync } from 'node:fs';

/**
 * Bytes kept at once: a few hundred small files. More kept more (16 MiB: 35–40 MiB more peak
 * RSS on the sending client of 5,000 files) for little, as a miss is now a cheap inline read.
 */
export const KEPT_BYTES_LIMIT = 4 * 1024 * 1024;

/** Files up to this size have their bytes kept (when they are one chunk): the small-transfer ones. */
export const KEEP_FILES_UP_TO = 256 * 1024;

/** What the file was when its hashing read began. */
export interface ReadStamp {
  size: number;
  mtimeMs: number;
  ino: number;
  ctimeMs: number;
}

interface Kept {
  hash: string;
  stamp: ReadStamp;
  bytes: Buffer;
}

/** The file no longer is what its kept bytes were read from. */
export class ChangedSinceHashed extends Error {
  constructor(readonly path: string) {
    super(`${path} changed since it was hashed`);
  }
}

export class KeptBytes {
  private readonly byPath = new Map<string, Kept>();
  private total = 0;

  constructor(private readonly limit = KEPT_BYTES_LIMIT) {}

  get bytes(): number {
    return this.total;
  }

  /** Whether a file of `size` bytes would be kept: asked before its read, so a full store costs the hashing nothing. */
  hasRoomFor(size: number): boolean {
    return this.total + size <= this.limit;
  }

  keep(path: string, hash: string, stamp: ReadStamp, bytes: Buffer): void {
    this.drop(path);
    if (!this.hasRoomFor(bytes.length)) return;
    this.byPath.set(path, { hash, stamp, bytes });
    this.total += bytes.length;
  }

  /** Drops every path `wanted` says no to: those no upload is going to take. */
  retainOnly(wanted: (path: string) => boolean): void {
    for (const path of [...this.byPath.keys()]) if (!wanted(path)) this.drop(path);
  }

  drop(path: string): void {
    const kept = this.byPath.get(path);
    if (!kept) return;
    this.byPath.delete(path);
    this.total -= kept.bytes.length;
  }

  /**
   * The bytes kept for `path` when they are of content `hash` (given up either way);
   * undefined when none are kept. Throws ChangedSinceHashed when the file at `diskPath` is
   * gone or is no longer what they were read from.
   */
  take(path: string, hash: string, diskPath: string): Buffer | undefined {
    const kept = this.byPath.get(path);
    if (!kept) return undefined;
    this.drop(path);
    if (kept.hash !== hash) return undefined;
    const st = lstatSync(diskPath, { throwIfNoEntry: false });
    const { stamp } = kept;
    if (!st?.isFile() || st.size !== stamp.size || st.mtimeMs !== stamp.mtimeMs || st.ino !== stamp.ino || st.ctimeMs !== stamp.ctimeMs) {
      throw new ChangedSinceHashed(path);
    }
    return kept.bytes;
  }
}
