-- Version 13: what the server saw of a page asking to log in by QR code,
-- shown to the device that approves it: the browser kind read from its
-- User-Agent and the address it came from (`created_at` is when it
-- asked). A request made before this version, live two minutes at most,
-- shows as from an unknown browser and address.
ALTER TABLE login_requests ADD COLUMN browser TEXT NOT NULL DEFAULT 'Unknown browser';
ALTER TABLE login_requests ADD COLUMN address TEXT NOT NULL DEFAULT 'unknown';
