/**
 * The registry through the official @azure/notification-hubs 2.1.0 client (wire spec test plan T2 to
 * T15), checking the stored state through the management API, not only the status codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import {
  NotificationHubsClient,
  createAdmRegistrationDescription,
  createAdmTemplateRegistrationDescription,
  createAppleInstallation,
  createAppleRegistrationDescription,
  createAppleTemplateRegistrationDescription,
  createBaiduRegistrationDescription,
  createBaiduTemplateRegistrationDescription,
  createBrowserInstallation,
  createBrowserRegistrationDescription,
  createBrowserTemplateRegistrationDescription,
  createFcmLegacyRegistrationDescription,
  createFcmLegacyTemplateRegistrationDescription,
  createFcmV1RegistrationDescription,
  createFcmV1TemplateRegistrationDescription,
  createWindowsRegistrationDescription,
  createWindowsTemplateRegistrationDescription,
  createXiaomiRegistrationDescription,
  createXiaomiTemplateRegistrationDescription,
  type RegistrationDescription,
} from '@azure/notification-hubs';
import { allowHttpPolicy, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';


function webPushKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

const token = () => randomBytes(32).toString('hex');

describe('registry through the official Azure client', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  let listenClient: NotificationHubsClient;
  before(async () => {
    h = await startTestHerald();
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    listenClient = new NotificationHubsClient(await httpConnectionString(h, 'listen'), 'sandbox', allowHttpPolicy as never);
  });
  after(() => h.close());

  const stored = async (path: string) => (await h.admin('GET', `/hubs/sandbox${path}`)).body;

  test('T2, T5: an Apple installation is stored and materialised with system tags; GET echoes it', async () => {
    const pushChannel = token();
    const res = await listenClient.createOrUpdateInstallation(
      createAppleInstallation({
        installationId: 'inst-apple-1',
        pushChannel,
        tags: ['likes_hockey', 'likes_football'],
        userId: 'user1',
        templates: { t1: { body: '{"aps":{"alert":"$(message)"}}', headers: { 'apns-priority': '10' }, tags: ['tt'] } },
      }),
    );
    assert.ok(res.trackingId);
    const got = await client.getInstallation('inst-apple-1');
    assert.equal(got.installationId, 'inst-apple-1');
    assert.equal(got.platform, 'apns');
    assert.equal(got.pushChannel, pushChannel.toUpperCase());
    assert.equal(got.pushChannelExpired, false);
    assert.equal(got.expirationTime, '9999-12-31T23:59:59.9999999Z');
    assert.deepEqual(got.tags, ['likes_hockey', 'likes_football']);
    assert.deepEqual(got.templates?.t1?.tags, ['tt', 't1'], 'the template name is added to its tags');

    const regs = (await stored('/registrations?installationId=inst-apple-1')).items;
    assert.equal(regs.length, 2, 'the native registration and one per template');
    const native = regs.find((r: { kind: string }) => r.kind === 'Apple');
    const tmpl = regs.find((r: { kind: string }) => r.kind === 'AppleTemplate');
    for (const tag of ['likes_hockey', 'likes_football', '$InstallationId:{inst-apple-1}', '$UserId:{user1}']) {
      assert.ok(native.tags.includes(tag), tag);
      assert.ok(tmpl.tags.includes(tag), tag);
    }
    assert.ok(tmpl.tags.includes('tt') && tmpl.tags.includes('t1'));
    assert.equal(tmpl.template.body, '{"aps":{"alert":"$(message)"}}');
    const byUser = (await stored('/installations?userId=user1&count=true'));
    assert.equal(byUser.total, 1);
  });

  test('T3: a browser installation with a pushChannel object, and .NET style as a JSON string', async () => {
    const keys = webPushKeys();
    // A sandbox's Web Push endpoints are its emulator's (issue 10 item 11).
    const endpoint = `${new URL(h.emulatorUrls!.browser!).origin}/send/abc`;
    await client.createOrUpdateInstallation(createBrowserInstallation({ installationId: 'inst-web', pushChannel: { endpoint, ...keys }, tags: ['web'] }));
    const got = await client.getInstallation('inst-web');
    assert.deepEqual(got.pushChannel, { endpoint, ...keys });

    const res = await fetch(`${h.httpUrl}/sandbox/installations/inst-web-net?api-version=2020-06`, {
      method: 'PUT',
      headers: { authorization: await sasFor(h), 'content-type': 'application/json' },
      body: JSON.stringify({ installationId: 'inst-web-net', platform: 'browser', pushChannel: JSON.stringify({ endpoint, ...keys }) }),
    });
    assert.equal(res.status, 200);
    assert.equal((await stored('/registrations?installationId=inst-web-net')).items[0].handle.value, endpoint);
  });

  test('T4: PATCH adds and removes tags, changes the user, adds a template from a JSON string, replaces the channel', async () => {
    const newChannel = token();
    const res = await client.updateInstallation('inst-apple-1', [
      { op: 'add', path: '/tags', value: 'likes_baseball' },
      { op: 'remove', path: '/tags/likes_hockey' },
      { op: 'replace', path: '/userId', value: 'bob' },
      { op: 'add', path: '/templates/t2', value: JSON.stringify({ body: '{"aps":{"alert":"$(title)"}}', tags: ['x'] }) },
      { op: 'replace', path: '/pushChannel', value: newChannel },
    ]);
    assert.ok(res);
    const got = await client.getInstallation('inst-apple-1');
    assert.deepEqual(got.tags, ['likes_football', 'likes_baseball']);
    assert.equal(got.userId, 'bob');
    assert.equal(got.pushChannel, newChannel.toUpperCase());
    assert.deepEqual(Object.keys(got.templates ?? {}).sort(), ['t1', 't2']);
    const regs = (await stored('/registrations?installationId=inst-apple-1')).items;
    assert.equal(regs.length, 3);
    assert.ok(regs.every((r: { tags: string[]; handle: { value: string } }) => r.tags.includes('$UserId:{bob}') && !r.tags.includes('$UserId:{user1}') && r.handle.value === newChannel.toUpperCase()));
    await client.updateInstallation('inst-apple-1', [{ op: 'remove', path: '/userId' }]);
    assert.equal((await client.getInstallation('inst-apple-1')).userId, undefined);
  });

  test('T5, T6: unknown installation is a 404 RestError; DELETE answers 204 twice and removes its registrations', async () => {
    await assert.rejects(client.getInstallation('nope'), (e: { statusCode?: number; message: string }) => e.statusCode === 404 && /Installation not found/.test(e.message));
    await client.deleteInstallation('inst-web');
    await client.deleteInstallation('inst-web');
    assert.equal((await stored('/registrations?installationId=inst-web')).items.length, 0);
    await assert.rejects(client.getInstallation('inst-web'), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('T7: createRegistrationId gives an id that a later PUT creates', async () => {
    const id = await client.createRegistrationId();
    assert.match(id, /^\d+-\d+-1$/);
    const reg = await client.createOrUpdateRegistration(createAppleRegistrationDescription({ registrationId: id, deviceToken: token(), tags: ['reserved'] }));
    assert.equal(reg.registrationId, id);
    assert.equal(reg.etag, '1');
  });

  test('T8: every kind the JS client can create round-trips, with the stored state', async () => {
    const keys = webPushKeys();
    const wnsHeaders = { 'X-WNS-Type': 'wns/toast' };
    const toast = '<toast><visual><binding template="ToastText01"><text id="1">$(message)</text></binding></visual></toast>';
    const kinds: Array<[string, RegistrationDescription]> = [
      ['Apple', createAppleRegistrationDescription({ deviceToken: 'abcdef0123456789', tags: ['k'] })],
      ['AppleTemplate', createAppleTemplateRegistrationDescription({ deviceToken: token(), bodyTemplate: '{"aps":{"alert":"$(message)","badge":"#(count)"}}', templateName: 'tmpl', expiry: new Date('2030-01-01T00:00:00Z'), apnsHeaders: { 'apns-push-type': 'alert' }, tags: ['k'] })],
      ['Gcm', createFcmLegacyRegistrationDescription({ gcmRegistrationId: 'gcm-token-1', tags: ['k'] })],
      ['GcmTemplate', createFcmLegacyTemplateRegistrationDescription({ gcmRegistrationId: 'gcm-token-2', bodyTemplate: '{"data":{"m":"$(message)"}}', tags: ['k'] })],
      ['FcmV1', createFcmV1RegistrationDescription({ fcmV1RegistrationId: 'fcm-token-1', tags: ['k'] })],
      ['FcmV1Template', createFcmV1TemplateRegistrationDescription({ fcmV1RegistrationId: 'fcm-token-2', bodyTemplate: '{"message":{"notification":{"title":"$(title)"}}}', templateName: 'fcmT', tags: ['k'] })],
      ['Windows', createWindowsRegistrationDescription({ channelUri: 'https://db5.notify.windows.com/?token=AwYAAAB%2b', tags: ['k'] })],
      ['WindowsTemplate', createWindowsTemplateRegistrationDescription({ channelUri: 'https://db5.notify.windows.com/?token=T2', bodyTemplate: toast, wnsHeaders, templateName: 'toastTemplate', tags: ['k'] })],
      ['Browser', createBrowserRegistrationDescription({ endpoint: `${new URL(h.emulatorUrls!.browser!).origin}/a`, ...keys, tags: ['k'] })],
      ['BrowserTemplate', createBrowserTemplateRegistrationDescription({ endpoint: `${new URL(h.emulatorUrls!.browser!).origin}/b`, ...keys, bodyTemplate: '{"title":"$(title)"}', tags: ['k'] })],
      ['Adm', createAdmRegistrationDescription({ admRegistrationId: 'amzn1.adm-registration.v2.1', tags: ['k'] })],
      ['AdmTemplate', createAdmTemplateRegistrationDescription({ admRegistrationId: 'amzn1.adm-registration.v2.2', bodyTemplate: '{"data":{"m":"$(message)"}}', tags: ['k'] })],
      ['Baidu', createBaiduRegistrationDescription({ baiduChannelId: 'ch1', baiduUserId: 'u1', tags: ['k'] })],
      ['BaiduTemplate', createBaiduTemplateRegistrationDescription({ baiduChannelId: 'ch2', baiduUserId: 'u2', bodyTemplate: '{"title":"$(title)"}', tags: ['k'] })],
      ['Xiaomi', createXiaomiRegistrationDescription({ xiaomiRegistrationId: 'xm-1', tags: ['k'] })],
      ['XiaomiTemplate', createXiaomiTemplateRegistrationDescription({ xiaomiRegistrationId: 'xm-2', bodyTemplate: '{"title":"$(title)"}', tags: ['k'] })],
    ];
    for (const [kind, description] of kinds) {
      const created = await client.createRegistration(description);
      assert.equal(created.kind, kind);
      assert.ok(created.registrationId, kind);
      assert.equal(created.etag, '1', kind);
      assert.ok(created.expirationTime instanceof Date && !Number.isNaN(created.expirationTime.getTime()), kind);
      assert.deepEqual(created.tags, ['k'], kind);
      const fetched = await client.getRegistration(created.registrationId!);
      assert.equal(fetched.kind, kind);
      const row = (await stored(`/registrations?handle=${encodeURIComponent(handleOf(fetched))}`)).items.find((r: { registrationId: string }) => r.registrationId === created.registrationId);
      assert.equal(row?.kind, kind, `${kind} is stored`);
    }
    const apple = await client.getRegistration((await client.createRegistration(createAppleRegistrationDescription({ deviceToken: 'aabbccdd' }))).registrationId!);
    assert.equal((apple as { deviceToken: string }).deviceToken, 'AABBCCDD', 'Apple tokens are upper-cased');
  });

  test('T9, T10: createOrUpdate creates then bumps the ETag; update with a stale ETag is 412', async () => {
    const id = 'custom-123-234-1';
    const first = await client.createOrUpdateRegistration(createFcmV1RegistrationDescription({ registrationId: id, fcmV1RegistrationId: 'fcm-upsert' }));
    assert.equal(first.etag, '1');
    const second = await client.createOrUpdateRegistration(createFcmV1RegistrationDescription({ registrationId: id, fcmV1RegistrationId: 'fcm-upsert', tags: ['two'] }));
    assert.equal(second.etag, '2');
    const third = await client.updateRegistration({ ...second, tags: ['three'] });
    assert.equal(third.etag, '3');
    await assert.rejects(client.updateRegistration({ ...second, tags: ['stale'] }), (e: { statusCode?: number }) => e.statusCode === 412);
    assert.deepEqual((await client.getRegistration(id)).tags, ['three'], 'the stale update changed nothing');
  });

  test('T11, T12: get and delete with ETags; unknown ids are 404', async () => {
    const reg = await client.createRegistration(createXiaomiRegistrationDescription({ xiaomiRegistrationId: 'xm-del' }));
    await assert.rejects(client.getRegistration('no-such-id'), (e: { statusCode?: number }) => e.statusCode === 404);
    await assert.rejects(client.deleteRegistration(reg.registrationId!, { etag: '7' }), (e: { statusCode?: number }) => e.statusCode === 412);
    await client.deleteRegistration(reg.registrationId!, { etag: '1' });
    await assert.rejects(client.getRegistration(reg.registrationId!), (e: { statusCode?: number }) => e.statusCode === 404);
    await assert.rejects(client.deleteRegistration(reg.registrationId!), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('T13: listing with top=2 pages through everything once, continuation tokens round-trip', async () => {
    for (let i = 0; i < 5; i++) await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: `page-${i}`, tags: ['paged'] }));
    const all: string[] = [];
    let pages = 0;
    for await (const page of client.listRegistrations({ top: 2 }).byPage()) {
      assert.ok(page.length <= 2);
      pages++;
      all.push(...page.map((r) => r.registrationId!));
    }
    const total = (await stored('/registrations?count=true&top=1')).total;
    assert.equal(all.length, total);
    assert.equal(new Set(all).size, all.length, 'no duplicates');
    assert.equal(pages, Math.ceil(total / 2));
  });

  test('T14: listing by a tag with characters the client percent-encodes', async () => {
    const tag = '$InstallationId:{inst apple 2}';
    await client.createRegistration(createAppleRegistrationDescription({ deviceToken: token(), tags: ['x'] }));
    const res = await fetch(`${h.httpUrl}/sandbox/installations/${encodeURIComponent('inst apple 2')}`, { method: 'PUT' });
    assert.equal(res.status, 401, 'ids with spaces are fine in paths, authentication still applies');
    const paged: string[] = [];
    for await (const r of client.listRegistrationsByTag('paged', { top: 2 })) paged.push(r.registrationId!);
    assert.equal(paged.length, 5);
    const byTag: RegistrationDescription[] = [];
    for await (const r of client.listRegistrationsByTag('$InstallationId:{inst-apple-1}')) byTag.push(r);
    assert.equal(byTag.length, 3);
    const none: RegistrationDescription[] = [];
    for await (const r of client.listRegistrationsByTag(tag)) none.push(r);
    assert.equal(none.length, 0);
  });

  test('T15: listing by channel for each platform, with the JS client quirks', async () => {
    const collect = async (channel: Parameters<NotificationHubsClient['listRegistrationsByChannel']>[0]) => {
      const out: RegistrationDescription[] = [];
      for await (const r of client.listRegistrationsByChannel(channel)) out.push(r);
      return out;
    };
    assert.equal((await collect({ kind: 'apple', deviceToken: 'abcdef0123456789' })).length, 1);
    assert.equal((await collect({ kind: 'windows', channelUri: 'https://db5.notify.windows.com/?token=AwYAAAB%2b' })).length, 1);
    assert.equal((await collect({ kind: 'fcmv1', fcmV1RegistrationId: 'fcm-token-1' })).length, 1);
    assert.equal((await collect({ kind: 'gcm', gcmRegistrationId: 'gcm-token-1' })).length, 1);
    assert.equal((await collect({ kind: 'adm', admRegistrationId: 'amzn1.adm-registration.v2.1' })).length, 1);
    assert.equal((await collect({ kind: 'baidu', baiduChannelId: 'ch1', baiduUserId: 'u1' })).length, 1);
    assert.equal((await collect({ kind: 'baidu', baiduChannelId: 'ch1', baiduUserId: 'someone-else' })).length, 0);
    assert.equal((await collect({ kind: 'fcmv1', fcmV1RegistrationId: 'nobody' })).length, 0);
    // .NET: `ChannelUri eq '<handle>'` matches the handle of any platform.
    const res = await fetch(`${h.httpUrl}/sandbox/registrations?$top=100&$filter=ChannelUri+eq+%27fcm-token-1%27`, { headers: { authorization: await sasFor(h) } });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).match(/<entry/g)?.length, 1);
  });
});

/** A token for raw requests, signed with the Full rule's key. */
async function sasFor(h: TestHerald): Promise<string> {
  const { createSasToken } = await import('../src/auth/sas.ts');
  const rule = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
  return createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 300);
}

function handleOf(r: RegistrationDescription): string {
  const x = r as unknown as Record<string, string>;
  return x.deviceToken ?? x.gcmRegistrationId ?? x.fcmV1RegistrationId ?? x.channelUri ?? x.endpoint ?? x.admRegistrationId ?? x.baiduChannelId ?? x.xiaomiRegistrationId ?? '';
}
