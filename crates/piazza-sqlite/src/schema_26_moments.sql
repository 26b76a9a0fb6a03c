-- Version 26 (issue 15): Moments, the friends' feed. A post, its pictures
-- in order, its `only`/`except` list, likes and comments; each account's
-- inbox (fan-out on write: a post is put in the inbox of its author and
-- of each contact when it is made; ARCHITECTURE.md, "Moments"); each
-- account's horizon (days back others may look, 0 for all) and its two
-- privacy lists (0: hidden from, 1: not shown in my feed).
ALTER TABLE accounts ADD COLUMN moments_horizon INTEGER NOT NULL DEFAULT 0
    CHECK (moments_horizon IN (0, 3, 30, 180));

CREATE TABLE moments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id  INTEGER NOT NULL REFERENCES accounts(id),
    text       TEXT    NOT NULL,
    -- `piazza_domain::Location` as JSON, as a message's extra keeps it.
    location   TEXT,
    -- 0 contacts, 1 only, 2 except, 3 private.
    visibility INTEGER NOT NULL CHECK (visibility BETWEEN 0 AND 3),
    created_at INTEGER NOT NULL
);
CREATE INDEX moments_by_author ON moments (author_id, id);

CREATE TABLE moment_media (
    moment_id INTEGER NOT NULL REFERENCES moments(id),
    position  INTEGER NOT NULL CHECK (position BETWEEN 0 AND 8),
    media_id  INTEGER NOT NULL REFERENCES media(id),
    PRIMARY KEY (moment_id, position)
) WITHOUT ROWID;
CREATE INDEX moment_media_by_media ON moment_media (media_id);

CREATE TABLE moment_audience (
    moment_id  INTEGER NOT NULL REFERENCES moments(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    PRIMARY KEY (moment_id, account_id)
) WITHOUT ROWID;

-- No foreign keys: up to a contacts list's worth of rows per post, and a
-- row whose post is gone is simply never joined.
CREATE TABLE moment_inbox (
    owner_id  INTEGER NOT NULL,
    moment_id INTEGER NOT NULL,
    PRIMARY KEY (owner_id, moment_id)
) WITHOUT ROWID;

CREATE TABLE moment_likes (
    moment_id  INTEGER NOT NULL REFERENCES moments(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (moment_id, account_id)
) WITHOUT ROWID;

CREATE TABLE moment_comments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    moment_id        INTEGER NOT NULL REFERENCES moments(id),
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    text             TEXT    NOT NULL,
    -- The comment replied to (kept when that one is deleted) and its author.
    reply_to         INTEGER,
    reply_to_account INTEGER REFERENCES accounts(id),
    created_at       INTEGER NOT NULL
);
CREATE INDEX moment_comments_by_moment ON moment_comments (moment_id, id);

CREATE TABLE moment_privacy (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    list       INTEGER NOT NULL CHECK (list IN (0, 1)),
    other_id   INTEGER NOT NULL REFERENCES accounts(id),
    PRIMARY KEY (account_id, list, other_id)
) WITHOUT ROWID;
