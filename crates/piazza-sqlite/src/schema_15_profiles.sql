-- Version 15: profiles (an avatar and a bio per account, an avatar per
-- group) and declined contact requests.
--
-- An avatar is one of its owner's own uploads. While it is someone's
-- current avatar any signed-in account may read it (`media.rs`), which
-- the two partial indexes answer in one lookup.
ALTER TABLE accounts ADD COLUMN avatar_media_id INTEGER REFERENCES media(id);
-- NULL when the account has none.
ALTER TABLE accounts ADD COLUMN bio TEXT;
ALTER TABLE conversations ADD COLUMN avatar_media_id INTEGER REFERENCES media(id);
CREATE INDEX accounts_by_avatar ON accounts(avatar_media_id)
    WHERE avatar_media_id IS NOT NULL;
CREATE INDEX conversations_by_avatar ON conversations(avatar_media_id)
    WHERE avatar_media_id IS NOT NULL;

-- contact_requests.status: 0 pending, 1 accepted, and now 2 declined. A
-- declined request stays "open" for its sender, who is not told (their
-- outgoing list shows it pending), so at most one open request (pending
-- or declined) per pair and direction; `declined_at` is when, which
-- decides when the sender's next request may reach the recipient again.
ALTER TABLE contact_requests ADD COLUMN declined_at INTEGER;
DROP INDEX contact_requests_pending;
CREATE UNIQUE INDEX contact_requests_open ON contact_requests(from_id, to_id)
    WHERE status IN (0, 2);
CREATE INDEX contact_requests_outgoing ON contact_requests(from_id, id)
    WHERE status IN (0, 2);
