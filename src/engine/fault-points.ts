/**
 * Places where a test can kill the engine's own process with SIGKILL, to reproduce a crash
 * in a window no outside kill can hit reliably. Every point is named here and does nothing
 * unless FERRY_TEST_CRASH_AT names it; only tests set it (test/engine/pending-apply.test.ts).
 *
 * - `after-apply-rename`: a downloaded file or a symlink renamed into place, not yet recorded.
 * - `after-apply-move`: a remote move renamed locally, not yet recorded.
 * - `after-apply-chmod`: a remote mode change applied, not yet recorded.
 * - `after-apply-mkdir`: a remote directory made, not yet recorded.
 */
export type FaultPoint = 'after-apply-rename' | 'after-apply-move' | 'after-apply-chmod' | 'after-apply-mkdir';

const armed = process.env.FERRY_TEST_CRASH_AT;

export function crashPoint(point: FaultPoint): void {
  // A signal a process sends itself is delivered before kill() returns: nothing after runs.
  if (armed === point) process.kill(process.pid, 'SIGKILL');
}
