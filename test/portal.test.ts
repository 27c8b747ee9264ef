/**
 * The portal in a real browser (issue 13 item 3): Debian's Chromium driven by playwright-core. A person logs
 * in, creates a hub, sets credentials from the sandbox, registers a simulated device, test-sends and sees
 * the device's result, sends for real and follows it, regenerates a key and the old connection string is
 * refused; every page is walked with the keyboard; no page writes an error to the console.
 *
 * Skips (saying why) only when /usr/bin/chromium is missing; .ci/run installs it. Every wait is for a
 * selector or an answer, never for time to pass.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { createSasToken } from '../src/auth/sas.ts';
import { parseConnectionString, removeTempDir, startTestHerald, tempDir, type TestHerald } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
/** Browser-side expressions (strings: this file is type-checked without the DOM library). */
/**
 * Polls an input's value until `ok` holds (bounded: 60 s). Not page.waitForFunction: its predicate is
 * evaluated inside the page, where the portal's Content-Security-Policy (script-src 'self') forbids eval.
 */
async function waitForValue(input: Locator, ok: (value: string) => boolean): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const value = await input.inputValue();
    if (ok(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the input never showed the expected value');
}
const shown = (value: string) => value.startsWith('Endpoint=');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does) to run the portal's browser tests`;

describe('portal in Chromium', { skip }, () => {
  let h: TestHerald;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];

  before(async () => {
    // What `npm install` (prepare) and `npm run build:portal` do: the server serves build/portal/.
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-portal.js')], { stdio: 'pipe' });
    h = await startTestHerald();
    profile = tempDir('herald-chromium-');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()} (${page.url()})`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message} (${page.url()})`));
  });

  after(async () => {
    await context?.close();
    if (profile) removeTempDir(profile);
    await h?.close();
  });

  const go = async (hash: string, heading: string | RegExp) => {
    await page.goto(`${h.httpUrl}/_portal/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  test('log in with the admin key, by keyboard', async () => {
    await page.goto(`${h.httpUrl}/_portal/`);
    await page.locator('#admin-key').waitFor();
    // The field has focus on arrival: typing and Enter are enough.
    await page.keyboard.type(h.adminKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Hubs' }).waitFor();
  });

  test('create a hub; its keys page shows both connection strings of each rule', async () => {
    await page.locator('#hub-name').fill('shop');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Keys of shop' }).waitFor();
    const full = page.getByTestId('cs-DefaultFullSharedAccessSignature-primary');
    await assert.doesNotReject(full.waitFor());
    await waitForValue(page.getByTestId('cs-DefaultFullSharedAccessSignature-primary'), shown);
    assert.match(await page.getByTestId('cs-DefaultListenSharedAccessSignature-secondary').inputValue(), /SharedAccessKeyName=DefaultListenSharedAccessSignature/);
  });

  test('set APNs credentials from the sandbox emulator; only identifiers and fingerprints are shown', async () => {
    await go('#/hub/shop/credentials', 'PNS credentials of shop');
    const apns = page.getByRole('article', { name: 'APNs (Apple)' });
    await apns.getByRole('button', { name: 'Fill from the sandbox emulator' }).click();
    const minted = JSON.parse(await waitForValue(page.locator('#cred-apns'), (v) => v.includes('keyId'))) as { keyId: string; key: string };
    await apns.getByRole('button', { name: 'Save APNs (Apple) credentials' }).click();
    await apns.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await apns.getByText(minted.keyId, { exact: true }).waitFor();
    const shown = await apns.textContent();
    assert.ok(!shown!.includes(minted.key.split('\n')[1]!), 'the private key is not shown');
  });

  test('register a simulated device, test-send to it and see its result and what it received', async () => {
    await go('#/sandbox', 'Sandbox');
    await page.locator('#sb-hub').selectOption('shop');
    await page.locator('#sb-platform').selectOption('apns');
    await page.locator('#sb-tags').fill('vip');
    await page.getByRole('button', { name: 'Register simulated device' }).click();
    const made = page.getByRole('status').filter({ hasText: 'Registered installation' });
    await made.waitFor();
    const installationId = (await made.getByRole('link').textContent())!;

    await go('#/hub/shop/registry', 'Registry of shop');
    await page.locator('#q-tags').fill('vip');
    await page.keyboard.press('Enter');
    await page.getByTestId('registry-count').filter({ hasText: '1 installations match' }).waitFor();
    await page.getByRole('link', { name: installationId }).click();
    await page.getByRole('heading', { level: 1, name: /Installation/ }).waitFor();
    await page.getByText('vip', { exact: true }).waitFor();

    await go('#/hub/shop/send', 'Send from shop');
    await page.locator('#send-tags').fill('vip');
    await page.getByRole('button', { name: 'Test send' }).click();
    const results = page.getByTestId('test-results');
    await results.getByRole('cell', { name: 'Success', exact: true }).first().waitFor();
    assert.match((await page.getByRole('heading', { name: /^Test send:/ }).textContent())!, /1 delivered, 0 failed/);

    await go('#/sandbox', 'Sandbox');
    await page.getByRole('button', { name: /^Show what apns device/ }).first().click();
    await page.getByTestId('deliveries').getByText('Hello from Herald').waitFor();
  });

  test('a real send is followed until it completes, then listed on the messages page with its per-device outcome', async () => {
    await go('#/hub/shop/send', 'Send from shop');
    await page.locator('#send-tags').fill('vip');
    // The stream starts at "now": the page opens it before anything is sent.
    await page.getByTestId('live-state').filter({ hasText: 'connected.' }).waitFor();
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByTestId('follow-state').filter({ hasText: 'Completed' }).waitFor();
    await page.getByTestId('follow-events').getByText('notification.state_changed').waitFor();
    await page.getByText('Success 1').waitFor();
    await go('#/hub/shop/messages', 'Messages of shop');
    await page.getByRole('cell', { name: 'Completed' }).first().waitFor();
    await page.locator('tbody a.mono').first().click();
    await page.getByTestId('outcomes').getByRole('cell', { name: 'Success', exact: true }).first().waitFor();
  });

  test('the events page shows the events of a send live, as they happen', async () => {
    await go('#/hub/shop/events', 'Feedback and events of shop');
    await page.getByTestId('live-state').filter({ hasText: 'Connected' }).waitFor();
    const sent = await h.admin('POST', '/hubs/shop/messages', { format: 'template', body: '{"message":"live"}', tagExpression: 'vip' });
    assert.equal(sent.status, 201);
    await page.getByTestId('live-events').getByText(sent.body.id).first().waitFor();
  });

  test('regenerate a key after a confirmation: the old connection string is refused, the new one works', async () => {
    await go('#/hub/shop/keys', 'Keys of shop');
    const input = page.getByTestId('cs-DefaultFullSharedAccessSignature-primary');
    const old = await waitForValue(input, shown);
    const status = async (cs: string) => {
      const { endpoint, keyName, key } = parseConnectionString(cs);
      const token = createSasToken(endpoint.replace('sb://', 'https://'), keyName, key, Math.floor(Date.now() / 1000) + 300);
      return (await fetch(`${h.httpUrl}/shop/registrations?api-version=2020-06`, { headers: { authorization: token } })).status;
    };
    assert.equal(await status(old), 200);
    await page.getByRole('button', { name: 'Regenerate the primary key of DefaultFullSharedAccessSignature' }).click();
    await page.getByRole('button', { name: 'Regenerate primary key' }).click();
    const fresh = await waitForValue(input, (v) => v !== old && shown(v));
    assert.equal(await status(old), 401, 'the old connection string is refused');
    assert.equal(await status(fresh), 200);
  });

  test('every page can be used with the keyboard: Tab reaches its controls and the navigation, Enter follows a link', async () => {
    const pages: Array<[string, string | RegExp, string]> = [
      ['#/', 'Hubs', 'Create hub'],
      ['#/sandbox', 'Sandbox', 'Register simulated device'],
      ['#/hub/shop/settings', 'Settings of shop', 'Save settings'],
      ['#/hub/shop/keys', 'Keys of shop', 'Copy'],
      ['#/hub/shop/credentials', 'PNS credentials of shop', 'Fill from the sandbox emulator'],
      ['#/hub/shop/registry', 'Registry of shop', 'Search'],
      ['#/hub/shop/send', 'Send from shop', 'Test send'],
      ['#/hub/shop/messages', 'Messages of shop', 'Refresh'],
      ['#/hub/shop/events', 'Feedback and events of shop', 'Events'],
    ];
    for (const [hash, heading, control] of pages) {
      await go(hash, heading);
      const reached: string[] = [];
      for (let i = 0; i < 40 && !reached.some((r) => r.startsWith(control)); i++) {
        await page.keyboard.press('Tab');
        reached.push(await page.evaluate<string>(`(document.activeElement?.textContent ?? '').trim() || (document.activeElement?.getAttribute('aria-label') ?? '')`));
      }
      assert.ok(reached.some((r) => r.startsWith(control)), `${hash}: Tab never reached "${control}" (reached: ${reached.join(' | ')})`);
      const visible = await page.evaluate<boolean>(`((el) => el !== null && el !== document.body && getComputedStyle(el).outlineStyle !== 'none')(document.activeElement)`);
      assert.ok(visible, `${hash}: the focused control shows a focus ring`);
    }
    // From the hubs page (focus is on its heading), Shift+Tab back to the Sandbox link and follow it with Enter.
    await go('#/', 'Hubs');
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Shift+Tab');
      if ((await page.evaluate<string | undefined>('document.activeElement?.textContent')) === 'Sandbox') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Sandbox' }).waitFor();
  });

  test('no page wrote an error or a warning to the console', () => {
    assert.deepEqual(problems, []);
  });
});
