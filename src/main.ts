/**
 * The composition root: config -> data directory, store, hub service -> HTTP app -> servers. The only
 * module that imports concrete adapters (store/sqlite).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { adminRoutesOf, buildApp, type AdminRoute, type PublicEndpoint } from './api/app.ts';
import { createDeliveryMetrics, createHttpMetrics } from './api/metrics.ts';
import {
  loadOrCreateAdminKey,
  loadOrCreateSecretKey,
  prepareDataDir,
  removeRuntimeInfo,
  secureDataDir,
  STORE_FILE,
  TLS_DIR,
  EMULATORS_DIR,
  writeRuntimeInfo,
} from './config/data-dir.ts';
import { lockDataDir } from './config/data-dir-lock.ts';
import type { Config } from './config/schema.ts';
import { connectionString, FULL_RULE, HubService, LISTEN_RULE } from './hubs/hub-service.ts';
import { registryHandlers } from './api/routes/azure-registry.ts';
import { ContinuationTokens } from './registry/continuation.ts';
import { RegistryService } from './registry/registry-service.ts';
import { FileArea } from './registry/file-area.ts';
import { JobService } from './registry/jobs.ts';
import { jobHandlers } from './api/routes/azure-jobs.ts';
import { registrationDescriptionLines } from './api/wire/registration-xml.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { HubError } from './shared/errors.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import { SecretBox } from './shared/secret-box.ts';
import { openSqliteStore } from './store/sqlite/sqlite-store.ts';
import { openPostgresStore } from './store/postgres/postgres-store.ts';
import type { Store } from './store/store.ts';
import { ensureDevCa } from './tls/dev-ca.ts';
import { startSandbox, type Sandbox } from './sandbox/sandbox.ts';
import { sendHandlers, FeedbackUrls } from './api/routes/azure-sends.ts';
import { Deliverer, type Connectors } from './dispatch/deliver.ts';
import { DispatchWorker, SendService } from './dispatch/dispatcher.ts';
import { Retention } from './dispatch/retention.ts';
import { Renderer } from './dispatch/render.ts';
import { RateLimits } from './api/rate-limits.ts';
import { RetryPolicy } from './dispatch/retry-policy.ts';
import { DeviceCredentials } from './dispatch/secure-push.ts';
import { AdmConnector } from './pns/adm/adm-connector.ts';
import { ApnsConnector } from './pns/apns/apns-connector.ts';
import { FcmConnector } from './pns/fcm/fcm-connector.ts';
import { WebPushConnector } from './pns/webpush/webpush-connector.ts';
import { WnsConnector } from './pns/wns/wns-connector.ts';
import { endpointPolicy } from './pns/endpoint-policy.ts';
import { EventStreams } from './events/sse.ts';
import { WebhookService } from './events/webhooks.ts';
import { WebhookWorker } from './events/webhook-worker.ts';

export const SANDBOX_HUB = 'sandbox';
/** How often a node writes its heartbeat, and after how long without one it no longer counts as alive. */
const NODE_HEARTBEAT_MS = 5_000;
const NODE_STALE_MS = 15_000;

export interface RunningHerald {
  dataDir: string;
  adminKey: string;
  /** Plain-HTTP base URL, when served. */
  httpUrl: string | null;
  /** HTTPS base URL, when served. */
  httpsUrl: string | null;
  /** Where the management API is reached by the CLI (HTTP preferred: no CA needed). */
  adminUrl: string;
  /** The development CA a Node client trusts with NODE_EXTRA_CA_CERTS, in dev-ca mode. */
  caCertPath: string | null;
  /** Base URLs of the PNS emulators, in sandbox mode. */
  emulatorUrls: Record<string, string> | null;
  /** The management API's routes as registered (the OpenAPI test checks the document against them). */
  adminRoutes: readonly AdminRoute[];
  hubs: HubService;
  registry: RegistryService;
  jobs: JobService;
  sends: SendService;
  worker: DispatchWorker;
  logger: Logger;
  /** The Full and Listen connection strings of a hub's default rules. */
  connectionStrings(hub: string): Promise<{ full: string; listen: string }>;
  /** Stop accepting, let in-flight requests finish (up to the grace time), close the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
}

function tlsHostnames(config: Config): string[] {
  const names = [config.server.publicHost, 'localhost', '127.0.0.1', '::1'];
  if (!['0.0.0.0', '::'].includes(config.server.host)) names.push(config.server.host);
  return [...new Set(names)];
}

async function loadTls(config: Config, dataDir: string): Promise<{ cert: string; key: string; caCertPath: string | null } | null> {
  switch (config.tls.mode) {
    case 'off':
      return null;
    case 'dev-ca': {
      const ca = await ensureDevCa(join(dataDir, TLS_DIR), tlsHostnames(config));
      return { cert: ca.cert, key: ca.key, caCertPath: ca.caCertPath };
    }
    case 'files': {
      const read = (path: string, what: string) => {
        try {
          return readFileSync(path, 'utf8');
        } catch (err) {
          throw new HubError('config_invalid', `tls.${what}: cannot read ${path}: ${(err as Error).message}`);
        }
      };
      return { cert: read(config.tls.certFile!, 'certFile'), key: read(config.tls.keyFile!, 'keyFile'), caCertPath: null };
    }
  }
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new HubError('config_invalid', `pns.caFile: cannot read ${path}: ${(err as Error).message}`);
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function urlHost(host: string): string {
  const h = ['0.0.0.0'].includes(host) ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]` : h;
}

export async function startHerald(config: Config, options: StartOptions = {}): Promise<RunningHerald> {
  const dataDir = prepareDataDir(config.data.dir);
  // Before anything is written: a second Herald here must change nothing (data-dir-lock.ts).
  const lock = lockDataDir(dataDir);
  try {
    const herald = await startInDataDir(config, options, dataDir);
    return { ...herald, close: () => herald.close().finally(() => lock.release()) };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * A shared store (PostgreSQL) is one hub for every node on it: the keys that open its sealed credentials
 * and authorise its management API must be the same everywhere, so they come from configuration and are
 * never generated per node (a node with its own secret key could not read the others' credentials).
 */
function checkSharedStoreConfig(config: Config): void {
  if (config.store.url === undefined) return;
  const missing = [
    ...(config.adminKey === undefined ? ['HERALD_ADMIN_KEY (adminKey)'] : []),
    ...(config.secretKey === undefined ? ['HERALD_SECRET_KEY (secretKey)'] : []),
  ];
  if (missing.length > 0) {
    throw new HubError('config_invalid', `a shared store (--store) needs ${missing.join(' and ')}, the same on every node; none is generated for a shared store`);
  }
  // The sandbox runs its emulators inside one process and points every hub's credentials at them at start:
  // on a shared store each node would take the hubs over in turn.
  if (config.sandbox) throw new HubError('config_invalid', 'sandbox mode runs its PNS emulators inside one node: it cannot be used with a shared store (--store)');
}

async function openStore(config: Config, dataDir: string, logger: Logger): Promise<Store> {
  if (config.store.url !== undefined) {
    return openPostgresStore({ url: config.store.url, onConnectionError: (message) => logger.warn({ message }, 'a PostgreSQL connection failed; the next query opens a new one') });
  }
  return openSqliteStore({ path: join(dataDir, STORE_FILE), onCheckpointError: (message) => logger.warn({ message }, 'a background WAL checkpoint failed; the next one retries') });
}

async function startInDataDir(config: Config, options: StartOptions, dataDir: string): Promise<RunningHerald> {
  const logger = options.logger ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  checkSharedStoreConfig(config);
  const adminKey = config.adminKey ?? loadOrCreateAdminKey(dataDir);
  const secretKey = config.secretKey ? Buffer.from(config.secretKey, 'base64') : loadOrCreateSecretKey(dataDir);
  const tls = await loadTls(config, dataDir);
  const store = await openStore(config, dataDir, logger);
  const hubs = new HubService(store, new SecretBox(secretKey), clock);
  let sandbox: Sandbox | undefined;
  // Where Herald connects on a device's word (Web Push endpoints, WNS channels): public https, the origins
  // the operator allows, and in sandbox mode exactly the emulators' origins (added once they start, below).
  const allowedOrigins = [...(config.pns.allowedEndpointOrigins ?? [])];
  const endpoints = endpointPolicy({ allowedOrigins: () => allowedOrigins });
  // A sandbox's Web Push goes to its emulator (and the operator's origins) only: issue 10 item 11.
  const webPushEndpoints = config.sandbox ? endpointPolicy({ allowedOrigins: () => allowedOrigins, onlyAllowedOrigins: true }) : endpoints;
  const registry = new RegistryService(store, clock, new ContinuationTokens(secretKey), { browser: webPushEndpoints, wns: endpoints });
  for (const f of secureDataDir(dataDir)) {
    if (f.what === 'directory') logger.warn({ path: f.path, mode: f.mode }, 'the data directory can be read by other users: chmod 700 it');
    else if (f.fixed) logger.warn({ path: f.path, mode: f.mode }, 'a secret file in the data directory could be read by other users: it was made 0600');
    else logger.warn({ path: f.path, mode: f.mode }, 'a secret file in the data directory can be read by other users, and could not be made 0600');
  }
  // A shared store keeps the file area too, so every node sees each upload and job output.
  const files = new FileArea(dataDir, store.files);
  hubs.onHubDeleted((hub) => files.removeHubFolder(hub));
  // This process's id on a shared store: its heartbeat row, the owner of its send-job claims and the node
  // of the import/export jobs it runs. The pid in front tells an operator (and the cluster test) which
  // process holds a job.
  const nodeId = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const jobs = new JobService(store, registry, files, clock, logger, registrationDescriptionLines, { node: nodeId });
  // The connectors also trust the development CA the sandbox emulators present, and `pns.caFile`
  // (each connector keeps Node's public roots beside them, for real PNS endpoints).
  const extraCas = [
    ...(config.sandbox && tls?.caCertPath ? [readFileSync(tls.caCertPath, 'utf8')] : []),
    ...(config.pns.caFile ? [readPem(config.pns.caFile)] : []),
  ];
  const connectorOptions = { clock, ...(extraCas.length > 0 ? { ca: extraCas.join('\n') } : {}) };
  const apns = new ApnsConnector(connectorOptions);
  const connectors: Connectors = {
    apns,
    fcmv1: new FcmConnector(connectorOptions),
    browser: new WebPushConnector({ ...connectorOptions, endpoints: webPushEndpoints }),
    wns: new WnsConnector(connectorOptions),
    adm: new AdmConnector(connectorOptions),
  };
  const deliverer = new Deliverer(store, hubs, connectors, new Renderer(), new RetryPolicy(clock), clock);
  const metrics = createHttpMetrics();
  const deliveryMetrics = createDeliveryMetrics(metrics.registry, { depth: () => store.queue.depth(clock.now()), now: () => clock.now() });
  const worker = new DispatchWorker(store, deliverer, clock, logger, { concurrency: config.dispatch.concurrency, leaseMs: config.dispatch.leaseSeconds * 1000, nodeId, observer: deliveryMetrics });
  const secretBox = new SecretBox(secretKey);
  const sends = new SendService(store, deliverer, clock, () => worker.wake(), secretBox);
  const feedback = new FeedbackUrls(secretKey, clock);
  const devices = new DeviceCredentials(secretKey, clock);
  let started: { close(): Promise<unknown> } | undefined;
  let webhookWorker: WebhookWorker | undefined;
  // Each node's heartbeat row tells the others how many share the hubs' rate limits (api/rate-limits.ts),
  // and that the jobs it runs are still running.
  let liveNodes = 1;
  const beat = () =>
    store.tasks.heartbeat(nodeId, clock.now(), NODE_STALE_MS).then(
      (n) => (liveNodes = Math.max(1, n)),
      (err) => logger.warn({ err }, 'the node heartbeat could not be written; the next one retries'),
    );

  try {
    // Before any job is submitted here: a job of a node with no heartbeat row is failed by the others.
    await beat();
    // On a shared store another node may be running them: only a store this process owns has jobs that
    // were interrupted by its own last shutdown. On a shared store, watchNodes below fails the jobs of
    // nodes whose heartbeat lapsed.
    const interrupted = store.capabilities.sharedAcrossProcesses ? 0 : await jobs.failInterrupted();
    if (interrupted > 0) logger.warn({ jobs: interrupted }, 'jobs interrupted by the last shutdown were marked Failed');
    if (config.sandbox) {
      if (!tls) throw new HubError('config_invalid', 'sandbox mode needs TLS (tls.mode dev-ca or files): APNs and Web Push clients only speak HTTPS');
      // Loopback whatever --host says: the emulators' control planes (minting, deliveries) have no auth.
      sandbox = await startSandbox({ hubs, host: '127.0.0.1', tls, logger, stateDir: join(dataDir, EMULATORS_DIR), ports: config.emulators.ports });
      allowedOrigins.push(...[sandbox.urls.browser, sandbox.urls.wns].map((u) => new URL(u).origin));
      const provision = sandbox.provision;
      hubs.onHubCreated = provision;
      if (!(await hubs.findHub(SANDBOX_HUB))) {
        await hubs.createHub(SANDBOX_HUB);
        logger.info({ hub: SANDBOX_HUB }, 'sandbox hub created');
      }
      // Sandbox credentials the emulators no longer know (state removed, port changed) are minted again.
      for (const hub of await hubs.listHubs()) await provision(hub.name);
    }

    let ports = { http: 0, https: 0 };
    const publicEndpoint = (): PublicEndpoint =>
      tls
        ? { scheme: 'sb', host: config.server.publicHost, port: ports.https }
        : { scheme: 'http', host: config.server.publicHost, port: ports.http };

    // One Fastify app serves both HTTPS and plain HTTP: the factory makes the server Fastify owns
    // (HTTPS when TLS is on) and a second one that hands its requests to the same handler.
    let extraServer: Server | null = null;
    const eventStreams = new EventStreams(store.events, clock, { retentionMs: config.events.retentionHours * 3_600_000, maxBufferBytes: config.events.sseBufferBytes });
    // Webhook URLs follow the Web Push endpoint rule; a sandbox calls any URL (the developer's own receiver).
    const webhooks = new WebhookService(store, clock, secretBox, config.sandbox ? null : endpoints);
    webhookWorker = new WebhookWorker(store, clock, secretBox, logger, { nodeId, policy: config.sandbox ? null : endpoints });
    const app = await buildApp({
      store,
      hubs,
      registry,
      jobs,
      files,
      sandboxUrls: () => sandbox?.urls ?? null,
      apnsChannels: apns,
      sandbox: () => sandbox ?? null,
      feedback,
      sends,
      devices,
      rateLimits: new RateLimits(clock, () => liveNodes),
      azureHandlers: { ...registryHandlers(registry), ...jobHandlers(jobs), ...sendHandlers(sends, store, feedback, devices) },
      clock,
      logger,
      metrics,
      adminKey,
      events: { streams: eventStreams, webhooks },
      bodyLimitBytes: config.server.bodyLimitBytes,
      publicEndpoint,
      serverFactory: (handler) => {
        const h = handler as (req: IncomingMessage, res: ServerResponse) => void;
        if (!tls) return createHttpServer(h);
        if (config.server.http) extraServer = createHttpServer(h);
        return createHttpsServer({ cert: tls.cert, key: tls.key }, h);
      },
    });
    started = app;

    // Fastify must start its own server (it closes only what it started); the second one is ours.
    await app.listen({ port: tls ? config.server.tlsPort : config.server.port, host: config.server.host });
    const mainPort = (app.server.address() as AddressInfo).port;
    const httpPort = extraServer ? await listen(extraServer, config.server.port, config.server.host) : tls ? null : mainPort;
    ports = { http: httpPort ?? 0, https: tls ? mainPort : 0 };
    const host = urlHost(config.server.host);
    const httpUrl = httpPort === null ? null : `http://${host}:${httpPort}`;
    const httpsUrl = tls ? `https://${host}:${mainPort}` : null;
    const adminUrl = (httpUrl ?? httpsUrl)!;
    writeRuntimeInfo(dataDir, {
      pid: process.pid,
      adminUrl,
      httpUrl,
      httpsUrl,
      caCertPath: tls?.caCertPath ?? null,
      startedAt: new Date(clock.now()).toISOString(),
    });
    logger.info({ httpUrl, httpsUrl, dataDir, store: store.kind }, 'herald is listening');

    await beat();
    const heartbeat = clock.setInterval(() => void beat(), NODE_HEARTBEAT_MS).unref();
    const nodeWatch = store.capabilities.sharedAcrossProcesses ? jobs.watchNodes(NODE_HEARTBEAT_MS, NODE_STALE_MS).unref() : undefined;
    await worker.start();
    webhookWorker?.start();
    // Secure payloads are erased at their TTL; outcomes and notifications go after their retention.
    const retention = new Retention(store, clock, logger, { ...config.dispatch, eventRetentionHours: config.events.retentionHours });
    retention.start();

    // Expired registrations answer 410 for a while (so a backend knows to re-create), then go.
    // Once per interval across a cluster: the node whose claim moves the task's schedule on runs it.
    const purgeEveryMs = config.registry.purgeIntervalSeconds * 1000;
    const purge = clock.setInterval(() => {
      store.tasks.claimDue('registry-purge', clock.now(), purgeEveryMs).then((due) => (due ? registry.purgeExpired(config.registry.expiredRetentionSeconds * 1000) : 0)).then(
        (n) => n > 0 && logger.info({ purged: n }, 'expired registrations purged'),
        (err) => logger.error({ err }, 'purging expired registrations failed'),
      );
    }, purgeEveryMs).unref();

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        logger.info('shutting down: no new connections, finishing requests in flight');
        clock.clearTimer(purge);
        clock.clearTimer(heartbeat);
        clock.clearTimer(nodeWatch);
        await store.tasks.leave(nodeId).catch(() => undefined);
        await retention.stop();
        const servers = [app.server, extraServer].filter((s): s is Server => s !== null);
        const grace = setTimeout(() => {
          logger.warn({ graceMs: config.server.shutdownGraceMs }, 'grace time over: closing the remaining connections');
          for (const s of servers) s.closeAllConnections();
        }, config.server.shutdownGraceMs);
        grace.unref();
        // A keep-alive connection whose last request finishes during shutdown becomes idle only then.
        const sweep = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), 100);
        sweep.unref();
        const extraClosed = extraServer
          ? new Promise<void>((r) => {
              extraServer!.close(() => r());
              extraServer!.closeIdleConnections();
            })
          : Promise.resolve();
        await Promise.all([app.close(), extraClosed]);
        // Batches being delivered finish and are recorded; the rest waits in the store for the next start.
        await worker.stop();
        await webhookWorker?.stop();
        await Promise.all(Object.values(connectors).map((c) => c.close()));
        // A running job finishes its current chunk's writes before the store closes.
        await Promise.race([jobs.idle(), new Promise((r) => setTimeout(r, config.server.shutdownGraceMs).unref())]);
        clearTimeout(grace);
        clearInterval(sweep);
        await sandbox?.close();
        await store.close();
        removeRuntimeInfo(dataDir, process.pid);
        logger.info('herald stopped');
      })());

    return {
      dataDir,
      adminKey,
      httpUrl,
      httpsUrl,
      adminUrl,
      caCertPath: tls?.caCertPath ?? null,
      emulatorUrls: sandbox?.urls ?? null,
      adminRoutes: adminRoutesOf(app),
      hubs,
      registry,
      jobs,
      sends,
      worker,
      logger,
      async connectionStrings(hubName) {
        const ep = publicEndpoint();
        const cs = async (rule: string) => connectionString(ep.host, ep.port, await hubs.getRule(hubName, rule), ep.scheme);
        return { full: await cs(FULL_RULE), listen: await cs(LISTEN_RULE) };
      },
      close,
    };
  } catch (err) {
    await started?.close();
    await worker.stop();
    await webhookWorker?.stop();
    await Promise.all(Object.values(connectors).map((c) => c.close()));
    await sandbox?.close();
    await store.close();
    throw err;
  }
}
