/**
 * From an accepted send to what a connector sends, per device: the accepted request kept as plain
 * data (so it can wait in the store), and the rendering of one target: a native payload as it came, a
 * template rendered from its cached AST with the send's properties and the device's push variables
 * (design: no JSON.parse per device).
 */
import type { Platform } from '../hubs/credentials.ts';
import type { PlatformName, PnsHandle, Registration } from '../registry/model.ts';
import { apnsExpirationSeconds } from '../registry/apns-expiry.ts';
import { templateFormat } from '../registry/validation.ts';
import { compileTemplate, prepareProperties, renderTemplate, renderTemplateExpression, validateTemplateExpression, type CompiledTemplate, type TemplateFormat, type TemplateProperties } from '../templates/index.ts';
import { BoundedMap } from '../shared/bounded-map.ts';
import type { SendFormat, SendRequest } from './send-model.ts';
import { APNS_TOKEN_KIND_HEADER, LIVE_ACTIVITY_TAG } from '../pns/connector.ts';
import { secureEnvelope, type SecureStamp } from './secure-push.ts';

/** The accepted send as stored with its notification. */
export interface StoredRequest {
  format: SendFormat;
  platform?: PlatformName;
  target: { kind: 'broadcast' } | { kind: 'tags'; expression: string } | { kind: 'direct'; handles: PnsHandle[] };
  test: boolean;
  headers: Record<string, string>;
  payload: { kind: 'text'; text: string } | { kind: 'raw'; base64: string } | { kind: 'template'; properties: Record<string, string> };
  /** The body as received, for NotificationDetails (§9). */
  body: string;
  eligibleKinds: string[];
  acceptedAt: number;
  /** A secure send: devices get only the id; the payload is sealed beside the notification (not in `payload`/`body`). */
  secure?: SecureStamp;
}

export function toStoredRequest(req: SendRequest, acceptedAt: number): StoredRequest {
  const p = req.payload;
  return {
    format: req.format,
    ...(req.platform ? { platform: req.platform } : {}),
    target: req.target.kind === 'tags' ? { kind: 'tags', expression: req.target.expression } : req.target.kind === 'direct' ? { kind: 'direct', handles: [...req.target.handles] } : { kind: 'broadcast' },
    test: req.test,
    headers: { ...req.platformHeaders },
    payload: p.kind === 'raw' ? { kind: 'raw', base64: p.bytes.toString('base64') } : p.kind === 'template' ? { kind: 'template', properties: { ...p.properties } } : { kind: 'text', text: p.text },
    body: req.body.toString('utf8'),
    eligibleKinds: [...req.eligibleKinds],
    acceptedAt,
  };
}

/** The platforms Herald has a connector for (FCM legacy and MPNS were shut down; Baidu and Xiaomi are registration types only). */
export const CONNECTED: ReadonlySet<PlatformName> = new Set(['apns', 'fcmv1', 'wns', 'browser', 'adm']);

/**
 * Why a registration of a platform without a connector gets nothing: its per-device outcome is
 * `PnsUnavailable` with this reason, counted like any other outcome (never a silent drop).
 */
export const NOT_SENT: Readonly<Partial<Record<PlatformName, string>>> = {
  baidu: 'registration-only: Herald stores Baidu registrations but does not send to Baidu Cloud Push; nothing was sent',
  xiaomi: 'registration-only: Herald stores Xiaomi registrations but does not send to Mi Push; nothing was sent',
  gcm: 'Google shut down FCM legacy (GCM); nothing was sent: register the device with FcmV1',
  mpns: 'Microsoft retired MPNS (Windows Phone); nothing was sent: register the device with WNS',
};

export interface RenderedTarget {
  platform: PlatformName;
  registrationId?: string;
  installationId?: string;
  /** The handle as registered (for outcomes and feedback). */
  handle: string;
  /** What the connector is given: a Web Push subscription as JSON, other handles as they are. */
  connectorHandle: string;
  payload: string | Buffer;
  headers: Record<string, string>;
}

export function connectorHandle(h: PnsHandle): string {
  return h.platform === 'browser' ? JSON.stringify({ endpoint: h.value, keys: { p256dh: h.p256dh, auth: h.auth } }) : h.value;
}

const isExpression = (v: string) => /^[$.%#{]/.test(v);

/**
 * Compiled templates kept, by count and by the characters of their bodies (a body may be 64 KiB, so a
 * count alone allowed over a gigabyte). The least recently used goes first: the few templates an app's
 * devices share stay, one-off bodies pass through.
 */
export const MAX_CACHED_TEMPLATES = 10_000;
export const MAX_CACHED_TEMPLATE_CHARS = 16 * 1024 * 1024;

export class Renderer {
  // Templates are parsed once per body, then rendered by substitution for every device.
  private readonly templates = new BoundedMap<CompiledTemplate>({ maxEntries: MAX_CACHED_TEMPLATES, maxWeight: MAX_CACHED_TEMPLATE_CHARS, weigh: (_t, key) => key.length });
  /** Templates and body characters kept (for tests of the bound). */
  get cachedTemplates(): number {
    return this.templates.size;
  }
  get cachedTemplateChars(): number {
    return this.templates.totalWeight;
  }
  private readonly properties = new WeakMap<object, TemplateProperties>();

  private compiled(body: string, format: TemplateFormat): CompiledTemplate {
    const key = `${format}\n${body}`;
    let c = this.templates.get(key);
    if (!c) {
      c = compileTemplate(body, format);
      this.templates.set(key, c);
    }
    return c;
  }

  private props(req: StoredRequest): TemplateProperties {
    const source = req.payload.kind === 'template' ? req.payload.properties : {};
    let p = this.properties.get(req);
    if (!p) {
      p = prepareProperties(source);
      this.properties.set(req, p);
    }
    return p;
  }

  private nativePayload(req: StoredRequest): string | Buffer {
    return req.payload.kind === 'raw' ? Buffer.from(req.payload.base64, 'base64') : req.payload.kind === 'text' ? req.payload.text : '';
  }

  /** A registration's push for this send. */
  render(req: StoredRequest, reg: Registration): RenderedTarget {
    const base = {
      platform: reg.handle.platform,
      registrationId: reg.id,
      ...(reg.installationId ? { installationId: reg.installationId } : {}),
      handle: reg.handle.value,
      connectorHandle: connectorHandle(reg.handle),
    };
    if (req.secure) {
      const e = secureEnvelope(reg.handle.platform, req.secure.notificationId);
      // A Live Activity token must not get the background envelope as if it were a device token (pns/connector.ts).
      return { ...base, payload: e.payload, headers: apnsTokenKind(reg, { ...e.headers }) };
    }
    if (!reg.template) return { ...base, payload: this.nativePayload(req), headers: apnsTokenKind(reg, { ...req.headers }) };
    const t = reg.template;
    const props = this.props(req);
    const vars = reg.pushVariables;
    const value = (v: string) => (isExpression(v) ? renderTemplateExpression(validateTemplateExpression(v), props, vars) : v);
    const format = templateFormat(reg.handle.platform, t.headers);
    const payload = renderTemplate(this.compiled(t.body, format), props, vars);
    // The send's headers first, the template's own win (they belong to this device's template).
    const headers: Record<string, string> = { ...req.headers };
    for (const h of t.headers ?? []) headers[h.name.toLowerCase()] = value(h.value);
    if (t.priority) headers['apns-priority'] = value(t.priority);
    if (t.expiry) {
      const expiry = value(t.expiry);
      // APNs wants seconds since the epoch; "0" means "deliver once or never" (§2.2). A literal was checked
      // when registered; an expression's text that names no date goes as it is, so APNs's answer says why.
      const seconds = apnsExpirationSeconds(expiry);
      headers['apns-expiration'] = seconds === undefined ? expiry : String(seconds);
    }
    return { ...base, payload, headers: apnsTokenKind(reg, headers) };
  }

  /** A direct send's push to one handle. */
  renderDirect(req: StoredRequest, h: PnsHandle): RenderedTarget {
    return { platform: h.platform, handle: h.value, connectorHandle: connectorHandle(h), payload: this.nativePayload(req), headers: { ...req.headers } };
  }
}

/** An APNs registration's token kind, for the connector (pns/connector.ts, LIVE_ACTIVITY_TAG). */
function apnsTokenKind(reg: Registration, headers: Record<string, string>): Record<string, string> {
  if (reg.handle.platform === 'apns') headers[APNS_TOKEN_KIND_HEADER] = reg.tags.includes(LIVE_ACTIVITY_TAG) ? 'liveactivity' : 'device';
  return headers;
}

export function connectorPlatform(p: PlatformName): Platform | undefined {
  return CONNECTED.has(p) ? (p as Platform) : undefined;
}
