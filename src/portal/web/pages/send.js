import { useEffect, useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { useHubEvents } from '../live.js';
import { html, ErrorLine, link, useEvery } from '../ui.js';

const FORMATS = [
  ['template', 'Template (properties as JSON)', '{"message": "Hello from Herald"}'],
  ['apple', 'APNs native', '{"aps": {"alert": "Hello from Herald"}}'],
  ['fcmv1', 'FCM v1 native', '{"message": {"notification": {"title": "Hello", "body": "from Herald"}}}'],
  ['windows', 'WNS native (toast XML)', '<toast><visual><binding template="ToastGeneric"><text>Hello from Herald</text></binding></visual></toast>'],
  ['browser', 'Web Push native', '{"title": "Hello", "body": "from Herald"}'],
];

function Follow({ hub, id, events }) {
  const [n, setN] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api.get(`${hubPath(hub)}/messages/${encodeURIComponent(id)}`).then(setN, setError);
  useEffect(() => void load(), [id]);
  const done = n?.endedAt;
  useEvery(() => !done && load(), 1000);
  const mine = events.filter((e) => e.data?.notificationId === id);
  return html`<section aria-label="Following the send" class="card">
    <h2>Notification <a class="mono" href=${link('hub', hub, 'messages', id)}>${id}</a></h2>
    <${ErrorLine} error=${error} />
    <p role="status" data-testid="follow-state">${n ? `${n.state}: ${n.targets} targets` : 'Accepted…'}</p>
    ${n && html`<${Counts} counts=${n.counts} />`}
    ${mine.length > 0 && html`<h3>Live events</h3><ul class="events" data-testid="follow-events">${mine.map((e) => html`<li><code>${e.type}</code> ${e.data?.outcome ?? e.data?.state ?? ''}</li>`)}</ul>`}
  </section>`;
}

export function Counts({ counts }) {
  const rows = Object.entries(counts ?? {});
  if (rows.length === 0) return html`<p>No outcomes yet.</p>`;
  return html`<table class="compact"><thead><tr><th>PNS</th><th>Outcomes</th></tr></thead>
    <tbody>${rows.map(([p, c]) => html`<tr><td>${p}</td><td>${Object.entries(c).map(([o, k]) => `${o} ${k}`).join(', ')}</td></tr>`)}</tbody></table>`;
}

export function SendPage({ hub }) {
  const [format, setFormat] = useState('template');
  const [body, setBody] = useState(FORMATS[0][2]);
  const [tags, setTags] = useState('');
  const [error, setError] = useState(null);
  const [test, setTest] = useState(null);
  const [sent, setSent] = useState(null);
  // Open before anything is sent: the stream starts at "now", and a send may end within milliseconds.
  const live = useHubEvents(hub);
  const pick = (f) => {
    setFormat(f);
    setBody(FORMATS.find(([k]) => k === f)[2]);
  };
  const go = async (asTest) => {
    setError(null);
    try {
      const r = await api.post(`${hubPath(hub)}/messages`, { format, body, tagExpression: tags, test: asTest, ...(format === 'windows' ? { headers: { 'X-WNS-Type': 'wns/toast' } } : {}) });
      if (asTest) (setTest(r), setSent(null));
      else (setSent(r.id), setTest(null));
    } catch (err) {
      setError(err);
    }
  };
  return html`<section>
    <h1 tabindex="-1">Send from ${hub}</h1>
    <form class="stack" onSubmit=${(e) => (e.preventDefault(), go(true))}>
      <label for="send-format">Format</label>
      <select id="send-format" value=${format} onChange=${(e) => pick(e.currentTarget.value)}>${FORMATS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}</select>
      <label for="send-tags">Tag expression (empty: everyone)</label>
      <input id="send-tags" class="mono" value=${tags} onInput=${(e) => setTags(e.currentTarget.value)} placeholder="news && lang_en" />
      <label for="send-body">${format === 'template' ? 'Template properties (JSON object)' : 'Payload'}</label>
      <textarea id="send-body" class="mono" rows="6" value=${body} onInput=${(e) => setBody(e.currentTarget.value)}></textarea>
      <div class="row">
        <button type="submit">Test send</button>
        <button type="button" onClick=${() => go(false)}>Send</button>
      </div>
      <p class="hint">A test send reaches at most 10 devices and shows each one's result at once; nothing is kept.</p>
      <${ErrorLine} error=${error} />
    </form>
    ${test &&
    html`<section aria-label="Test send results" class="card">
      <h2>Test send: ${test.success} delivered, ${test.failure} failed</h2>
      <table data-testid="test-results"><thead><tr><th>PNS</th><th>Handle</th><th>Registration</th><th>Outcome</th><th>Reason</th></tr></thead>
      <tbody>${test.results.map((r) => html`<tr><td>${r.platform}</td><td class="mono clip">${r.handle}</td><td class="mono">${r.registrationId}</td><td>${r.outcome}</td><td>${r.reason}</td></tr>`)}</tbody></table>
    </section>`}
    ${live.available && html`<p class="hint" data-testid="live-state">${live.connected ? 'Live events: connected.' : 'Live events: connecting…'}</p>`}
    ${sent && html`<${Follow} hub=${hub} id=${sent} events=${live.events} />`}
  </section>`;
}
