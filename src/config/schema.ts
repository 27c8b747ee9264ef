/**
 * The one typed configuration schema. Sources, lowest precedence first: defaults, the YAML file,
 * the environment, command-line flags (see load.ts). docs/configuration.md describes every key.
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
/** Environment values arrive as text; `Boolean("false")` would be true, so spell the accepted words out. */
const flag = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean());

export const configSchema = z
  .object({
    /** Sandbox mode: ensure a hub named `sandbox` exists and print its connection strings. */
    sandbox: flag.default(false),
    data: z
      .object({
        /** Where the store, keys and the development CA live. */
        dir: z.string().min(1).default('./data'),
      })
      .strict()
      .default({ dir: './data' }),
    store: z
      .object({
        /**
         * Absent: embedded SQLite in the data directory. `postgres://user:password@host:port/db`: a shared
         * PostgreSQL, on which any number of `herald serve` processes form one hub cluster.
         */
        url: z
          .string()
          .refine((s) => /^postgres(ql)?:\/\/[^\s]+$/.test(s), 'must be a postgres://user:password@host:port/database URL')
          .optional(),
      })
      .strict()
      .default({}),
    server: z
      .object({
        /** Interface to bind. 127.0.0.1 keeps a laptop hub private; use 0.0.0.0 to serve a network. */
        host: z.string().min(1).default('127.0.0.1'),
        /** Plain HTTP port (0: any free port, -1 is not allowed: use `http: false`). */
        port: port.default(8080),
        /** HTTPS port, the one Azure connection strings name (`sb://host:tlsPort/`). */
        tlsPort: port.default(8443),
        /** Serve plain HTTP beside HTTPS. */
        http: flag.default(true),
        /** Host name put in connection strings and in the development certificate. */
        publicHost: z.string().min(1).default('localhost'),
        /** Largest request body; Azure answers 413 above 64 KB (wire spec §14). */
        bodyLimitBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(64 * 1024),
        /** How long a shutdown waits for in-flight requests before closing their connections. */
        shutdownGraceMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
      })
      .strict()
      .default({
        host: '127.0.0.1',
        port: 8080,
        tlsPort: 8443,
        http: true,
        publicHost: 'localhost',
        bodyLimitBytes: 64 * 1024,
        shutdownGraceMs: 10_000,
      }),
    tls: z
      .object({
        /**
         * `dev-ca`: generate a development CA and certificate into `<data>/tls/`;
         * `files`: use certFile and keyFile; `off`: no HTTPS (the Azure client then needs a per-call option).
         */
        mode: z.enum(['dev-ca', 'files', 'off']).default('dev-ca'),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
      })
      .strict()
      .refine((t) => t.mode !== 'files' || (t.certFile !== undefined && t.keyFile !== undefined), {
        message: 'mode "files" needs both certFile and keyFile',
      })
      .default({ mode: 'dev-ca' }),
    /** The namespace admin key for /_admin (Bearer). Generated into `<data>/admin.key` when absent. */
    adminKey: z.string().min(32, 'must be at least 32 characters').optional(),
    /**
     * 32 bytes, base64: the key that encrypts PNS credentials at rest. Generated into
     * `<data>/secret.key` when absent; every node of a scale-out deployment needs the same one.
     */
    secretKey: z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes encoded as base64')
      .optional(),
    registry: z
      .object({
        /** How long an expired registration keeps answering 410 Gone before it is purged. */
        expiredRetentionSeconds: z.coerce.number().int().min(0).max(31_536_000).default(86_400),
        /** How often the purge of expired registrations runs. */
        purgeIntervalSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
      })
      .strict()
      .default({ expiredRetentionSeconds: 86_400, purgeIntervalSeconds: 60 }),
    pns: z
      .object({
        /** A PEM file of CA certificates the PNS connectors trust besides the public ones (a test server, a proxy). */
        caFile: z.string().min(1).optional(),
        /**
         * Origins (`https://host:port`) Web Push endpoints and WNS channels may point to although they are
         * not public https (a push service on the office network, emulators run apart). Sandbox mode adds
         * its emulators' origins itself.
         */
        allowedEndpointOrigins: z
          .array(
            z.string().transform((value, ctx) => {
              try {
                const url = new URL(value);
                if (url.origin !== 'null' && url.href === `${url.origin}/` && /^https?:$/.test(url.protocol)) return url.origin;
              } catch {
                // reported below
              }
              ctx.addIssue({ code: 'custom', message: `'${value}' is not an origin like https://push.internal:8443` });
              return z.NEVER;
            }),
          )
          .optional(),
      })
      .strict()
      .default({}),
    dispatch: z
      .object({
        /** Send jobs (planning steps and delivery batches) run at the same time. */
        concurrency: z.coerce.number().int().min(1).max(256).default(4),
        /** How long per-device outcomes are kept. */
        outcomeRetentionDays: z.coerce.number().min(0).max(3650).default(7),
        /** Notifications (with their outcomes, secure reads and payloads) are deleted this long after they end; feedback this long after it came. */
        notificationRetentionDays: z.coerce.number().min(0).max(3650).default(30),
        /**
         * How long a claimed send job is one node's before another may take it (a node that died
         * mid-batch: its batches are delivered again once this lapses).
         */
        leaseSeconds: z.coerce.number().min(1).max(3600).default(30),
      })
      .strict()
      .default({ concurrency: 4, outcomeRetentionDays: 7, notificationRetentionDays: 30, leaseSeconds: 30 }),
    emulators: z
      .object({
        /**
         * Sandbox emulator ports. Absent or 0: the port used last time (remembered in
         * `<data>/emulators/<platform>.json`), or a free one at the first start (docs/emulators.md).
         */
        ports: z
          .object({ apns: port.optional(), fcmv1: port.optional(), wns: port.optional(), browser: port.optional(), adm: port.optional() })
          .strict()
          .default({}),
      })
      .strict()
      .default({ ports: {} }),
    events: z
      .object({
        /** How long a hub's events are kept for SSE resumption (Last-Event-ID); purged by the retention task. */
        retentionHours: z.coerce.number().min(1).max(8760).default(24),
        /** Bytes an SSE stream may have waiting for a client that does not read before it is disconnected. */
        sseBufferBytes: z.coerce.number().int().min(4096).max(64 * 1024 * 1024).default(1024 * 1024),
      })
      .strict()
      .default({ retentionHours: 24, sseBufferBytes: 1024 * 1024 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
/** What a source may give: any subset, validated together after merging. */
export type ConfigInput = Record<string, unknown>;
