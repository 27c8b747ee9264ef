import { useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { html, CopyButton, ErrorLine, useLoad } from '../ui.js';

function Rule({ hub, rule, onChanged }) {
  const strings = useLoad(() => api.get(`${hubPath(hub)}/rules/${encodeURIComponent(rule.name)}/connection-strings`), [hub, rule.name, rule.primaryKey, rule.secondaryKey]);
  const [confirm, setConfirm] = useState(null);
  const [error, setError] = useState(null);
  const regenerate = async (key) => {
    try {
      await api.post(`${hubPath(hub)}/rules/${encodeURIComponent(rule.name)}/regenerate`, { key });
      setConfirm(null);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  return html`<article class="card" aria-label=${`Rule ${rule.name}`}>
    <h2>${rule.name} <small>${rule.rights.join(', ')}</small></h2>
    ${['primary', 'secondary'].map((which) => {
      const cs = strings.data?.[which] ?? '';
      return html`<div class="keyrow">
        <label for=${`${rule.name}-${which}`}>${which === 'primary' ? 'Primary' : 'Secondary'} connection string</label>
        <input id=${`${rule.name}-${which}`} readonly value=${cs} class="mono" data-testid=${`cs-${rule.name}-${which}`} />
        <${CopyButton} text=${cs} />
        ${confirm === which
          ? html`<span role="group" aria-label="Confirm">Clients using this key stop working at once. <button type="button" class="danger small" onClick=${() => regenerate(which)}>Regenerate ${which} key</button> <button type="button" class="small" onClick=${() => setConfirm(null)}>Cancel</button></span>`
          : html`<button type="button" class="small" onClick=${() => setConfirm(which)} aria-label=${`Regenerate the ${which} key of ${rule.name}`}>Regenerate…</button>`}
      </div>`;
    })}
    <${ErrorLine} error=${error ?? strings.error} />
  </article>`;
}

export function KeysPage({ hub }) {
  const rules = useLoad(() => api.get(`${hubPath(hub)}/rules`), [hub]);
  return html`<section>
    <h1 tabindex="-1">Keys of ${hub}</h1>
    <p class="hint">Give apps and devices the Listen rule's connection string; keep the Full rule's on your backend.</p>
    <${ErrorLine} error=${rules.error} />
    ${(rules.data?.rules ?? []).map((r) => html`<${Rule} key=${r.name} hub=${hub} rule=${r} onChanged=${rules.reload} />`)}
  </section>`;
}
