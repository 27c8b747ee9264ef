/**
 * PATCH /installations/{id}: Azure's non-standard JSON Patch (wire spec §5.4). The operations edit the
 * installation's PUT-shaped JSON, and the result goes through parseInstallation, so a patched installation
 * is validated exactly like a PUT one. Pure: time is passed in.
 */
import { HubError } from '../shared/errors.ts';
import type { Installation } from './model.ts';
import { installationToJson, invalid, isJsonObject, parseInstallation, withContext } from './installation.ts';

/** UNCONFIRMED: Azure documents no bound. 100 covers 60 single-tag adds plus the rest of an installation. */
export const MAX_PATCH_OPERATIONS = 100;

type Json = Record<string, unknown>;
type Op = 'add' | 'remove' | 'replace';

/** Where the current operation is, for messages and `details.opIndex`. */
interface Ctx {
  index: number;
  op: Op;
  path: string;
  value: unknown;
  /** Which push channels were written: '' for the installation's, else a tile id; '*' for every tile. */
  channels: Set<string>;
}

function bad(ctx: Ctx | { index: number; path?: string }, reason: string, message: string): HubError {
  return invalid(reason, `Patch operation ${ctx.index}${ctx.path ? ` (${ctx.path})` : ''}: ${message}`, { opIndex: ctx.index });
}

// --- field access with property names matched case-insensitively (§5.4, UNCONFIRMED; be lenient) -------

function findKey(obj: Json, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

function getField(obj: Json, name: string): unknown {
  const key = findKey(obj, name);
  return key === undefined ? undefined : obj[key];
}

function deleteField(obj: Json, name: string): void {
  for (let key = findKey(obj, name); key !== undefined; key = findKey(obj, name)) delete obj[key];
}

/** defineProperty, not assignment: a template or tile named `__proto__` must stay a plain own property. */
function setOwn(obj: Json, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function setField(obj: Json, name: string, value: unknown): void {
  deleteField(obj, name);
  setOwn(obj, name, value);
}

/** An object-valued field (templates, a template, pushVariables, ...), created when asked to. */
function objectField(obj: Json, name: string, create: boolean): Json | undefined {
  const v = getField(obj, name);
  if (isJsonObject(v)) return v;
  if (!create) return undefined;
  const fresh: Json = {};
  setField(obj, name, fresh);
  return fresh;
}

/** Keyed entries (template names, tile ids, variable names) are exact, as JSON keys are. */
function ownChild(obj: Json, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

// --- values ---------------------------------------------------------------------------------------------

/**
 * JS and .NET type `value` as a string, so structured values arrive as JSON text (§5.4): parse a string that
 * starts with `{` or `[` where an object or array is expected. Values are copied, never shared with the input.
 */
function structured(ctx: Ctx): unknown {
  const v = ctx.value;
  if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw bad(ctx, 'invalid_patch_value', 'value looks like JSON but does not parse.');
    }
  }
  return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
}

function objectValue(ctx: Ctx): Json {
  const v = structured(ctx);
  if (!isJsonObject(v)) throw bad(ctx, 'invalid_patch_value', 'value must be a JSON object (or a string of one).');
  return v;
}

function stringValue(ctx: Ctx): string {
  if (typeof ctx.value !== 'string') throw bad(ctx, 'invalid_patch_value', 'value must be a string.');
  return ctx.value;
}

/** A tag value: one tag, or an array of them (possibly as JSON text). */
function tagList(ctx: Ctx): string[] {
  const v = structured(ctx);
  const list = Array.isArray(v) ? v : [v];
  if (list.some((t) => typeof t !== 'string')) throw bad(ctx, 'invalid_patch_value', 'value must be a tag or an array of tags.');
  return list as string[];
}

// --- operations -----------------------------------------------------------------------------------------

function end(ctx: Ctx, rest: string[], n: number): void {
  if (rest.length > n) throw bad(ctx, 'invalid_patch_path', 'the path goes deeper than this property allows.');
}

/** Tags of the installation, a template or a tile: add appends (no duplicates), remove is by name (§5.4). */
function patchTags(owner: Json, ctx: Ctx, rest: string[]): void {
  end(ctx, rest, 1);
  const current = getField(owner, 'tags');
  const tags: unknown[] = Array.isArray(current) ? current : [];
  if (rest.length === 1) {
    if (ctx.op !== 'remove') throw bad(ctx, 'invalid_patch_path', `to add a tag use {"op":"add","path":"/tags","value":"tag"}; /tags/{name} only takes remove.`);
    const kept = tags.filter((t) => t !== rest[0]); // removing an absent tag is a no-op
    if (kept.length > 0) setField(owner, 'tags', kept);
    else deleteField(owner, 'tags'); // the last tag removed takes the property with it
    return;
  }
  if (ctx.op === 'remove') return deleteField(owner, 'tags');
  const added = tagList(ctx);
  const base = ctx.op === 'replace' ? [] : tags;
  setField(owner, 'tags', [...base, ...added.filter((t, i) => !base.includes(t) && added.indexOf(t) === i)]);
}

/** `/templates[/{name}[/body|headers|expiry|tags[/...]]]` on the installation or a tile (§5.4). */
function patchTemplates(owner: Json, ctx: Ctx, rest: string[]): void {
  if (rest.length === 0) {
    if (ctx.op === 'remove') return deleteField(owner, 'templates');
    return setField(owner, 'templates', objectValue(ctx));
  }
  const name = rest[0] as string;
  const templates = objectField(owner, 'templates', ctx.op !== 'remove');
  if (templates === undefined) return;
  if (rest.length === 1) {
    if (ctx.op === 'remove') delete templates[name];
    else setOwn(templates, name, objectValue(ctx));
    return;
  }
  let template = ownChild(templates, name);
  if (!isJsonObject(template)) {
    if (ctx.op === 'remove') return;
    template = {};
    setOwn(templates, name, template);
  }
  const t = template as Json;
  const field = (rest[1] as string).toLowerCase();
  if (field === 'tags') return patchTags(t, ctx, rest.slice(2));
  if (field === 'body' || field === 'expiry') {
    end(ctx, rest, 2);
    if (ctx.op === 'remove') deleteField(t, field);
    else setField(t, field, stringValue(ctx));
    return;
  }
  if (field !== 'headers') throw bad(ctx, 'invalid_patch_path', `a template has no property '${rest[1]}' (body, headers, expiry, tags).`);
  end(ctx, rest, 3);
  if (rest.length === 2) {
    // `headers` replaces the whole headers object (§5.4).
    if (ctx.op === 'remove') deleteField(t, 'headers');
    else setField(t, 'headers', objectValue(ctx));
    return;
  }
  // One header (an extension): HTTP header names are case-insensitive.
  const headers = objectField(t, 'headers', ctx.op !== 'remove');
  if (headers === undefined) return;
  if (ctx.op === 'remove') deleteField(headers, rest[2] as string);
  else setField(headers, rest[2] as string, stringValue(ctx));
}

function patchPushVariables(doc: Json, ctx: Ctx, rest: string[]): void {
  end(ctx, rest, 1);
  if (rest.length === 0) {
    if (ctx.op === 'remove') deleteField(doc, 'pushVariables');
    else setField(doc, 'pushVariables', objectValue(ctx));
    return;
  }
  const vars = objectField(doc, 'pushVariables', ctx.op !== 'remove');
  if (vars === undefined) return;
  if (ctx.op === 'remove') delete vars[rest[0] as string];
  else setOwn(vars, rest[0] as string, stringValue(ctx));
}

/** `/secondaryTiles[/{tileId}[/pushChannel|tags|templates/...]]`, WNS only (§5.4: "analogous"). */
function patchSecondaryTiles(doc: Json, ctx: Ctx, rest: string[]): void {
  if (rest.length === 0) {
    ctx.channels.add('*');
    if (ctx.op === 'remove') deleteField(doc, 'secondaryTiles');
    else setField(doc, 'secondaryTiles', objectValue(ctx));
    return;
  }
  const tileId = rest[0] as string;
  const tiles = objectField(doc, 'secondaryTiles', ctx.op !== 'remove');
  if (tiles === undefined) return;
  if (rest.length === 1) {
    ctx.channels.add(tileId);
    if (ctx.op === 'remove') delete tiles[tileId];
    else setOwn(tiles, tileId, objectValue(ctx));
    return;
  }
  let tile = ownChild(tiles, tileId);
  if (!isJsonObject(tile)) {
    if (ctx.op === 'remove') return;
    tile = {};
    setOwn(tiles, tileId, tile);
  }
  const t = tile as Json;
  const field = (rest[1] as string).toLowerCase();
  if (field === 'tags') return patchTags(t, ctx, rest.slice(2));
  if (field === 'templates') return patchTemplates(t, ctx, rest.slice(2));
  if (field !== 'pushchannel') throw bad(ctx, 'invalid_patch_path', `a secondary tile has no property '${rest[1]}' (pushChannel, tags, templates).`);
  end(ctx, rest, 2);
  ctx.channels.add(tileId);
  if (ctx.op === 'remove') deleteField(t, 'pushChannel');
  else setField(t, 'pushChannel', stringValue(ctx));
}

function applyOne(doc: Json, ctx: Ctx, segments: string[]): void {
  const [first, ...rest] = segments as [string, ...string[]];
  switch (first.toLowerCase()) {
    case 'tags':
      return patchTags(doc, ctx, rest);
    case 'userid':
    case 'user': // the docs' spelling (§5.4)
      end(ctx, rest, 0);
      if (ctx.op === 'remove') deleteField(doc, 'userId');
      else setField(doc, 'userId', stringValue(ctx));
      return;
    case 'pushchannel':
      end(ctx, rest, 0);
      ctx.channels.add('');
      // Not `structured`: a browser channel from .NET is a JSON string and is echoed as one (§5.1).
      if (ctx.op === 'remove') deleteField(doc, 'pushChannel');
      else setField(doc, 'pushChannel', typeof ctx.value === 'object' && ctx.value !== null ? JSON.parse(JSON.stringify(ctx.value)) : ctx.value);
      return;
    case 'templates':
      return patchTemplates(doc, ctx, rest);
    case 'pushvariables':
      return patchPushVariables(doc, ctx, rest);
    case 'secondarytiles':
      return patchSecondaryTiles(doc, ctx, rest);
    default:
      throw bad(ctx, 'invalid_patch_path', `'/${first}' is not a property that PATCH can change (tags, userId, pushChannel, templates, pushVariables, secondaryTiles).`);
  }
}

/** Checks one operation's shape and splits its path into JSON-pointer segments (RFC 6901 escapes). */
function readOperation(raw: unknown, index: number, channels: Set<string>): { ctx: Ctx; segments: string[] } {
  if (!isJsonObject(raw)) throw bad({ index }, 'invalid_patch_operation', 'an operation must be an object {op, path, value?}.');
  const op = typeof raw.op === 'string' ? raw.op.toLowerCase() : undefined;
  if (op !== 'add' && op !== 'remove' && op !== 'replace') {
    throw bad({ index }, 'invalid_patch_operation', `op must be add, remove or replace, not '${String(raw.op).slice(0, 20)}'.`);
  }
  const path = raw.path;
  if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2) throw bad({ index }, 'invalid_patch_path', 'path must be a string that starts with /, like /tags.');
  const ctx: Ctx = { index, op, path: path.slice(0, 300), value: raw.value, channels };
  const segments = path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.some((s) => s === '')) throw bad(ctx, 'invalid_patch_path', 'path has an empty segment.');
  if (op !== 'remove' && (raw.value === undefined || raw.value === null)) throw bad(ctx, 'missing_patch_value', `${op} needs a value.`);
  return { ctx, segments };
}

/** The installation as a PUT body; its read-only fields are left out, parseInstallation would ignore them. */
function toDocument(inst: Installation): Json {
  const doc = installationToJson(inst);
  delete doc.pushChannelExpired;
  delete doc.expirationTime;
  delete doc.lastUpdate;
  return doc;
}

function applyOps(inst: Installation, ops: readonly unknown[], count: number, channels: Set<string>): { doc: Json; ctxs: Ctx[] } {
  const doc = toDocument(inst);
  const ctxs: Ctx[] = [];
  for (let i = 0; i < count; i++) {
    const { ctx, segments } = readOperation(ops[i], i, channels);
    applyOne(doc, ctx, segments);
    ctxs.push(ctx);
  }
  return { doc, ctxs };
}

/**
 * Applies a PATCH body (already JSON-parsed) to a stored installation. Operations apply in order to a
 * working copy; only the end result must be valid, so "add body, then add headers" of a new WNS template
 * works. When it is not valid, the error names the operation after which the installation stayed invalid.
 * pushChannelExpired is reset where a channel was written (§5.4, UNCONFIRMED) and kept elsewhere.
 */
export function applyInstallationPatch(inst: Installation, ops: unknown, now: number): Installation {
  if (!Array.isArray(ops)) throw invalid('patch_not_array', 'The PATCH body must be a JSON array of operations {op, path, value}.');
  if (ops.length > MAX_PATCH_OPERATIONS) {
    throw invalid('too_many_operations', `A PATCH may have at most ${MAX_PATCH_OPERATIONS} operations.`, { limit: MAX_PATCH_OPERATIONS });
  }
  const channels = new Set<string>();
  const { doc, ctxs } = applyOps(inst, ops, ops.length, channels);
  let result: Installation;
  try {
    result = parseInstallation(doc, inst.installationId, now, inst);
  } catch (err) {
    throw blame(inst, ops, ctxs, err, now);
  }
  result.pushChannelExpired = channels.has('') ? false : inst.pushChannelExpired;
  for (const [tileId, tile] of Object.entries(result.secondaryTiles ?? {})) {
    const before = inst.secondaryTiles && Object.hasOwn(inst.secondaryTiles, tileId) ? inst.secondaryTiles[tileId] : undefined;
    tile.pushChannelExpired = channels.has('*') || channels.has(tileId) ? false : (before?.pushChannelExpired ?? false);
  }
  return result;
}

/** Finds the last prefix of the operations that still validates; the operation after it is to blame. */
function blame(inst: Installation, ops: readonly unknown[], ctxs: Ctx[], err: unknown, now: number): unknown {
  if (!(err instanceof HubError)) return err;
  let index = 0;
  for (let k = ops.length - 1; k >= 0; k--) {
    try {
      parseInstallation(applyOps(inst, ops, k, new Set()).doc, inst.installationId, now, inst);
      index = k;
      break;
    } catch {
      // still invalid before operation k; look earlier
    }
  }
  const ctx = ctxs[index];
  return withContext(err, `Patch operation ${index}${ctx ? ` (${ctx.op} ${ctx.path})` : ''}`, { opIndex: index });
}
