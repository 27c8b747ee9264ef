-- The portal's messages page lists a hub's notifications newest first (issue 13 item 2).
CREATE INDEX notifications_by_hub_time ON notifications (hub_key, enqueued_at DESC, id DESC);
