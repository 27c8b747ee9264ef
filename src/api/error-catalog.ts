/**
 * Every ErrorCode's HTTP status, in one place. The management API answers
 * `{"error":{"code","message","details"?}}`; the Azure surface answers `<Error><Code/><Detail/></Error>`
 * (wire spec §3.3), never 5xx for a client's mistake (the JS client would replay it, §1.4).
 */
import type { ErrorCode } from '../shared/errors.ts';
import { NOT_XML_CHAR } from '../shared/xml-chars.ts';

export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  malformed_body: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_hub_name: 400,
  invalid_rule_name: 400,
  invalid_rights: 400,
  invalid_key: 400,
  invalid_credentials: 400,
  unknown_platform: 400,
  hub_not_found: 404,
  hub_exists: 409,
  rule_not_found: 404,
  rule_exists: 409,
  too_many_rules: 409,
  last_manage_rule: 409,
  credentials_not_found: 404,
  not_found: 404,
  registration_not_found: 404,
  job_not_found: 404,
  notification_not_found: 404,
  installation_not_found: 404,
  etag_mismatch: 412,
  // An expired registration: the device SDKs and the seed backend re-create on 410 (§6.7).
  registration_gone: 410,
  invalid_continuation_token: 400,
  method_not_allowed: 405,
  admin_key_required: 401,
  admin_key_invalid: 401,
  sas_missing: 401,
  sas_malformed: 401,
  sas_expired: 401,
  sas_unknown_rule: 401,
  sas_invalid_signature: 401,
  sas_scope_mismatch: 401,
  // Azure answers a missing claim with 401 and "Manage claim is required for this operation." [REC]
  missing_claim: 401,
  // The JS client retries a 429 after its Retry-After (wire spec §1.4).
  throttled: 429,
  device_credential_invalid: 401,
  forbidden: 403,
  secure_payload_gone: 410,
  not_implemented: 501,
  config_invalid: 500,
  data_dir_unusable: 500,
  internal: 500,
  // The store cannot be used: a database written by a newer Herald, or one that cannot be reached.
  store_unusable: 500,
  // A registration materialised from an installation is managed through the installation API (issue 10 item 9).
  registration_owned_by_installation: 409,
  // A write that collided with the stored state (a uniqueness rule); never a 500 (issue 10 item 9).
  write_conflict: 409,
  // Start-up only: another Herald holds the data directory's lock.
  data_dir_in_use: 409,
  // An upload's path runs into a file where a folder is needed, or a folder where the file would go.
  file_conflict: 409,
  // An Idempotency-Key header that is empty, too long or carries control characters (issue 11).
  invalid_idempotency_key: 400,
  // The shared store (PostgreSQL) cannot be reached right now: 503 with Retry-After; nothing was acknowledged.
  store_unavailable: 503,
  // An FCM v1 message that names its own token, topic, condition or fid (issue 14): it would reach devices
  // the send did not select, so it is refused on every send surface and in FCM v1 templates.
  fcm_target_in_payload: 400,
  // APNs broadcast channels (issue 14 item 2): APNs does not know the channel id.
  apns_channel_not_found: 404,
  // The PNS refused a request Herald made for the caller (a channel request); details carry its reason.
  pns_rejected: 400,
  // The PNS did not answer, or answered 5xx.
  pns_unavailable: 502,
  // Events (issue 13): a Last-Event-ID that is no event id of the hub; a webhook URL Herald will not call.
  invalid_event_id: 400,
  invalid_webhook_url: 400,
  webhook_not_found: 404,
  // The portal's session cookie is missing its signature, expired, or from before the admin key changed (issue 13).
  portal_session_invalid: 401,
  // A portal write without the session's CSRF token, or from another origin (issue 13).
  portal_csrf_invalid: 403,
};

/** The one message a 500 shows: internals stay in the log, found by the request id. */
export const INTERNAL_MESSAGE = 'An internal error occurred; the server log has the details under this request id.';

const NOT_XML_CHARS = new RegExp(NOT_XML_CHAR.source, 'g');

/**
 * Element text needs only these three escaped; quotes stay readable for a person reading the body. A detail
 * may quote the client's input, so what XML cannot carry at all becomes U+FFFD.
 */
function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHARS, '\ufffd').replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

/**
 * The Azure error body. Detail ends with `.TrackingId:<id>,TimeStamp:<time>` as the real service's
 * does, so a user can quote it from a client exception to find the log line.
 */
export function azureErrorBody(status: number, detail: string, trackingId: string, at: Date): string {
  const stamp = `.TrackingId:${trackingId},TimeStamp:${at.toISOString()}`;
  return `<Error><Code>${status}</Code><Detail>${escapeXml(`${detail}${stamp}`)}</Detail></Error>`;
}
