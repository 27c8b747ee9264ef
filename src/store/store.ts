/**
 * The Store: everything Herald keeps. Adapters live in store/<adapter>/ and are held to the same
 * contract tests (store-contract.ts). The interface is asynchronous and uses plain records so that a
 * server database (PostgreSQL) fits behind it as well as embedded SQLite.
 */
import type { FileStore } from '../files/file-store.ts';
import type { Right } from '../shared/rights.ts';
import type { TagExpression } from '../tags/index.ts';
import type { Installation, PlatformName, Registration } from '../registry/model.ts';
import type { Completion, JobPayloads, NewJob, Queue, QueuedJob } from '../queue/queue.ts';

/** Scope of an authorization rule: a hub's name, or NAMESPACE_SCOPE for a namespace-level rule. */
export const NAMESPACE_SCOPE = '';

export interface HubSettings {
  /** Registrations expire this long after their last update; null: never (Azure's current default). */
  registrationTtlSeconds: number | null;
  /** Sends (and scheduled sends) accepted per second; null or absent: no limit. */
  sendsPerSecond?: number | null;
  /** Registration and installation writes per second; null or absent: no limit. */
  registrationsPerSecond?: number | null;
  /** Record a `notification.device_succeeded` event per delivered device (volume: off when absent). */
  deviceSuccessEvents?: boolean;
  /**
   * Keep a per-device outcome row for each delivered device (true when absent). False: failures only,
   * successes counted per PNS (a broadcast's database writes are then mostly its counts).
   */
  deviceSuccessOutcomes?: boolean;
}

export interface HubRecord {
  name: string;
  settings: HubSettings;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export interface RuleRecord {
  /** Hub name, or NAMESPACE_SCOPE. */
  scope: string;
  name: string;
  rights: Right[];
  primaryKey: string;
  secondaryKey: string;
  createdAt: number;
  updatedAt: number;
}

export interface CredentialRecord {
  hub: string;
  platform: string;
  /** The secret parts, encrypted (shared/secret-box.ts); the store never sees them in clear. */
  sealed: string;
  /** Non-secret facts safe to show (key id, client id, project, fingerprints). */
  summary: Record<string, string>;
  endpoint: string | null;
  updatedAt: number;
}

export interface StoreCapabilities {
  /** Many hub processes may share this store. */
  sharedAcrossProcesses: boolean;
}

export interface HubStore {
  /** Creates the hub and its rules together; throws HubError `hub_exists` if the name is taken (any case). */
  create(hub: HubRecord, rules: readonly RuleRecord[]): Promise<void>;
  /** Hub names are matched case-insensitively, as Azure entity names are. */
  get(name: string): Promise<HubRecord | undefined>;
  list(): Promise<HubRecord[]>;
  /**
   * Applies these changes to the stored settings (keys not given keep their stored value), reading and
   * writing in one unit of work, so concurrent changes of different keys are all kept; undefined if there
   * is no such hub.
   */
  updateSettings(name: string, changes: Partial<HubSettings>, updatedAt: number): Promise<HubRecord | undefined>;
  /** Deletes the hub with its rules and credentials; false if there was none. */
  delete(name: string): Promise<boolean>;
}

export interface RuleStore {
  list(scope: string): Promise<RuleRecord[]>;
  get(scope: string, name: string): Promise<RuleRecord | undefined>;
  /** Throws HubError `rule_exists`, or `too_many_rules` when the scope already has `maxRules`. */
  insert(rule: RuleRecord, maxRules: number): Promise<void>;
  /** Replaces the given keys; undefined if the rule does not exist. */
  updateKeys(
    scope: string,
    name: string,
    keys: { primaryKey?: string; secondaryKey?: string },
    updatedAt: number,
  ): Promise<RuleRecord | undefined>;
  delete(scope: string, name: string): Promise<boolean>;
}

export interface CredentialStore {
  /** Inserts or replaces the hub's credentials for one platform. */
  put(record: CredentialRecord): Promise<void>;
  get(hub: string, platform: string): Promise<CredentialRecord | undefined>;
  list(hub: string): Promise<CredentialRecord[]>;
  delete(hub: string, platform: string): Promise<boolean>;
}

/** Filters of a registry listing; every given filter must hold. */
export interface RegistryFilter {
  /** Registrations carrying this exact tag. */
  tag?: string;
  /** Registrations whose tags satisfy this expression. */
  tagExpression?: TagExpression;
  /** Registrations whose PNS handle is any of these (exact match). */
  handles?: readonly string[];
  platform?: PlatformName;
  installationId?: string;
  /** Only these registration kinds (a native send targets its platform's native kind, a template send the template kinds). */
  kinds?: readonly string[];
  updatedSince?: number;
  updatedBefore?: number;
  /** Leave out what expired before this time (ms); absent: include everything. */
  liveAt?: number;
}

/**
 * Listings page with opaque cursors (store/cursor.ts): only the adapter that made one reads it. Callers pass
 * a previous page's `next` back as `after`, seal it into a continuation token or keep it in a job payload,
 * and never look inside. A cursor the adapter did not make (garbled, from another listing or another
 * adapter) is HubError `invalid_continuation_token`.
 */
export interface PageRequest {
  /** Resume after this cursor (a previous page's `next` of the same listing). */
  after?: string;
  limit: number;
}

/**
 * A listing bounded at both ends: what follows `after` up to and including `until` (both opaque cursors of
 * the same listing, as a page's `next`; either absent: that end is open). Inclusive at `until`, so the
 * ranges of `slices` chain on one cursor: one range's `until` is the next one's `after`.
 */
export interface RangePageRequest extends PageRequest {
  until?: string;
}

/** One range of a listing: `after` < position <= `until` (absent: that end is open); see `slices`. */
export interface ListingSlice {
  after?: string;
  until?: string;
}

export interface Page<T> {
  items: T[];
  /** The cursor to resume from; absent on the last page. */
  next?: string;
}

/** Conditions of a write, checked in the same transaction as the write (wire spec §6.7, §6.8). */
export interface WriteCondition {
  /** undefined: no condition; '*': must exist; n: must exist with this ETag. */
  ifMatch?: number | '*';
  now: number;
}

/** A registration's id and an opaque hint of where the store keeps it (for getMany). */
export interface RegistrationRef {
  id: string;
  at: string;
}

export interface RegistrationStore {
  /** Includes expired registrations (the caller answers 410 for them). */
  get(hub: string, id: string): Promise<Registration | undefined>;
  /**
   * The registrations with these ids that exist (any order); for delivering a planned batch. `at`, when
   * given, holds each id's hint from listIds (opaque), which may let the store skip its id index; a stale
   * or garbled hint (the registration was re-created since, a payload from another store) costs a lookup
   * by id, never a wrong answer and never an error.
   */
  getMany(hub: string, ids: readonly string[], at?: readonly string[]): Promise<Registration[]>;
  /**
   * Creates or replaces a registration. Throws HubError `registration_not_found` (condition on a missing
   * one), `etag_mismatch`, or `registration_gone` (it expired). The stored ETag is the previous + 1.
   * A registration an installation owns (materialised from it) is written only through the installation:
   * `registration_owned_by_installation`, checked in the write, whatever the condition.
   */
  upsert(hub: string, reg: Omit<Registration, 'etag' | 'createdAt'>, condition: WriteCondition): Promise<Registration>;
  /**
   * A bulk import's chunk: each write as `upsert` would do it, the ids distinct. Answers, in order, each
   * write's stored registration or the error that refused it (a HubError as `upsert` throws; the other
   * writes are stored). On PostgreSQL one COPY and a few statements for the whole chunk, instead of a
   * transaction per row.
   */
  upsertMany(hub: string, writes: ReadonlyArray<{ reg: Omit<Registration, 'etag' | 'createdAt'>; condition: WriteCondition }>): Promise<Array<Registration | Error>>;
  /**
   * After a bulk write (an import job): brings the store's planner statistics up to the registry's new
   * size, so statements planned from now on (and plans connections cached while the tables were small)
   * fit it, without waiting for the database's own background analysis.
   */
  refreshStatistics(): Promise<void>;
  /** Same conditions and ownership rule as upsert; false when there was nothing to delete and no condition. */
  delete(hub: string, id: string, condition: WriteCondition): Promise<boolean>;
  list(hub: string, filter: RegistryFilter, page: PageRequest): Promise<Page<Registration>>;
  /**
   * The same listing, ids and hints only: what planning a send needs (delivery loads the
   * registrations per batch, with getMany). Its cursors are those of `list`. With `until`, the listing
   * stops at that cursor, inclusive (a slice's range: see `slices`); the last page of the range has no `next`.
   */
  listIds(hub: string, filter: RegistryFilter, page: RangePageRequest): Promise<Page<RegistrationRef>>;
  /**
   * Cuts the hub's registration listing (past `after`, when given) into at most `max` ranges of about equal
   * size, each of at least `minSize` registrations when cut (fewer than 2 * `minSize`: one range, the whole
   * rest). Cut on the hub's key space, whatever a listing's filter: only the key index is read (no row, no
   * tag), so a filtered listing's ranges are equal in registrations, not in matches. The ranges, in order,
   * cover any listing of the hub exactly once whatever is written meanwhile: their bounds are cursors (of
   * `list` and `listIds`), and one range's `until` is the next one's `after`; the first has the given
   * `after` (or none), the last no `until`.
   */
  slices(hub: string, request: { max: number; minSize: number; after?: string }): Promise<ListingSlice[]>;
  count(hub: string, filter: RegistryFilter): Promise<number>;
  /** Deletes registrations that expired before `before`, at most `limit`; returns how many. */
  purgeExpired(before: number, limit: number): Promise<number>;
}

export interface InstallationFilter {
  tagExpression?: TagExpression;
  platform?: PlatformName;
  userId?: string;
  handles?: readonly string[];
  updatedSince?: number;
  updatedBefore?: number;
}

export interface InstallationStore {
  get(hub: string, id: string): Promise<Installation | undefined>;
  /**
   * Stores the installation and replaces its registrations with these, in one transaction. Tag
   * expressions over installations match the tags of their native (non-template) registration.
   * Replacing an installation keeps the creation time of the first one (what `get` then reports).
   * The registrations are the installation's materialised ones (registry/materialize.ts): each carries the
   * installation's system tags, `$InstallationId:{id}` and `$UserId:{userId}` when it has one, and no other
   * tag starting with '$', so a store may answer those two from the installation instead of storing them.
   * Registrations are replaced by id: one at these ids that no installation owns (a classic registration
   * created there before) is replaced, the installation wins; one another installation owns is HubError
   * `write_conflict`. A uniqueness rule of the store never surfaces as anything but a HubError.
   */
  put(hub: string, installation: Installation, registrations: readonly Registration[]): Promise<void>;
  /**
   * Read-modify-write in one unit of work: reads the installation (as `get` would), hands it to `change`,
   * and stores what `change` returns as `put` does, with nothing written by anyone in between; concurrent
   * patches of one installation all keep their changes. Throws HubError `installation_not_found` when there
   * is none (it is never re-created), and whatever `change` throws (then nothing is written). `change` may
   * run more than once and must have no effect besides computing its result.
   */
  patch(
    hub: string,
    id: string,
    change: (current: Installation) => { installation: Installation; registrations: readonly Registration[] },
  ): Promise<Installation>;
  /** Deletes it with its registrations; false if there was none. `now`: the time of its `installation.deleted` event. */
  delete(hub: string, id: string, now?: number): Promise<boolean>;
  /**
   * The generation of the installation's device credentials (secure push): a random value taken when its
   * first credential is issued ('issue' takes one if there is none), kept by every PUT and PATCH, gone
   * with the installation (one deleted and created again starts without), cleared by revokeCredentials.
   * A credential names the generation it was issued in. undefined: no such installation; null: none yet.
   */
  credentialGeneration(hub: string, id: string, mode: 'read' | 'issue'): Promise<string | null | undefined>;
  /** Clears the credential generation, so every credential issued so far stops working; false if no installation. */
  revokeCredentials(hub: string, id: string): Promise<boolean>;
  list(hub: string, filter: InstallationFilter, page: PageRequest): Promise<Page<Installation>>;
  count(hub: string, filter: InstallationFilter): Promise<number>;
}

export interface JobRecord {
  hub: string;
  id: string;
  type: string;
  /** Started, Running, Completed or Failed (wire spec §11.1). */
  status: string;
  /** Percent done, 0 to 100. */
  progress: number;
  outputContainerUri: string;
  importFileUri?: string;
  failure?: string;
  outputProperties?: Record<string, string>;
  /** The node running the job (its heartbeat id, TaskSchedule.heartbeat); absent on jobs from before it was kept. */
  node?: string;
  createdAt: number;
  updatedAt: number;
}

export interface JobStore {
  create(job: JobRecord): Promise<void>;
  get(hub: string, id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  list(hub: string, limit: number): Promise<JobRecord[]>;
  /** Writes status, progress, failure and output properties. A finished job (Completed or Failed) is final: unchanged. */
  update(job: JobRecord): Promise<void>;
  /** Jobs of every hub that are not finished (Started or Running). */
  unfinished(): Promise<JobRecord[]>;
  /**
   * Marks Failed, with `failure`, the unfinished jobs whose node has no heartbeat (TaskSchedule.heartbeat)
   * at or after `liveSince`; a job with no node counts as orphaned when not updated since `liveSince`.
   * Returns how many.
   */
  failOrphaned(liveSince: number, failure: string, now: number): Promise<number>;
}

/** A notification as the pipeline keeps it; `request` is the accepted send, opaque to the store. */
export interface NotificationRecord {
  hub: string;
  id: string;
  /** Scheduled, Enqueued, Processing, Completed, Abandoned, NoTargetFound or Cancelled. */
  state: string;
  request: Record<string, unknown>;
  /** Outcome counts per platform: `{ apns: { Success: 3, WrongToken: 1 } }`. */
  counts: Record<string, Record<string, number>>;
  /** Targets resolved so far. */
  targets: number;
  enqueuedAt: number;
  scheduledAt?: number;
  startedAt?: number;
  endedAt?: number;
}

/** A claimed plan or deliver job (queue/queue.ts). */
export type DispatchJob = QueuedJob;

export interface DeviceOutcomeRecord {
  registrationId?: string;
  handle: string;
  platform: string;
  /** The Azure outcome name (Success, WrongToken, ...). */
  outcome: string;
  reason?: string;
  attempts: number;
  at: number;
  /** What the PNS reported about this device, under its own names (WNS: X-WNS-Status, X-WNS-DeviceConnectionStatus, X-WNS-Msg-ID). */
  pns?: Record<string, string>;
}

export interface FeedbackRecord {
  at: number;
  platform: string;
  handle: string;
  registrationId?: string;
  installationId?: string;
  notificationId?: string;
  /** NotificationSystemError: ExpiredChannel, ... */
  error: string;
}

export interface PlanStep {
  /** Delivery batches to enqueue, each a job payload. */
  batches: Array<JobPayloads['deliver']>;
  /** Where the next page starts; absent: this plan job is done. */
  nextCursor?: JobPayloads['plan'];
  /**
   * Plan jobs to enqueue beside this one, each planning its own slice of the listing (several nodes plan a
   * large send at once); they count as pending jobs of the notification like its batches.
   */
  slices?: Array<JobPayloads['plan']>;
  /** Targets in this step's batches. */
  targets: number;
  now: number;
}

export interface DeliveryResult {
  outcomes: DeviceOutcomeRecord[];
  /** Added to the notification's counts, keyed by the job's id: a batch completed twice counts once. */
  counts: Record<string, Record<string, number>>;
  /** Handles the PNS reported dead: their registrations go (installations get pushChannelExpired). */
  expired: FeedbackRecord[];
  /** Targets to try again later, as one new batch. */
  retry?: { payload: JobPayloads['deliver']; runAt: number };
  /** Events of the batch (per-device failures, successes, dead handles), appended in the step's commit. */
  events?: NewEvent[];
  now: number;
}

/**
 * The domain rules a step commit applies inside its unit of work, as code of dispatch/ and registry/
 * (dispatch/final-state.ts, registry/feedback.ts); the adapter only reads and writes what they decide on.
 */
export interface StepRules {
  /** The state a notification ends in once no job of it is left. */
  finalState(n: { targets: number; counts: Record<string, Record<string, number>> }): string;
  /** The installation with its channels equal to `deadHandle` marked expired (`storedHandle`: its stored channel); undefined: unchanged. */
  expireChannel(installation: Installation, storedHandle: string, deadHandle: string): Installation | undefined;
  /** The event recorded when a notification's state changes in a step commit or a cancel; absent: none. */
  stateChanged?(n: { id: string; from: string; to: string; targets: number; counts: Record<string, Record<string, number>>; at: number }): NewEvent;
}

/** A send's Idempotency-Key, kept with its notification until `expiresAt`. */
export interface IdempotencyKey {
  key: string;
  expiresAt: number;
  now: number;
}

export interface DispatchStore {
  /**
   * Stores the notification and its first job in one write: nothing accepted lives only in memory. A
   * secure send's sealed payload is kept beside it until `expiresAt` (never in `request`).
   * With `idempotency`: when the hub has that key unexpired (from any process), nothing is stored and the
   * id of the key's notification is returned; otherwise the key is stored with this notification in the
   * same write. Of concurrent writes with one key exactly one stores. Returns the notification's id.
   */
  createNotification(n: NotificationRecord, firstJob: NewJob, secure?: { sealed: string; expiresAt: number }, idempotency?: IdempotencyKey): Promise<string>;
  /** Deletes idempotency keys expired at or before `now`, at most `limit`; returns how many. */
  pruneIdempotencyKeys(now: number, limit: number): Promise<number>;
  /** Records that the hub's PNS of `platform` asked for no sends before `until` (a later `until` wins). */
  setPnsBackoff(hub: string, platform: string, until: number): Promise<void>;
  /** Until when the hub's PNS of `platform` asked to be left alone, if that is after `now`. */
  pnsBackoffUntil(hub: string, platform: string, now: number): Promise<number | undefined>;
  /** A secure notification's sealed payload; undefined from its expiry on (purged or not), or if there is none. */
  securePayload(hub: string, notificationId: string, now: number): Promise<string | undefined>;
  /** Erases secure payloads whose expiry is at or before `now`, at most `limit`; returns how many. */
  purgeSecurePayloads(now: number, limit: number): Promise<number>;
  /**
   * Deletes notifications that ended before `before` with everything of theirs (outcomes, secure reads and
   * payloads, jobs), at most `limit`, and feedback older than `before`; returns how many notifications.
   */
  pruneNotifications(before: number, limit: number): Promise<number>;
  getNotification(hub: string, id: string): Promise<NotificationRecord | undefined>;
  /** A hub's notifications, newest accepted first (the portal's messages page). */
  listNotifications(hub: string, page: PageRequest): Promise<Page<NotificationRecord>>;
  /** Cancels a notification that has not started; 'started' when it already runs or ran. */
  cancel(hub: string, id: string, now: number): Promise<'cancelled' | 'not_found' | 'started'>;
  /**
   * Records a planning step: enqueues its batches and moves (or ends) the plan, in one unit of work with the
   * job's completion: only while `job.owner` still holds the job ('stale' otherwise, and nothing is written).
   * The step that leaves no job of the notification ends it in `rules.finalState`.
   */
  finishPlanStep(job: DispatchJob, step: PlanStep, rules: StepRules): Promise<Completion>;
  /**
   * Records a batch's outcomes, counts and feedback, enqueues its retries and completes the job, in one unit
   * of work, only while `job.owner` still holds the job ('stale' otherwise: nothing is written). Counts are
   * rows keyed by the job id. Feedback is applied only where the stored handle is still the dead one
   * (rules.expireChannel for installations): a registration (or an installation's channel) re-registered with
   * a new handle while the push was in flight keeps it. The feedback record itself is always kept.
   * A job whose notification is gone (its hub was deleted) records nothing and ends.
   */
  finishDelivery(job: DispatchJob, result: DeliveryResult, rules: StepRules): Promise<Completion>;
  listOutcomes(hub: string, notificationId: string, filter: { outcome?: string }, page: PageRequest): Promise<Page<DeviceOutcomeRecord>>;
  listFeedback(hub: string, limit: number): Promise<FeedbackRecord[]>;
  /**
   * Whether the notification was delivered to any of these registrations (secure push reads), at or after
   * `since` when given: an installation deleted and created again has the same registration ids, and must
   * not read what was delivered to the one before it.
   */
  wasDelivered(hub: string, notificationId: string, registrationIds: readonly string[], since?: number): Promise<boolean>;
  /** Records that an installation read a notification's secure payload. */
  recordSecureRead(hub: string, notificationId: string, installationId: string, at: number): Promise<void>;
  listSecureReads(hub: string, notificationId: string): Promise<Array<{ installationId: string; at: number }>>;
  /** Deletes per-device outcomes older than `before`; returns how many. */
  pruneOutcomes(before: number, limit: number): Promise<number>;
}

/** What a committed write changed: one hub's settings, rules or credentials; `hub: null` for anything. */
export interface StoreChange {
  hub: string | null;
}

/**
 * Committed changes of hubs, rules and credentials, from every process on the store, soon after the
 * commit (caches of each node drop what changed). A subscriber may also hear of changes that change
 * nothing it holds, and of its own process's writes.
 */
export interface ChangeFeed {
  /** Returns the unsubscribe function. */
  subscribe(handler: (change: StoreChange) => void): () => void;
}

/** The schedule of periodic tasks that run once per interval among all processes on the store. */
export interface TaskSchedule {
  /**
   * True for exactly one caller when task `name` is due at `now` (never run, or its next run has come),
   * which moves its next run to `now + intervalMs`; false for everyone else.
   */
  claimDue(name: string, now: number, intervalMs: number): Promise<boolean>;
  /**
   * Records that node `nodeId` is alive at `now`, forgets nodes not seen for `staleMs`, and returns how
   * many nodes are alive (this one included).
   */
  heartbeat(nodeId: string, now: number, staleMs: number): Promise<number>;
  /** Removes the node (it is shutting down). */
  leave(nodeId: string): Promise<void>;
}

export interface Store {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  readonly hubs: HubStore;
  readonly rules: RuleStore;
  readonly credentials: CredentialStore;
  readonly registrations: RegistrationStore;
  readonly installations: InstallationStore;
  readonly jobs: JobStore;
  readonly dispatch: DispatchStore;
  /** The plan and deliver jobs: claims, leases, wake-ups; completions are DispatchStore's step commits. */
  readonly queue: Queue;
  /**
   * Where the file area is kept, for a store every node shares (PostgreSQL): an upload to one node is a
   * file for all. Absent: each node's data directory keeps its own (files/local-file-store.ts).
   */
  readonly files?: FileStore;
  readonly changes: ChangeFeed;
  readonly tasks: TaskSchedule;
  /** The hubs' event logs (issue 13). */
  readonly events: EventStore;
  readonly webhooks: WebhookStore;
  /** Resolves when the store answers a trivial query (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** An event to record beside the write it describes (events/model.ts builds them; the store keeps them opaque). */
export interface NewEvent {
  type: string;
  /** Milliseconds since the epoch. */
  time: number;
  data: Record<string, unknown>;
}

/** A recorded event; `id` is its opaque position in the hub's event log (a cursor to resume after). */
export interface StoredEvent extends NewEvent {
  hub: string;
  id: string;
}

export interface EventRead {
  events: StoredEvent[];
  /** Where the next read resumes (past events the type filter left out too); absent: where it started. */
  next?: string;
  /** More events follow at once (the read stopped at `limit`). */
  more: boolean;
  /** `after` is older than `retainedSince`: events after it may have been purged. */
  reset: boolean;
}

/**
 * The hub's event log (issue 13 item 1): written in the unit of work of what the events describe (the
 * step commits and registry writes append in their own transaction; `append` is for writes that have
 * none), read in commit order from an opaque position, so a reader that resumes after a position misses
 * nothing committed later, whichever node committed it.
 */
export interface EventStore {
  /** Appends events of one hub in one write (and the webhook deliveries they are due to, see WebhookStore). */
  append(hub: string, events: readonly NewEvent[]): Promise<void>;
  /**
   * Events of the hub after `after` (absent: from the oldest retained), of the given types (absent: all),
   * at most `limit`. A position that is not this store's: HubError `invalid_continuation_token`.
   */
  read(hub: string, after: string | undefined, options: { types?: readonly string[]; limit: number; retainedSince: number }): Promise<EventRead>;
  /** The position of "now": reading after it gives only events committed from here on. */
  head(hub: string, now: number): Promise<string>;
  /** Deletes events recorded before `before`, at most `limit`; returns how many. */
  purge(before: number, limit: number): Promise<number>;
  /** Calls `listener` with a hub's name after events of it were committed (by any node sharing the store). */
  onAppend(listener: (hub: string) => void): () => void;
}

export interface WebhookSubscription {
  hub: string;
  id: string;
  url: string;
  /** Event types delivered; empty: every type. */
  types: string[];
  /** The signing secret, sealed (shared/secret-box.ts); the store never sees it in clear. */
  sealedSecret: string;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookAttempt {
  at: number;
  /** The receiver's HTTP status; absent when none came (refused, unreachable, timed out). */
  status?: number;
  error?: string;
  durationMs: number;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  /** pending: will be tried (again) at nextAttemptAt; delivered; failed: gave up. */
  state: 'pending' | 'delivered' | 'failed';
  nextAttemptAt?: number;
  attempts: WebhookAttempt[];
  createdAt: number;
}

/** A claimed delivery: what the worker needs to send it. */
export interface WebhookJob {
  id: string;
  hub: string;
  subscriptionId: string;
  url: string;
  sealedSecret: string;
  event: StoredEvent;
  attempts: number;
  createdAt: number;
  owner: string;
}

export interface WebhookStore {
  create(sub: WebhookSubscription): Promise<void>;
  get(hub: string, id: string): Promise<WebhookSubscription | undefined>;
  list(hub: string): Promise<WebhookSubscription[]>;
  /** Replaces url and types; undefined if there is none. */
  update(hub: string, id: string, changes: { url?: string; types?: string[] }, now: number): Promise<WebhookSubscription | undefined>;
  /** Deletes it with its deliveries; false if there was none. */
  delete(hub: string, id: string): Promise<boolean>;
  /**
   * Leases up to `limit` pending deliveries due at `now` (no owner, or a lapsed lease) to `owner` until
   * `now + leaseMs`; concurrent claims get disjoint deliveries.
   */
  claim(owner: string, now: number, limit: number, leaseMs: number): Promise<WebhookJob[]>;
  /**
   * Records an attempt and what follows, only while `job.owner` holds the lease (false otherwise: nothing
   * written): `retryAt` keeps it pending until then, `final` ends it delivered or failed.
   */
  recordAttempt(job: WebhookJob, attempt: WebhookAttempt, next: { retryAt: number } | { final: 'delivered' | 'failed' }): Promise<boolean>;
  /** When the next pending delivery is due, if any. */
  nextDueAt(): Promise<number | undefined>;
  /** The subscription's deliveries, newest first. */
  deliveries(hub: string, subscriptionId: string, page: PageRequest): Promise<Page<WebhookDelivery>>;
}
