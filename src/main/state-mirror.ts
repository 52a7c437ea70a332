/**
 * Main's copy of what the tray and the notifications follow, kept current from the bridge's
 * events: one full read when the app core (re)starts, then each event replaces its part.
 */
import type { AppInfo, FerryBridge, FolderStatus, Unsubscribe } from '../shared/bridge.js';
import type { EngineView } from './tray-model.js';

/**
 * Pausing has no event of its own; the engine reports it as every folder's phase, so the
 * folders event carries it.
 */
function pausedFrom(folders: FolderStatus[], before: boolean): boolean {
  return folders.length > 0 ? folders.every((f) => f.phase === 'paused') : before;
}

export class StateMirror {
  view: EngineView | null = null;
  app: AppInfo | null = null;

  constructor(private readonly onChange: () => void) {}

  /** Follows `bridge` from now on; the returned function stops. */
  follow(bridge: FerryBridge): Unsubscribe {
    const offs = [
      bridge.onApp((app) => this.set(() => (this.app = app))),
      bridge.onConnection((connection) => this.patch({ connection })),
      bridge.onFolders((folders) => this.patch({ folders, paused: pausedFrom(folders, this.view?.paused ?? false) })),
      bridge.onTransfers((transfers) => this.patch({ transfers })),
      bridge.onConflicts((conflicts) => this.patch({ conflicts })),
      bridge.onIssues((issues) => this.patch({ issues })),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** A full read, after the subscriptions so nothing between the two is missed. */
  async refresh(bridge: FerryBridge): Promise<void> {
    const [state, app] = await Promise.all([bridge.getState(), bridge.getApp()]);
    this.set(() => {
      this.view = state;
      this.app = app;
    });
  }

  /** The app core went away: nothing it said holds any more. */
  clear(): void {
    this.set(() => {
      this.view = null;
      this.app = null;
    });
  }

  private patch(part: Partial<EngineView>): void {
    // Events before the first full read have no state to patch; the read brings them in.
    if (this.view === null) return;
    this.set(() => (this.view = { ...this.view!, ...part }));
  }

  private set(change: () => void): void {
    change();
    this.onChange();
  }
}
