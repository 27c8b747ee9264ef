/**
 * Issue 14 items 5 and 6 end to end, in sandbox mode: the official client registers devices the emulators
 * handed out and sends; the connectors talk to the emulators; the management API shows each device's outcome.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationHubsClient, createWindowsRegistrationDescription, createWindowsToastNotification } from '@azure/notification-hubs';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

const TOAST = '<toast><visual><binding template="ToastGeneric"><text>hello windows</text></binding></visual></toast>';

describe('WNS and ADM through the sandbox emulators (#14 items 5, 6)', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
  });
  after(() => h.close());

  const outcomes = async (id: string) => (await h.admin('GET', `/hubs/sandbox/messages/${id}/outcomes`)).body.items as Array<Record<string, any>>;

  test('WNS: the Entra-credentialed toast is delivered and its outcome keeps X-WNS-Status, X-WNS-DeviceConnectionStatus and X-WNS-Msg-ID', async () => {
    const creds = (await h.admin('GET', '/hubs/sandbox/credentials/wns')).body;
    assert.ok(creds.summary.tenantId, 'the sandbox uses the Microsoft Entra flow');
    const channel = await emulatorCall(h, 'wns', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createWindowsRegistrationDescription({ channelUri: channel.channelUri, tags: ['wns-status'] }));
    const res = await client.sendNotification(createWindowsToastNotification({ body: TOAST }), { tagExpression: 'wns-status' });
    await h.settle();
    const got = (await emulatorCall(h, 'wns', `/_emulator/deliveries?handle=${encodeURIComponent(channel.handle)}`)).deliveries;
    assert.equal(got.length, 1);
    assert.equal(got[0].headers['x-wns-requestforstatus'], 'true');
    const [o] = await outcomes(res.notificationId!);
    assert.equal(o!.outcome, 'Success');
    assert.equal(o!.pns['X-WNS-Status'], 'received');
    assert.equal(o!.pns['X-WNS-DeviceConnectionStatus'], 'connected');
    assert.match(o!.pns['X-WNS-Msg-ID'], /^[0-9A-F]{16}$/);
  });
});
