/**
 * Registrations as Atom XML (wire spec §6): a request entry → a validated, canonical RegistrationInput,
 * and a Registration → the entry, feed or bare description the official clients read.
 */
import {
  isTemplateKind,
  KIND_PLATFORM,
  NEVER_EXPIRES,
  REGISTRATION_KINDS,
  type PlatformName,
  type PnsHandle,
  type Registration,
  type RegistrationInput,
  type RegistrationKind,
  type RegistrationTemplate,
  type TemplateHeader,
} from '../../registry/model.ts';
import type { RegistrationLineFormat } from '../../registry/jobs.ts';
import { HANDLE_FIELD, validateHandle, validateId, validatePushVariables, validateTemplate } from '../../registry/validation.ts';
import { HubError } from '../../shared/errors.ts';
import { validateTags } from '../../tags/index.ts';
import {
  cdata,
  childElement,
  childElements,
  childText,
  entryContentElements,
  escapeXml,
  feedUpdated,
  isNil,
  isoTime,
  localName,
  parseXml,
  renderAtomEntry,
  renderAtomFeed,
  resourceHref,
  SERVICEBUS_NS,
  textElement,
  XSI_NS,
  type AtomEntryParts,
  type AtomLocation,
  type XmlElement,
  type XmlLimits,
} from './atom.ts';

const SUFFIX = 'RegistrationDescription';

/** The XML root names that are not a kind's own name: .NET's FCM-legacy classes serialise as Gcm (§6.2). */
const KIND_ALIASES: ReadonlyMap<string, RegistrationKind> = new Map([
  ['Fcm', 'Gcm'],
  ['FcmTemplate', 'GcmTemplate'],
]);
const KINDS: ReadonlySet<string> = new Set(REGISTRATION_KINDS);

/** The `<XxxHeaders>/<XxxHeader>` element stem of the platforms whose templates carry headers (§6.2). */
const HEADER_STEM: Partial<Record<PlatformName, string>> = { wns: 'Wns', apns: 'Apns', mpns: 'Mpns' };

export interface ParsedRegistration {
  /** `RegistrationId` from the body, if any. A create ignores it; the id of a PUT comes from its path (§6.6, §6.7). */
  registrationId?: string;
  input: RegistrationInput;
}

function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

/**
 * Reads a registration request entry (§6.1): `entry/content/*` whose local name ends with
 * `RegistrationDescription`, prefixes and namespaces ignored, elements in any order, `i:nil` as absent.
 * `ETag` and `ExpirationTime` are read-only and ignored.
 */
export function parseRegistrationEntry(body: string | Buffer, limits?: Partial<XmlLimits>): ParsedRegistration {
  const elements = entryContentElements(parseXml(body, limits));
  const description = elements.find((e) => e.localName.endsWith(SUFFIX)) ?? elements[0];
  if (description === undefined) {
    throw invalid('missing_registration_description', 'The entry has no registration description in its <content>.');
  }
  return readDescription(description);
}

/** Reads a bare `<XxxRegistrationDescription>` document: one line of an import file (§11.1). */
export function parseRegistrationDescription(xml: string | Buffer, limits?: Partial<XmlLimits>): ParsedRegistration {
  return readDescription(parseXml(xml, limits));
}

function kindNamed(name: string): RegistrationKind | undefined {
  const stem = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : undefined;
  if (stem === undefined) return undefined;
  return KIND_ALIASES.get(stem) ?? (KINDS.has(stem) ? (stem as RegistrationKind) : undefined);
}

/**
 * The kind from the element name, or from `i:type` on the base class element: .NET's DataContract
 * serialiser and the legacy azure-sb client write `<RegistrationDescription i:type="AppleRegistrationDescription">`
 * (the polymorphic form) for every kind. The type name may carry a namespace prefix (`d2p1:...`).
 */
function kindOf(el: XmlElement): RegistrationKind {
  const typeName = xsiType(el);
  const declared = typeName === undefined ? undefined : kindNamed(localName(typeName.trim()));
  if (typeName !== undefined && declared === undefined) {
    throw invalid('unknown_registration_kind',
      `i:type="${typeName.slice(0, 80)}" is not a known registration description; expected one of ${REGISTRATION_KINDS.map((k) => k + SUFFIX).join(', ')}.`,
      { element: el.name, type: typeName.slice(0, 80) });
  }
  const named = el.localName === SUFFIX ? undefined : kindNamed(el.localName);
  if (named !== undefined && declared !== undefined && named !== declared) {
    throw invalid('conflicting_registration_kind', `<${el.name}> says ${named} but its i:type says ${declared}.`, { element: el.name });
  }
  const kind = named ?? declared;
  if (kind !== undefined) return kind;
  throw invalid('unknown_registration_kind',
    `<${el.name}> is not a known registration description; expected one of ${REGISTRATION_KINDS.map((k) => k + SUFFIX).join(', ')}`
      + ` (or <${SUFFIX} i:type="..."> naming one).`,
    { element: el.name });
}

/** The value of a prefixed `type` attribute (`i:type`, `xsi:type`): the XML Schema instance type. */
function xsiType(el: XmlElement): string | undefined {
  for (const [name, value] of Object.entries(el.attributes)) {
    if (name.includes(':') && !name.startsWith('xmlns:') && localName(name) === 'type') return value;
  }
  return undefined;
}

/** A field's text, trimmed (the JS client trims what it reads, §3.4); empty reads as absent. */
function field(d: XmlElement, name: string): string | undefined {
  const text = childText(d, name)?.trim();
  return text === '' ? undefined : text;
}

function readDescription(d: XmlElement): ParsedRegistration {
  const kind = kindOf(d);
  const platform = KIND_PLATFORM[kind];
  const handle = readHandle(platform, d);
  // §3.4: Tags is one comma-separated string. Parts are trimmed and empty parts dropped, so `a, b` and a
  // trailing comma mean what the sender meant; a space is never part of a valid tag anyway.
  const rawTags = field(d, 'Tags');
  const tags = validateTags(rawTags === undefined ? [] : rawTags.split(',').map((t) => t.trim()).filter((t) => t !== ''));
  const input: RegistrationInput = { kind, handle, tags };
  const pushVariables = readPushVariables(d);
  if (pushVariables !== undefined) input.pushVariables = pushVariables;
  if (isTemplateKind(kind)) input.template = readTemplate(platform, d);
  const id = field(d, 'RegistrationId');
  return id === undefined ? { input } : { registrationId: validateId(id, 'RegistrationId'), input };
}

function readHandle(platform: PlatformName, d: XmlElement): PnsHandle {
  switch (platform) {
    case 'wns':
    case 'mpns':
      return validateHandle(platform, { value: field(d, 'ChannelUri'), secondaryTileName: field(d, 'SecondaryTileName') });
    case 'browser':
      return validateHandle(platform, { value: field(d, 'Endpoint'), p256dh: field(d, 'P256DH'), auth: field(d, 'Auth') });
    case 'baidu':
      return validateHandle(platform, { value: field(d, 'BaiduChannelId'), baiduUserId: field(d, 'BaiduUserId') });
    default:
      return validateHandle(platform, { value: field(d, HANDLE_FIELD[platform]) });
  }
}

/** §6.2: a JSON object as text. An empty object is the same as none. */
function readPushVariables(d: XmlElement): Record<string, string> | undefined {
  const raw = field(d, 'PushVariables');
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('invalid_field', 'PushVariables must be a JSON object of string values.', { field: 'PushVariables' });
  }
  const vars = validatePushVariables(parsed);
  return Object.keys(vars).length === 0 ? undefined : vars;
}

function readTemplate(platform: PlatformName, d: XmlElement): RegistrationTemplate {
  // The body is kept as sent (not trimmed): it is what the hub renders and sends.
  const template: RegistrationTemplate = { body: childText(d, 'BodyTemplate') ?? '' };
  const name = field(d, 'TemplateName');
  if (name !== undefined) template.name = name;
  const stem = HEADER_STEM[platform];
  const headers = stem === undefined ? [] : readHeaders(d, stem);
  if (headers.length > 0) template.headers = headers;
  if (platform === 'apns') {
    // §6.4: Expiry may be ISO, a JS Date.toString() text, "0" or an expression; kept as a string.
    const expiry = field(d, 'Expiry');
    if (expiry !== undefined) template.expiry = expiry;
    const priority = field(d, 'Priority');
    if (priority !== undefined) template.priority = priority;
  }
  return validateTemplate(platform, template);
}

function readHeaders(d: XmlElement, stem: string): TemplateHeader[] {
  const container = childElement(d, `${stem}Headers`);
  if (container === undefined || isNil(container)) return [];
  return childElements(container, `${stem}Header`).map((h, index) => {
    const name = field(h, 'Header');
    if (name === undefined) {
      throw invalid('invalid_header', `${stem}Header at index ${index} has no <Header> name.`, { field: `${stem}Headers`, index });
    }
    return { name, value: field(h, 'Value') ?? '' };
  });
}

/**
 * The bare description in the canonical element order of §6.3 (what .NET's DataContract reader expects):
 * ETag, ExpirationTime, RegistrationId, Tags, PushVariables, the handle fields, the template fields.
 * Absent values are left out, never written as empty elements (§3.4).
 */
export function renderRegistrationDescription(reg: Registration): string {
  const root = `${reg.kind}${SUFFIX}`;
  const vars = reg.pushVariables !== undefined && Object.keys(reg.pushVariables).length > 0 ? JSON.stringify(reg.pushVariables) : undefined;
  const body = [
    textElement('ETag', String(reg.etag)),
    // The JS client reads this with new Date(): always an ISO string with Z (§6.5).
    textElement('ExpirationTime', reg.expiresAt === undefined ? NEVER_EXPIRES : isoTime(reg.expiresAt)),
    textElement('RegistrationId', reg.id),
    textElement('Tags', reg.tags.join(',')), // no spaces: the client splits without trimming (§3.4)
    textElement('PushVariables', vars),
    renderHandle(reg.handle),
    isTemplateKind(reg.kind) && reg.template !== undefined ? renderTemplate(KIND_PLATFORM[reg.kind], reg.template) : '',
  ].join('');
  return `<${root} xmlns="${SERVICEBUS_NS}" xmlns:i="${XSI_NS}">${body}</${root}>`;
}

function renderHandle(h: PnsHandle): string {
  switch (h.platform) {
    case 'wns':
    case 'mpns':
      return textElement('ChannelUri', h.value) + textElement('SecondaryTileName', h.secondaryTileName);
    case 'browser':
      return textElement('Endpoint', h.value) + textElement('P256DH', h.p256dh) + textElement('Auth', h.auth);
    case 'baidu':
      return textElement('BaiduUserId', h.baiduUserId) + textElement('BaiduChannelId', h.value);
    default:
      return textElement(HANDLE_FIELD[h.platform], h.value);
  }
}

function renderHeaders(stem: string, headers: readonly TemplateHeader[] | undefined): string {
  if (headers === undefined || headers.length === 0) return '';
  const items = headers.map((h) => `<${stem}Header><Header>${escapeXml(h.name)}</Header><Value>${escapeXml(h.value)}</Value></${stem}Header>`);
  return `<${stem}Headers>${items.join('')}</${stem}Headers>`;
}

function renderTemplate(platform: PlatformName, t: RegistrationTemplate): string {
  // BodyTemplate is always CDATA, as the JS client sends it and the real service answers (§6.3).
  const body = `<BodyTemplate>${cdata(t.body)}</BodyTemplate>`;
  const name = textElement('TemplateName', t.name);
  switch (platform) {
    case 'wns':
      return body + renderHeaders('Wns', t.headers) + name;
    case 'mpns':
      return body + renderHeaders('Mpns', t.headers) + name;
    case 'apns':
      return body + textElement('Expiry', t.expiry) + name + textElement('Priority', t.priority) + renderHeaders('Apns', t.headers);
    default:
      return body + name;
  }
}

function entryParts(reg: Registration, at: AtomLocation): AtomEntryParts {
  return {
    href: resourceHref(at, 'registrations', reg.id),
    title: reg.id,
    published: reg.createdAt,
    updated: reg.updatedAt,
    etag: reg.etag,
    content: renderRegistrationDescription(reg),
  };
}

/** The response entry of §6.5: Atom as the default namespace, `a:etag="W/&quot;n&quot;"`. */
export function renderRegistrationEntry(reg: Registration, at: AtomLocation): string {
  return renderAtomEntry(entryParts(reg, at));
}

/** A listing (§6.10); zero entries is a valid, empty feed. `selfHref` is the request URL as the client sees it. */
export function renderRegistrationFeed(regs: readonly Registration[], at: AtomLocation, selfHref: string): string {
  return renderAtomFeed({ title: 'Registrations', href: selfHref, updated: feedUpdated(regs, at), entries: regs.map((r) => entryParts(r, at)) });
}

/** Lines of import and export files (§11.1), for the registry's jobs (registry/jobs.ts). */
export const registrationDescriptionLines: RegistrationLineFormat = {
  parse: (line) => parseRegistrationDescription(line),
  render: renderRegistrationDescription,
};
