/**
 * The server's counters and gauges, rendered in the Prometheus text format for /metrics.
 * Few enough that a library would be more code than this.
 */
type Kind = 'counter' | 'gauge';

interface Metric {
  name: string;
  help: string;
  kind: Kind;
  read: () => number | Promise<number>;
}

export class Metrics {
  connections = 0;
  commits = 0;
  revisions = 0;
  bytesIn = 0;
  bytesOut = 0;
  chunksUploaded = 0;
  loginFailures = 0;
  /** Times a subscriber's socket was too full for a live commit, so it went back to paging. */
  feedFellBehind = 0;
  /** Connections cut because all sockets together queued more than the send budget. */
  budgetCuts = 0;
  /** Time from a commit to its revisions being handed to a subscriber's socket. */
  private feedLagSum = 0;
  private feedLagCount = 0;
  private feedLagMax = 0;
  private readonly extra: Metric[] = [];

  observeFeedLag(seconds: number): void {
    this.feedLagSum += seconds;
    this.feedLagCount += 1;
    if (seconds > this.feedLagMax) this.feedLagMax = seconds;
  }

  /** Values owned elsewhere (the store, the sessions), read at scrape time. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    this.extra.push({ name, help, kind: 'gauge', read });
  }

  async render(): Promise<string> {
    const metrics: Metric[] = [
      { name: 'ferry_connections', help: 'Open sync connections.', kind: 'gauge', read: () => this.connections },
      { name: 'ferry_commits_total', help: 'Commit requests applied.', kind: 'counter', read: () => this.commits },
      { name: 'ferry_revisions_total', help: 'Revisions written.', kind: 'counter', read: () => this.revisions },
      { name: 'ferry_bytes_in_total', help: 'WebSocket payload bytes received.', kind: 'counter', read: () => this.bytesIn },
      { name: 'ferry_bytes_out_total', help: 'WebSocket payload bytes sent.', kind: 'counter', read: () => this.bytesOut },
      { name: 'ferry_chunks_uploaded_total', help: 'Chunks received and verified.', kind: 'counter', read: () => this.chunksUploaded },
      { name: 'ferry_login_failures_total', help: 'Failed or throttled logins.', kind: 'counter', read: () => this.loginFailures },
      { name: 'ferry_feed_fell_behind_total', help: 'Times a subscriber was too far behind for live changes and went back to pages.', kind: 'counter', read: () => this.feedFellBehind },
      { name: 'ferry_budget_cuts_total', help: 'Connections cut because all sockets together had more queued than the send budget.', kind: 'counter', read: () => this.budgetCuts },
      { name: 'ferry_feed_lag_seconds_sum', help: 'Total time from commit to delivery to a subscriber.', kind: 'counter', read: () => this.feedLagSum },
      { name: 'ferry_feed_lag_seconds_count', help: 'Feed deliveries measured.', kind: 'counter', read: () => this.feedLagCount },
      { name: 'ferry_feed_lag_seconds_max', help: 'Longest time from commit to delivery so far.', kind: 'gauge', read: () => this.feedLagMax },
      ...this.extra,
    ];
    const lines: string[] = [];
    for (const m of metrics) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.kind}`, `${m.name} ${await m.read()}`);
    }
    return lines.join('\n') + '\n';
  }
}
