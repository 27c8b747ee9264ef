/** Prometheus metrics of the HTTP surface: requests by route and status, and a latency histogram. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
