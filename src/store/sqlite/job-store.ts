/** Import/export jobs in SQLite. */
import type { JobRecord, JobStore } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import { toJob, type JobRow } from '../rows.ts';


const COLUMNS = `h.name AS hub_name, j.id, j.type, j.status, j.progress, j.output_container_uri, j.import_file_uri, j.failure,
  j.output_properties, j.node, j.created_at, j.updated_at`;

export function sqliteJobStore(db: SqliteDatabase): JobStore {
  const insert = db.prepare(
    `INSERT INTO jobs (hub_key, id, type, status, progress, output_container_uri, import_file_uri, failure, output_properties, node, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE jobs SET status = ?, progress = ?, failure = ?, output_properties = ?, updated_at = ? WHERE hub_key = ? AND id = ? AND status IN ('Started', 'Running')`,
  );
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.hub_key = ? AND j.id = ?`);
  const selectMany = db.prepare(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.hub_key = ? ORDER BY j.created_at DESC, j.id LIMIT ?`);
  const selectUnfinished = db.prepare(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.status IN ('Started', 'Running')`);
  const failOrphaned = db.prepare(
    `UPDATE jobs SET status = 'Failed', failure = ?, updated_at = ?
     WHERE status IN ('Started', 'Running')
       AND (node IS NULL AND updated_at < ? OR node IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node_id = jobs.node AND n.last_seen >= ?))`,
  );
  const props = (j: JobRecord) => (j.outputProperties ? JSON.stringify(j.outputProperties) : null);
  return {
    create: async (j) => {
      insert.run(j.hub.toLowerCase(), j.id, j.type, j.status, j.progress, j.outputContainerUri, j.importFileUri ?? null, j.failure ?? null, props(j), j.node ?? null, j.createdAt, j.updatedAt);
    },
    get: async (hub, id) => {
      const row = selectOne.get(hub.toLowerCase(), id) as JobRow | undefined;
      return row && toJob(row);
    },
    list: async (hub, limit) => (selectMany.all(hub.toLowerCase(), limit) as JobRow[]).map(toJob),
    update: async (j) => {
      update.run(j.status, j.progress, j.failure ?? null, props(j), j.updatedAt, j.hub.toLowerCase(), j.id);
    },
    unfinished: async () => (selectUnfinished.all() as JobRow[]).map(toJob),
    failOrphaned: async (liveSince, failure, now) => failOrphaned.run(failure, now, liveSince, liveSince).changes,
  };
}
