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
