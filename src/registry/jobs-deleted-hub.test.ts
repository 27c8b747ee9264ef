/**
 * Sibling of issue 10 item 15 for import jobs: an import still running when its hub is deleted must not
 * go on writing into a new hub of the same name. The hub is deleted and created again before the job has
 * read its first line (reading the file needs the event loop; the deletes do not), so the order is fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registrationDescriptionLines } from '../api/wire/registration-xml.ts';
import { HubService } from '../hubs/hub-service.ts';
import { systemClock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { SecretBox } from '../shared/secret-box.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { ContinuationTokens } from './continuation.ts';
import { FileArea } from './file-area.ts';
import { JobService } from './jobs.ts';
import { RegistryService } from './registry-service.ts';

const NS = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"';
const line = (token: string) => `<FcmV1RegistrationDescription ${NS}><Tags>imported</Tags><FcmV1RegistrationId>${token}</FcmV1RegistrationId></FcmV1RegistrationDescription>`;

test('an import whose hub is deleted while it runs writes nothing into a new hub of the same name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-jobs-'));
  const store = openSqliteStore({ path: ':memory:' });
  try {
    const secret = randomBytes(32);
    const hubs = new HubService(store, new SecretBox(secret), systemClock);
    const registry = new RegistryService(store, systemClock, new ContinuationTokens(secret));
    const files = new FileArea(dir);
    const jobs = new JobService(store, registry, files, systemClock, createLogger('silent'), registrationDescriptionLines);
    const input = join(files.root, 'import.txt');
    writeFileSync(input, Array.from({ length: 600 }, (_, i) => line(`token-${i}`)).join('\n'));
    const { hub } = await hubs.createHub('imports');
    const job = await jobs.submit(hub, { type: 'ImportCreateRegistrations', outputContainerUri: pathToFileURL(join(files.root, 'out')).href, importFileUri: pathToFileURL(input).href });
    await hubs.deleteHub('imports');
    const { hub: reborn } = await hubs.createHub('imports');
    await jobs.idle();
    assert.equal(await registry.countRegistrations(reborn, {}), 0, 'the new hub got none of the old import');
    assert.equal(await store.jobs.get('imports', job.id), undefined, 'nor its job');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
