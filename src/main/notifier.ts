/** Shows the OS notifications that notices.ts picks; a click opens the window. */
import { Notification } from 'electron';
import { newNotices, seenOf, type Seen, type Snapshot } from './notices.js';

export class Notifier {
  private seen: Seen | null = null;

  constructor(
    private readonly icon: string,
    private readonly onClick: () => void,
  ) {}

  /** Called on every state change; announces what is new unless the user turned notifications off. */
  update(snapshot: Snapshot, enabled: boolean): void {
    const notices = newNotices(this.seen, snapshot);
    this.seen = seenOf(snapshot);
    if (!enabled || !Notification.isSupported()) return;
    for (const notice of notices) {
      const note = new Notification({ title: notice.title, body: notice.body, icon: this.icon });
      note.on('click', this.onClick);
      note.show();
    }
  }

  /** The app core restarted: what it reports first is the new baseline. */
  reset(): void {
    this.seen = null;
  }
}
