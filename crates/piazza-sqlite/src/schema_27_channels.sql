-- Version 27 (issue 15): channels (official accounts). A channel with
-- its unique handle, kept counters (followers, articles) so that showing
-- them counts nothing; the editors its owner names; its followers, keyed
-- by channel then account (the fan-out walks a channel's followers in
-- account order) and indexed by account (the subscriptions feed);
-- articles, by channel newest first; each article's readers and likes
-- (once per account, counted on the article's row) and comments (held
-- until featured); and the fan-out tasks, one per article whose
-- followers have not all been told yet, with how far it got.
CREATE TABLE channels (
    id              INTEGER PRIMARY KEY,
    handle          TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    avatar_media_id INTEGER REFERENCES media(id),
    owner_id        INTEGER NOT NULL REFERENCES accounts(id),
    created_at      INTEGER NOT NULL,
    follower_count  INTEGER NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    article_count   INTEGER NOT NULL DEFAULT 0 CHECK (article_count >= 0)
);
CREATE INDEX channels_by_owner ON channels(owner_id);

CREATE TABLE channel_editors (
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, account_id)
) WITHOUT ROWID;

CREATE TABLE channel_follows (
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    followed_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, account_id)
) WITHOUT ROWID;
CREATE INDEX channel_follows_by_account ON channel_follows(account_id, channel_id);

CREATE TABLE articles (
    id             INTEGER PRIMARY KEY,
    channel_id     INTEGER NOT NULL REFERENCES channels(id),
    author_id      INTEGER NOT NULL REFERENCES accounts(id),
    title          TEXT    NOT NULL,
    body_markdown  TEXT    NOT NULL,
    cover_media_id INTEGER REFERENCES media(id),
    published_at   INTEGER NOT NULL,
    read_count     INTEGER NOT NULL DEFAULT 0 CHECK (read_count >= 0),
    like_count     INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0)
);
CREATE INDEX articles_by_channel ON articles(channel_id, id);
CREATE INDEX articles_by_cover ON articles(cover_media_id) WHERE cover_media_id IS NOT NULL;
CREATE INDEX channels_by_avatar ON channels(avatar_media_id) WHERE avatar_media_id IS NOT NULL;

CREATE TABLE article_reads (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    read_at    INTEGER NOT NULL,
    PRIMARY KEY (article_id, account_id)
) WITHOUT ROWID;

CREATE TABLE article_likes (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    liked_at   INTEGER NOT NULL,
    PRIMARY KEY (article_id, account_id)
) WITHOUT ROWID;

CREATE TABLE article_comments (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    author_id   INTEGER NOT NULL REFERENCES accounts(id),
    text        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    featured_at INTEGER
);
CREATE INDEX article_comments_by_article ON article_comments(article_id, id);
CREATE INDEX article_comments_by_author ON article_comments(article_id, author_id);

CREATE TABLE channel_fanouts (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    after_id   INTEGER,
    created_at INTEGER NOT NULL
);
