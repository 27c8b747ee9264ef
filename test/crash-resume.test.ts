/**
 * Durability of the send pipeline (issue: "after a crash (kill -9) in the middle of a broadcast, a
 * restart resumes it: every target gets the notification at least once, and duplicates are at most
 * the batches that were in flight"). The hub and the emulators run as separate processes, so killing
 * the hub leaves the devices and what they received intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSasToken } from '../src/auth/sas.ts';
import { BATCH_SIZE } from '../src/dispatch/dispatcher.ts';
import { tempDir } from './helpers.ts';
import { heraldBin } from './cli-bin.ts';

const bin = heraldBin;
const DEVICES = 4 * BATCH_SIZE;
/** Pushes of the second batch that arrive before the kill (and so arrive twice). */
const PART_OF_SECOND = 100;

function start(args: string[], env: NodeJS.ProcessEnv, ready: (line: string) => boolean): Promise<{ child: ChildProcess; line: string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find(ready);
      if (line) resolve({ child, line, exit });
    });
    child.stderr!.on('data', (c) => (err += c));
    child.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${err}`)));
  });
}

function call(url: string, method: string, ca: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode! < 300 ? resolve(text ? JSON.parse(text) : undefined) : reject(new Error(`${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('a broadcast interrupted by kill -9 is resumed after a restart: everyone at least once, few duplicates', { timeout: 180_000 }, async (t) => {
  const data = tempDir();
  const config = join(data, 'herald.yaml');
  // One batch at a time, so "the batches in flight" is exactly one. Nothing is released at start-up: the
  // restarted hub takes the dead one's batch back once its lease lapsed (a short lease keeps the test short).
  writeFileSync(config, 'dispatch:\n  concurrency: 1\n  leaseSeconds: 2\n');
  const emulators = await start(['emulators', '--data', data, '--json'], {}, (l) => l.includes('"emulators"'));
  const fcmUrl = JSON.parse(emulators.line).emulators.fcmv1 as string;
  const ca = readFileSync(join(data, 'tls', 'ca.crt'), 'utf8');
  const env = { NODE_EXTRA_CA_CERTS: join(data, 'tls', 'ca.crt'), HERALD_LOG_LEVEL: 'warn' };
  const serveArgs = ['serve', '--data', data, '--port', '0', '--tls-port', '0', '--config', config, '--json'];
  let hub = await start(serveArgs, env, (l) => l.includes('"httpUrl"'));
  try {
    const httpUrl = JSON.parse(hub.line).httpUrl as string;
    const adminKey = readFileSync(join(data, 'admin.key'), 'utf8').trim();
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${httpUrl}/_admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));
    const created = await admin('POST', '/hubs', { name: 'crash' });
    assert.equal(created.status, 201);
    const serviceAccount = await call(`${fcmUrl}/_emulator/credentials`, 'POST', ca, {});
    assert.equal((await admin('PUT', '/hubs/crash/credentials/fcmv1', { serviceAccount, endpoint: fcmUrl })).status, 200);

    const key = /SharedAccessKey=(.*)$/.exec(created.body.connectionStrings.full as string)![1]!;
    const auth = createSasToken(`${httpUrl}/`, 'DefaultFullSharedAccessSignature', key, Math.floor(Date.now() / 1000) + 3600);
    const devices: Array<{ handle: string; token: string }> = [];
    for (let i = 0; i < DEVICES; i += 50) {
      const minted = await Promise.all(Array.from({ length: 50 }, () => call(`${fcmUrl}/_emulator/devices`, 'POST', ca, {})));
      devices.push(...minted);
      await Promise.all(
        minted.map((d) =>
          fetch(`${httpUrl}/crash/registrations?api-version=2020-06`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/atom+xml;type=entry;charset=utf-8' },
            body: `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><FcmV1RegistrationDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><FcmV1RegistrationId>${d.token}</FcmV1RegistrationId></FcmV1RegistrationDescription></content></entry>`,
          }).then((r) => assert.equal(r.status, 200)),
        ),
      );
    }

    // The emulator answers the first batch and the first part of the second, then holds every later push
    // unanswered: the kill lands mid-broadcast with one batch in flight, however fast or slow the machine
    // is (no race against a latency). Its token endpoint takes no faults.
    const answered = BATCH_SIZE + PART_OF_SECOND;
    const delivered = async () => ((await call(`${fcmUrl}/_emulator/stats`, 'GET', ca)).byStatus?.['200'] ?? 0) as number;
    const earlier = await delivered();
    await call(`${fcmUrl}/_emulator/faults`, 'POST', ca, { latencyMs: 0, count: answered });
    await call(`${fcmUrl}/_emulator/faults`, 'POST', ca, { latencyMs: 3_600_000 });
    const sent = await fetch(`${httpUrl}/crash/messages/?api-version=2020-06`, {
      method: 'POST',
      headers: { authorization: auth, 'ServiceBusNotification-Format': 'fcmv1', 'content-type': 'application/json;charset=utf-8' },
      body: JSON.stringify({ message: { data: { n: 'survives' } } }),
    });
    assert.equal(sent.status, 201);
    const id = new URL(sent.headers.get('location')!).pathname.split('/')[3]!;

    // A bound that only stops a hung test: the hub reaches the held requests by itself.
    const until = Date.now() + 60_000;
    while ((await delivered()) - earlier < answered && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const before = (await delivered()) - earlier;
    assert.ok(before >= answered && before < DEVICES, `the kill lands mid-broadcast (${before} answers, token exchanges included, for ${DEVICES} devices)`);
    hub.child.kill('SIGKILL');
    await hub.exit;
    await call(`${fcmUrl}/_emulator/faults`, 'DELETE', ca);

    hub = await start(serveArgs, env, (l) => l.includes('"httpUrl"'));
    const httpUrl2 = JSON.parse(hub.line).httpUrl as string;
    const auth2 = createSasToken(`${httpUrl2}/`, 'DefaultFullSharedAccessSignature', key, Math.floor(Date.now() / 1000) + 3600);
    let state = '';
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const details = await fetch(`${httpUrl2}/crash/messages/${id}?api-version=2020-06`, { headers: { authorization: auth2 } }).then((r) => r.text());
      state = /<State>([^<]+)</.exec(details)?.[1] ?? '';
      if (state === 'Completed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(state, 'Completed');

    let missing = 0;
    let total = 0;
    const collapseKeys = new Set<string>();
    for (let i = 0; i < devices.length; i += 100) {
      const lists = await Promise.all(devices.slice(i, i + 100).map((d) => call(`${fcmUrl}/_emulator/deliveries?handle=${encodeURIComponent(d.handle)}`, 'GET', ca).then((r) => r.deliveries as Array<{ payload: string }>)));
      for (const list of lists) {
        if (list.length === 0) missing++;
        total += list.length;
        for (const d of list) collapseKeys.add(String(JSON.parse(d.payload).android?.collapse_key));
      }
    }
    // Issue 14 item 7: every attempt carries the notification id as collapse_key, so the duplicates of the
    // batch in flight collapse into one notification on the device.
    assert.deepEqual([...collapseKeys], [id], 'one collapse key, the notification id, on every delivery and every attempt');
    t.diagnostic(`${DEVICES} devices; ${before} delivered before the kill; ${total} deliveries in all (${total - DEVICES} duplicates)`);
    assert.equal(missing, 0, 'every device got the notification');
    assert.ok(total - DEVICES <= BATCH_SIZE, `duplicates (${total - DEVICES}) are at most the one batch that was in flight`);
    assert.equal(total - DEVICES, PART_OF_SECOND, 'the duplicates are the part of the batch in flight that had arrived');
  } finally {
    hub.child.kill('SIGTERM');
    emulators.child.kill('SIGTERM');
    await Promise.all([hub.exit, emulators.exit]);
  }
});
