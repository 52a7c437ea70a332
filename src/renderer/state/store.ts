/**
 * The UI's one copy of what the bridge reports: the app (setup, capabilities, settings) and the
 * engine's state, kept current by every bridge event. Components read it through useFerry();
 * nothing else subscribes to the bridge, so each event is handled once.
 */
import type { Activity, AppInfo, EngineState, FerryBridge, Unsubscribe } from '../../shared/bridge.js';
import { subscribeAll } from '../../shared/bridge-calls.js';

/** Enough for the feed to be useful without growing for as long as the window stays open. */
export const ACTIVITY_LIMIT = 500;

export interface FerrySnapshot {
  app: AppInfo | null;
  state: EngineState | null;
  /** Why loading failed, for the start screen. */
  loadError: string | null;
}

export interface FerryStore {
  getSnapshot(): FerrySnapshot;
  subscribe(listener: () => void): Unsubscribe;
  /** Reads everything afresh, e.g. after setup changed what the engine is. */
  reload(): Promise<void>;
  close(): void;
}

function withActivity(state: EngineState, activity: Activity): EngineState {
  if (state.activity.some((a) => a.id === activity.id)) return state;
  return { ...state, activity: [activity, ...state.activity].slice(0, ACTIVITY_LIMIT) };
}

export function createStore(bridge: FerryBridge): FerryStore {
  let snapshot: FerrySnapshot = { app: null, state: null, loadError: null };
  const listeners = new Set<() => void>();
  const set = (next: Partial<FerrySnapshot>) => {
    snapshot = { ...snapshot, ...next };
    for (const l of listeners) l();
  };
  const patchState = (patch: (s: EngineState) => EngineState) => {
    if (snapshot.state) set({ state: patch(snapshot.state) });
  };

  const off = subscribeAll(bridge, (event, payload) => {
    switch (event) {
      case 'app': {
        const app = payload as AppInfo;
        const setupChanged = snapshot.app?.setup.mode !== app.setup.mode;
        set({ app });
        // A finished first run (or a sign-out) changes which folders the engine syncs.
        if (setupChanged) void reload();
        return;
      }
      case 'connection':
        return patchState((s) => ({ ...s, connection: payload as EngineState['connection'] }));
      case 'folders': {
        const folders = payload as EngineState['folders'];
        // No event carries `paused` itself; every folder of a paused engine says so.
        return patchState((s) => ({ ...s, folders, paused: folders.length > 0 && folders.every((f) => f.phase === 'paused') }));
      }
      case 'transfers':
        return patchState((s) => ({ ...s, transfers: payload as EngineState['transfers'] }));
      case 'conflicts':
        return patchState((s) => ({ ...s, conflicts: payload as EngineState['conflicts'] }));
      case 'issues':
        return patchState((s) => ({ ...s, issues: payload as EngineState['issues'] }));
      case 'activity':
        return patchState((s) => withActivity(s, payload as Activity));
    }
  });

  async function reload(): Promise<void> {
    try {
      const [app, state] = await Promise.all([bridge.getApp(), bridge.getState()]);
      set({ app, state: { ...state, activity: state.activity.slice(0, ACTIVITY_LIMIT) }, loadError: null });
    } catch (err) {
      set({ loadError: err instanceof Error ? err.message : String(err) });
    }
  }

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload,
    close: off,
  };
}
