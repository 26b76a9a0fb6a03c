-- Version 1 of Piazza's SQLite schema. Ids are INTEGER PRIMARY KEYs (the
-- rowid), shown outside with a prefix; times are Unix milliseconds.

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    -- The last log_seq handed out in this account's log; the next entry
    -- takes log_head + 1, inside the writer, so the log is gapless.
    log_head      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX devices_by_account ON devices(account_id) WHERE revoked_at IS NULL;

CREATE TABLE contact_requests (
    id         INTEGER PRIMARY KEY,
    from_id    INTEGER NOT NULL REFERENCES accounts(id),
    to_id      INTEGER NOT NULL REFERENCES accounts(id),
    greeting   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- 0 pending, 1 accepted.
    status     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX contact_requests_pending ON contact_requests(from_id, to_id) WHERE status = 0;
CREATE INDEX contact_requests_incoming ON contact_requests(to_id) WHERE status = 0;

-- Two rows per friendship, one from each side.
CREATE TABLE contacts (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    contact_id INTEGER NOT NULL REFERENCES accounts(id),
    since      INTEGER NOT NULL,
    PRIMARY KEY (account_id, contact_id)
) WITHOUT ROWID;

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    -- 0 direct, 1 group.
    kind             INTEGER NOT NULL,
    title            TEXT,
    owner_id         INTEGER REFERENCES accounts(id),
    -- "<low account row>:<high account row>" for direct conversations, so
    -- the same pair always finds the same conversation.
    direct_key       TEXT UNIQUE,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
);

CREATE TABLE members (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    joined_at       INTEGER NOT NULL,
    -- A member sees messages with seq > from_seq: those sent after joining.
    from_seq        INTEGER NOT NULL,
    read_seq        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, account_id)
) WITHOUT ROWID;
CREATE INDEX members_by_account ON members(account_id, conversation_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES accounts(id),
    client_msg_id   TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_msg_id)
);

-- One ordered log per account. A message.new entry points at its message
-- row (one copy of the text however many members); every other entry holds
-- its event as JSON.
CREATE TABLE account_log (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    log_seq    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    message_id INTEGER REFERENCES messages(id),
    data       TEXT,
    PRIMARY KEY (account_id, log_seq),
    CHECK ((message_id IS NULL) <> (data IS NULL))
) WITHOUT ROWID;
