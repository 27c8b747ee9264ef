/** Counts of protocol requests by response status, for `GET /_emulator/stats` (herald-contract.md). */
export interface StatsSnapshot {
  requests: number;
  byStatus: Record<string, number>;
  /** Connections closed without an answer by an injected fault. */
  dropped: number;
}

export class RequestStats {
  private requests = 0;
  private dropped = 0;
  private readonly byStatus = new Map<number, number>();

  count(status: number | 'drop'): void {
    this.requests += 1;
    if (status === 'drop') this.dropped += 1;
    else this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  snapshot(): StatsSnapshot {
    const byStatus: Record<string, number> = {};
    for (const [status, n] of [...this.byStatus].sort((a, b) => a[0] - b[0])) byStatus[String(status)] = n;
    return { requests: this.requests, byStatus, dropped: this.dropped };
  }
}
