/**
 * Import/export jobs as Atom XML (wire spec §11): the submit entry → a job request, and a job →
 * the entry or feed the official client's job parser reads.
 */
import { JOB_TYPES, type JobType } from '../../registry/jobs.ts';
import { HubError } from '../../shared/errors.ts';
import {
  childText,
  entryContentElements,
  escapeXml,
  feedUpdated,
  isoTime,
  parseXml,
  renderAtomEntry,
  renderAtomFeed,
  resourceHref,
  SERVICEBUS_NS,
  textElement,
  XSI_NS,
  type AtomEntryParts,
  type AtomLocation,
  type XmlLimits,
} from './atom.ts';


/** §11.1 status values; the JS poller continues on Started/Running, resolves on Completed, rejects on Failed. */
export type JobStatus = 'Started' | 'Running' | 'Completed' | 'Failed';

export interface JobView {
  id: string;
  type: JobType;
  status: JobStatus;
  /** Percent, 0 to 100. */
  progress: number;
  outputContainerUri: string;
  importFileUri?: string;
  /** Shown as the error of a Failed job by the JS poller (§11.2). */
  failure?: string;
  inputProperties?: Record<string, string>;
  /** e.g. OutputFilePath, FailedFilePath (§11.1). */
  outputProperties?: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

export interface JobRequest {
  type: JobType;
  outputContainerUri: string;
  /** Present exactly for the import types. */
  importFileUri?: string;
}

/** The key/value dictionaries of DataContract XML, the namespace the d3p1 prefix is bound to. */
const ARRAYS_NS = 'http://schemas.microsoft.com/2003/10/Serialization/Arrays';
const MAX_URI_LENGTH = 4096;

function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

/** An absolute URI (the SDK sends blob container SAS URLs in CDATA, §11.1). */
function uri(value: string | undefined, name: string): string {
  const text = value?.trim();
  if (text === undefined || text === '') throw invalid('missing_field', `${name} is required.`, { field: name });
  if (text.length > MAX_URI_LENGTH) throw invalid('field_too_long', `${name} is longer than ${MAX_URI_LENGTH} characters.`, { field: name, limit: MAX_URI_LENGTH });
  if (!URL.canParse(text)) throw invalid('invalid_field', `${name} must be an absolute URI.`, { field: name });
  return text;
}

/**
 * Reads a job submission (§11.1): `entry/content/NotificationHubJob` with `Type`, `OutputContainerUri`
 * and, for imports, `ImportFileUri`. Read-only elements (JobId, Status, ...) are ignored.
 */
export function parseJobEntry(body: string | Buffer, limits?: Partial<XmlLimits>): JobRequest {
  const job = entryContentElements(parseXml(body, limits))[0];
  if (job === undefined || job.localName !== 'NotificationHubJob') {
    throw invalid('not_a_job', 'The entry must hold a <NotificationHubJob> in its <content>.', job ? { element: job.name } : {});
  }
  const rawType = childText(job, 'Type')?.trim();
  if (rawType === undefined || rawType === '') throw invalid('missing_field', `Type is required: one of ${JOB_TYPES.join(', ')}.`, { field: 'Type' });
  // Matched without case: a job type has one spelling, and a miss here would only turn a clear request away.
  const type = JOB_TYPES.find((t) => t.toLowerCase() === rawType.toLowerCase());
  if (type === undefined) {
    throw invalid('unknown_job_type', `Job type '${rawType.slice(0, 64)}' is not one of ${JOB_TYPES.join(', ')}.`, { field: 'Type', type: rawType.slice(0, 64) });
  }
  const request: JobRequest = { type, outputContainerUri: uri(childText(job, 'OutputContainerUri'), 'OutputContainerUri') };
  // An export has no input file; one sent anyway is ignored rather than stored.
  if (type !== 'ExportRegistrations') request.importFileUri = uri(childText(job, 'ImportFileUri'), 'ImportFileUri');
  return request;
}

/** `<d3p1:KeyValueOfstringstring>` pairs: the JS client looks these prefixed names up literally (§3.4, §11.1). */
function renderProperties(name: string, props: Record<string, string> | undefined): string {
  const entries = Object.entries(props ?? {});
  if (entries.length === 0) return '';
  const items = entries.map(([k, v]) =>
    `<d3p1:KeyValueOfstringstring><d3p1:Key>${escapeXml(k)}</d3p1:Key><d3p1:Value>${escapeXml(v)}</d3p1:Value></d3p1:KeyValueOfstringstring>`);
  return `<${name} xmlns:d3p1="${ARRAYS_NS}">${items.join('')}</${name}>`;
}

/** The job description in the element order of §11.1 [NET]. */
export function renderJobDescription(job: JobView): string {
  const body = [
    textElement('JobId', job.id),
    textElement('Progress', job.progress.toFixed(2)),
    textElement('Type', job.type),
    textElement('Status', job.status),
    textElement('OutputContainerUri', job.outputContainerUri),
    textElement('ImportFileUri', job.importFileUri),
    renderProperties('InputProperties', job.inputProperties),
    textElement('Failure', job.failure),
    renderProperties('OutputProperties', job.outputProperties),
    textElement('CreatedAt', isoTime(job.createdAt)),
    textElement('UpdatedAt', isoTime(job.updatedAt)),
  ].join('');
  return `<NotificationHubJob xmlns="${SERVICEBUS_NS}" xmlns:i="${XSI_NS}">${body}</NotificationHubJob>`;
}

function entryParts(job: JobView, at: AtomLocation): AtomEntryParts {
  return {
    href: resourceHref(at, 'jobs', job.id),
    title: job.id,
    published: job.createdAt,
    updated: job.updatedAt,
    content: renderJobDescription(job),
  };
}

/** The entry of POST /jobs (201) and GET /jobs/{id} (§11.1, §11.2). */
export function renderJobEntry(job: JobView, at: AtomLocation): string {
  return renderAtomEntry(entryParts(job, at));
}

/** GET /jobs (§11.2); an empty feed is fine. */
export function renderJobFeed(jobs: readonly JobView[], at: AtomLocation): string {
  return renderAtomFeed({
    title: 'NotificationHubJobs',
    href: resourceHref(at, 'jobs'),
    updated: feedUpdated(jobs, at),
    entries: jobs.map((j) => entryParts(j, at)),
  });
}

