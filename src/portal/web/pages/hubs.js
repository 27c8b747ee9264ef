import { useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { html, ErrorLine, link, useLoad, when } from '../ui.js';

export function HubsPage() {
  const hubs = useLoad(() => api.get('/hubs'), []);
  const [name, setName] = useState('');
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(null);
  const create = async (e) => {
    e.preventDefault();
    try {
      await api.post('/hubs', { name });
      setName('');
      setError(null);
      location.hash = link('hub', name, 'keys');
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (hub) => {
    try {
      await api.del(hubPath(hub));
      setConfirming(null);
      hubs.reload();
    } catch (err) {
      setError(err);
    }
  };
  return html`<section>
    <h1 tabindex="-1">Hubs</h1>
    <form class="row" onSubmit=${create}>
      <label for="hub-name">New hub</label>
      <input id="hub-name" value=${name} onInput=${(e) => setName(e.currentTarget.value)} placeholder="my-app" required />
      <button type="submit">Create hub</button>
    </form>
    <${ErrorLine} error=${error ?? hubs.error} />
    <table>
      <thead><tr><th>Name</th><th>Registration TTL</th><th>Created</th><th><span class="sr">Actions</span></th></tr></thead>
      <tbody>
        ${(hubs.data?.hubs ?? []).map(
          (h) => html`<tr>
            <td><a href=${link('hub', h.name, 'registry')}>${h.name}</a></td>
            <td>${h.settings.registrationTtlSeconds ?? 'never'}</td>
            <td>${when(h.createdAt)}</td>
            <td>${confirming === h.name
              ? html`<span role="group" aria-label="Confirm">Delete ${h.name} and all its devices? <button type="button" class="danger small" onClick=${() => remove(h.name)}>Delete hub</button> <button type="button" class="small" onClick=${() => setConfirming(null)}>Cancel</button></span>`
              : html`<button type="button" class="small" onClick=${() => setConfirming(h.name)} aria-label=${`Delete hub ${h.name}`}>Delete</button>`}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
