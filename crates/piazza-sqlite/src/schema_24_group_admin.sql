-- Version 24: group administration (issue 14). A member's role beside the
-- owner its conversation names (`is_admin`, never set on the owner's
-- row); a group's announcement, who set it and when, and its approval
-- mode; invitations by link or QR code, kept by their token's SHA-256
-- only; and the join requests approval mode holds until a manager
-- decides (a decided request is deleted).
ALTER TABLE members ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN announcement TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN announcement_by INTEGER REFERENCES accounts(id);
ALTER TABLE conversations ADD COLUMN announcement_at INTEGER;
ALTER TABLE conversations ADD COLUMN join_approval INTEGER NOT NULL DEFAULT 0;

CREATE TABLE group_invites (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    token_hash      BLOB    NOT NULL UNIQUE,
    created_by      INTEGER NOT NULL REFERENCES accounts(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE INDEX group_invites_by_conversation ON group_invites(conversation_id, expires_at);

CREATE TABLE join_requests (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    invite_id       INTEGER NOT NULL REFERENCES group_invites(id),
    requested_at    INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, account_id)
) WITHOUT ROWID;
