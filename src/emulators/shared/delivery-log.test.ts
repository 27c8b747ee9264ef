import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.ts';
import { DeliveryLog, type Delivery } from './delivery-log.ts';

type Headers = Record<string, string | string[] | undefined>;

/** The log's answer as it was first specified: a delivery is the request as the service accepted it. */
function expected(time: number, headers: Headers, payload: Buffer): Delivery {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || name === 'authorization') continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { time: new Date(time).toISOString(), headers: kept, payload: payload.toString('utf8'), payloadBase64: payload.toString('base64') };
}

test('deliveries list what each device received, in order, headers and bytes as sent', () => {
  const clock = new ManualClock(1_700_000_000_000);
  const log = new DeliveryLog(clock);
  const want = new Map<string, Delivery[]>();
  const add = (key: string, headers: Headers, payload: Buffer, overrides?: Record<string, string>): void => {
    log.record(key, headers, payload, overrides);
    want.set(key, [...(want.get(key) ?? []), expected(clock.now(), { ...headers, ...overrides }, payload)]);
    clock.advance(1);
  };
  const common = { ':method': 'POST', ':path': '/x', authorization: 'bearer t', 'apns-topic': 'com.example', 'apns-priority': '10' };
  for (let i = 0; i < 50; i++) add(`dev${i % 7}`, common, Buffer.from(`{"n":${i}}`), { 'apns-id': `id-${i}` });
  // The service's value replaces a header the sender set, in its place.
  add('dev1', { 'apns-id': 'mine', ...common }, Buffer.from('a'), { 'apns-id': 'theirs' });
  add('dev1', { 'x-list': ['a', 'b'], 'x-none': undefined, 'x-empty': '' }, Buffer.alloc(0));
  add('dev2', { 'x-a': '1' }, Buffer.from([0, 255, 1, 128]), { authorization: 'never shown', ':status': 'no', 'x-b': 'two' });
  add('dev2', { 'x-a': '1' }, Buffer.from('ünïcödé ✓'), { 'x-b': '' });
  add('dev3', { 'x-big': 'y' }, Buffer.alloc(3 * 1024 * 1024, 7));
  add('dev3', { 'x-a': '1' }, Buffer.from('after the big one'));
  for (let i = 0; i < 1200; i++) add('dev4', { 'x-unique': String(i) }, Buffer.from(String(i)));
  for (const [key, deliveries] of want) assert.deepEqual(log.list(key), deliveries, key);
  assert.deepEqual(log.list('unknown'), []);
});

test('a recorded payload is a copy: the caller may reuse its buffer', () => {
  const log = new DeliveryLog(new ManualClock(0));
  const buf = Buffer.from('first');
  log.record('d', {}, buf);
  buf.write('later');
  assert.equal(log.list('d')[0]?.payload, 'first');
});
