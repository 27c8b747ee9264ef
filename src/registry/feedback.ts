/**
 * What PNS feedback (a handle reported dead) does to the registry (issue 10 item 19), as pure functions the
 * store applies inside the delivery's step commit, where it reads the stored state:
 * - a registration goes, only if its stored handle is still the dead one (a device that re-registered with a
 *   new handle while the push to the old one was in flight keeps its new registration);
 * - an installation keeps its record: its registrations that carry the dead handle go (its next PUT or PATCH
 *   of that channel materialises them again), and the dead channel is marked pushChannelExpired, on the
 *   installation or on the secondary tile whose channel it is, only where the stored channel is still it.
 */
import type { Installation } from './model.ts';

/** The installation with the channels equal to `deadHandle` marked expired; undefined when nothing changes. */
export function expireChannel(installation: Installation, storedHandle: string, deadHandle: string): Installation | undefined {
  let changed = false;
  const doc: Installation = structuredClone(installation);
  if (storedHandle === deadHandle && !doc.pushChannelExpired) {
    doc.pushChannelExpired = true;
    changed = true;
  }
  for (const tile of Object.values(doc.secondaryTiles ?? {})) {
    if (tile.pushChannel === deadHandle && !tile.pushChannelExpired) {
      tile.pushChannelExpired = true;
      changed = true;
    }
  }
  return changed ? doc : undefined;
}
