/** WebSocket close codes and what a client does about each (docs/protocol.md). */
export const Close = {
  normal: 1000,
  goingAway: 1001,
  abnormal: 1006,
  tooBig: 1009,
  internalError: 1011,
  restarting: 1012,
  protocolError: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  versionMismatch: 4409,
} as const;

export type CloseAction = 'stop' | 'reconnect' | 'signed-out' | 'fatal';

/** The client's policy for a close code: whether to retry, and whether the user must act. */
export function closeAction(code: number): CloseAction {
  switch (code) {
    case Close.normal:
      return 'stop';
    case Close.unauthorized:
      return 'signed-out';
    case Close.forbidden:
    case Close.protocolError:
    case Close.versionMismatch:
    case Close.tooBig:
      return 'fatal';
    default:
      return 'reconnect';
  }
}

/** `error.code` values: a request failed, the connection stays up. */
export const ErrorCode = {
  badRequest: 'bad_request',
  invalidPath: 'invalid_path',
  unknownType: 'unknown_type',
  notFound: 'not_found',
  forbidden: 'forbidden',
  readOnly: 'read_only',
  quotaExceeded: 'quota_exceeded',
  tooLarge: 'too_large',
  hashMismatch: 'hash_mismatch',
  busy: 'busy',
  unsupportedProtocol: 'unsupported_protocol',
  internal: 'internal',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
