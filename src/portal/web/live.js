// The hub's live event stream (issue 13 item 1: GET /_admin/v1/hubs/{hub}/events, Server-Sent Events with
// the envelope {id, type, version, hub, time, data}). Used only when this Herald serves it.
import { useEffect, useState } from 'preact/hooks';
import { hasRoute } from './api.js';

const KEEP = 200;
/** docs/events.md: the stream names each event's type (`event: <type>`), so each needs its own listener. */
const TYPES = [
  'notification.state_changed',
  'notification.device_failed',
  'notification.device_succeeded',
  'device.handle_expired',
  'registration.created',
  'registration.updated',
  'registration.deleted',
  'installation.upserted',
  'installation.deleted',
];

/**
 * The newest events of the hub first; `available` is false when this Herald has no event stream;
 * `connected` once the stream is open (events from then on arrive).
 */
export function useHubEvents(hub, types) {
  const [events, setEvents] = useState([]);
  const [available, setAvailable] = useState(undefined);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let source;
    let live = true;
    hasRoute('/hubs/{hub}/events').then((has) => {
      if (!live) return;
      setAvailable(has);
      if (!has) return;
      const q = types ? `?types=${encodeURIComponent(types.join(','))}` : '';
      source = new EventSource(`/_admin/v1/hubs/${encodeURIComponent(hub)}/events${q}`);
      const add = (m) => {
        try {
          const e = JSON.parse(m.data);
          setEvents((list) => [e, ...list].slice(0, KEEP));
        } catch {
          // not an event of the documented envelope: ignored
        }
      };
      source.onmessage = add;
      for (const t of types ?? TYPES) source.addEventListener(t, add);
      source.onopen = () => setConnected(true);
      // EventSource reconnects by itself with Last-Event-ID; until then the page says it is not live.
      source.onerror = () => setConnected(false);
    });
    return () => {
      live = false;
      source?.close();
    };
  }, [hub, (types ?? []).join(',')]);
  return { events, available, connected };
}
