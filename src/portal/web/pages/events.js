import { api, hubPath } from '../api.js';
import { useHubEvents } from '../live.js';
import { html, ErrorLine, useEvery, useLoad, when } from '../ui.js';

export function EventsPage({ hub }) {
  const { events, available, connected } = useHubEvents(hub);
  const feedback = useLoad(() => api.get(`${hubPath(hub)}/feedback`), [hub]);
  // Feedback is also an event on the stream; without the stream, the list is read again every few seconds.
  useEvery(() => available === false && feedback.reload(), 5000);
  return html`<section>
    <h1 tabindex="-1">Feedback and events of ${hub}</h1>
    <h2>Live events</h2>
    ${available === false
      ? html`<p>This Herald has no event stream; the feedback below is read again every few seconds.</p>`
      : html`<p class="hint" data-testid="live-state">${connected ? 'Connected: new events appear at the top.' : 'Connecting…'}</p>
        <ol class="events" aria-live="polite" data-testid="live-events">${events.map((e) => html`<li><time>${when(e.time)}</time> <code>${e.type}</code> <span class="mono">${JSON.stringify(e.data)}</span></li>`)}</ol>
        ${events.length === 0 && html`<p>Waiting for events…</p>`}`}
    <h2>PNS feedback (dead handles)</h2>
    <${ErrorLine} error=${feedback.error} />
    <table><thead><tr><th>At</th><th>PNS</th><th>Handle</th><th>Error</th><th>Registration</th></tr></thead>
      <tbody>${(feedback.data?.items ?? []).map((f) => html`<tr><td>${when(f.at)}</td><td>${f.platform}</td><td class="mono clip">${f.handle}</td><td>${f.error}</td><td class="mono">${f.registrationId ?? ''}</td></tr>`)}</tbody></table>
  </section>`;
}
