/** Prometheus metrics: the HTTP surface (requests by route and status, a latency histogram) and pushes. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchObserver } from '../dispatch/batch-report.ts';

export interface HttpMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createHttpMetrics(): HttpMetrics {
  // One registry per app, so that several hubs in one test process do not share counters.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'herald_' });
  const requests = new Counter({
    name: 'herald_http_requests_total',
    help: 'HTTP requests answered, by method, route (or Azure operation) and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'herald_http_request_duration_seconds',
    help: 'Time from receiving a request to sending the last byte of its answer.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // The labelled series, found once: prom-client hashes a label object on every call otherwise. The
  // label sets are few (methods x routes x statuses).
  const series = new Map<string, { requests: { inc(): void }; duration: { observe(v: number): void } }>();
  return {
    registry,
    observe(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let s = series.get(key);
      if (!s) {
        s = { requests: requests.labels(method, route, String(status)), duration: duration.labels(method, route) };
        series.set(key, s);
      }
      s.requests.inc();
      s.duration.observe(seconds);
    },
  };
}

/**
 * Push metrics (issue 12 item 4): pushes by platform and final outcome, retries by platform and outcome,
 * the queue's depth and the age of its oldest runnable job (read from the store at each scrape), and a
 * histogram from a notification's acceptance to a batch's last PNS answer. Labels are platforms and Azure
 * outcome names only: fixed lists, never a hub, device or reason.
 */
export function createDeliveryMetrics(
  registry: Registry,
  queue: { depth(): Promise<{ jobs: number; oldestRunnableAt: number | undefined }>; now(): number },
): BatchObserver {
  const pushes = new Counter({
    name: 'herald_pushes_total',
    help: 'Pushes that reached a final outcome, by platform and Azure outcome (Success, WrongToken, AbandonedNotificationMessages, ...).',
    labelNames: ['platform', 'outcome'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'herald_push_retries_total',
    help: 'Pushes that failed an attempt and were queued for another, by platform and the attempt\'s outcome.',
    labelNames: ['platform', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'herald_push_latency_seconds',
    help: 'From a notification\'s acceptance (or its scheduled time) to the last PNS answer of a batch whose pushes all reached a final outcome, by platform.',
    labelNames: ['platform'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800],
    registers: [registry],
  });
  // Read once per scrape for both gauges.
  let reading: Promise<{ jobs: number; oldestRunnableAt: number | undefined }> | undefined;
  const read = () => {
    reading ??= queue.depth().finally(() => setImmediate(() => (reading = undefined)));
    return reading;
  };
  new Gauge({
    name: 'herald_queue_jobs',
    help: 'Send jobs in the queue (planning steps and delivery batches, waiting, scheduled or running).',
    registers: [registry],
    async collect() {
      this.set((await read()).jobs);
    },
  });
  new Gauge({
    name: 'herald_queue_oldest_runnable_age_seconds',
    help: 'How long the oldest job that could run has waited for a worker (0 when none waits).',
    registers: [registry],
    async collect() {
      const { oldestRunnableAt } = await read();
      this.set(oldestRunnableAt === undefined ? 0 : Math.max(0, (queue.now() - oldestRunnableAt) / 1000));
    },
  });
  return {
    batchDelivered(report) {
      const finalPlatforms = new Set<string>();
      const retrying = new Set<string>();
      for (const line of report.lines) {
        if (line.retry) {
          retries.labels(line.platform, line.outcome).inc(line.count);
          retrying.add(line.platform);
        } else {
          pushes.labels(line.platform, line.outcome).inc(line.count);
          finalPlatforms.add(line.platform);
        }
      }
      const seconds = Math.max(0, (report.now - report.acceptedAt) / 1000);
      for (const platform of finalPlatforms) if (!retrying.has(platform)) latency.labels(platform).observe(seconds);
    },
  };
}
