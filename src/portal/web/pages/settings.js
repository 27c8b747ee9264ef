import { useEffect, useState } from 'preact/hooks';
import { api, hubPath } from '../api.js';
import { html, ErrorLine, useLoad } from '../ui.js';

const FIELDS = [
  ['registrationTtlSeconds', 'Registration time to live (seconds; empty: never expire)'],
  ['sendsPerSecond', 'Sends per second (empty: no limit)'],
  ['registrationsPerSecond', 'Registrations per second (empty: no limit)'],
];

export function SettingsPage({ hub }) {
  const got = useLoad(() => api.get(hubPath(hub)), [hub]);
  const [values, setValues] = useState({});
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (got.data) setValues(Object.fromEntries(FIELDS.map(([k]) => [k, got.data.settings[k] ?? ''])));
  }, [got.data]);
  const save = async (e) => {
    e.preventDefault();
    const settings = Object.fromEntries(FIELDS.map(([k]) => [k, values[k] === '' ? null : Number(values[k])]));
    try {
      await api.patch(hubPath(hub), { settings });
      setError(null);
      setSaved(true);
    } catch (err) {
      setError(err);
      setSaved(false);
    }
  };
  return html`<section>
    <h1 tabindex="-1">Settings of ${hub}</h1>
    <${ErrorLine} error=${got.error} />
    <form class="stack" onSubmit=${save}>
      ${FIELDS.map(([k, label]) => html`<label for=${k}>${label}</label>
        <input id=${k} inputmode="numeric" value=${values[k] ?? ''} onInput=${(e) => setValues({ ...values, [k]: e.currentTarget.value })} />`)}
      <button type="submit">Save settings</button>
      ${saved && html`<p role="status">Saved.</p>`}
      <${ErrorLine} error=${error} />
    </form>
  </section>`;
}
