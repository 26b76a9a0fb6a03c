-- Version 33: search's index (`piazza_core::search`), the same tables as
-- PostgreSQL's. The indexer fills them behind the writer: a posting per
-- term of each message, keyed so one conversation's messages holding a
-- term are one range, newest last; each term's count of postings, to
-- walk the rarest term first and to expand a word being typed; and the
-- watermark, through which every message is indexed. Derived data: no
-- foreign keys, and a store copied elsewhere indexes itself again.
CREATE TABLE search_postings (
    term            TEXT    NOT NULL,
    conversation_id INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    PRIMARY KEY (term, conversation_id, message_id)
) WITHOUT ROWID;

CREATE TABLE search_terms (
    term     TEXT    PRIMARY KEY,
    postings INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE search_progress (
    name    TEXT    PRIMARY KEY,
    through INTEGER NOT NULL
) STRICT;
INSERT INTO search_progress (name, through) VALUES ('messages', 0);

INSERT INTO leases (name, holder, until_ms) VALUES ('search_indexer', '', 0);
