/** One download written the way the engine writes it: staged, then landed (as a group of one). */
import type { LocalFile } from '../../src/engine/journal/local-journal.js';
import type { ChunkSource, FolderDisk, Landed } from '../../src/engine/sync/disk.js';
import type { Entry } from '../../src/shared/protocol/messages.js';

/** `beforeLanding` runs once every chunk is staged, before the file takes its path. */
export async function writeOne(
  disk: FolderDisk,
  entry: Entry,
  known: LocalFile | undefined,
  source: ChunkSource,
  kept: ReadonlySet<number> = new Set(),
  beforeLanding: () => Promise<void> = async () => {},
): Promise<Landed> {
  const staged = await disk.stageFile(entry, known, source, kept);
  await beforeLanding();
  const [result] = await disk.landFiles([{ entry, known, staged }], () => {});
  if (result!.status === 'rejected') throw result!.reason;
  return result!.value;
}
