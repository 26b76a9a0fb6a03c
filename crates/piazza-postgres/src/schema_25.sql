-- Version 25: what erasing a deleted account leaves behind, and links to
-- download an export
-- (`piazza_core::account_deletion`). Its media stay as rows, since others'
-- messages and posts name them, but are never served again (`erased_at`);
-- bytes that no media still served holds wait in `blob_purges` until the
-- sweeper has deleted them from the blob store.
ALTER TABLE media ADD COLUMN erased_at BIGINT;
CREATE INDEX media_by_sha256 ON media (sha256);
CREATE TABLE blob_purges (
    sha256     BYTEA PRIMARY KEY CHECK (length(sha256) = 32),
    -- When a sweeper claimed it and began deleting the bytes; NULL while
    -- it waits. An upload of the same bytes is refused while it is claimed
    -- (`piazza_core::media::purges`).
    claimed_at BIGINT,
    -- A purge whose deletes failed waits until then.
    retry_at   BIGINT NOT NULL DEFAULT 0
);
-- Bytes an upload is storing, until its media row commits (or `until`,
-- for an upload that died): no purge of them is claimed meanwhile.
CREATE TABLE upload_pins (
    sha256 BYTEA PRIMARY KEY CHECK (length(sha256) = 32),
    until  BIGINT NOT NULL
);

-- A link that downloads an export without a token (what a browser's
-- download needs): the SHA-256 of its secret, used once, within a minute
-- (`piazza_core::exports`).
CREATE TABLE export_links (
    secret_sha256 BYTEA  PRIMARY KEY CHECK (length(secret_sha256) = 32),
    export_id     BIGINT NOT NULL REFERENCES exports(id),
    expires_at    BIGINT NOT NULL
);
CREATE INDEX export_links_by_export ON export_links (export_id);

-- Search: whether a message holds a term, in one descent. A search walks
-- the rarest word's postings and probes each for the other words; by
-- the primary key (term first) a probe of a typed word's 25 expansions
-- was 25 descents (BENCHMARKS.md, "Search").
CREATE INDEX search_postings_by_message ON search_postings (message_id, term);
