-- Listings and send planning page through a hub's registrations in seq order (`hub_key = ? AND seq > ?
-- ORDER BY seq`). An index on hub_key alone holds (hub_key, rowid), so those pages are range reads in
-- order; without it SQLite read the hub through another index and sorted it for every page.
CREATE INDEX registrations_by_hub ON registrations (hub_key);
CREATE INDEX installations_by_hub ON installations (hub_key);
