import { useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { html, ErrorLine, link, useLoad, when } from '../ui.js';

const PAGE = 20;
const PLATFORMS = ['', 'apns', 'fcmv1', 'wns', 'browser', 'gcm', 'adm', 'baidu', 'xiaomi', 'mpns'];

export function RegistryPage({ hub }) {
  const [kind, setKind] = useState('installations');
  const [form, setForm] = useState({ tagExpression: '', platform: '', userId: '' });
  const [query, setQuery] = useState(form);
  // Tokens of the pages before this one: "Previous" pops, "Next" pushes.
  const [tokens, setTokens] = useState([]);
  const token = tokens[tokens.length - 1];
  // The total is counted with the first page only and kept while paging: a count reads every match.
  const [total, setTotal] = useState(undefined);
  const result = useLoad(() => {
    const q = new URLSearchParams({ top: String(PAGE) });
    if (!token) q.set('count', 'true');
    for (const [k, v] of Object.entries(query)) if (v.trim() !== '') q.set(k, v.trim());
    if (token) q.set('continuationToken', token);
    return api.get(`${hubPath(hub)}/${kind}?${q}`).then((r) => {
      if (r.total !== undefined) setTotal(r.total);
      return r;
    });
  }, [hub, kind, query, token]);
  const search = (e) => {
    e.preventDefault();
    setTokens([]);
    setQuery({ ...form });
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const items = result.data?.items ?? [];
  const first = tokens.length * PAGE;
  return html`<section>
    <h1 tabindex="-1">Registry of ${hub}</h1>
    <div role="group" aria-label="What to list" class="row">
      ${['installations', 'registrations'].map((k) => html`<button type="button" aria-pressed=${kind === k} onClick=${() => (setKind(k), setTokens([]))}>${k === 'installations' ? 'Installations' : 'Registrations'}</button>`)}
    </div>
    <form class="row wrap" onSubmit=${search} aria-label="Query">
      <label for="q-tags">Tag expression</label>
      <input id="q-tags" class="wide mono" value=${form.tagExpression} onInput=${set('tagExpression')} placeholder="news && (lang_en || lang_fr)" />
      <label for="q-platform">Platform</label>
      <select id="q-platform" value=${form.platform} onChange=${set('platform')}>${PLATFORMS.map((p) => html`<option value=${p}>${p || 'any'}</option>`)}</select>
      <label for="q-user">User id</label>
      <input id="q-user" value=${form.userId} onInput=${set('userId')} />
      <button type="submit">Search</button>
    </form>
    <${ErrorLine} error=${result.error} />
    <p role="status" data-testid="registry-count">${result.loading ? 'Searching…' : `${total ?? 0} ${kind} match${items.length > 0 ? `; showing ${first + 1} to ${first + items.length}` : ''}.`}</p>
    <table>
      <thead><tr><th>${kind === 'installations' ? 'Installation' : 'Registration'}</th><th>Platform</th><th>Tags</th><th>User</th><th>Updated</th></tr></thead>
      <tbody>
        ${items.map((r) => {
          const id = kind === 'installations' ? r.installationId : r.registrationId;
          const tags = r.tags ?? [];
          return html`<tr>
            <td><a class="mono" href=${link('hub', hub, 'device', kind === 'installations' ? 'installation' : 'registration', id)}>${id}</a></td>
            <td>${r.platform}</td>
            <td class="tags">${tags.join(', ')}</td>
            <td>${r.userId ?? ''}</td>
            <td>${when(r.lastUpdate ?? r.updatedAt)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    <nav class="row" aria-label="Pages">
      <button type="button" disabled=${tokens.length === 0} onClick=${() => setTokens(tokens.slice(0, -1))}>Previous page</button>
      <button type="button" disabled=${!result.data?.continuationToken} onClick=${() => setTokens([...tokens, result.data.continuationToken])}>Next page</button>
    </nav>
  </section>`;
}
