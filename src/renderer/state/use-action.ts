import { useCallback, useRef, useState } from 'react';
import { BridgeError } from '../../shared/bridge.js';

export interface ActionState {
  busy: boolean;
  error: BridgeError | null;
}

function asBridgeError(err: unknown): BridgeError {
  if (err instanceof BridgeError) return err;
  // A failure that crossed Electron's context bridge arrives as plain {name, code, message}.
  const plain = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const code = plain.code;
  const message = typeof plain.message === 'string' ? plain.message : String(err);
  return new BridgeError(typeof code === 'string' ? (code as BridgeError['code']) : 'internal', message);
}

/**
 * Runs a bridge command for a control: busy while it runs (so the control can be disabled and
 * a double click does not send it twice), and its failure kept for the control to show.
 * The returned function is stable across renders; it always runs the latest `action`.
 */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): [(...args: A) => Promise<R | undefined>, ActionState] {
  const [state, setState] = useState<ActionState>({ busy: false, error: null });
  const latest = useRef(action);
  latest.current = action;
  const run = useCallback(
    async (...args: A) => {
      setState({ busy: true, error: null });
      try {
        const result = await latest.current(...args);
        setState({ busy: false, error: null });
        return result;
      } catch (err) {
        setState({ busy: false, error: asBridgeError(err) });
        return undefined;
      }
    },
    [],
  );
  return [run, state];
}
