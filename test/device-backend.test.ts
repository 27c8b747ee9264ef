/**
 * `herald device --backend`: a simulated device registers through the app backend of
 * examples/notify-users (never holding a hub credential), receives a template send to its topic, and
 * reads a secure push's payload with the credential its backend obtains for it (issue 6, item 3).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createBackend } from '../examples/notify-users/backend.ts';
import { allowHttpPolicy, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';
import { heraldBin } from './cli-bin.ts';

const bin = heraldBin;

describe('a simulated device behind the example backend', () => {
  let h: TestHerald;
  let backend: FastifyInstance;
  let backendUrl: string;
  before(async () => {
    h = await startTestHerald();
    backend = createBackend({ connectionString: await httpConnectionString(h), hubName: 'sandbox', clientOptions: allowHttpPolicy as never });
    backendUrl = await backend.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await backend.close();
    await h.close();
  });

  test('registers through the backend, gets its topic, and reads a secure payload', { timeout: 180_000 }, async () => {
    const child = spawn(process.execPath, [bin, 'device', 'android', '--backend', backendUrl, '--user', '7', '--topics', 'Comment', '--count', '2', '--json'], {
      env: { ...process.env, HERALD_URL: h.adminUrl, HERALD_ADMIN_KEY: h.adminKey, HERALD_DATA: h.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: Array<Record<string, unknown>> = [];
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let buffer = '';
    child.stdout.on('data', (c) => {
      buffer += c;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const l of lines) if (l.trim()) events.push(JSON.parse(l));
    });
    const waitFor = async (pred: (e: Record<string, unknown>) => boolean, what: string) => {
      // A bound that only stops a hung test: the device stops by itself after its two notifications.
      const until = Date.now() + 60_000;
      while (!events.some(pred)) {
        if (Date.now() > until) throw new Error(`no ${what}; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return events.find(pred)!;
    };
    const registered = await waitFor((e) => e.event === 'registered', 'registration');
    const notify = (path: string, body: unknown) =>
      fetch(`${backendUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer 7' }, body: JSON.stringify(body) });
    assert.ok((await notify('/notify', { userId: '7', event: 'Comment', message: 'a new comment' })).ok);
    const plain = await waitFor((e) => e.event === 'notification' && String(e.payload).includes('a new comment'), 'template notification');
    assert.ok(plain);
    assert.ok((await notify('/notify/secure', { userId: '7', message: 'your code is 123456' })).ok);
    const secure = await waitFor((e) => e.event === 'secure-payload', 'secure payload');
    assert.match(String(secure.payload), /your code is 123456/);
    const envelope = events.find((e) => e.event === 'notification' && String(e.payload).includes('heraldSecureId'));
    assert.ok(envelope && !String(envelope.payload).includes('123456'), 'the PNS carried only the id');
    // The device stops by itself once its two notifications are here.
    assert.equal(await exited, 0, err);
    assert.deepEqual(events.at(-1), { event: 'stopped', installationId: registered.installationId, received: 2 });
    assert.equal(registered.installationId !== undefined, true);
  });

  test('--backend needs --user', async () => {
    const child = spawn(process.execPath, [bin, 'device', 'ios', '--backend', backendUrl, '--listen-seconds', '1'], {
      env: { ...process.env, HERALD_URL: h.adminUrl, HERALD_ADMIN_KEY: h.adminKey, HERALD_DATA: h.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.equal(err, 'herald: --backend needs --user: the app signs in to its backend as a user\n');
  });
});
