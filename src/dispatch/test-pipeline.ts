/**
 * For tests of the send pipeline on any Store (the queue and sliced-plan contracts, the deleted-hub test):
 * one node's pipeline over a connector the test controls, and the FCM v1 broadcast they send. Composed
 * from domain parts only, so contracts below api/ can use it.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { HubService } from '../hubs/hub-service.ts';
import type { DeliveryOutcome, PnsBatch, PnsConnector } from '../pns/connector.ts';
import type { Clock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { SecretBox } from '../shared/secret-box.ts';
import type { Store } from '../store/store.ts';
import { Deliverer } from './deliver.ts';
import { DispatchWorker, SendService, type DispatchWorkerOptions } from './dispatcher.ts';
import { Renderer } from './render.ts';
import { RetryPolicy } from './retry-policy.ts';
import { eligibleKinds, type SendRequest } from './send-model.ts';

export interface PipelineNodeOptions extends DispatchWorkerOptions {
  logger?: Logger;
  /** Wake the worker when a send is accepted (as main.ts does); false: only the queue's own wake-ups reach it. */
  wakeOnAccept?: boolean;
}

/**
 * An FCM v1 connector that holds every batch until the test calls answer(), then gives each target
 * `outcome`: the order of a race is fixed by the test, not by timing.
 */
export class HeldConnector implements PnsConnector {
  readonly platform = 'fcmv1' as const;
  private release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));
  private reached!: () => void;
  /** Resolves when a batch is in the connector's hands. */
  readonly sending = new Promise<void>((r) => (this.reached = r));

  constructor(private readonly outcome: DeliveryOutcome = { kind: 'delivered', azure: 'Success', reason: 'ok', status: 200 }) {}

  async send(batch: PnsBatch): Promise<DeliveryOutcome[]> {
    this.reached();
    await this.released;
    return batch.targets.map(() => ({ ...this.outcome }));
  }
  answer(): void {
    this.release();
  }
  async close(): Promise<void> {}
}

/** One node's send pipeline on `store`, delivering FCM v1 through `connector`. */
export function pipelineNode(store: Store, clock: Clock, connector: PnsConnector, options: PipelineNodeOptions = {}) {
  const { logger = createLogger('silent'), wakeOnAccept = true, ...workerOptions } = options;
  const secrets = new SecretBox(randomBytes(32));
  const hubs = new HubService(store, secrets, clock);
  const deliverer = new Deliverer(store, hubs, { fcmv1: connector }, new Renderer(), new RetryPolicy(clock), clock);
  const worker = new DispatchWorker(store, deliverer, clock, logger, workerOptions);
  const sends = new SendService(store, deliverer, clock, wakeOnAccept ? () => worker.wake() : () => undefined, secrets);
  return { hubs, deliverer, worker, sends };
}

/** An FCM v1 broadcast as the wire parser (api/wire/send-request.ts) hands it to the pipeline. */
export function fcmBroadcast(): SendRequest {
  const text = '{"message":{"data":{"a":"b"}}}';
  return {
    format: 'fcmv1',
    platform: 'fcmv1',
    target: { kind: 'broadcast' },
    test: false,
    scheduledAtMs: undefined,
    platformHeaders: {},
    contentType: 'application/json',
    payload: { kind: 'json', text, value: JSON.parse(text) },
    body: Buffer.from(text),
    eligibleKinds: eligibleKinds('fcmv1'),
  };
}
