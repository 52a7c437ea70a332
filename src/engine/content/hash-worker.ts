/**
 * A hashing worker: reads files' content identity off the main thread. With `windowBytes`,
 * it also hands over each chunk's bytes as they are found (with room for a frame header in
 * front, as they are mostly bound for an upload), and stops reading while that many bytes
 * are handed over and not yet acknowledged.
 */
import { parentPort } from 'node:worker_threads';
import { withFrameRoom } from '../../shared/protocol/frames.js';
import { readFileContent, type FoundChunk } from './file-content.js';

interface Job {
  id: number;
  file: string;
  windowBytes?: number;
  /** Hashes of chunks not to hand over. */
  skip?: string[];
  /** Hand a one-chunk file's bytes back, up to this size. */
  keepUpTo?: number;
}

interface Ack {
  ack: number;
}

// One window for the worker, shared by the files it reads at once: every waiting reader
// looks again at each acknowledgement.
let unacked = 0;
let waiting: (() => void)[] = [];

function handOver(id: number, windowBytes: number) {
  return async (chunk: FoundChunk): Promise<void> => {
    unacked += chunk.size;
    parentPort!.postMessage({ id, chunk }, [chunk.data.buffer as ArrayBuffer]);
    while (unacked >= windowBytes) await new Promise<void>((resolve) => waiting.push(resolve));
  };
}

parentPort!.on('message', (msg: Job | Ack) => {
  if ('ack' in msg) {
    unacked -= msg.ack;
    const woken = waiting;
    waiting = [];
    for (const w of woken) w();
    return;
  }
  const job = msg;
  readFileContent(job.file, undefined, job.windowBytes ? handOver(job.id, job.windowBytes) : undefined, withFrameRoom, new Set(job.skip), job.keepUpTo).then(
    (content) => parentPort!.postMessage({ id: job.id, content }, content.bytes ? [content.bytes.buffer as ArrayBuffer] : []),
    (err: NodeJS.ErrnoException) => parentPort!.postMessage({ id: job.id, error: { message: err.message, code: err.code } }),
  );
});
