/**
 * Webhook subscriptions of a hub (issue 13 item 1): created, listed, changed and deleted through the
 * management API. A subscription names a URL, the event types it wants (none: all) and gets a signing
 * secret, shown once on create (kept sealed: secret-box.ts). Its URL follows the rule of Web Push
 * endpoints (pns/endpoint-policy.ts): https to a public address, except in sandbox mode.
 */
import { randomUUID } from 'node:crypto';
import type { EndpointPolicy } from '../pns/endpoint-policy.ts';
import type { Clock } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import type { Page, Store, WebhookDelivery, WebhookSubscription } from '../store/store.ts';
import { EVENT_TYPES, isEventType } from './model.ts';
import { newWebhookSecret } from './signature.ts';

/** Subscriptions per hub at most: each event is copied once per subscription that wants it. */
export const MAX_SUBSCRIPTIONS = 20;
const MAX_URL_LENGTH = 2048;

/** What the API shows of a subscription (never its secret). */
export interface SubscriptionView {
  id: string;
  url: string;
  types: string[];
  createdAt: string;
  updatedAt: string;
}

export const subscriptionView = (s: WebhookSubscription): SubscriptionView => ({
  id: s.id,
  url: s.url,
  types: s.types,
  createdAt: new Date(s.createdAt).toISOString(),
  updatedAt: new Date(s.updatedAt).toISOString(),
});

/** The associated data a secret is sealed with: a sealed secret copied to another subscription does not open. */
export const secretPlace = (hub: string, id: string) => `webhook:${hub.toLowerCase()}:${id}`;

export class WebhookService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    /** null: sandbox mode, any http(s) URL (the receiver runs on the developer's machine). */
    private readonly policy: EndpointPolicy | null,
  ) {}

  checkUrl(input: unknown): string {
    if (typeof input !== 'string' || input.length === 0 || input.length > MAX_URL_LENGTH) {
      throw new HubError('invalid_webhook_url', `url must be an https URL of at most ${MAX_URL_LENGTH} characters.`);
    }
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new HubError('invalid_webhook_url', `'${input.slice(0, 200)}' is not a URL; give an https URL such as https://example.com/herald-events.`);
    }
    if (url.username || url.password) throw new HubError('invalid_webhook_url', 'A webhook URL must not carry a user name or password; the signature authenticates Herald.');
    if (this.policy === null) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new HubError('invalid_webhook_url', `A webhook URL must be http or https, not ${url.protocol}`);
      return url.toString();
    }
    const problem = this.policy.problem(url);
    if (problem) throw new HubError('invalid_webhook_url', `Herald will not call this webhook URL: ${problem}. Outside sandbox mode a webhook must be https to a public address.`);
    return url.toString();
  }

  checkTypes(input: unknown): string[] {
    if (input === undefined) return [];
    if (!Array.isArray(input) || input.some((t) => typeof t !== 'string' || !isEventType(t))) {
      throw new HubError('invalid_request', `types must be a list of event types (empty: all): ${EVENT_TYPES.join(', ')}.`);
    }
    return [...new Set(input as string[])];
  }

  /** Creates a subscription; the answer holds its secret, the only time it is shown. */
  async create(hub: string, input: { url: unknown; types?: unknown }): Promise<{ subscription: WebhookSubscription; secret: string }> {
    const url = this.checkUrl(input.url);
    const types = this.checkTypes(input.types);
    const hubName = (await this.requireHub(hub)).name;
    if ((await this.store.webhooks.list(hubName)).length >= MAX_SUBSCRIPTIONS) {
      throw new HubError('invalid_request', `A hub has at most ${MAX_SUBSCRIPTIONS} webhook subscriptions; delete one first.`);
    }
    const id = randomUUID();
    const secret = newWebhookSecret();
    const now = this.clock.now();
    const subscription: WebhookSubscription = { hub: hubName, id, url, types, sealedSecret: this.box.seal(secret, secretPlace(hubName, id)), createdAt: now, updatedAt: now };
    await this.store.webhooks.create(subscription);
    return { subscription, secret };
  }

  async list(hub: string): Promise<WebhookSubscription[]> {
    return this.store.webhooks.list((await this.requireHub(hub)).name);
  }

  async get(hub: string, id: string): Promise<WebhookSubscription> {
    const s = await this.store.webhooks.get((await this.requireHub(hub)).name, id);
    if (!s) throw new HubError('webhook_not_found', `Hub '${hub}' has no webhook subscription '${id}'.`);
    return s;
  }

  async update(hub: string, id: string, input: { url?: unknown; types?: unknown }): Promise<WebhookSubscription> {
    const changes = {
      ...(input.url === undefined ? {} : { url: this.checkUrl(input.url) }),
      ...(input.types === undefined ? {} : { types: this.checkTypes(input.types) }),
    };
    const s = await this.store.webhooks.update((await this.requireHub(hub)).name, id, changes, this.clock.now());
    if (!s) throw new HubError('webhook_not_found', `Hub '${hub}' has no webhook subscription '${id}'.`);
    return s;
  }

  async delete(hub: string, id: string): Promise<void> {
    if (!(await this.store.webhooks.delete((await this.requireHub(hub)).name, id))) throw new HubError('webhook_not_found', `Hub '${hub}' has no webhook subscription '${id}'.`);
  }

  async deliveries(hub: string, id: string, page: { after?: string; limit: number }): Promise<Page<WebhookDelivery>> {
    const s = await this.get(hub, id);
    return this.store.webhooks.deliveries(s.hub, s.id, page);
  }

  private async requireHub(name: string) {
    const hub = await this.store.hubs.get(name);
    if (!hub) throw new HubError('hub_not_found', `Notification hub '${name}' was not found.`);
    return hub;
  }
}
