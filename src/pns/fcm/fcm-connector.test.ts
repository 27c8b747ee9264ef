/** The FCM v1 connector against the FCM emulator (pns-protocols.md §3): OAuth, outcomes, faults. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFcmEmulator, type FcmEmulator } from '../../emulators/fcm/fcm-emulator.ts';
import { ManualClock } from '../../shared/clock.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { FcmConnector } from './fcm-connector.ts';
import type { FcmCredentials } from './fcm-auth.ts';

let emu: FcmEmulator;
let creds: FcmCredentials;
const MSG = JSON.stringify({ message: { notification: { title: 't', body: 'b' }, data: { k: 'v' } } });
const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}`);

before(async () => {
  // Clear text HTTP/2 (prior knowledge) and HTTP/1.1 on one port; TLS is covered by the APNs and Web Push tests.
  emu = await startFcmEmulator({});
  const sa = await emu.mintCredentials({ project: 'herald-test' });
  creds = { platform: 'fcmv1', endpoint: emu.url, serviceAccount: sa as unknown as FcmCredentials['serviceAccount'] };
});
after(() => emu.close());

const tokens = async (n: number, project = 'herald-test'): Promise<string[]> =>
  Promise.all(Array.from({ length: n }, async () => (await emu.mintDevice({ project })).token));

test('two batches: one OAuth exchange, every message delivered with its token and FCM name', async () => {
  const fcm = new FcmConnector();
  try {
    const before = emu.core.stats.snapshot().requests;
    const ts = await tokens(3);
    const a = await fcm.send({ credentials: creds, targets: ts.map((handle) => ({ handle, payload: MSG })) });
    const b = await fcm.send({ credentials: creds, targets: ts.map((handle) => ({ handle, payload: MSG })) });
    assert.ok([...a, ...b].every((o) => o.kind === 'delivered' && /^projects\/herald-test\/messages\//.test(o.pnsMessageId ?? '')));
    assert.equal(emu.core.stats.snapshot().requests - before, 6 + 1, 'six sends and one token exchange');
    const [d] = emu.core.deliveries.list(ts[1]!);
    assert.deepEqual(JSON.parse(d!.payload).token, ts[1]);
  } finally {
    await fcm.close();
  }
});

test('unregistered, other project and unknown tokens are handle-expired; order kept', async () => {
  const fcm = new FcmConnector();
  try {
    const [ok, gone] = await tokens(2);
    const [other] = await tokens(1, 'other-project');
    emu.core.registry.expire(gone!);
    const unknown = `abcdefghijklmnopqrstuv:APA91b${'x'.repeat(134)}`;
    const out = await fcm.send({ credentials: creds, targets: [ok!, gone!, other!, unknown].map((handle) => ({ handle, payload: MSG })) });
    assert.deepEqual(kinds(out), ['delivered/Success', 'handle-expired/ExpiredChannel', 'handle-expired/WrongToken', 'handle-expired/WrongToken']);
    assert.match(out[1]!.reason, /^UNREGISTERED/);
    assert.match(out[2]!.reason, /^SENDER_ID_MISMATCH/);
  } finally {
    await fcm.close();
  }
});

test('bad input and bad credentials are rejected without a network call', async () => {
  const fcm = new FcmConnector();
  try {
    const [t] = await tokens(1);
    const before = emu.core.stats.snapshot();
    const out = await fcm.send({
      credentials: creds,
      targets: [
        { handle: t!, payload: JSON.stringify({ message: { data: { k: 'x'.repeat(4100) } } }) },
        { handle: 'short', payload: MSG },
        { handle: t!, payload: 'not json' },
        { handle: t!, payload: JSON.stringify({ message: { topic: 'news' } }) },
        { handle: t!, payload: JSON.stringify({ message: { token: 'someone-else' } }) },
        { handle: t!, payload: JSON.stringify({ message: { fid: 'dXk3nV9aQ0yF2b8c1ZqW_-' } }) },
        { handle: t!, payload: JSON.stringify({ message: { android: { direct_boot_ok: 'yes' } } }) },
        { handle: 'dXk3nV9aQ0yF2b8c1ZqW_-', payload: MSG },
        { handle: 'fid:not-a-fid', payload: MSG },
      ],
    });
    assert.deepEqual(kinds(out), [
      'rejected/InvalidNotificationSize', 'rejected/WrongToken', 'rejected/PnsInterfaceError', 'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError', 'rejected/PnsInterfaceError', 'rejected/PnsInterfaceError', 'rejected/WrongToken', 'rejected/WrongToken',
    ]);
    assert.match(out[4]!.reason, /sets its own 'token'/);
    assert.deepEqual(kinds(await fcm.send({ credentials: undefined, targets: [{ handle: t!, payload: MSG }] })), ['rejected/InvalidCredentials']);
    const broken = { ...creds, serviceAccount: { ...creds.serviceAccount, private_key: 'nope' } };
    assert.deepEqual(kinds(await fcm.send({ credentials: broken, targets: [{ handle: t!, payload: MSG }] })), ['rejected/InvalidCredentials']);
    assert.deepEqual(emu.core.stats.snapshot(), before, 'the emulator saw no request, not even a token exchange');
  } finally {
    await fcm.close();
  }
});

test('a revoked service-account key: the token exchange fails, every target rejected InvalidCredentials', async () => {
  const fcm = new FcmConnector();
  try {
    const other = await emu.mintCredentials({ project: 'herald-test' });
    const revoked: FcmCredentials = { ...creds, serviceAccount: { ...creds.serviceAccount, private_key: other.private_key } };
    const out = await fcm.send({ credentials: revoked, targets: (await tokens(2)).map((handle) => ({ handle, payload: MSG })) });
    assert.deepEqual(kinds(out), ['rejected/InvalidCredentials', 'rejected/InvalidCredentials']);
    assert.match(out[0]!.reason, /invalid_grant/);
  } finally {
    await fcm.close();
  }
});

/** Waits until `cond` holds, looking again every few ms; the bound only stops a hung test. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const bound = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > bound) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('faults: 429/500/503 with Retry-After, drop, slow answer, 401 (token renewed once), 50% mix: none lost', { timeout: 120_000 }, async () => {
  // Request timeouts (ten minutes) run on this clock: nothing times out unless the test moves it, and
  // on the machine's clock this test would outlast its two-minute bound.
  const clock = new ManualClock(Date.now());
  const fcm = new FcmConnector({ requestTimeoutMs: 600_000, clock });
  try {
    const ts = await tokens(4);
    const one = [{ handle: ts[0]!, payload: MSG }];
    const cases: Array<[Record<string, unknown>, string, number | undefined]> = [
      [{ status: 429, retryAfter: 10 }, 'retry/Throttled', 10_000],
      [{ status: 500 }, 'retry/PnsServerError', undefined],
      [{ status: 503, retryAfter: 3 }, 'retry/PnsUnavailable', 3000],
      [{ drop: true }, 'retry/PnsUnreachable', undefined],
      [{ status: 401 }, 'delivered/Success', undefined],
      // Last: it moves the connector's clock ten minutes on, and the emulator (on the machine's clock) would
      // refuse an assertion minted that far in its future, as the 401 case's new token exchange would be.
      [{ latencyMs: 3_600_000 }, 'retry/PnsUnreachable', undefined],
    ];
    for (const [fault, expected, after] of cases) {
      emu.core.faults.add({ ...fault, count: 1 });
      const sending = fcm.send({ credentials: creds, targets: one });
      if (fault.latencyMs) {
        // The answer is held for an hour: once the emulator has the request, virtual time passes the timeout.
        await until(() => emu.core.faults.list().length === 0, 'the emulator to hold the request');
        clock.advance(600_000);
      }
      const [o] = await sending;
      assert.equal(kinds([o!])[0], expected, JSON.stringify(fault));
      assert.equal(o!.retryAfterMs, after);
    }
    emu.core.faults.add({ status: 503, share: 0.5, count: 10 });
    const out = await fcm.send({ credentials: creds, targets: Array.from({ length: 40 }, (_, i) => ({ handle: ts[i % 4]!, payload: MSG })) });
    assert.equal(out.length, 40);
    assert.ok(out.every((o) => o.kind === 'delivered' || (o.kind === 'retry' && o.azure === 'PnsUnavailable')));
  } finally {
    emu.core.faults.clear();
    await fcm.close();
  }
});

test('a fid: handle is sent as message.fid; the collapse id becomes android.collapse_key unless the message has one (#14 items 3, 7)', async () => {
  const fcm = new FcmConnector();
  try {
    const { fid, handle } = await emu.mintInstallation({ project: 'herald-test' });
    const [t] = await tokens(1);
    const withOwn = JSON.stringify({ message: { android: { collapseKey: 'mine', direct_boot_ok: true }, data: { k: 'v' } } });
    const out = await fcm.send({
      credentials: creds,
      targets: [
        { handle, payload: MSG, collapseId: 'n-1' },
        { handle: t!, payload: MSG, collapseId: 'n-1' },
        { handle: t!, payload: withOwn, collapseId: 'n-1' },
        { handle: t!, payload: MSG },
      ],
    });
    assert.deepEqual(kinds(out), ['delivered/Success', 'delivered/Success', 'delivered/Success', 'delivered/Success']);
    const [viaFid] = emu.core.deliveries.list(fid).map((d) => JSON.parse(d.payload));
    assert.equal(viaFid.fid, fid);
    assert.equal(viaFid.token, undefined);
    assert.deepEqual(viaFid.android, { collapse_key: 'n-1' });
    const [mine, theirs, none] = emu.core.deliveries.list(t!).map((d) => JSON.parse(d.payload));
    assert.deepEqual(mine.android, { collapse_key: 'n-1' });
    assert.deepEqual(theirs.android, { collapseKey: 'mine', direct_boot_ok: true }, "the send's own collapse key is kept");
    assert.equal(none.android, undefined, 'no collapse id, nothing added');

    emu.core.registry.expire(fid);
    const unknown = 'fid:dXk3nV9aQ0yF2b8c1ZqW_-';
    const dead = await fcm.send({ credentials: creds, targets: [{ handle, payload: MSG }, { handle: unknown, payload: MSG }] });
    assert.deepEqual(kinds(dead), ['handle-expired/ExpiredChannel', 'handle-expired/WrongToken']);
  } finally {
    await fcm.close();
  }
});
