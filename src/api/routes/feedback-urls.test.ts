import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../shared/clock.ts';
import type { HubRecord } from '../../store/store.ts';
import { FeedbackUrls } from './azure-sends.ts';

const hub = (name: string, createdAt: number): HubRecord => ({ name, settings: { registrationTtlSeconds: null }, createdAt, updatedAt: createdAt });

test("a feedback URL reads only the hub it was issued for, not a new hub of the same name (#10 item 15 sibling)", () => {
  const clock = new ManualClock(1_000_000);
  const urls = new FeedbackUrls(randomBytes(32), clock);
  const old = hub('Feed', 10);
  const q = new URL(urls.url('http://h', old)).searchParams;
  assert.equal(urls.verify(old, q.get('se') ?? undefined, q.get('sig') ?? undefined), true);
  assert.equal(urls.verify(hub('feed', 10), q.get('se') ?? undefined, q.get('sig') ?? undefined), true, 'hub names are case-insensitive');
  assert.equal(urls.verify(hub('Feed', 11), q.get('se') ?? undefined, q.get('sig') ?? undefined), false, 'the hub was deleted and created again');
  assert.equal(urls.verify(hub('Other', 10), q.get('se') ?? undefined, q.get('sig') ?? undefined), false);
  clock.advance(60 * 60_000 + 1);
  assert.equal(urls.verify(old, q.get('se') ?? undefined, q.get('sig') ?? undefined), false, 'expired');
});
