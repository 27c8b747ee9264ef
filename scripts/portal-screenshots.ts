// The work of scripts/portal-screenshots.js, in TypeScript to start Herald from its sources.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config/load.ts';
import { startHerald } from '../src/main.ts';
import { createLogger } from '../src/shared/logger.ts';

const out = join(process.cwd(), 'docs', 'portal');
mkdirSync(out, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'herald-shots-'));
const profile = mkdtempSync(join(tmpdir(), 'herald-shots-chromium-'));
const herald = await startHerald(loadConfig({ flags: { 'data.dir': dataDir, 'server.port': 0, 'server.tlsPort': 0, sandbox: true } }), { logger: createLogger('warn') });
const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${herald.adminUrl}/_admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${herald.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.status === 204 ? null : res.json();
};
try {
  await admin('POST', '/hubs', { name: 'shop' });
  for (const [platform, tags] of [['apns', ['news', 'lang_en']], ['fcmv1', ['news', 'lang_fr']], ['browser', ['sports']], ['wns', ['news']], ['apns', ['sports', 'lang_en']]] as const) {
    await admin('POST', '/hubs/shop/sandbox/devices', { platform, tags, userId: `user-${platform}` });
  }
  for (const tagExpression of ['news', 'sports', 'news && lang_fr']) {
    await admin('POST', '/hubs/shop/messages', { format: 'template', body: '{"message":"Hello from Herald"}', tagExpression });
  }
  await herald.worker.idle({ withinMs: 1000 });

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1200, height: 720 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const base = `${herald.httpUrl}/_portal/`;
  await page.goto(base);
  await page.locator('#admin-key').waitFor();
  await page.screenshot({ path: join(out, 'login.png') });
  await page.locator('#admin-key').fill(herald.adminKey);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Hubs' }).waitFor();
  const shot = async (hash: string, heading: string | RegExp, file: string, then?: () => Promise<void>) => {
    await page.goto(`${base}${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await then?.();
    await page.screenshot({ path: join(out, file), fullPage: true });
    console.log(`docs/portal/${file}`);
  };
  await shot('#/', 'Hubs', 'hubs.png');
  await shot('#/hub/shop/keys', 'Keys of shop', 'keys.png', () => page.waitForFunction(`(document.querySelector('input.mono')?.value ?? '').startsWith('Endpoint=')`).then(() => undefined));
  await shot('#/hub/shop/credentials', 'PNS credentials of shop', 'credentials.png');
  await shot('#/hub/shop/registry', 'Registry of shop', 'registry.png', async () => {
    await page.locator('#q-tags').fill('news || sports');
    await page.keyboard.press('Enter');
    await page.getByTestId('registry-count').filter({ hasText: '5 installations' }).waitFor();
  });
  await shot('#/hub/shop/send', 'Send from shop', 'send.png', async () => {
    await page.locator('#send-tags').fill('news');
    await page.getByRole('button', { name: 'Test send' }).click();
    await page.getByTestId('test-results').getByRole('cell', { name: 'Success', exact: true }).first().waitFor();
  });
  await shot('#/hub/shop/messages', 'Messages of shop', 'messages.png', () => page.getByRole('cell', { name: 'Completed' }).first().waitFor());
  await shot('#/hub/shop/events', 'Feedback and events of shop', 'events.png');
  await shot('#/sandbox', 'Sandbox', 'sandbox.png', async () => {
    await page.getByRole('button', { name: /^Show what apns device/ }).first().click();
    await page.getByTestId('deliveries').waitFor();
  });
  await context.close();
} finally {
  await herald.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
