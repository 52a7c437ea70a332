/** What the engine's and sign-in's own failures mean to a person using the bridge. */
import { BridgeError } from '../shared/bridge.js';
import { ErrorCode } from '../shared/protocol/codes.js';
import { LoginError } from '../engine/net/login.js';
import { Disconnected, RequestFailed } from '../engine/net/connection.js';

export function asBridgeError(err: unknown): unknown {
  if (err instanceof BridgeError) return err;
  if (err instanceof Disconnected) return new BridgeError('unreachable', 'not connected to the server; try again once connected');
  if (err instanceof LoginError) {
    return new BridgeError(err.reason === 'auth-failed' || err.reason === 'rate-limited' ? 'auth-failed' : 'unreachable', err.message);
  }
  if (err instanceof RequestFailed) {
    switch (err.code) {
      case ErrorCode.notFound:
        return new BridgeError('not-found', err.message);
      case ErrorCode.badRequest:
      case ErrorCode.invalidPath:
        return new BridgeError('invalid-argument', err.message);
      case ErrorCode.forbidden:
      case ErrorCode.readOnly:
        return new BridgeError('unsupported', err.message);
    }
  }
  return err;
}

/** Runs `work`, rethrowing its failure as a BridgeError where one fits. */
export async function bridged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asBridgeError(err);
  }
}
