/**
 * The send pipeline's job kinds, declared into the queue's payload map (queue/queue.ts): a claimed job
 * is `{ kind: 'plan', payload: PlanCursor } | { kind: 'deliver', payload: BatchPayload }`.
 */
import type { PageRequest, RangePageRequest } from '../store/store.ts';
import type { BatchPayload } from './deliver.ts';

/**
 * Where planning resumes: what the registry listing gave as `next` (opaque), or null for the start; and,
 * for a slice of a large send, where its range ends (`until`, inclusive, opaque; absent: the listing's end).
 * Only the job that starts at the beginning of the listing cuts it into slices (dispatcher.ts `plan`).
 */
export interface PlanCursor {
  after: NonNullable<PageRequest['after']> | null;
  until?: NonNullable<RangePageRequest['until']>;
}

declare module '../queue/queue.ts' {
  interface JobPayloads {
    plan: PlanCursor;
    deliver: BatchPayload;
  }
}
