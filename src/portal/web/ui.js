// Small shared pieces: html tag, the error line, a copy button, dates.
import { h } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export function ErrorLine({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}${error.code ? html` <code>(${error.code})</code>` : ''}</p>`;
}

export function CopyButton({ text, label = 'Copy' }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
    } catch {
      setDone(false);
    }
  };
  return html`<button type="button" class="small" onClick=${copy} aria-label=${`${label}: ${text.slice(0, 40)}`}>${done ? 'Copied' : label}</button>`;
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

/** Runs `load` now and whenever `deps` change; `reload` runs it again. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => (live = false);
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** Calls `fn` every `ms` while the page is shown (the browser's own timer: this is the page, not a test). */
export function useEvery(fn, ms) {
  useEffect(() => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }, [fn, ms]);
}

/** A hash link of the portal's router: link('hub', name, 'keys') is #/hub/{name}/keys. */
export const link = (...parts) => `#/${parts.map(encodeURIComponent).join('/')}`;
