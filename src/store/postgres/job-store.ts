/** Import/export jobs in PostgreSQL. */
import type { JobRecord, JobStore } from '../store.ts';
import type { PgPool } from './pg-database.ts';
import { toJob, type JobRow } from '../rows.ts';


const COLUMNS = `h.name AS hub_name, j.id, j.type, j.status, j.progress, j.output_container_uri, j.import_file_uri, j.failure,
  j.output_properties, j.node, j.created_at, j.updated_at`;

export function postgresJobStore(pool: PgPool): JobStore {
  const props = (j: JobRecord) => (j.outputProperties ? JSON.stringify(j.outputProperties) : null);
  return {
    create: async (j) => {
      await pool.query(
        `INSERT INTO jobs (hub_key, id, type, status, progress, output_container_uri, import_file_uri, failure, output_properties, node, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [j.hub.toLowerCase(), j.id, j.type, j.status, j.progress, j.outputContainerUri, j.importFileUri ?? null, j.failure ?? null, props(j), j.node ?? null, j.createdAt, j.updatedAt],
      );
    },
    get: async (hub, id) => {
      const row = (await pool.query<JobRow>(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.hub_key = $1 AND j.id = $2`, [hub.toLowerCase(), id])).rows[0];
      return row && toJob(row);
    },
    list: async (hub, limit) =>
      (
        await pool.query<JobRow>(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.hub_key = $1 ORDER BY j.created_at DESC, j.id LIMIT $2`, [
          hub.toLowerCase(),
          limit,
        ])
      ).rows.map(toJob),
    update: async (j) => {
      await pool.query(`UPDATE jobs SET status = $1, progress = $2, failure = $3, output_properties = $4, updated_at = $5
                      WHERE hub_key = $6 AND id = $7 AND status IN ('Started', 'Running')`, [
        j.status,
        j.progress,
        j.failure ?? null,
        props(j),
        j.updatedAt,
        j.hub.toLowerCase(),
        j.id,
      ]);
    },
    // Hub by hub, through each hub's (hub_key, status) index: no index here is global (0001_schema.sql).
    unfinished: async () =>
      (
        await pool.query<JobRow>(
          `SELECT ${COLUMNS} FROM hubs h CROSS JOIN LATERAL (SELECT * FROM jobs WHERE hub_key = h.name_key AND status IN ('Started', 'Running')) j`,
        )
      ).rows.map(toJob),
    // The candidates hub by hub as above; the outer status test keeps a job that finished meanwhile.
    failOrphaned: async (liveSince, failure, now) =>
      (
        await pool.query(
          `UPDATE jobs SET status = 'Failed', failure = $1, updated_at = $2
           WHERE (hub_key, id) IN (
                   SELECT j.hub_key, j.id FROM hubs h CROSS JOIN LATERAL (SELECT * FROM jobs WHERE hub_key = h.name_key AND status IN ('Started', 'Running')) j
                   WHERE j.node IS NULL AND j.updated_at < $3
                      OR j.node IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node_id = j.node AND n.last_seen >= $3))
             AND status IN ('Started', 'Running')`,
          [failure, now, liveSince],
        )
      ).rowCount ?? 0,
  };
}
