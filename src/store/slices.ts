/**
 * A listing cut into slices (RegistrationStore.slices): the adapter finds the bounds, cursors of its own
 * listing in order; the ranges between them are written once here.
 */
import type { ListingSlice } from './store.ts';

/** The ranges `(after, b1], (b1, b2], ..., (bn, end)`: each bound ends one range and starts the next. */
export function slicesBetween(after: string | undefined, bounds: readonly string[]): ListingSlice[] {
  const starts = [after, ...bounds];
  return starts.map((start, i) => ({
    ...(start === undefined ? {} : { after: start }),
    ...(i < bounds.length ? { until: bounds[i]! } : {}),
  }));
}

/**
 * The ranks (1-based, in listing order) of the last entry of each of `n` slices but the last, for a
 * listing of `count`: floor(i * count / n), so the slices differ in size by one at most.
 */
export function boundRanks(count: number, n: number): number[] {
  return Array.from({ length: n - 1 }, (_, i) => Math.floor(((i + 1) * count) / n));
}
