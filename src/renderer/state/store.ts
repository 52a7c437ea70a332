/**
 * The UI's one copy of what the bridge reports: the app (setup, capabilities, settings) and the
 * engine's state, kept current by every bridge event. Components read it through useFerry();
 * nothing else subscribes to the bridge, so each event is handled once.
 */
import type { Activity, AppInfo, EngineState, FerryBridge, Unsubscribe } from '../../shared/bridge.js';
import { subscribeAll, type EventName, type EventPayload } from '../../shared/bridge-calls.js';
import { asBridgeError } from './use-action.js';

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

type Patch = (s: FerrySnapshot) => FerrySnapshot;

function withActivity(state: EngineState, activity: Activity): EngineState {
  if (state.activity.some((a) => a.id === activity.id)) return state;
  return { ...state, activity: [activity, ...state.activity].slice(0, ACTIVITY_LIMIT) };
}

function onState(patch: (s: EngineState) => EngineState): Patch {
  return (snap) => (snap.state ? { ...snap, state: patch(snap.state) } : snap);
}

/** What one event changes. */
function patchFor<E extends EventName>(event: E, payload: EventPayload<E>): Patch {
  switch (event) {
    case 'app':
      return (snap) => ({ ...snap, app: payload as AppInfo });
    case 'connection':
      return onState((s) => ({ ...s, connection: payload as EngineState['connection'] }));
    case 'folders': {
      const folders = payload as EngineState['folders'];
      // No event carries `paused` itself; every folder of a paused engine says so.
      return onState((s) => ({ ...s, folders, paused: folders.length > 0 && folders.every((f) => f.phase === 'paused') }));
    }
    case 'transfers':
      return onState((s) => ({ ...s, transfers: payload as EngineState['transfers'] }));
    case 'conflicts':
      return onState((s) => ({ ...s, conflicts: payload as EngineState['conflicts'] }));
    case 'issues':
      return onState((s) => ({ ...s, issues: payload as EngineState['issues'] }));
    case 'activity':
      return onState((s) => withActivity(s, payload as Activity));
  }
  return (snap) => snap;
}

export function createStore(bridge: FerryBridge): FerryStore {
  let snapshot: FerrySnapshot = { app: null, state: null, loadError: null };
  const listeners = new Set<() => void>();
  // Events that arrive while a reload is in flight may be newer than what it returns: they are
  // applied again on top of the reloaded state, or a "connected" could be lost for good.
  let sinceReload: Patch[] | null = null;
  // Only the newest of overlapping reloads may set the state.
  let reloads = 0;
  const set = (next: FerrySnapshot) => {
    snapshot = next;
    for (const l of listeners) l();
  };

  const off = subscribeAll(bridge, (event, payload) => {
    const patch = patchFor(event, payload);
    sinceReload?.push(patch);
    const setupBefore = snapshot.app?.setup.mode;
    set(patch(snapshot));
    // A finished first run (or a sign-out) changes which folders the engine syncs.
    if (event === 'app' && snapshot.app?.setup.mode !== setupBefore) void reload();
  });

  async function reload(): Promise<void> {
    const patches: Patch[] = [];
    const mine = ++reloads;
    sinceReload = patches;
    try {
      const [app, state] = await Promise.all([bridge.getApp(), bridge.getState()]);
      if (mine !== reloads) return;
      const loaded: FerrySnapshot = { app, state: { ...state, activity: state.activity.slice(0, ACTIVITY_LIMIT) }, loadError: null };
      set(patches.reduce((snap, patch) => patch(snap), loaded));
    } catch (err) {
      if (mine === reloads) set({ ...snapshot, loadError: asBridgeError(err).message });
    } finally {
      if (sinceReload === patches) sinceReload = null;
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
