/**
 * Asks the server which chunks it lacks, for many files at once. The questions asked in one
 * turn of the event loop (a burst of small files starts dozens of uploads together) go out
 * as one `has` per folder, split only at the server's per-request limit, so a thousand small
 * files cost a few dozen round trips and server transactions instead of a thousand.
 */
import type { ServerMessageOf } from '../../shared/protocol/messages.js';
import type { Connection } from './connection.js';

interface Question {
  folder: number;
  hashes: string[];
  resolve: (missing: Set<string>) => void;
  reject: (err: unknown) => void;
}

export class MissingChunks {
  private questions: Question[] = [];

  constructor(private readonly conn: Connection) {}

  /** The hashes among `hashes` that the server does not hold for `folder`. */
  of(folder: number, hashes: string[]): Promise<Set<string>> {
    if (hashes.length === 0) return Promise.resolve(new Set());
    return new Promise((resolve, reject) => {
      this.questions.push({ folder, hashes, resolve, reject });
      if (this.questions.length === 1) setImmediate(() => void this.ask());
    });
  }

  private async ask(): Promise<void> {
    const questions = this.questions;
    this.questions = [];
    const byFolder = new Map<number, Question[]>();
    for (const q of questions) byFolder.set(q.folder, [...(byFolder.get(q.folder) ?? []), q]);
    await Promise.all(
      [...byFolder].map(async ([folder, group]) => {
        try {
          const missing = await this.askFolder(folder, [...new Set(group.flatMap((q) => q.hashes))]);
          for (const q of group) q.resolve(new Set(q.hashes.filter((h) => missing.has(h))));
        } catch (err) {
          for (const q of group) q.reject(err);
        }
      }),
    );
  }

  private async askFolder(folder: number, hashes: string[]): Promise<Set<string>> {
    const step = this.conn.limits.maxHashesPerRequest;
    const requests: Promise<ServerMessageOf<'have'>>[] = [];
    for (let i = 0; i < hashes.length; i += step) requests.push(this.conn.request({ type: 'has', folder, hashes: hashes.slice(i, i + step) }));
    const answers = await Promise.all(requests);
    return new Set(answers.flatMap((a) => a.missing));
  }
}
