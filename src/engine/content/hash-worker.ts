/** A hashing worker: reads files' content identity off the main thread. */
import { parentPort } from 'node:worker_threads';
import { readFileContent } from './file-content.js';

interface Job {
  id: number;
  file: string;
}

parentPort!.on('message', (job: Job) => {
  readFileContent(job.file).then(
    (content) => parentPort!.postMessage({ id: job.id, content }),
    (err: NodeJS.ErrnoException) => parentPort!.postMessage({ id: job.id, error: { message: err.message, code: err.code } }),
  );
});
