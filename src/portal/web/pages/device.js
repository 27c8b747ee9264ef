import { useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { html, ErrorLine, link, useLoad, when } from '../ui.js';

export function DevicePage({ hub, kind, id }) {
  const base = `${hubPath(hub)}/${kind === 'installation' ? 'installations' : 'registrations'}/${encodeURIComponent(id)}`;
  const device = useLoad(() => api.get(base), [base]);
  const regs = useLoad(
    () => (kind === 'installation' ? api.get(`${hubPath(hub)}/registrations?installationId=${encodeURIComponent(id)}`) : Promise.resolve({ items: [] })),
    [hub, kind, id],
  );
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState(null);
  const remove = async () => {
    try {
      await api.del(base);
      location.hash = link('hub', hub, 'registry');
    } catch (err) {
      setError(err);
    }
  };
  const d = device.data;
  const handle = d ? (typeof d.pushChannel === 'object' ? d.pushChannel?.endpoint : d.pushChannel ?? d.handle?.value ?? JSON.stringify(d.handle)) : '';
  return html`<section>
    <h1 tabindex="-1">${kind === 'installation' ? 'Installation' : 'Registration'} <span class="mono">${id}</span></h1>
    <${ErrorLine} error=${device.error ?? error} />
    ${d &&
    html`<dl class="facts">
        <dt>Platform</dt><dd>${d.platform}</dd>
        <dt>Handle</dt><dd class="mono">${handle}</dd>
        ${d.userId && html`<dt>User</dt><dd>${d.userId}</dd>`}
        <dt>Tags</dt><dd>${(d.tags ?? []).join(', ') || 'none'}</dd>
        <dt>Updated</dt><dd>${when(d.lastUpdate ?? d.updatedAt)}</dd>
        ${d.expirationTime || d.expiresAt ? html`<dt>Expires</dt><dd>${when(d.expirationTime ?? d.expiresAt)}</dd>` : ''}
      </dl>
      ${d.templates && html`<h2>Templates</h2><dl class="facts">${Object.entries(d.templates).map(([n, t]) => html`<dt>${n}</dt><dd class="mono">${t.body}</dd>`)}</dl>`}
      ${d.template && html`<h2>Template</h2><pre>${typeof d.template === 'string' ? d.template : JSON.stringify(d.template, null, 2)}</pre>`}`}
    ${kind === 'installation' &&
    html`<h2>Its registrations</h2>
      <table><thead><tr><th>Registration</th><th>Kind</th><th>Tags</th></tr></thead>
      <tbody>${(regs.data?.items ?? []).map((r) => html`<tr><td class="mono">${r.registrationId}</td><td>${r.kind}</td><td class="tags">${r.tags.join(', ')}</td></tr>`)}</tbody></table>`}
    <p class="hint">Per-device results of each send are on the <a href=${link('hub', hub, 'messages')}>messages</a> page.</p>
    ${confirm
      ? html`<p role="group" aria-label="Confirm">Delete this ${kind}? The device gets no pushes until it registers again. <button type="button" class="danger" onClick=${remove}>Delete ${kind}</button> <button type="button" onClick=${() => setConfirm(false)}>Cancel</button></p>`
      : html`<button type="button" onClick=${() => setConfirm(true)}>Delete…</button>`}
  </section>`;
}
