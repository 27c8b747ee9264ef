/**
 * Who may use the management API (/_admin/v1): a request with `Authorization: Bearer <admin key>`, or one
 * that another authorizer accepts (the portal's session cookie adds one). Kept apart from app.ts so such
 * an authorizer is added by passing it in, not by changing the check.
 */
import type { FastifyRequest } from 'fastify';
import { secretsEqual } from '../auth/keys.ts';
import { HubError } from '../shared/errors.ts';

/** True when it recognises the request as the operator's; false to leave the decision to the others. */
export type AdminAuthorizer = (req: FastifyRequest) => boolean | Promise<boolean>;

/** Throws HubError `admin_key_required` / `admin_key_invalid` unless the key or an authorizer admits the request. */
export async function authorizeAdmin(req: FastifyRequest, adminKey: string, authorizers: readonly AdminAuthorizer[] = []): Promise<void> {
  const header = req.headers.authorization;
  if (!header) {
    for (const a of authorizers) if (await a(req)) return;
    throw new HubError('admin_key_required', 'The management API needs the admin key: send "Authorization: Bearer <key>".');
  }
  const m = /^Bearer (.+)$/i.exec(header);
  if (!m || !secretsEqual(m[1]!.trim(), adminKey)) {
    throw new HubError('admin_key_invalid', 'The admin key is not valid for this hub.');
  }
}
