/** The queue contract on PostgreSQL: two Store instances (two pools and LISTEN connections, as two nodes) on one database. */
import { queueContract } from '../../queue/queue-contract.ts';
import { openPostgresStore } from './postgres-store.ts';
import { usePostgresServer } from '../../../test/postgres-server.ts';

const postgres = usePostgresServer();

queueContract('postgres (two instances)', async () => {
  const url = await postgres.createDatabase();
  return [await openPostgresStore({ url }), await openPostgresStore({ url })];
});
