/** JSON schemas shared by the management routes; @fastify/swagger turns them into the OpenAPI document. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', description: 'Stable machine-readable code' },
        message: { type: 'string' },
        requestId: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  409: errorSchema,
} as const;

export const hubSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    settings: {
      type: 'object',
      properties: {
        registrationTtlSeconds: { type: ['integer', 'null'] },
        sendsPerSecond: { type: ['number', 'null'] },
        registrationsPerSecond: { type: ['number', 'null'] },
        deviceSuccessEvents: { type: 'boolean' },
        deviceSuccessOutcomes: { type: 'boolean' },
      },
    },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const ruleSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    rights: { type: 'array', items: { type: 'string', enum: ['Listen', 'Send', 'Manage'] } },
    primaryKey: { type: 'string' },
    secondaryKey: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const credentialSchema = {
  type: 'object',
  properties: {
    platform: { type: 'string' },
    endpoint: { type: ['string', 'null'] },
    summary: { type: 'object', additionalProperties: { type: 'string' }, description: 'Identifiers and fingerprints; never a secret' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const hubParams = { type: 'object', properties: { hub: { type: 'string' } }, required: ['hub'] } as const;

/** The sandbox route's answer. */
export const sandboxSchema = {
  type: 'object',
  properties: {
    emulators: {
      type: 'object',
      description: 'Base URL of each emulator; its control plane is under {url}/_emulator/',
      properties: { apns: { type: 'string' }, fcmv1: { type: 'string' }, wns: { type: 'string' }, browser: { type: 'string' } },
      additionalProperties: { type: 'string' },
    },
  },
} as const;

/** An import or export job (wire/job-xml.ts JobView); times in ms since the epoch. */
export const jobSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    type: { type: 'string', description: 'ExportRegistrations, ImportCreateRegistrations, ImportUpdateRegistrations, ImportDeleteRegistrations, ImportUpsertRegistrations' },
    status: { type: 'string', description: 'Started, Running, Completed, Failed' },
    progress: { type: 'number', description: 'Percent, 0 to 100' },
    outputContainerUri: { type: 'string' },
    importFileUri: { type: 'string' },
    failure: { type: 'string' },
    outputProperties: { type: 'object', additionalProperties: { type: 'string' }, description: 'OutputFilePath, FailedFilePath' },
    createdAt: { type: 'number' },
    updatedAt: { type: 'number' },
  },
} as const;

/** One device's outcome of a notification. */
export const outcomeSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    registrationId: { type: 'string' },
    handle: { type: 'string' },
    platform: { type: 'string' },
    outcome: { type: 'string', description: 'Success, WrongToken, ExpiredChannel, InvalidCredentials, AbandonedNotificationMessages, ...' },
    reason: { type: 'string', description: "The PNS's reason, or Herald's" },
    attempts: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
  },
} as const;

/** Targets still queued while a notification runs (dispatch/pending.ts). */
export const pendingSchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          registrationId: { type: 'string' },
          platform: { type: 'string' },
          handle: { type: 'string' },
          attempts: { type: 'integer', description: 'Attempts made so far (0: not tried yet)' },
          lastError: {
            type: 'object',
            properties: { outcome: { type: 'string' }, reason: { type: 'string' }, status: { type: 'integer' }, at: { type: 'string', format: 'date-time' } },
          },
          nextAttemptAt: { type: 'string', format: 'date-time' },
          sending: { type: 'boolean', description: 'A node is sending it now' },
        },
      },
    },
    more: { type: 'boolean', description: 'More targets wait than items shows' },
    planning: { type: 'boolean', description: 'Targets are still being resolved from the registry' },
  },
} as const;

export const outcomesSchema = {
  type: 'object',
  properties: {
    notificationId: { type: 'string' },
    state: { type: 'string', description: 'Enqueued, Scheduled, Processing, Completed, Abandoned, NoTargetFound, Cancelled, ...' },
    items: { type: 'array', items: outcomeSchema },
    pending: pendingSchema,
    continuationToken: { type: 'string' },
  },
} as const;

export const secureReadsSchema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: { type: 'object', properties: { installationId: { type: 'string' }, at: { type: 'string', format: 'date-time' } } } },
  },
} as const;

export const feedbackSchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          at: { type: 'string', format: 'date-time' },
          platform: { type: 'string' },
          handle: { type: 'string' },
          registrationId: { type: 'string' },
          installationId: { type: 'string' },
          notificationId: { type: 'string' },
          error: { type: 'string', description: 'ExpiredChannel, WrongToken, ...' },
        },
      },
    },
  },
} as const;

/**
 * A request body described in the document only (a streamed upload is never parsed or validated as JSON):
 * app.ts's OpenAPI transform turns this schema key into the operation's request body.
 */
export const DOCUMENTED_BODY = 'x-documented-body';
