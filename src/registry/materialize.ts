/**
 * An installation as the hidden registrations it stands for (wire spec §5.2): one native registration, one
 * template registration per template, and the same again for each WNS secondary tile. They are what sends
 * match and what registration listings show. Pure.
 */
import { hash } from 'node:crypto';
import { checkTag, matchSystemTagPrefix } from '../tags/tag.ts';
import { HubError } from '../shared/errors.ts';
import type { Installation, InstallationPlatform, InstallationTemplate, PnsHandle, RegistrationInput, RegistrationKind, RegistrationTemplate } from './model.ts';
import { validateHandle } from './validation.ts';
import { headersToList } from './installation.ts';

export interface MaterializedRegistration {
  id: string;
  input: RegistrationInput;
}

/** The native kind per platform (§6.2); the template kind is this with `Template` appended. */
export const NATIVE_KIND: Readonly<Record<InstallationPlatform, RegistrationKind>> = {
  apns: 'Apple',
  wns: 'Windows',
  gcm: 'Gcm',
  fcmv1: 'FcmV1',
  adm: 'Adm',
  baidu: 'Baidu',
  browser: 'Browser',
  xiaomi: 'Xiaomi',
  mpns: 'Mpns',
};

/**
 * A stable id for one registration of an installation: the same installation id, tile and template name
 * always give the same id, so a re-PUT updates registrations in place instead of churning them. SHA-256
 * of an unambiguous (JSON array) encoding, 128 bits in hex: opaque, URL-safe, never a '/'.
 */
export function materializedRegistrationId(installationId: string, templateName?: string, tileId?: string): string {
  const key = JSON.stringify(['herald/installation-registration/1', installationId, tileId ?? null, templateName ?? null]);
  return hash('sha256', key, 'hex').slice(0, 32);
}

function union(...lists: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(lists.flat())];
}

function handleOf(inst: Installation, tileId?: string, tileChannel?: string): PnsHandle {
  if (tileId !== undefined) return validateHandle('wns', { value: tileChannel, secondaryTileName: tileId });
  const pc = inst.pushChannel;
  if (inst.platform === 'baidu') {
    // parseInstallation refuses Baidu (see there); nothing says how one pushChannel carries user and channel id.
    throw new HubError('invalid_request', 'Installations do not support the baidu platform.', { reason: 'platform_not_supported' });
  }
  if (typeof pc === 'string') return validateHandle(inst.platform, { value: pc }, 'pushChannel');
  return validateHandle('browser', { value: pc.endpoint, p256dh: pc.p256dh, auth: pc.auth }, 'pushChannel.endpoint');
}

function templateOf(platform: InstallationPlatform, name: string, t: InstallationTemplate): RegistrationTemplate {
  const out: RegistrationTemplate = { body: t.body, name };
  const headers = headersToList(t.headers);
  if (headers !== undefined && headers.length > 0) out.headers = headers;
  // Expiry is an APNs field (§5.1 [DOC], §6.2); elsewhere it is kept on the installation but not sent.
  if (t.expiry !== undefined && platform === 'apns') out.expiry = t.expiry;
  return out;
}

/**
 * The registrations an installation materialises. Tags (§5.2, §12.2 "Semantics", exact union UNCONFIRMED):
 * native = `$InstallationId:{id}`, `$UserId:{userId}` when set, and the installation's tags; a template adds
 * its own tags and its name. The name is added only when it is a valid plain tag: a name such as "Template Name"
 * can never appear in a tag expression, and a comma in it would corrupt the comma-separated `Tags` of a
 * registration listing (§6.2). A secondary tile's registrations carry the system tags and the tile's own tags,
 * not the installation's: the app tags each tile separately (UNCONFIRMED). An installation whose
 * pushChannelExpired is true still materialises; delivery decides what to skip.
 */
export function materializeRegistrations(inst: Installation): MaterializedRegistration[] {
  const system = [`$InstallationId:{${inst.installationId}}`];
  if (inst.userId !== undefined) system.push(`$UserId:{${inst.userId}}`);
  const pushVariables = inst.pushVariables === undefined ? undefined : Object.fromEntries(Object.entries(inst.pushVariables));
  const out: MaterializedRegistration[] = [];

  const emit = (platform: InstallationPlatform, handle: PnsHandle, ownerTags: readonly string[], templates: Record<string, InstallationTemplate> | undefined, tileId?: string) => {
    const native: RegistrationInput = { kind: NATIVE_KIND[platform], handle, tags: union(system, ownerTags) };
    if (pushVariables !== undefined) native.pushVariables = { ...pushVariables };
    out.push({ id: materializedRegistrationId(inst.installationId, undefined, tileId), input: native });
    for (const name of Object.keys(templates ?? {})) {
      const t = (templates as Record<string, InstallationTemplate>)[name] as InstallationTemplate;
      // A name spelled like a system tag must not let one device answer to another's id.
      const nameTag = 'tag' in checkTag(name) && matchSystemTagPrefix(name) === undefined ? [name] : [];
      const input: RegistrationInput = {
        kind: `${NATIVE_KIND[platform]}Template` as RegistrationKind,
        handle,
        tags: union(system, ownerTags, t.tags ?? [], nameTag),
        template: templateOf(platform, name, t),
      };
      if (pushVariables !== undefined) input.pushVariables = { ...pushVariables };
      out.push({ id: materializedRegistrationId(inst.installationId, name, tileId), input });
    }
  };

  emit(inst.platform, handleOf(inst), inst.tags ?? [], inst.templates);
  for (const [tileId, tile] of Object.entries(inst.secondaryTiles ?? {})) {
    emit('wns', handleOf(inst, tileId, tile.pushChannel), tile.tags ?? [], tile.templates, tileId);
  }
  return out;
}
