/**
 * The app's listeners for every bridge event. They belong to the app, not to an engine, so a
 * UI that subscribed once keeps receiving events when connect, sign-in or sign-out replace the
 * engine underneath.
 */
import type { SyncBridge, Unsubscribe } from '../shared/bridge.js';
import { EVENTS, listenerName, type EventName, type EventPayload } from '../shared/bridge-calls.js';

type Listener = (payload: unknown) => void;

export class EventHub {
  private readonly listeners = new Map<EventName, Set<Listener>>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const entry = listener as Listener;
    set.add(entry);
    return () => set.delete(entry);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      // One broken listener must not stop the others, nor the engine that emitted.
      try {
        listener(payload);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Passes on every event of `engine` until the returned function is called. */
  relay(engine: SyncBridge): Unsubscribe {
    const offs = EVENTS.filter((e) => e !== 'app').map((event) => {
      const on = (engine as unknown as Record<string, (l: Listener) => Unsubscribe>)[listenerName(event)]!;
      return on.call(engine, (payload) => this.emit(event, payload as never));
    });
    return () => {
      for (const off of offs) off();
    };
  }
}
