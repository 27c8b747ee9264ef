import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expireChannel } from './feedback.ts';
import type { Installation } from './model.ts';

const inst: Installation = {
  installationId: 'i',
  platform: 'wns',
  pushChannel: 'chan-main',
  pushChannelExpired: false,
  secondaryTiles: { tile: { pushChannel: 'chan-tile' } },
  createdAt: 1,
  updatedAt: 1,
};

test("feedback marks the installation's channel expired only while it is still the dead one", () => {
  assert.equal(expireChannel(inst, 'chan-main', 'chan-main')?.pushChannelExpired, true);
  assert.equal(expireChannel(inst, 'chan-new', 'chan-main'), undefined, 're-registered with a new channel: unchanged');
  assert.equal(inst.pushChannelExpired, false, 'the stored document is not changed in place');
});

test("feedback for a secondary tile's channel marks that tile", () => {
  const changed = expireChannel(inst, 'chan-main', 'chan-tile');
  assert.equal(changed?.pushChannelExpired, false);
  assert.equal(changed?.secondaryTiles?.tile?.pushChannelExpired, true);
  assert.equal(expireChannel(changed!, 'chan-main', 'chan-tile'), undefined, 'already marked: nothing to write');
});
