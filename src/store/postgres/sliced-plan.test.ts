/** A large send planned in slices by two nodes, on PostgreSQL: two Store instances (two pools) on one database. */
import { slicedPlanContract } from '../../dispatch/sliced-plan-contract.ts';
import { openPostgresStore } from './postgres-store.ts';
import { usePostgresServer } from '../../../test/postgres-server.ts';

const postgres = usePostgresServer();

slicedPlanContract('postgres (two instances)', async () => {
  const url = await postgres.createDatabase();
  return [await openPostgresStore({ url }), await openPostgresStore({ url })];
});
