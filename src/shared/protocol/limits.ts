/**
 * Sizes the protocol bounds. The server announces its own values in `welcome`; these are
 * the defaults and the ceilings a client assumes before it hears them.
 */
export interface Limits {
  /** Largest WebSocket message of either kind; anything larger closes with 1009. */
  maxMessageBytes: number;
  /** Most chunk bytes carried by one binary frame, so control messages never wait long. */
  maxFrameDataBytes: number;
  /** Largest chunk the server stores. */
  maxChunkBytes: number;
  /** Largest file a commit may describe. */
  maxFileBytes: number;
  /** Most ops in one commit. */
  maxOpsPerCommit: number;
  /** Most hashes in one `has`. */
  maxHashesPerRequest: number;
  /** Most entries in one `changes` page. */
  pageEntries: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 16 * MiB,
  maxFrameDataBytes: 1 * MiB,
  maxChunkBytes: 4 * MiB,
  maxFileBytes: 256 * 1024 * MiB,
  maxOpsPerCommit: 1000,
  maxHashesPerRequest: 4096,
  pageEntries: 1000,
});

const KiB = 1024;

/**
 * The limits a client works with, given what a server announced: each within the range a
 * client is built for. A server must not be able to make a client hold a huge message or
 * chunk in memory, nor stall it in a loop with a limit of 0.
 */
export function clientLimits(announced: Limits): Limits {
  const within = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), max);
  return {
    maxMessageBytes: within(announced.maxMessageBytes, 64 * KiB, 64 * MiB),
    maxFrameDataBytes: within(announced.maxFrameDataBytes, 1 * KiB, DEFAULT_LIMITS.maxFrameDataBytes),
    maxChunkBytes: within(announced.maxChunkBytes, 1, 16 * MiB),
    maxFileBytes: within(announced.maxFileBytes, 0, Number.MAX_SAFE_INTEGER),
    maxOpsPerCommit: within(announced.maxOpsPerCommit, 1, 10_000),
    maxHashesPerRequest: within(announced.maxHashesPerRequest, 1, 65_536),
    pageEntries: within(announced.pageEntries, 1, 100_000),
  };
}
