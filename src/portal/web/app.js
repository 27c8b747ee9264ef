// The portal's shell: log-in, the hash router (#/hub/{name}/{page}), the navigation and the pages.
import { render } from 'preact';
import { useEffect, useState, useRef } from 'preact/hooks';
import { html, ErrorLine, link } from './ui.js';
import { loadSession, logIn, logOut, onSessionEnded } from './api.js';
import { HubsPage } from './pages/hubs.js';
import { SettingsPage } from './pages/settings.js';
import { KeysPage } from './pages/keys.js';
import { CredentialsPage } from './pages/credentials.js';
import { RegistryPage } from './pages/registry.js';
import { DevicePage } from './pages/device.js';
import { SendPage } from './pages/send.js';
import { MessagesPage, MessagePage } from './pages/messages.js';
import { EventsPage } from './pages/events.js';
import { SandboxPage } from './pages/sandbox.js';

const HUB_PAGES = [
  ['settings', 'Settings'],
  ['keys', 'Keys'],
  ['credentials', 'PNS credentials'],
  ['registry', 'Registry'],
  ['send', 'Send'],
  ['messages', 'Messages'],
  ['events', 'Events'],
];

function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'hub' && parts[1]) return { page: parts[2] ?? 'settings', hub: parts[1], rest: parts.slice(3) };
  if (parts[0] === 'sandbox') return { page: 'sandbox' };
  return { page: 'hubs' };
}


function useRoute() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function LogIn({ onDone }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      await logIn(key);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<main class="login">
    <h1>Herald</h1>
    <form onSubmit=${submit}>
      <label for="admin-key">Admin key</label>
      <input id="admin-key" type="password" autocomplete="current-password" value=${key} onInput=${(e) => setKey(e.currentTarget.value)} required autofocus />
      <p class="hint">The <code>admin.key</code> file in Herald's data directory, or <code>HERALD_ADMIN_KEY</code>.</p>
      <button type="submit">Log in</button>
      <${ErrorLine} error=${error} />
    </form>
  </main>`;
}

function Page({ route }) {
  const { hub, rest } = route;
  switch (route.page) {
    case 'hubs': return html`<${HubsPage} />`;
    case 'sandbox': return html`<${SandboxPage} />`;
    case 'settings': return html`<${SettingsPage} hub=${hub} />`;
    case 'keys': return html`<${KeysPage} hub=${hub} />`;
    case 'credentials': return html`<${CredentialsPage} hub=${hub} />`;
    case 'registry': return html`<${RegistryPage} hub=${hub} />`;
    case 'device': return html`<${DevicePage} hub=${hub} kind=${rest[0]} id=${rest[1]} />`;
    case 'send': return html`<${SendPage} hub=${hub} />`;
    case 'messages': return rest[0] ? html`<${MessagePage} hub=${hub} id=${rest[0]} />` : html`<${MessagesPage} hub=${hub} />`;
    case 'events': return html`<${EventsPage} hub=${hub} />`;
    default: return html`<p>No such page.</p>`;
  }
}

function Shell({ onLoggedOut }) {
  const route = useRoute();
  const main = useRef(null);
  // After a navigation, keyboard focus goes to the page's heading, as a screen reader expects.
  useEffect(() => main.current?.querySelector('h1')?.focus(), [route.page, route.hub]);
  const out = async () => {
    await logOut().catch(() => undefined);
    onLoggedOut();
  };
  const current = (page) => (route.page === page || (page === 'messages' && route.page === 'messages') ? 'page' : undefined);
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); main.current?.querySelector('h1')?.focus(); }}>Skip to content</a>
    <header>
      <a class="brand" href="#/">Herald</a>
      <nav aria-label="Main">
        <a href="#/" aria-current=${route.page === 'hubs' ? 'page' : undefined}>Hubs</a>
        <a href="#/sandbox" aria-current=${route.page === 'sandbox' ? 'page' : undefined}>Sandbox</a>
      </nav>
      <button type="button" class="small" onClick=${out}>Log out</button>
    </header>
    ${route.hub &&
    html`<nav class="hubnav" aria-label=${`Hub ${route.hub}`}>
      <strong>${route.hub}</strong>
      ${HUB_PAGES.map(([p, label]) => html`<a href=${link('hub', route.hub, p)} aria-current=${current(p) ?? (p === 'registry' && route.page === 'device' ? 'page' : undefined)}>${label}</a>`)}
    </nav>`}
    <main id="main" ref=${main}><${Page} route=${route} /></main>
  </div>`;
}

function App() {
  const [state, setState] = useState('loading');
  const [error, setError] = useState(null);
  useEffect(() => {
    loadSession().then((ok) => setState(ok ? 'in' : 'out'), (err) => (setError(err), setState('out')));
    return onSessionEnded(() => setState('out'));
  }, []);
  if (state === 'loading') return html`<p>Loading…</p>`;
  if (state === 'out') return html`<${ErrorLine} error=${error} /><${LogIn} onDone=${() => setState('in')} />`;
  return html`<${Shell} onLoggedOut=${() => setState('out')} />`;
}

render(html`<${App} />`, document.getElementById('app'));
