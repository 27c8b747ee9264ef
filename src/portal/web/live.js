// The hub's live event stream (issue 13 item 1: GET /_admin/v1/hubs/{hub}/events, Server-Sent Events with
// the envelope {id, type, version, hub, time, data}). Used only when this Herald serves it.
import { useEffect, useState } from 'preact/hooks';
import { hasRoute } from './api.js';

const KEEP = 200;

/** The newest events of the hub first; `available` is false when this Herald has no event stream. */
export function useHubEvents(hub, types) {
  const [events, setEvents] = useState([]);
  const [available, setAvailable] = useState(undefined);
  useEffect(() => {
    let source;
    let live = true;
    hasRoute('/hubs/{hub}/events').then((has) => {
      if (!live) return;
      setAvailable(has);
      if (!has) return;
      const q = types ? `?types=${encodeURIComponent(types.join(','))}` : '';
      source = new EventSource(`/_admin/v1/hubs/${encodeURIComponent(hub)}/events${q}`);
      source.onmessage = (m) => {
        try {
          const e = JSON.parse(m.data);
          setEvents((list) => [e, ...list].slice(0, KEEP));
        } catch {
          // not an event of the documented envelope: ignored
        }
      };
      // Named events (`event: <type>`) arrive on their own listeners; the stream names the type in the envelope too.
      const any = (m) => source.onmessage(m);
      for (const t of types ?? []) source.addEventListener(t, any);
    });
    return () => {
      live = false;
      source?.close();
    };
  }, [hub, (types ?? []).join(',')]);
  return { events, available };
}
