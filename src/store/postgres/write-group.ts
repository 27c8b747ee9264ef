/**
 * Group commit for installation PUTs, the registry's hot write: the PUTs that arrive while earlier groups
 * are being written are written together in one statement that commits on its own (registry-store.ts
 * putInstallations: one round trip per group), instead of a transaction of their own each. When the
 * scale-out was planned, grouping measured ~5,000 installations/s at 16-64 clients against ~1,700/s
 * with one statement each, on a 2-core machine (bench/scaleout.bench.ts (a) measures it through the API;
 * docs/scaling.md has its numbers). Every caller's promise settles only after its group has committed.
 *
 * A group that fails (one PUT names a hub that is gone, say) is written again one PUT per statement, so
 * the failing PUT fails alone and the others commit.
 */
import { retryingDeadlocks, type PgPool } from './pg-database.ts';
import { putInstallations, type InstallationPut } from './registry-store.ts';

interface Pending {
  put: InstallationPut;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Upper bound of one group: keeps a group's statements and its locks small. */
const MAX_GROUP = 256;
/**
 * Groups being written at once. The PUTs that arrive meanwhile wait and go together in the next group:
 * under load the groups grow instead of multiplying, and a group of 60 costs the hub and the server little
 * more than a group of 6 (bench/scaleout.bench.ts (a)). Two, so that the hub prepares one group while the
 * server writes the other.
 */
const MAX_IN_FLIGHT = 2;

const idOf = (p: Pending) => `${p.put.hubKey}\u0000${p.put.installation.installationId}`;

export class InstallationWriteGroup {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Installations in a group being written: a later PUT of one waits for that group to commit. */
  private readonly writing = new Set<string>();

  constructor(private readonly pool: PgPool) {}

  put(put: InstallationPut): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ put, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    // The PUTs that arrive in the same turn of the event loop join the group.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    // A group holds each installation once, and none that a group in flight holds: a second PUT of one
    // goes into a later group, after the first has committed, so the later PUT wins as it would have alone.
    const group: Pending[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < this.queue.length && group.length < MAX_GROUP; ) {
      const id = idOf(this.queue[i]!);
      if (seen.has(id) || this.writing.has(id)) {
        seen.add(id);
        i++;
        continue;
      }
      seen.add(id);
      group.push(...this.queue.splice(i, 1));
    }
    if (group.length === 0) return;
    this.inFlight++;
    for (const p of group) this.writing.add(idOf(p));
    try {
      await this.write(group);
    } finally {
      for (const p of group) this.writing.delete(idOf(p));
      this.inFlight--;
      this.schedule();
    }
    this.schedule();
  }

  private async write(group: Pending[]): Promise<void> {
    try {
      await retryingDeadlocks(() => putInstallations(this.pool, group.map((p) => p.put)));
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
          await retryingDeadlocks(() => putInstallations(this.pool, [p.put]));
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }),
    );
  }
}
