/**
 * Installations on the wire (wire spec §5.1): the PUT body read into an Installation, and the GET body
 * written from one. Pure: time is passed in, nothing is stored. Every bad input is
 * HubError('invalid_request') with `details.reason`; only JSON text that does not parse is 'malformed_body'.
 */
import { HubError } from '../shared/errors.ts';
import { MAX_TAGS_PER_REGISTRATION, validateTags } from '../tags/index.ts';
import type { BrowserPushChannel, Installation, InstallationPlatform, InstallationTemplate, TemplateHeader } from './model.ts';
import { MAX_TEMPLATE_NAME_LENGTH, validateHandle, validateId, validatePushVariables, validateTemplate } from './validation.ts';

/** What GET shows when an installation never expires: the real service's 7-digit fraction (§5.1 [REC]). */
export const INSTALLATION_NEVER_EXPIRES = '9999-12-31T23:59:59.9999999Z';
/** A defensive bound below the HTTP layer's own body limit (64 KiB by default, config `bodyLimitBytes`). */
export const MAX_INSTALLATION_JSON_BYTES = 256 * 1024;
/** A real installation nests 5 deep (secondaryTiles.tile.templates.name.headers); anything deeper is abuse. */
export const MAX_INSTALLATION_JSON_DEPTH = 16;
/** UNCONFIRMED: Azure documents no bound. Each template becomes a registration (§5.2), so one is needed. */
export const MAX_TEMPLATES_PER_INSTALLATION = 100;
/** UNCONFIRMED, as above: every tile becomes at least one registration. */
export const MAX_SECONDARY_TILES = 50;

export const INSTALLATION_PLATFORMS: readonly InstallationPlatform[] = ['apns', 'wns', 'gcm', 'fcmv1', 'adm', 'baidu', 'browser', 'xiaomi', 'mpns'];

type Json = Record<string, unknown>;
type Tile = NonNullable<Installation['secondaryTiles']>[string];

export function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

export function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: a template called `constructor` must not find Object.prototype.constructor. */
function ownEntries(obj: Json): Array<[string, unknown]> {
  return Object.keys(obj).map((k) => [k, obj[k]]);
}

/**
 * Reads the known fields of an object with their names matched case-insensitively: the docs spell `UserID`
 * and `userID` where the real key is `userId` (§5.1), so the same leniency is given to every field. Two
 * spellings of one field in one object are refused rather than guessed between. Unknown fields are ignored.
 */
function readFields<K extends string>(obj: Json, names: readonly K[], where: string): Partial<Record<K, unknown>> {
  const canonical = new Map(names.map((n) => [n.toLowerCase(), n] as const));
  const out: Partial<Record<K, unknown>> = {};
  for (const [key, value] of ownEntries(obj)) {
    const name = canonical.get(key.toLowerCase());
    if (name === undefined) continue;
    if (Object.hasOwn(out, name)) throw invalid('duplicate_field', `${where} has the field ${name} twice (in different letter case).`, { field: name });
    out[name] = value;
  }
  return out;
}

/** Strict UTF-8; decode() without `stream` keeps no state between calls, so one decoder serves all. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body text of PUT (and PATCH) /installations/{id}, parsed with a size and a nesting bound. */
export function parseInstallationJson(text: string | Buffer, maxBytes = MAX_INSTALLATION_JSON_BYTES): unknown {
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  if (size > maxBytes) throw new HubError('payload_too_large', `The installation body has ${size} bytes; at most ${maxBytes} are allowed.`, { reason: 'body_too_large', limit: maxBytes });
  let str: string;
  try {
    str = typeof text === 'string' ? text : UTF8.decode(text);
  } catch {
    throw new HubError('malformed_body', 'The installation body is not valid UTF-8.', { reason: 'invalid_utf8' });
  }
  if (str.charCodeAt(0) === 0xfeff) str = str.slice(1);
  // Counted on the text, before parsing, so nothing recursive ever walks a hostile nesting.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_INSTALLATION_JSON_DEPTH) {
        throw invalid('json_too_deep', `The installation body nests deeper than ${MAX_INSTALLATION_JSON_DEPTH} levels.`, { limit: MAX_INSTALLATION_JSON_DEPTH });
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  try {
    return JSON.parse(str) as unknown;
  } catch (err) {
    throw new HubError('malformed_body', `The installation body is not valid JSON: ${(err as Error).message}`, { reason: 'invalid_json' });
  }
}

/** `fcmV1` (.NET), `APNS`, ... compare case-insensitively; the lower-case value is canonical (§5.1, §16). */
export function parsePlatform(value: unknown): InstallationPlatform {
  if (value === undefined || value === null || value === '') throw invalid('missing_field', 'platform is required.', { field: 'platform' });
  const lower = typeof value === 'string' ? value.toLowerCase() : undefined;
  const platform = INSTALLATION_PLATFORMS.find((p) => p === lower);
  if (platform === undefined) {
    throw invalid('unknown_platform', `Unknown platform '${String(value).slice(0, 40)}'; expected one of ${INSTALLATION_PLATFORMS.join(', ')}.`, { field: 'platform' });
  }
  // Baidu: refused. The docs say installations do not support Baidu [DOC, §5.1]; a Baidu handle needs two
  // values (BaiduUserId and BaiduChannelId, §6.2) and no source says how one pushChannel string would carry
  // them, so accepting a guessed `userId-channelId` could store devices that never receive anything.
  // Baidu devices keep working through registrations (BaiduRegistrationDescription).
  if (platform === 'baidu') {
    throw invalid('platform_not_supported', 'Installations do not support the baidu platform; create a Baidu registration instead.', { field: 'platform' });
  }
  return platform;
}

const isAbsent = (v: unknown): boolean => v === undefined || v === null;

function parsePushChannel(platform: InstallationPlatform, value: unknown, field: string): { channel: string | BrowserPushChannel; asString: boolean } {
  if (isAbsent(value)) throw invalid('missing_field', `${field} is required.`, { field });
  if (platform !== 'browser') {
    if (typeof value !== 'string') throw invalid('invalid_handle', `${field} must be a string for platform ${platform}.`, { field });
    return { channel: validateHandle(platform, { value }, field).value, asString: false }; // APNs: upper-cased (§6.2)
  }
  // Browser: an object from JS, a JSON string of the same object from .NET (§5.1, §16).
  let obj: unknown = value;
  const asString = typeof value === 'string';
  if (asString) {
    try {
      obj = JSON.parse(value as string) as unknown;
    } catch {
      obj = undefined;
    }
  }
  if (!isJsonObject(obj)) {
    throw invalid('invalid_handle', `${field} of a browser installation must be an object {endpoint, p256dh, auth} or a JSON string of one.`, { field });
  }
  const f = readFields(obj, ['endpoint', 'p256dh', 'auth'], field);
  const h = validateHandle('browser', { value: f.endpoint, p256dh: f.p256dh, auth: f.auth }, `${field}.endpoint`);
  if (h.platform !== 'browser') throw new Error('unreachable');
  return { channel: { endpoint: h.value, p256dh: h.p256dh, auth: h.auth }, asString };
}

function parseTags(value: unknown, field: string, drop?: string): string[] {
  if (isAbsent(value)) return [];
  if (!Array.isArray(value)) throw invalid('tags_not_list', `${field} must be a list of strings.`, { field });
  // GET adds the template name to a template's tags (§5.1 [REC]); a PUT of that body sends it back, and the
  // name need not be a valid tag ("Template Name" has a space), so it is taken out before validation.
  const tags = drop === undefined ? value : value.filter((t) => t !== drop);
  try {
    // System tags are derived from installationId and userId (§5.2); a client-set one could impersonate another device.
    return validateTags(tags, { allowSystemTags: false });
  } catch (err) {
    throw withContext(err, field);
  }
}

/** Prefixes a validation error with where it happened, keeping code and reason. */
export function withContext(err: unknown, where: string, extra: Record<string, unknown> = {}): unknown {
  if (!(err instanceof HubError)) return err;
  return new HubError(err.code, `${where}: ${err.message}`, { ...err.details, ...extra });
}

function validateTemplateName(name: string): string {
  if (name.length === 0 || name.length > MAX_TEMPLATE_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw invalid('invalid_template_name', `Template name '${name.slice(0, 64)}' must be 1 to ${MAX_TEMPLATE_NAME_LENGTH} characters without control characters (§14).`, { field: 'templates' });
  }
  return name;
}

export function headersToList(headers: Record<string, string> | undefined): TemplateHeader[] | undefined {
  return headers === undefined ? undefined : Object.keys(headers).map((name) => ({ name, value: headers[name] as string }));
}

interface TemplateCount {
  n: number;
}

function parseTemplates(platform: InstallationPlatform, value: unknown, ownerTags: readonly string[], field: string, count: TemplateCount): Record<string, InstallationTemplate> | undefined {
  if (isAbsent(value)) return undefined;
  if (!isJsonObject(value)) throw invalid('invalid_field', `${field} must be an object of templates by name.`, { field });
  const out: Array<[string, InstallationTemplate]> = [];
  for (const [name, raw] of ownEntries(value)) {
    validateTemplateName(name);
    if (++count.n > MAX_TEMPLATES_PER_INSTALLATION) {
      throw invalid('too_many_templates', `An installation may have at most ${MAX_TEMPLATES_PER_INSTALLATION} templates.`, { field, limit: MAX_TEMPLATES_PER_INSTALLATION });
    }
    const where = `${field}.${name}`;
    if (!isJsonObject(raw)) throw invalid('invalid_field', `${where} must be an object {body, headers?, expiry?, tags?}.`, { field: where, template: name });
    const f = readFields(raw, ['body', 'headers', 'expiry', 'tags'], where);
    let headers: Record<string, string> | undefined;
    if (!isAbsent(f.headers)) {
      if (!isJsonObject(f.headers) || Object.values(f.headers).some((v) => typeof v !== 'string')) {
        throw invalid('invalid_header', `${where}.headers must be an object of string values.`, { field: `${where}.headers`, template: name });
      }
      headers = Object.fromEntries(ownEntries(f.headers)) as Record<string, string>;
    }
    if (!isAbsent(f.expiry) && typeof f.expiry !== 'string') throw invalid('invalid_field', `${where}.expiry must be a string.`, { field: `${where}.expiry`, template: name });
    const expiry = isAbsent(f.expiry) ? undefined : (f.expiry as string);
    try {
      // Headers are accepted on every platform: the captured JS PUT sends `apns-priority` on an APNs template
      // although the docs say headers are for WNS/MPNS only (§5.3, §5.1).
      validateTemplate(platform, { body: f.body as string, name, headers: headersToList(headers), expiry });
    } catch (err) {
      throw withContext(err, `Template '${name}'`, { template: name });
    }
    const tags = parseTags(f.tags, `${where}.tags`, name);
    // The 60-tag bound (§12.1) applies to what a materialised template registration carries (§5.2): the owner's
    // tags with the template's own. System tags and the template name are not counted (UNCONFIRMED).
    if (new Set([...ownerTags, ...tags]).size > MAX_TAGS_PER_REGISTRATION) {
      throw invalid('too_many_tags', `Template '${name}' and the installation together have more than ${MAX_TAGS_PER_REGISTRATION} distinct tags.`, { field: `${where}.tags`, template: name, limit: MAX_TAGS_PER_REGISTRATION });
    }
    const t: InstallationTemplate = { body: f.body as string };
    if (headers !== undefined && Object.keys(headers).length > 0) t.headers = headers;
    if (expiry !== undefined) t.expiry = expiry;
    if (tags.length > 0) t.tags = tags;
    out.push([name, t]);
  }
  return out.length > 0 ? Object.fromEntries(out) : undefined;
}

function parseSecondaryTiles(platform: InstallationPlatform, value: unknown, count: TemplateCount): Installation['secondaryTiles'] {
  if (isAbsent(value) || (isJsonObject(value) && Object.keys(value).length === 0)) return undefined;
  if (platform !== 'wns') throw invalid('invalid_field', 'secondaryTiles are only for platform wns (§5.1).', { field: 'secondaryTiles' });
  if (!isJsonObject(value)) throw invalid('invalid_field', 'secondaryTiles must be an object of tiles by tile id.', { field: 'secondaryTiles' });
  const entries = ownEntries(value);
  if (entries.length > MAX_SECONDARY_TILES) throw invalid('too_many_tiles', `An installation may have at most ${MAX_SECONDARY_TILES} secondary tiles.`, { field: 'secondaryTiles', limit: MAX_SECONDARY_TILES });
  const out: Array<[string, Tile]> = [];
  for (const [tileId, raw] of entries) {
    const where = `secondaryTiles.${tileId.slice(0, 64)}`;
    if (tileId === '' || /[\u0000-\u001f\u007f]/.test(tileId)) throw invalid('invalid_field', 'A secondary tile id must be non-empty without control characters.', { field: 'secondaryTiles' });
    if (!isJsonObject(raw)) throw invalid('invalid_field', `${where} must be an object {pushChannel, tags?, templates?}.`, { field: where });
    const f = readFields(raw, ['pushChannel', 'tags', 'templates'], where);
    if (typeof f.pushChannel !== 'string') throw invalid('missing_field', `${where}.pushChannel is required and must be a string.`, { field: `${where}.pushChannel` });
    const handle = validateHandle('wns', { value: f.pushChannel, secondaryTileName: tileId }, `${where}.pushChannel`);
    const tags = parseTags(f.tags, `${where}.tags`);
    const templates = parseTemplates('wns', f.templates, tags, `${where}.templates`, count);
    // pushChannelExpired is read-only; writing a channel clears it (see parseInstallation).
    const tile: Tile = { pushChannel: handle.value, pushChannelExpired: false };
    if (tags.length > 0) tile.tags = tags;
    if (templates !== undefined) tile.templates = templates;
    out.push([tileId, tile]);
  }
  return Object.fromEntries(out);
}

/**
 * The PUT /installations/{id} body (§5.1, §5.3), already JSON-parsed. It replaces the whole installation.
 * Read-only fields a client may echo from an earlier GET (pushChannelExpired, expirationTime, lastUpdate,
 * lastActiveOn) and unknown fields are ignored. pushChannelExpired starts false: a client that writes its
 * channel asserts that it is current, and a wrong assertion costs one failed delivery, whereas keeping a stale
 * `true` would silently skip a revived device for ever (§5.4 resets it the same way; UNCONFIRMED for PUT).
 * `createdAt` and `expiresAt` carry over from `previous`; the caller applies any hub TTL.
 */
export function parseInstallation(body: unknown, idFromPath: string, now: number, previous?: Installation): Installation {
  if (!isJsonObject(body)) throw invalid('invalid_body', 'The installation must be a JSON object.');
  const f = readFields(body, ['installationId', 'platform', 'pushChannel', 'userId', 'tags', 'templates', 'pushVariables', 'secondaryTiles'], 'The installation');
  const installationId = validateId(idFromPath, 'installationId');
  if (!isAbsent(f.installationId) && validateId(f.installationId, 'installationId') !== installationId) {
    throw invalid('installation_id_mismatch', `installationId '${String(f.installationId).slice(0, 64)}' in the body differs from '${installationId}' in the URL.`, { field: 'installationId' });
  }
  const platform = parsePlatform(f.platform);
  const { channel, asString } = parsePushChannel(platform, f.pushChannel, 'pushChannel');
  const tags = parseTags(f.tags, 'tags');
  const count: TemplateCount = { n: 0 };
  const templates = parseTemplates(platform, f.templates, tags, 'templates', count);
  const secondaryTiles = parseSecondaryTiles(platform, f.secondaryTiles, count);
  const inst: Installation = { installationId, platform, pushChannel: channel, pushChannelExpired: false, createdAt: previous?.createdAt ?? now, updatedAt: now };
  if (asString) inst.pushChannelAsString = true;
  if (!isAbsent(f.userId)) inst.userId = validateId(f.userId, 'userId');
  if (tags.length > 0) inst.tags = tags;
  if (templates !== undefined) inst.templates = templates;
  if (!isAbsent(f.pushVariables)) {
    const vars = validatePushVariables(f.pushVariables, 'pushVariables');
    if (Object.keys(vars).length > 0) inst.pushVariables = Object.fromEntries(ownEntries(vars)) as Record<string, string>;
  }
  if (secondaryTiles !== undefined) inst.secondaryTiles = secondaryTiles;
  if (previous?.expiresAt !== undefined) inst.expiresAt = previous.expiresAt;
  return inst;
}

function templatesToJson(templates: Record<string, InstallationTemplate>): Json {
  return Object.fromEntries(
    Object.keys(templates).map((name) => {
      const t = templates[name] as InstallationTemplate;
      const out: Json = { body: t.body };
      if (t.headers !== undefined) out.headers = Object.fromEntries(ownEntries(t.headers));
      if (t.expiry !== undefined) out.expiry = t.expiry;
      // The real GET lists the template name among its tags, once (§5.1 [REC], §16).
      const tags = t.tags ?? [];
      out.tags = tags.includes(name) ? [...tags] : [...tags, name];
      return [name, out];
    }),
  );
}

/**
 * The GET /installations/{id} body, in the field order of the real service's response (§5.1 [REC]).
 * `tags` and `userId` are omitted when absent, as the real service does. `lastUpdate` is documented but
 * was never seen in recordings (UNCONFIRMED); clients ignore fields they do not know.
 */
export function installationToJson(inst: Installation): Json {
  const pc = inst.pushChannel;
  const pushChannel = typeof pc === 'string' ? pc : { endpoint: pc.endpoint, p256dh: pc.p256dh, auth: pc.auth };
  const out: Json = {
    installationId: inst.installationId,
    // A browser channel echoes as it came: an object (JS) or a JSON string (.NET) (§5.1, UNCONFIRMED).
    pushChannel: typeof pushChannel === 'object' && inst.pushChannelAsString ? JSON.stringify(pushChannel) : pushChannel,
    pushChannelExpired: inst.pushChannelExpired,
    platform: inst.platform,
    expirationTime: inst.expiresAt === undefined ? INSTALLATION_NEVER_EXPIRES : new Date(inst.expiresAt).toISOString(),
  };
  if (inst.tags !== undefined && inst.tags.length > 0) out.tags = [...inst.tags];
  if (inst.userId !== undefined) out.userId = inst.userId;
  if (inst.pushVariables !== undefined) out.pushVariables = Object.fromEntries(ownEntries(inst.pushVariables));
  if (inst.templates !== undefined) out.templates = templatesToJson(inst.templates);
  if (inst.secondaryTiles !== undefined) {
    const tiles = inst.secondaryTiles;
    out.secondaryTiles = Object.fromEntries(
      Object.keys(tiles).map((id) => {
        const tile = tiles[id] as Tile;
        const t: Json = { pushChannel: tile.pushChannel, pushChannelExpired: tile.pushChannelExpired ?? false };
        if (tile.tags !== undefined && tile.tags.length > 0) t.tags = [...tile.tags];
        if (tile.templates !== undefined) t.templates = templatesToJson(tile.templates);
        return [id, t];
      }),
    );
  }
  out.lastUpdate = new Date(inst.updatedAt).toISOString();
  return out;
}
