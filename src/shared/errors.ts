/**
 * Every failure that domain code reports to a caller is a HubError with a stable code.
 * api/error-catalog.ts maps each code to an HTTP status and, on the Azure surface, to the
 * `<Error><Code/><Detail/></Error>` body.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'malformed_body'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_hub_name'
  | 'invalid_rule_name'
  | 'invalid_rights'
  | 'invalid_key'
  | 'invalid_credentials'
  | 'unknown_platform'
  | 'hub_not_found'
  | 'hub_exists'
  | 'rule_not_found'
  | 'rule_exists'
  | 'too_many_rules'
  | 'last_manage_rule'
  | 'credentials_not_found'
  | 'not_found'
  | 'registration_not_found'
  | 'job_not_found'
  | 'notification_not_found'
  | 'installation_not_found'
  | 'etag_mismatch'
  | 'registration_gone'
  | 'invalid_continuation_token'
  | 'method_not_allowed'
  | 'admin_key_required'
  | 'admin_key_invalid'
  | 'sas_missing'
  | 'sas_malformed'
  | 'sas_expired'
  | 'sas_unknown_rule'
  | 'sas_invalid_signature'
  | 'sas_scope_mismatch'
  | 'missing_claim'
  | 'throttled'
  | 'device_credential_invalid'
  | 'forbidden'
  | 'secure_payload_gone'
  | 'not_implemented'
  | 'config_invalid'
  | 'data_dir_unusable'
  | 'internal'
  | 'store_unusable'
  | 'registration_owned_by_installation'
  | 'write_conflict'
  | 'data_dir_in_use'
  | 'file_conflict'
  | 'invalid_idempotency_key'
  | 'store_unavailable'
  | 'fcm_target_in_payload'
  | 'apns_channel_not_found'
  | 'pns_rejected'
  | 'pns_unavailable'
  | 'invalid_event_id'
  | 'invalid_webhook_url'
  | 'webhook_not_found'
  | 'portal_session_invalid'
  | 'portal_csrf_invalid';

export class HubError extends Error {
  readonly code: ErrorCode;
  /** Extra facts a client may act on (field names, limits). Never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HubError';
    this.code = code;
    this.details = details;
  }
}

export function isHubError(err: unknown): err is HubError {
  return err instanceof HubError;
}
