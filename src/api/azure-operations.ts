/**
 * Which Azure Notification Hubs operation a request is (wire spec §4), and the SAS right it needs
 * (§2.4). Resource segments match case-insensitively (§3.1: JS sends `registrationIDs`, .NET
 * `registrationids`); a trailing slash is optional; ids are the percent-decoded segments.
 */
import type { Right } from '../shared/rights.ts';

export type AzureOperationName =
  | 'createOrUpdateInstallation'
  | 'updateInstallation'
  | 'getInstallation'
  | 'deleteInstallation'
  | 'createRegistrationId'
  | 'createRegistration'
  | 'createOrUpdateRegistration'
  | 'updateRegistration'
  | 'getRegistration'
  | 'deleteRegistration'
  | 'listRegistrations'
  | 'listRegistrationsByChannel'
  | 'listRegistrationsByTag'
  | 'sendNotification'
  | 'sendBatchNotification'
  | 'scheduleNotification'
  | 'cancelScheduledNotification'
  | 'getNotificationOutcomeDetails'
  | 'getFeedbackContainerUrl'
  | 'submitNotificationHubJob'
  | 'getNotificationHubJob'
  | 'listNotificationHubJobs'
  | 'issueDeviceCredential'
  | 'revokeDeviceCredentials';

export interface AzureOperation {
  name: AzureOperationName;
  right: Right;
  /** The id (installation, registration, notification, job) or tag named by the path. */
  id?: string;
}

export type Classification =
  | { kind: 'operation'; operation: AzureOperation }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

type Route = Record<string, (id: string | undefined, q: URLSearchParams, h: Headers) => Omit<AzureOperation, 'id'>>;

interface Headers {
  ifMatch: boolean;
}

const op = (name: AzureOperationName, right: Right) => () => ({ name, right });

// Collection routes: segments after the hub. `{}` marks the id position.
const ROUTES: Array<[pattern: string[], route: Route]> = [
  [
    ['installations', '{}'],
    {
      PUT: op('createOrUpdateInstallation', 'Listen'),
      PATCH: op('updateInstallation', 'Listen'),
      GET: op('getInstallation', 'Listen'),
      DELETE: op('deleteInstallation', 'Listen'),
    },
  ],
  [['registrationids'], { POST: op('createRegistrationId', 'Listen') }],
  // Herald's secure push: a backend (Manage) issues a device its installation's read credential, or
  // revokes every credential issued for the installation so far.
  [['installations', '{}', 'credential'], { POST: op('issueDeviceCredential', 'Manage'), DELETE: op('revokeDeviceCredentials', 'Manage') }],
  [
    ['registrations'],
    {
      POST: op('createRegistration', 'Listen'),
      // Listing by channel is a device-side call (Listen); listing everything needs Manage (§2.4).
      GET: (_id, q) => (q.has('$filter') ? { name: 'listRegistrationsByChannel', right: 'Listen' } : { name: 'listRegistrations', right: 'Manage' }),
    },
  ],
  [
    ['registrations', '{}'],
    {
      PUT: (_id, _q, h) => (h.ifMatch ? { name: 'updateRegistration', right: 'Listen' } : { name: 'createOrUpdateRegistration', right: 'Listen' }),
      GET: op('getRegistration', 'Listen'),
      DELETE: op('deleteRegistration', 'Listen'),
    },
  ],
  [['tags', '{}', 'registrations'], { GET: op('listRegistrationsByTag', 'Manage') }],
  [['messages'], { POST: op('sendNotification', 'Send') }],
  [['messages', '$batch'], { POST: op('sendBatchNotification', 'Send') }],
  // Telemetry, cancel and feedback: "Send or Manage" (§2.4); Manage implies Send here.
  [['messages', '{}'], { GET: op('getNotificationOutcomeDetails', 'Send') }],
  [['schedulednotifications'], { POST: op('scheduleNotification', 'Send') }],
  [['schedulednotifications', '{}'], { DELETE: op('cancelScheduledNotification', 'Send') }],
  [['feedbackcontainer'], { GET: op('getFeedbackContainerUrl', 'Send') }],
  [['jobs'], { POST: op('submitNotificationHubJob', 'Manage'), GET: op('listNotificationHubJobs', 'Manage') }],
  [['jobs', '{}'], { GET: op('getNotificationHubJob', 'Manage') }],
];

function match(pattern: string[], segments: string[]): { ok: boolean; id?: string } {
  if (pattern.length !== segments.length) return { ok: false };
  let id: string | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p === '{}') {
      if (s === '') return { ok: false };
      id = s;
    } else if (p !== s.toLowerCase()) {
      return { ok: false };
    }
  }
  return { ok: true, ...(id === undefined ? {} : { id }) };
}

/**
 * @param segments the decoded path segments after the hub name, without a trailing empty one
 * @param query the decoded query (`%24top` arrives as `$top`)
 */
export function classifyOperation(method: string, segments: string[], query: URLSearchParams, headers: Headers): Classification {
  for (const [pattern, route] of ROUTES) {
    const m = match(pattern, segments);
    if (!m.ok) continue;
    // `/messages/$batch` must not be read as telemetry for a notification called "$batch".
    if (pattern[1] === '{}' && pattern[0] === 'messages' && segments[1]?.toLowerCase() === '$batch') continue;
    const handler = route[method.toUpperCase()];
    if (!handler) return { kind: 'method_not_allowed', allowed: Object.keys(route) };
    return { kind: 'operation', operation: { ...handler(m.id, query, headers), ...(m.id === undefined ? {} : { id: m.id }) } };
  }
  return { kind: 'not_found' };
}
