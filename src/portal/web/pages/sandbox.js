import { useState } from 'preact/hooks';
import { api, hubPath, server } from '../api.js';
import { html, ErrorLine, link, useEvery, useLoad, when } from '../ui.js';

const PLATFORMS = [['apns', 'iOS (APNs)'], ['fcmv1', 'Android (FCM)'], ['wns', 'Windows (WNS)'], ['browser', 'Browser (Web Push)']];

function Deliveries({ handle }) {
  const got = useLoad(() => api.get(`/sandbox/deliveries?handle=${encodeURIComponent(handle)}`), [handle]);
  useEvery(got.reload, 2000);
  const items = got.data?.items ?? [];
  return html`<section class="card" aria-label="What the device received">
    <h2>Received by <span class="mono clip">${handle}</span></h2>
    <${ErrorLine} error=${got.error} />
    ${items.length === 0 ? html`<p>Nothing yet.</p>` : html`<ol class="events" data-testid="deliveries">${items.map((d) => html`<li><time>${when(d.time)}</time> <pre>${d.payload}</pre></li>`)}</ol>`}
  </section>`;
}

export function SandboxPage() {
  if (!server.sandbox) {
    return html`<section><h1 tabindex="-1">Sandbox</h1><p>This Herald does not run the PNS emulators; start it with <code>herald serve --sandbox</code> to try pushes without real credentials.</p></section>`;
  }
  const hubs = useLoad(() => api.get('/hubs'), []);
  const devices = useLoad(() => api.get('/sandbox/devices'), []);
  useEvery(devices.reload, 2000);
  const [form, setForm] = useState({ hub: '', platform: 'apns', tags: '' });
  const [error, setError] = useState(null);
  const [made, setMade] = useState(null);
  const [shown, setShown] = useState(null);
  const hubName = form.hub || hubs.data?.hubs?.[0]?.name || '';
  const register = async (e) => {
    e.preventDefault();
    try {
      const tags = form.tags.split(',').map((t) => t.trim()).filter(Boolean);
      const inst = await api.post(`${hubPath(hubName)}/sandbox/devices`, { platform: form.platform, tags });
      setMade({ hub: hubName, ...inst });
      setError(null);
      devices.reload();
    } catch (err) {
      setError(err);
    }
  };
  return html`<section>
    <h1 tabindex="-1">Sandbox</h1>
    <form class="row wrap" onSubmit=${register} aria-label="Register a simulated device">
      <label for="sb-hub">Hub</label>
      <select id="sb-hub" value=${hubName} onChange=${(e) => setForm({ ...form, hub: e.currentTarget.value })}>${(hubs.data?.hubs ?? []).map((h) => html`<option value=${h.name}>${h.name}</option>`)}</select>
      <label for="sb-platform">Device</label>
      <select id="sb-platform" value=${form.platform} onChange=${(e) => setForm({ ...form, platform: e.currentTarget.value })}>${PLATFORMS.map(([p, l]) => html`<option value=${p}>${l}</option>`)}</select>
      <label for="sb-tags">Tags (comma-separated)</label>
      <input id="sb-tags" value=${form.tags} onInput=${(e) => setForm({ ...form, tags: e.currentTarget.value })} />
      <button type="submit">Register simulated device</button>
    </form>
    <${ErrorLine} error=${error ?? devices.error} />
    ${made && html`<p role="status">Registered installation <a class="mono" href=${link('hub', made.hub, 'device', 'installation', made.installationId)}>${made.installationId}</a> in ${made.hub}.</p>`}
    <table data-testid="sandbox-devices"><thead><tr><th>Platform</th><th>Handle</th><th>Created</th><th>Received</th><th><span class="sr">Actions</span></th></tr></thead>
      <tbody>${(devices.data?.items ?? []).map((d) => html`<tr>
        <td>${d.platform}</td><td class="mono clip">${d.handle}</td><td>${when(d.createdAt)}</td><td>${d.deliveries}${d.expired ? ' (expired)' : ''}</td>
        <td><button type="button" class="small" onClick=${() => setShown(d.handle)} aria-label=${`Show what ${d.platform} device ${d.handle.slice(-12)} received`}>Show</button></td></tr>`)}</tbody></table>
    ${shown && html`<${Deliveries} handle=${shown} />`}
  </section>`;
}
