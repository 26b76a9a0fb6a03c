-- Version 16: what each device is and where it was last used, for the
-- devices list: the `User-Agent` it last sent (cut short by the server)
-- and the address it last came from, set when the device is created and
-- kept current with `last_seen_at`. NULL for a device not seen since this
-- version (or one that sends no `User-Agent`).
ALTER TABLE devices ADD COLUMN user_agent TEXT;
ALTER TABLE devices ADD COLUMN last_seen_address TEXT;
-- And the `User-Agent` of a page asking to log in by QR code (cut short),
-- so its approver is told what it is in their own language, and the
-- device made by the approval starts with it.
ALTER TABLE login_requests ADD COLUMN user_agent TEXT;
