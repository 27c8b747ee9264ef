import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registration } from '../registry/model.ts';
import { MAX_CACHED_TEMPLATE_CHARS, MAX_CACHED_TEMPLATES, Renderer, type StoredRequest } from './render.ts';

const send: StoredRequest = {
  format: 'template',
  target: { kind: 'broadcast' },
  test: false,
  headers: {},
  payload: { kind: 'template', properties: { message: 'hi' } },
  body: '{"message":"hi"}',
  eligibleKinds: ['AppleTemplate'],
  acceptedAt: 0,
};

const device = (i: number, body: string): Registration => ({
  id: `r${i}`,
  kind: 'AppleTemplate',
  handle: { platform: 'apns', value: 'a'.repeat(64) },
  tags: [],
  template: { body },
  etag: 1,
  createdAt: 0,
  updatedAt: 0,
});

test('bounded: compiled templates are kept within a count and a size, however many distinct bodies devices registered', () => {
  const renderer = new Renderer();
  // Templates may be 64 KiB each; 3,000 distinct large ones would be ~190 M characters if all were kept.
  const filler = 'x'.repeat(60_000);
  for (let i = 0; i < 3000; i++) {
    const out = renderer.render(send, device(i, `{"aps":{"alert":"$(message)"},"n":"${i} ${filler}"}`));
    assert.ok(String(out.payload).startsWith(`{"aps":{"alert":"hi"},"n":"${i} `));
    assert.ok(renderer.cachedTemplateChars <= MAX_CACHED_TEMPLATE_CHARS, `${renderer.cachedTemplateChars} characters of templates cached`);
  }
  for (let i = 0; i < 100_000; i++) {
    renderer.render(send, device(i, `{"aps":{"alert":"$(message)"},"n":"${i}"}`));
    assert.ok(renderer.cachedTemplates <= MAX_CACHED_TEMPLATES);
  }
});
