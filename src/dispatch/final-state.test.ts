import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalState } from './final-state.ts';

test('a notification ends NoTargetFound without targets, Abandoned when every outcome was abandoned, Completed otherwise', () => {
  assert.equal(finalState({ targets: 0, counts: {} }), 'NoTargetFound');
  assert.equal(finalState({ targets: 2, counts: { apns: { AbandonedNotificationMessages: 1 }, fcmv1: { AbandonedNotificationMessages: 1 } } }), 'Abandoned');
  assert.equal(finalState({ targets: 2, counts: { apns: { AbandonedNotificationMessages: 1, Success: 1 } } }), 'Completed');
  // Targets planned but every registration gone before delivery: nothing counted, still Completed.
  assert.equal(finalState({ targets: 3, counts: {} }), 'Completed');
});
