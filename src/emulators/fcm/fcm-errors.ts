/**
 * FCM HTTP v1 errors: google.rpc.Status bodies whose details carry an FcmError code (pns-protocols.md §3.4).
 * Vendor doc: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
 */
import { json } from '../shared/emulator-core.ts';
import type { Reply } from '../shared/server.ts';

/** FcmError.errorCode → HTTP status and google.rpc `status`. */
export const FCM_ERROR_CODES = {
  INVALID_ARGUMENT: { http: 400, status: 'INVALID_ARGUMENT' }, // bad token format, bad field, too big, reserved key
  UNREGISTERED: { http: 404, status: 'NOT_FOUND' }, // token no longer valid (uninstall, expiry)
  SENDER_ID_MISMATCH: { http: 403, status: 'PERMISSION_DENIED' }, // token belongs to another project
  QUOTA_EXCEEDED: { http: 429, status: 'RESOURCE_EXHAUSTED' }, // may carry Retry-After
  UNAVAILABLE: { http: 503, status: 'UNAVAILABLE' }, // honour Retry-After
  INTERNAL: { http: 500, status: 'INTERNAL' },
  THIRD_PARTY_AUTH_ERROR: { http: 401, status: 'UNAUTHENTICATED' }, // APNs / web push credentials rejected
} as const;

export type FcmErrorCode = keyof typeof FCM_ERROR_CODES;

/** google.rpc.Code names for HTTP statuses, for errors without an FcmError (auth, routing). */
const RPC_STATUS_BY_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** The FcmError an injected fault reports for its status. */
export const DEFAULT_FAULT_CODE: Record<number, FcmErrorCode> = {
  400: 'INVALID_ARGUMENT',
  401: 'THIRD_PARTY_AUTH_ERROR',
  403: 'SENDER_ID_MISMATCH',
  404: 'UNREGISTERED',
  429: 'QUOTA_EXCEEDED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const TYPE_FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const TYPE_BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

export interface FieldViolation {
  field: string;
  description: string;
}

/** A google.rpc.Status error; `errorCode` adds the FcmError detail, `violations` a google.rpc.BadRequest. */
export function rpcError(
  http: number,
  message: string,
  opts: { errorCode?: string; violations?: FieldViolation[]; status?: string } = {},
): Reply {
  const details: unknown[] = [];
  if (opts.errorCode) details.push({ '@type': TYPE_FCM_ERROR, errorCode: opts.errorCode });
  if (opts.violations) details.push({ '@type': TYPE_BAD_REQUEST, fieldViolations: opts.violations });
  const status = opts.status ?? RPC_STATUS_BY_HTTP[http] ?? 'UNKNOWN';
  return json(
    http,
    { error: { code: http, message, status, ...(details.length ? { details } : {}) } },
    { 'content-type': 'application/json; charset=UTF-8' },
  );
}

/** An error carrying an FcmError code, with the HTTP status and rpc status of the table. */
export function fcmError(code: FcmErrorCode, message: string, violations?: FieldViolation[]): Reply {
  const { http, status } = FCM_ERROR_CODES[code];
  return rpcError(http, message, { errorCode: code, status, violations });
}
