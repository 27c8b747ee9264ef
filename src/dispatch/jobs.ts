/**
 * The send pipeline's job kinds, declared into the queue's payload map (queue/queue.ts): a claimed job
 * is `{ kind: 'plan', payload: PlanCursor } | { kind: 'deliver', payload: BatchPayload }`.
 */
import type { PageRequest } from '../store/store.ts';
import type { BatchPayload } from './deliver.ts';

/** Where planning resumes: what the registry listing gave as `next` (opaque), or null for the start. */
export interface PlanCursor {
  after: NonNullable<PageRequest['after']> | null;
}

declare module '../queue/queue.ts' {
  interface JobPayloads {
    plan: PlanCursor;
    deliver: BatchPayload;
  }
}
