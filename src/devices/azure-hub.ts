/**
 * The Azure Notification Hubs surface as a device or a back end reaches it (wire spec §1, §2, §5, §7,
 * §9), without the official client: a SAS token signed with a rule's key, an installation PUT as
 * JSON, a send, and the per-message telemetry read from its XML.
 */
import { createSasToken } from '../auth/sas.ts';
import { httpCall, type HttpAnswer } from './http.ts';

const API_VERSION = '2020-06';
/** Wire spec §2.1: the JS client signs tokens valid for one hour. */
const TOKEN_LIFETIME_S = 3600;

export interface RuleKey {
  keyName: string;
  key: string;
}

/** `Endpoint=...;SharedAccessKeyName=...;SharedAccessKey=...`, split as the JS client does (§1.1). */
export function ruleKeyOf(connectionString: string): RuleKey {
  const parts = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const keyName = parts.get('SharedAccessKeyName');
  const key = parts.get('SharedAccessKey');
  if (!keyName || !key) throw new Error('the connection string has no SharedAccessKeyName and SharedAccessKey');
  return { keyName, key };
}

export interface InstallationBody {
  installationId: string;
  platform: 'apns' | 'fcmv1' | 'wns' | 'browser' | 'adm';
  pushChannel: string | { endpoint: string; p256dh: string; auth: string };
  tags?: string[];
  userId?: string;
  templates?: Record<string, { body: string; headers?: Record<string, string> }>;
}

export interface NotificationRequest {
  format: string;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
  tagExpression?: string;
}

export interface NotificationDetails {
  state: string;
  /** Per platform element (`Apns`, `FcmV1`, `Wns`, `Browser`...): outcome name -> count. */
  outcomeCounts: Record<string, Record<string, number>>;
}

/** §7.5: a test send's `NotificationOutcome`. */
export interface TestSendOutcome {
  success: number;
  failure: number;
  results: Array<{ platform: string; handle: string; registrationId: string; outcome: string }>;
}

/** The one-line reason of an Azure-surface error: the `<Detail>` of `<Error>` (§3.3), without the TrackingId. */
function azureReason(answer: HttpAnswer): string {
  const detail = /<Detail>([\s\S]*?)<\/Detail>/.exec(answer.text)?.[1];
  const text = (detail ?? answer.text).replace(/\.?\s*TrackingId:.*$/s, '').replace(/\s+/g, ' ').trim();
  return text ? `${answer.status}: ${unescapeXml(text)}` : String(answer.status);
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

export class AzureHubClient {
  private readonly baseUrl: string;

  /** `baseUrl`: the hub server's origin (its plain-HTTP or HTTPS port); `ca` trusts a development CA. */
  constructor(
    baseUrl: string,
    readonly hub: string,
    private readonly rule: RuleKey,
    private readonly ca?: string,
  ) {
    this.baseUrl = `${baseUrl.replace(/\/+$/, '')}/`;
  }

  private async call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    const url = `${this.baseUrl}${encodeURIComponent(this.hub)}/${path}${path.includes('?') ? '&' : '?'}api-version=${API_VERSION}`;
    const token = createSasToken(this.baseUrl, this.rule.keyName, this.rule.key, Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S);
    return httpCall(url, {
      method,
      headers: { authorization: token, 'x-ms-version': API_VERSION, ...(init.headers ?? {}) },
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(this.ca ? { ca: this.ca } : {}),
    });
  }

  /** §5.3: PUT replaces the whole installation; 200 with an empty body. */
  async putInstallation(installation: InstallationBody): Promise<void> {
    const answer = await this.call('PUT', `installations/${encodeURIComponent(installation.installationId)}`, {
      body: JSON.stringify(installation),
      headers: { 'content-type': 'application/json' },
    });
    if (answer.status !== 200) throw new Error(`the hub refused the installation (${azureReason(answer)})`);
  }

  /** §7: a send's request, as every Azure client makes it. */
  private postNotification(path: string, n: NotificationRequest) {
    return this.call('POST', path, {
      body: n.body,
      headers: {
        'content-type': n.contentType,
        'servicebusnotification-format': n.format,
        ...(n.tagExpression ? { 'servicebusnotification-tags': n.tagExpression } : {}),
        ...(n.headers ?? {}),
      },
    });
  }

  /** §7: 201 with `Location: .../{hub}/messages/{id}`; returns the notification id. */
  async send(n: NotificationRequest): Promise<string> {
    const answer = await this.postNotification('messages/', n);
    if (answer.status !== 201) throw new Error(`the hub refused the notification (${azureReason(answer)})`);
    const location = answer.headers.location;
    const id = typeof location === 'string' ? new URL(location).pathname.split('/')[3] : undefined;
    if (!id) throw new Error('the hub accepted the notification but named no id (no Location header)');
    return decodeURIComponent(id);
  }

  /** §7.5: a test send; the hub delivers to at most 10 registrations and answers with each one's outcome. */
  async testSend(n: NotificationRequest): Promise<TestSendOutcome> {
    const answer = await this.postNotification('messages/?test=true', n);
    if (answer.status !== 201) throw new Error(`the hub refused the test send (${azureReason(answer)})`);
    const number = (name: string) => Number(new RegExp(`<${name}>(\\d+)</${name}>`).exec(answer.text)?.[1] ?? 0);
    const field = (xml: string, name: string) => unescapeXml(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1] ?? '');
    const results = [...answer.text.matchAll(/<RegistrationResult>([\s\S]*?)<\/RegistrationResult>/g)].map((m) => ({
      platform: field(m[1]!, 'ApplicationPlatform'),
      handle: field(m[1]!, 'PnsHandle'),
      registrationId: field(m[1]!, 'RegistrationId'),
      outcome: field(m[1]!, 'Outcome'),
    }));
    return { success: number('Success'), failure: number('Failure'), results };
  }

  /** §9: the telemetry, or undefined while the hub does not know the id yet (404). */
  async notificationDetails(id: string): Promise<NotificationDetails | undefined> {
    const answer = await this.call('GET', `messages/${encodeURIComponent(id)}`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new Error(`cannot read the outcome of notification ${id} (${azureReason(answer)})`);
    const state = /<State>([^<]*)<\/State>/.exec(answer.text)?.[1] ?? 'Unknown';
    const outcomeCounts: Record<string, Record<string, number>> = {};
    for (const m of answer.text.matchAll(/<(\w+)OutcomeCounts>([\s\S]*?)<\/\1OutcomeCounts>/g)) {
      const counts: Record<string, number> = {};
      for (const o of m[2]!.matchAll(/<Name>([^<]*)<\/Name>\s*<Count>(\d+)<\/Count>/g)) counts[o[1]!] = Number(o[2]);
      if (Object.keys(counts).length > 0) outcomeCounts[m[1]!] = counts;
    }
    return { state, outcomeCounts };
  }
}
