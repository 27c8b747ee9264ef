/** Import/export jobs in SQLite. */
import type { JobRecord, JobStore } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

interface JobRow {
  hub_name: string;
  id: string;
  type: string;
  status: string;
  progress: number;
  output_container_uri: string;
  import_file_uri: string | null;
  failure: string | null;
  output_properties: string | null;
  created_at: number;
  updated_at: number;
}

function toJob(r: JobRow): JobRecord {
  return {
    hub: r.hub_name,
    id: r.id,
    type: r.type,
    status: r.status,
    progress: r.progress,
    outputContainerUri: r.output_container_uri,
    ...(r.import_file_uri === null ? {} : { importFileUri: r.import_file_uri }),
    ...(r.failure === null ? {} : { failure: r.failure }),
    ...(r.output_properties === null ? {} : { outputProperties: JSON.parse(r.output_properties) }),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const COLUMNS = `h.name AS hub_name, j.id, j.type, j.status, j.progress, j.output_container_uri, j.import_file_uri, j.failure,
  j.output_properties, j.created_at, j.updated_at`;

export function sqliteJobStore(db: SqliteDatabase): JobStore {
  const insert = db.prepare(
    `INSERT INTO jobs (hub_key, id, type, status, progress, output_container_uri, import_file_uri, failure, output_properties, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    'UPDATE jobs SET status = ?, progress = ?, failure = ?, output_properties = ?, updated_at = ? WHERE hub_key = ? AND id = ?',
  );
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.hub_key = ? AND j.id = ?`);
  const selectMany = db.prepare(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.hub_key = ? ORDER BY j.created_at DESC, j.id LIMIT ?`);
  const selectUnfinished = db.prepare(`SELECT ${COLUMNS} FROM jobs j JOIN hubs h ON h.name_key = j.hub_key WHERE j.status IN ('Started', 'Running')`);
  const props = (j: JobRecord) => (j.outputProperties ? JSON.stringify(j.outputProperties) : null);
  return {
    create: async (j) => {
      insert.run(j.hub.toLowerCase(), j.id, j.type, j.status, j.progress, j.outputContainerUri, j.importFileUri ?? null, j.failure ?? null, props(j), j.createdAt, j.updatedAt);
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
  };
}
