/**
 * The legacy Node SDK `azure-sb` 0.11 (still widely installed) drives the hub unmodified: it writes
 * registrations in the polymorphic `<RegistrationDescription i:type="…">` form, sends an empty Content-Type on
 * most writes, signs the unencoded request URL, and sends APNs priority and expiry in legacy headers
 * (issue #10, wire tolerance). It speaks HTTPS; the sandbox's development CA is handed to its agent, and the
 * endpoint is 127.0.0.1 because its URL validator refuses a host without a dot (`localhost`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { emulatorCall, startTestHerald, type TestHerald } from './helpers.ts';

const require = createRequire(import.meta.url);
const azure = require('azure-sb') as { createNotificationHubService(hub: string, connectionString: string): any };

type Callback = (err: unknown, result?: any, response?: any) => void;

/** azure-sb's callback API as a promise of [result, response]. */
function sb(fn: (cb: Callback) => void): Promise<[any, any]> {
  return new Promise((resolve, reject) => fn((err, result, response) => (err ? reject(err) : resolve([result, response]))));
}

interface Delivery {
  payload: string;
  headers: Record<string, string>;
}

describe('the legacy azure-sb SDK against the hub', () => {
  let h: TestHerald;
  let service: any;
  before(async () => {
    h = await startTestHerald();
    const cs = (await h.connectionStrings('sandbox')).full.replace('sb://localhost', 'sb://127.0.0.1');
    service = azure.createNotificationHubService('sandbox', cs);
    // request's agent options reach https.Agent: the sandbox's development CA, no other trust change.
    service.agentOptions.ca = readFileSync(h.caCertPath!, 'utf8');
  });
  after(() => h.close());

  const device = (platform: 'apns' | 'wns') => emulatorCall(h, platform, '/_emulator/devices', 'POST', platform === 'apns' ? { topic: 'com.example.app' } : {});
  const deliveries = async (platform: 'apns' | 'wns', handle: string) =>
    (await emulatorCall(h, platform, `/_emulator/deliveries?handle=${encodeURIComponent(handle)}`)).deliveries as Delivery[];
  const stored = async (query: string) => (await h.admin('GET', `/hubs/sandbox/registrations${query}`)).body.items as Array<Record<string, any>>;

  test('registrations of several kinds are created, read, updated, listed by tag and deleted', async () => {
    const apple = await device('apns');
    const wns = await device('wns');

    const [native] = await sb((cb) => service.apns.createNativeRegistration(apple.handle, ['sb-apple', 'sb-all'], cb));
    assert.equal(native.DeviceToken, apple.handle.toUpperCase());
    assert.equal(native._.ContentRootElement, 'AppleRegistrationDescription');
    const [template] = await sb((cb) => service.apns.createTemplateRegistration(apple.handle, ['sb-tmpl'],
      { alert: '$(message)', expiry: '2030-01-31T13:05:09.000Z' }, { headers: { 'apns-priority': '5' } }, cb));
    assert.equal(template._.ContentRootElement, 'AppleTemplateRegistrationDescription');
    const [toast] = await sb((cb) => service.wns.createNativeRegistration(wns.channelUri, ['sb-wns', 'sb-all'], cb));
    assert.equal(toast.ChannelUri, wns.channelUri);
    const [raw] = await sb((cb) => service.wns.createRawTemplateRegistration(wns.channelUri, ['sb-raw'], '{"m":"$(message)"}', { headers: { 'X-WNS-Type': 'wns/raw' } }, cb));
    assert.equal(raw._.ContentRootElement, 'WindowsTemplateRegistrationDescription');
    const [gcm] = await sb((cb) => service.gcm.createNativeRegistration('gcm-token-sb-1', ['sb-gcm'], cb));
    assert.equal(gcm._.ContentRootElement, 'GcmRegistrationDescription');

    const kinds = (await stored('?tagExpression=sb-apple||sb-tmpl||sb-wns||sb-raw||sb-gcm')).map((r) => r.kind).sort();
    assert.deepEqual(kinds, ['Apple', 'AppleTemplate', 'Gcm', 'Windows', 'WindowsTemplate']);
    const storedTemplate = (await stored('?tagExpression=sb-tmpl'))[0]!;
    assert.equal(storedTemplate.template.expiry, '2030-01-31T13:05:09.000Z');

    // A registration id first, then a PUT under it (empty Content-Type, If-Match absent).
    const [id] = await sb((cb) => service.createRegistrationId(cb));
    assert.match(id, /^\d+-\d+-\d$/);
    const [put] = await sb((cb) => service.apns.createOrUpdateNativeRegistration(id, apple.handle, ['sb-put'], cb));
    assert.equal(put.RegistrationId, id);

    // Read, change, write back: getRegistration's object goes back through updateRegistration (i:type, If-Match *).
    const [got] = await sb((cb) => service.getRegistration(id, cb));
    assert.equal(got.Tags, 'sb-put');
    got.Tags = 'sb-put,sb-updated';
    const [updated] = await sb((cb) => service.updateRegistration(got, cb));
    assert.equal(updated.Tags, 'sb-put,sb-updated');
    assert.equal(updated.ETag, '2');

    const [byTag] = await sb((cb) => service.listRegistrationsByTag('sb-all', cb));
    assert.deepEqual(byTag.map((r: any) => r._.ContentRootElement).sort(), ['AppleRegistrationDescription', 'WindowsRegistrationDescription']);
    const [byToken] = await sb((cb) => service.apns.listRegistrationsByToken(apple.handle, cb));
    assert.equal(byToken.length, 3, 'the native, the template and the PUT registration of this token');

    await sb((cb) => service.deleteRegistration(id, cb));
    await sb((cb) => service.deleteRegistration(gcm.RegistrationId, cb));
    assert.deepEqual(await stored('?tagExpression=sb-put||sb-gcm'), []);
    await assert.rejects(sb((cb) => service.getRegistration(id, cb)), (err: any) => err.statusCode === 404);
  });

  test('installations: PUT, PATCH, GET, list by the case-folded system tag, DELETE', async () => {
    const apple = await device('apns');
    await sb((cb) => service.createOrUpdateInstallation({ installationId: 'sb-inst-1', platform: 'apns', pushChannel: apple.handle, tags: ['sb-inst'] }, cb));
    await sb((cb) => service.patchInstallation('sb-inst-1', [{ op: 'add', path: '/tags', value: 'sb-patched' }], cb));
    const [inst] = await sb((cb) => service.getInstallation('sb-inst-1', cb));
    assert.deepEqual(inst.tags, ['sb-inst', 'sb-patched']);
    // The path carries `{…}` unencoded in the signed URL and `%7B…%7D` on the request line.
    for (const tag of ['$InstallationId:{sb-inst-1}', '$installationid:{sb-inst-1}']) {
      const [regs] = await sb((cb) => service.listRegistrationsByTag(tag, cb));
      assert.equal(regs.length, 1, tag);
      assert.equal(regs[0].DeviceToken, apple.handle.toUpperCase());
    }
    await sb((cb) => service.deleteInstallation('sb-inst-1', cb));
    await assert.rejects(sb((cb) => service.getInstallation('sb-inst-1', cb)), (err: any) => err.statusCode === 404);
  });

  test('native and template sends reach the devices, with the legacy APNs headers applied', async () => {
    const apple = await device('apns');
    const templated = await device('apns');
    const wns = await device('wns');
    const rawWns = await device('wns');
    await sb((cb) => service.apns.createNativeRegistration(apple.handle, ['sb-send'], cb));
    await sb((cb) => service.apns.createTemplateRegistration(templated.handle, ['sb-send-tmpl'], { alert: '$(message)', badge: '#(count)' }, cb));
    await sb((cb) => service.wns.createNativeRegistration(wns.channelUri, ['sb-send'], cb));
    await sb((cb) => service.wns.createRawTemplateRegistration(rawWns.channelUri, ['sb-send-tmpl'], '{"m":"$(message)"}', { headers: { 'X-WNS-Type': 'wns/raw' } }, cb));

    // azure-sb moves `expiry` and `priority` out of the payload into ServiceBusNotification-Apns-Expiry / X-Apns-Priority.
    const [sent] = await sb((cb) => service.apns.send('sb-send', { alert: 'native hello', expiry: new Date('2030-01-31T13:05:09Z'), priority: 5 }, cb));
    assert.equal(sent.statusCode, 201);
    await sb((cb) => service.wns.sendToastText01('sb-send', { text1: 'toast hello' }, cb));
    await sb((cb) => service.wns.sendRaw('sb-send', 'raw hello', cb));
    await sb((cb) => service.send('sb-send-tmpl', { message: 'template hello', count: '7' }, cb));
    await h.worker.idle();

    const native = await deliveries('apns', apple.handle);
    assert.equal(native.length, 1);
    assert.deepEqual(JSON.parse(native[0]!.payload), { aps: { alert: 'native hello' } });
    assert.equal(native[0]!.headers['apns-priority'], '5');
    assert.equal(native[0]!.headers['apns-expiration'], String(Date.UTC(2030, 0, 31, 13, 5, 9) / 1000));

    const rendered = await deliveries('apns', templated.handle);
    assert.deepEqual(JSON.parse(rendered[0]!.payload), { aps: { alert: 'template hello', badge: 7 } });

    const toasts = await deliveries('wns', wns.handle);
    assert.equal(toasts.length, 2);
    assert.match(toasts.find((d) => d.headers['x-wns-type'] === 'wns/toast')!.payload, /toast hello/);
    assert.equal(toasts.find((d) => d.headers['x-wns-type'] === 'wns/raw')!.payload, 'raw hello');

    const raw = await deliveries('wns', rawWns.handle);
    assert.equal(raw.length, 1);
    assert.equal(raw[0]!.payload, '{"m":"template hello"}');
  });
});
