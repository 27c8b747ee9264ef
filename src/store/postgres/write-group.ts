/**
 * Group commit for installation PUTs, the registry's hot write: the PUTs that arrive in the same turn of
 * the event loop are written together in one transaction of four statements (registry-store.ts
 * putInstallations), instead of a transaction of their own each. When the scale-out was planned, grouping
 * measured ~5,000 installations/s at 16-64 clients against ~1,700/s with one statement each, on a 2-core
 * machine (bench/ has no PostgreSQL line yet to hold this code to it). Every caller's promise settles only
 * after its group has committed.
 *
 * A group that fails (one PUT names a hub that is gone, say) is written again one PUT per transaction, so
 * the failing PUT fails alone and the others commit.
 */
import { inTransaction, type PgPool } from './pg-database.ts';
import { putInstallations, type InstallationPut } from './registry-store.ts';

interface Pending {
  put: InstallationPut;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Upper bound of one group: keeps a group's statements and its locks small. */
const MAX_GROUP = 256;

export class InstallationWriteGroup {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly pool: PgPool) {}

  put(put: InstallationPut): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ put, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const pending = this.queue;
    this.queue = [];
    // A group holds each installation once; a second PUT of one goes into a later group, after the first
    // has committed, so the later PUT wins as it would have alone.
    while (pending.length > 0) {
      const group: Pending[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < pending.length && group.length < MAX_GROUP; ) {
        const id = `${pending[i]!.put.hubKey}\u0000${pending[i]!.put.installation.installationId}`;
        if (seen.has(id)) {
          i++;
          continue;
        }
        seen.add(id);
        group.push(...pending.splice(i, 1));
      }
      await this.write(group);
    }
  }

  private async write(group: Pending[]): Promise<void> {
    try {
      await inTransaction(this.pool, (db) => putInstallations(db, group.map((p) => p.put)));
      for (const p of group) p.resolve();
      return;
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
    }
    await Promise.all(
      group.map(async (p) => {
        try {
          await inTransaction(this.pool, (db) => putInstallations(db, [p.put]));
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }),
    );
  }
}
