import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../shared/clock.ts';
import { EmulatorState, SAVE_DELAY_MS } from './state-file.ts';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'herald-state-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a burst of changes is one write within the delay; flush writes at once; sections read back', async (t) => {
  const path = join(dir(t), 'emulators', 'x.json');
  const clock = new ManualClock(0);
  const state = new EmulatorState(path, clock);
  let items = ['a'];
  state.section('items', { save: () => items, load: () => undefined });
  state.set('port', 4242);
  for (let i = 0; i < 100; i++) {
    items = [...items, `b${i}`];
    state.changed();
  }
  assert.equal(existsSync(path), false, 'not written yet');
  clock.advance(SAVE_DELAY_MS);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).items.length, 101);
  items = ['c'];
  state.changed();
  state.flush();
  let loaded: unknown;
  const again = new EmulatorState(path);
  again.section('items', { save: () => [], load: (d) => (loaded = d) });
  assert.deepEqual(loaded, ['c']);
  assert.equal(again.get('port'), 4242);
});

test('a damaged state file stops the start with its path and what to do', (t) => {
  const path = join(dir(t), 'apns.json');
  writeFileSync(path, '{"format":1,"devices":');
  assert.throws(() => new EmulatorState(path), /^Error: emulator state file .*apns\.json cannot be read \(.*\); move it away to start this emulator empty$/);
  writeFileSync(path, '{"format":1,"devices":{"not":"a list"}}');
  const state = new EmulatorState(path);
  assert.throws(() => state.section('devices', { save: () => [], load: (d) => { if (!Array.isArray(d)) throw new Error('devices is not a list'); } }), /section devices is damaged \(devices is not a list\); move the file away/);
  writeFileSync(path, '{"format":2}');
  assert.throws(() => new EmulatorState(path), /has format 2, this Herald reads format 1/);
});
