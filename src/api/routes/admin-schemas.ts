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
