import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeContract } from '../store-contract.ts';
import { openPostgresStore } from './postgres-store.ts';
import { usePostgresServer } from '../../../test/postgres-server.ts';

const postgres = usePostgresServer();

storeContract('postgres', async () => openPostgresStore({ url: await postgres.createDatabase() }));

test('placeholder', () => assert.ok(true));
