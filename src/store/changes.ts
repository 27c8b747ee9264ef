/**
 * The change signal of a Store (design: caches "invalidated by NOTIFY sent in the writing transaction"):
 * every write of a hub, its settings, its authorization rules or its PNS credentials is announced to every
 * process on the store once it is committed, so the caches of each node drop what changed within a second.
 * Embedded stores announce in process; the PostgreSQL store with NOTIFY in the writing transaction
 * (delivered on commit) and one LISTEN connection per store.
 */
import type { ChangeFeed, StoreChange } from './store.ts';

/** A change that may concern anything: a namespace rule changed, or a listener reconnected and may have missed some. */
export const EVERYTHING: StoreChange = { hub: null };

/** Hands each change to every subscriber; a subscriber that throws does not stop the others. */
export class ChangeSubscribers implements ChangeFeed {
  private readonly handlers = new Set<(change: StoreChange) => void>();

  subscribe(handler: (change: StoreChange) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  emit(change: StoreChange): void {
    for (const handler of [...this.handlers]) {
      try {
        handler(change);
      } catch {
        // a cache's own failure; the others still hear of the change
      }
    }
  }
}

/** The change a rule write of this scope means: its hub, or everything for a namespace rule ('' scope). */
export const ruleScopeChange = (scope: string): StoreChange => (scope === '' ? EVERYTHING : { hub: scope });

/**
 * `part` with each named write announcing its change once it has succeeded (for a store one process owns:
 * "committed" and "returned" are the same moment there).
 */
export function announcing<T extends object>(part: T, feed: ChangeSubscribers, writes: { [K in keyof T]?: (...args: never[]) => StoreChange }): T {
  const out: Record<string, unknown> = { ...(part as Record<string, unknown>) };
  for (const [name, change] of Object.entries(writes) as Array<[string, (...args: unknown[]) => StoreChange]>) {
    const method = (part as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]!;
    out[name] = async (...args: unknown[]) => {
      const result = await method(...args);
      feed.emit(change(...args));
      return result;
    };
  }
  return out as T;
}
