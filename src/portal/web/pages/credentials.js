import { useState } from 'preact/hooks';
import { api, hubPath, server } from '../api.js';
import { html, ErrorLine, useLoad, when } from '../ui.js';

const PLATFORMS = [
  ['apns', 'APNs (Apple)'],
  ['fcmv1', 'FCM v1 (Android)'],
  ['wns', 'WNS (Windows)'],
  ['browser', 'Web Push (VAPID)'],
];

function Platform({ hub, platform, label, current, sandbox, onSaved }) {
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const [status, setStatus] = useState('');
  const fill = async () => {
    try {
      setText(JSON.stringify(await api.post(`/sandbox/credentials/${platform}`), null, 2));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  const save = async (e) => {
    e.preventDefault();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      setError({ message: 'The credentials must be a JSON object.' });
      return;
    }
    try {
      await api.put(`${hubPath(hub)}/credentials/${platform}`, body);
      setError(null);
      setText('');
      setStatus('Saved.');
      onSaved();
    } catch (err) {
      setError(err);
      setStatus('');
    }
  };
  return html`<article class="card" aria-label=${label}>
    <h2>${label}</h2>
    ${current
      ? html`<dl class="facts">${Object.entries(current.summary).map(([k, v]) => html`<dt>${k}</dt><dd class="mono">${v}</dd>`)}
          <dt>endpoint</dt><dd class="mono">${current.endpoint ?? 'vendor default'}</dd><dt>updated</dt><dd>${when(current.updatedAt)}</dd></dl>`
      : html`<p>Not set.</p>`}
    <form class="stack" onSubmit=${save}>
      <label for=${`cred-${platform}`}>Set or replace (JSON; shown afterwards only as identifiers and fingerprints)</label>
      <textarea id=${`cred-${platform}`} rows="5" class="mono" value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      <div class="row">
        <button type="submit" disabled=${text.trim() === ''}>Save ${label} credentials</button>
        ${sandbox && html`<button type="button" onClick=${fill}>Fill from the sandbox emulator</button>`}
      </div>
      ${status && html`<p role="status">${status}</p>`}
      <${ErrorLine} error=${error} />
    </form>
  </article>`;
}

export function CredentialsPage({ hub }) {
  const creds = useLoad(() => api.get(`${hubPath(hub)}/credentials`), [hub]);
  const byPlatform = Object.fromEntries((creds.data?.credentials ?? []).map((c) => [c.platform, c]));
  return html`<section>
    <h1 tabindex="-1">PNS credentials of ${hub}</h1>
    <${ErrorLine} error=${creds.error} />
    ${PLATFORMS.map(([p, label]) => html`<${Platform} key=${p} hub=${hub} platform=${p} label=${label} current=${byPlatform[p]} sandbox=${server.sandbox} onSaved=${creds.reload} />`)}
  </section>`;
}
