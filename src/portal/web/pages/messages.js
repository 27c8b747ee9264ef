import { useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { html, ErrorLine, link, useLoad, when } from '../ui.js';
import { Counts } from './send.js';

const MINUTES = 30;

/**
 * Pushes per minute by outcome, and accept-to-last-PNS-answer latency, over the last 30 minutes, from the
 * listed notifications (each counted in the minute it was accepted).
 */
export function bucketByMinute(items, now) {
  const start = Math.floor(now / 60_000) - MINUTES + 1;
  const buckets = Array.from({ length: MINUTES }, (_, i) => ({ minute: start + i, ok: 0, failed: 0, latencies: [] }));
  for (const n of items) {
    const i = Math.floor(Date.parse(n.enqueuedAt) / 60_000) - start;
    if (i < 0 || i >= MINUTES) continue;
    for (const c of Object.values(n.counts)) {
      for (const [outcome, k] of Object.entries(c)) buckets[i][outcome === 'Success' ? 'ok' : 'failed'] += k;
    }
    if (n.endedAt) buckets[i].latencies.push(Date.parse(n.endedAt) - Date.parse(n.enqueuedAt));
  }
  return buckets;
}

function Chart({ items }) {
  const buckets = bucketByMinute(items, Date.now());
  const W = 600, H = 120, bw = W / MINUTES;
  const max = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const lat = buckets.map((b) => (b.latencies.length ? b.latencies.reduce((a, x) => a + x, 0) / b.latencies.length : null));
  const maxLat = Math.max(1, ...lat.filter((x) => x !== null));
  const total = buckets.reduce((a, b) => a + b.ok + b.failed, 0);
  const failed = buckets.reduce((a, b) => a + b.failed, 0);
  const points = lat.map((l, i) => (l === null ? null : `${i * bw + bw / 2},${H - (l / maxLat) * (H - 10)}`)).filter(Boolean).join(' ');
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`Last ${MINUTES} minutes: ${total} pushes, ${failed} failed; slowest average accept-to-PNS time ${Math.round(maxLat)} ms`}>
      ${buckets.map((b, i) => {
        const hOk = (b.ok / max) * (H - 10), hFail = (b.failed / max) * (H - 10);
        return html`<g><rect class="ok" x=${i * bw + 1} y=${H - hOk} width=${bw - 2} height=${hOk} /><rect class="failed" x=${i * bw + 1} y=${H - hOk - hFail} width=${bw - 2} height=${hFail} /></g>`;
      })}
      ${points && html`<polyline class="latency" points=${points} />`}
      ${lat.map((l, i) => l !== null && html`<circle class="latency-dot" cx=${i * bw + bw / 2} cy=${H - (l / maxLat) * (H - 10)} r="4"><title>${`${Math.round(l)} ms`}</title></circle>`)}
    </svg>
    <figcaption>Pushes per minute (<span class="key ok">delivered</span>, <span class="key failed">failed</span>) and accept-to-PNS time (<span class="key latency">line</span>, up to ${Math.round(maxLat)} ms), last ${MINUTES} minutes.</figcaption>
  </figure>`;
}

export function MessagesPage({ hub }) {
  const list = useLoad(() => api.get(`${hubPath(hub)}/messages?top=200`), [hub]);
  const items = list.data?.items ?? [];
  return html`<section>
    <h1 tabindex="-1">Messages of ${hub}</h1>
    <${ErrorLine} error=${list.error} />
    <${Chart} items=${items} />
    <div class="row"><button type="button" onClick=${list.reload}>Refresh</button></div>
    <table>
      <thead><tr><th>Notification</th><th>State</th><th>Format</th><th>Tags</th><th>Targets</th><th>Per PNS</th><th>Accepted</th></tr></thead>
      <tbody>${items.map((n) => html`<tr>
        <td><a class="mono" href=${link('hub', hub, 'messages', n.id)}>${n.id.slice(0, 12)}…</a></td>
        <td>${n.state}</td><td>${n.format}</td><td class="mono">${n.tagExpression ?? ''}</td><td>${n.targets}</td>
        <td>${Object.entries(n.counts).map(([p, c]) => `${p}: ${Object.entries(c).map(([o, k]) => `${o} ${k}`).join(', ')}`).join('; ')}</td>
        <td>${when(n.enqueuedAt)}</td></tr>`)}</tbody>
    </table>
  </section>`;
}

const OUTCOMES = ['', 'Success', 'WrongToken', 'ExpiredChannel', 'InvalidCredentials', 'Throttled', 'PnsUnreachable', 'BadChannel', 'PnsInterfaceError', 'Dropped', 'UnknownError'];

export function MessagePage({ hub, id }) {
  const n = useLoad(() => api.get(`${hubPath(hub)}/messages/${encodeURIComponent(id)}`), [hub, id]);
  const [outcome, setOutcome] = useState('');
  const [tokens, setTokens] = useState([]);
  const token = tokens[tokens.length - 1];
  const outcomes = useLoad(() => {
    const q = new URLSearchParams({ top: '50' });
    if (outcome) q.set('outcome', outcome);
    if (token) q.set('continuationToken', token);
    return api.get(`${hubPath(hub)}/messages/${encodeURIComponent(id)}/outcomes?${q}`);
  }, [hub, id, outcome, token]);
  return html`<section>
    <h1 tabindex="-1">Notification <span class="mono">${id}</span></h1>
    <${ErrorLine} error=${n.error ?? outcomes.error} />
    ${n.data && html`<dl class="facts"><dt>State</dt><dd>${n.data.state}</dd><dt>Targets</dt><dd>${n.data.targets}</dd><dt>Accepted</dt><dd>${when(n.data.enqueuedAt)}</dd><dt>Ended</dt><dd>${when(n.data.endedAt)}</dd></dl>
      <${Counts} counts=${n.data.counts} />`}
    <h2>Per device</h2>
    <label for="outcome-filter">Outcome</label>
    <select id="outcome-filter" value=${outcome} onChange=${(e) => (setOutcome(e.currentTarget.value), setTokens([]))}>${OUTCOMES.map((o) => html`<option value=${o}>${o || 'any'}</option>`)}</select>
    <table data-testid="outcomes"><thead><tr><th>Registration</th><th>PNS</th><th>Handle</th><th>Outcome</th><th>Reason</th><th>Attempts</th><th>At</th></tr></thead>
      <tbody>${(outcomes.data?.items ?? []).map((o) => html`<tr><td class="mono">${o.registrationId ?? ''}</td><td>${o.platform}</td><td class="mono clip">${o.handle}</td><td>${o.outcome}</td><td>${o.reason ?? ''}</td><td>${o.attempts}</td><td>${when(o.at)}</td></tr>`)}</tbody></table>
    <nav class="row" aria-label="Pages">
      <button type="button" disabled=${tokens.length === 0} onClick=${() => setTokens(tokens.slice(0, -1))}>Previous page</button>
      <button type="button" disabled=${!outcomes.data?.continuationToken} onClick=${() => setTokens([...tokens, outcomes.data.continuationToken])}>Next page</button>
    </nav>
  </section>`;
}
