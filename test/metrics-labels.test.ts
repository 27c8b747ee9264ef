/**
 * Every cache and label set is bounded (issue 10, "Under load for a long time"): the metrics' route label
 * is the route pattern or the Azure operation, never the URL, so random paths cannot grow the series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startTestHerald } from './helpers.ts';

test('random paths, hub names and methods add no metric series of their own', async (t) => {
  const h = await startTestHerald({ sandbox: false });
  t.after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });
  const methods = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
  for (let i = 0; i < 300; i++) {
    const word = `w${i}x${(i * 7919).toString(36)}`;
    const path = [`/${word}`, `/${word}/installations/${word}`, `/${word}/tags/${word}/registrations`, `/_admin/v1/hubs/${word}`, `/_${word}/${word}`, `/${word}/${word}/${word}/${word}`][i % 6]!;
    const res = await fetch(`${h.httpUrl}${path}?api-version=2020-06&${word}=1`, { method: methods[i % methods.length]! });
    await res.arrayBuffer();
  }
  const text = await (await fetch(`${h.httpUrl}/_metrics`)).text();
  const routes = new Set([...text.matchAll(/^herald_http_requests_total\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]!));
  assert.ok(routes.size > 0, 'requests were counted');
  assert.ok(routes.size <= 12, `route labels: ${[...routes].join(', ')}`);
  assert.ok(![...routes].some((r) => /w\d+x/.test(r)), `no label carries a request's path: ${[...routes].join(', ')}`);
  const series = text.split('\n').filter((l) => l.startsWith('herald_http_requests_total{')).length;
  assert.ok(series <= 60, `${series} request series after 300 random requests`);
});
