/**
 * ChunkStore on the local disk: `chunks/ab/cd/<sha256>`. A chunk is written to a temp
 * file in the same filesystem, flushed, and renamed into place, so a chunk file that exists
 * is always whole; its hash is checked before it is written at all.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { withFrameRoom } from '../../shared/protocol/frames.js';
import { Hash } from '../../shared/protocol/messages.js';
import { verifyChunk, type ChunkStore } from './types.js';

export class DiskChunkStore implements ChunkStore {
  private readonly chunksDir: string;
  private readonly tmpDir: string;
  private readonly trashDir: string;
  private readonly madeDirs = new Set<string>();

  constructor(dataDir: string) {
    this.chunksDir = join(dataDir, 'chunks');
    this.tmpDir = join(dataDir, 'tmp');
    this.trashDir = join(dataDir, 'trash');
  }

  /** Creates the store's folders; safe while another process uses the store. */
  async open(): Promise<void> {
    await Promise.all([this.chunksDir, this.tmpDir, this.trashDir].map((d) => mkdir(d, { recursive: true })));
  }

  /**
   * Cleans up after a crash, before the server takes writes: half-written temp files go,
   * and a chunk caught mid-removal is put back if the journal still knows it.
   */
  async recover(known: (hash: string) => Promise<boolean>): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await this.open();
    for (const name of await readdir(this.trashDir)) {
      const hash = name.split('.')[0]!;
      const trash = join(this.trashDir, name);
      if (Hash.safeParse(hash).success && (await known(hash)) && !(await this.has(hash))) {
        const { dir, file } = this.pathOf(hash);
        await mkdir(dir, { recursive: true });
        await rename(trash, file);
      } else {
        await rm(trash, { force: true });
      }
    }
  }

  /** The file a chunk lives in; the hash is checked so no name can lead outside the store. */
  private pathOf(hash: string): { dir: string; file: string } {
    if (!Hash.safeParse(hash).success) throw new Error(`not a chunk hash: ${hash.slice(0, 80)}`);
    const dir = join(this.chunksDir, hash.slice(0, 2), hash.slice(2, 4));
    return { dir, file: join(dir, hash) };
  }

  async has(hash: string): Promise<boolean> {
    try {
      await stat(this.pathOf(hash).file);
      return true;
    } catch {
      return false;
    }
  }

  async put(hash: string, data: Buffer): Promise<void> {
    verifyChunk(hash, data);
    const { dir, file } = this.pathOf(hash);
    if (await this.has(hash)) return;
    if (!this.madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = join(this.tmpDir, `${hash}.${randomBytes(6).toString('hex')}`);
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  }

  /** The chunk's bytes, with room for a frame header in front, so sending them copies nothing. */
  async get(hash: string, size: number): Promise<Buffer | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(hash).file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const data = withFrameRoom(size);
      const { bytesRead } = await handle.read(data, 0, size, 0);
      return data.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async remove(hash: string, stillWanted: () => Promise<boolean>): Promise<boolean> {
    const { file } = this.pathOf(hash);
    const trash = join(this.trashDir, `${hash}.${randomBytes(6).toString('hex')}`);
    try {
      await rename(file, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    // An upload may have recorded the chunk again between the caller's decision and the
    // rename; it checks for the file after recording, and here the record is checked
    // after the file left, so one of the two always sees the other.
    if (await stillWanted()) {
      if (await this.has(hash)) await rm(trash, { force: true });
      else await rename(trash, file);
      return false;
    }
    await rm(trash, { force: true });
    return true;
  }
}
