/**
 * What one delivered batch did, for people and dashboards (issue 12 item 4, "What happened to my push?"):
 * counts per platform, outcome and PNS reason, split into final outcomes and targets that wait for a retry.
 * The worker logs one warning line per batch with a failure and hands the report to a BatchObserver
 * (the metrics). Label sets stay bounded: platforms and Azure outcome names are fixed lists; the reason
 * goes to the log only, never into a metric label.
 */

export interface BatchReportLine {
  platform: string;
  /** Azure outcome name (Success, WrongToken, PnsUnavailable, AbandonedNotificationMessages, ...). */
  outcome: string;
  /** The PNS's reason (or Herald's), as the connector gave it; the first seen for this platform and outcome. */
  reason: string;
  count: number;
  /** True for targets that wait for another attempt; false for final outcomes. */
  retry: boolean;
}

export interface BatchReport {
  hub: string;
  notificationId: string;
  lines: BatchReportLine[];
  /** When the retried targets run again (ms), if any do. */
  nextAttemptAt?: number;
  /** When the notification was accepted (or became due); `now` minus this is the push's latency so far. */
  acceptedAt: number;
  now: number;
}

/** Receives every batch's report after its result was committed (metrics). */
export interface BatchObserver {
  batchDelivered(report: BatchReport): void;
}

/** Groups per-target answers into report lines, keeping the first reason of each (platform, outcome, retry). */
export class ReportBuilder {
  private readonly lines = new Map<string, BatchReportLine>();

  add(platform: string, outcome: string, reason: string, retry: boolean): void {
    const k = `${platform}\n${outcome}\n${retry ? 'r' : 'f'}`;
    const line = this.lines.get(k);
    if (line) line.count++;
    else this.lines.set(k, { platform, outcome, reason, count: 1, retry });
  }

  build(): BatchReportLine[] {
    return [...this.lines.values()];
  }
}

/** The failures of a batch (anything but Success), or none. */
export function failuresOf(report: BatchReport): BatchReportLine[] {
  return report.lines.filter((l) => l.retry || l.outcome !== 'Success');
}
