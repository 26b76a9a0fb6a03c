-- Piazza on PostgreSQL, schema 21: search's index (`piazza_core::search`),
-- the same tables as SQLite's. Terms compare byte by byte (COLLATE "C"),
-- as SQLite's do, so a word being typed expands to the same words in the
-- same order on both engines whatever the database's collation. Derived
-- data: no foreign keys; a store copied elsewhere indexes itself again.
CREATE TABLE search_postings (
    term            TEXT COLLATE "C" NOT NULL,
    conversation_id BIGINT NOT NULL,
    message_id      BIGINT NOT NULL,
    PRIMARY KEY (term, conversation_id, message_id)
);

-- A search reads postings by index only: autovacuum keeps the visibility
-- map of this insert-only table current every 10,000 rows, not after a
-- fifth of it, so probes need not visit the heap.
ALTER TABLE search_postings SET (
    autovacuum_vacuum_insert_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0.0
);

CREATE TABLE search_terms (
    term     TEXT COLLATE "C" PRIMARY KEY,
    postings BIGINT NOT NULL
);

CREATE TABLE search_progress (
    name    TEXT PRIMARY KEY,
    through BIGINT NOT NULL
);
INSERT INTO search_progress (name, through) VALUES ('messages', 0);

INSERT INTO leases (name, holder, until_ms) VALUES ('search_indexer', '', 0);
