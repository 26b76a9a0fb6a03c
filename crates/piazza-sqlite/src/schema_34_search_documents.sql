-- Version 34: search's index of channels, articles and products
-- (`piazza_core::search`), the same table as PostgreSQL's. Written in the
-- transaction that makes or changes what it indexes; what was there
-- before this version is indexed by the indexer, by id above each kind's
-- watermark. Kinds: 1 channel, 2 article, 3 product.
CREATE TABLE search_documents (
    term   TEXT    NOT NULL,
    kind   INTEGER NOT NULL,
    doc_id INTEGER NOT NULL,
    PRIMARY KEY (term, kind, doc_id)
) WITHOUT ROWID;
CREATE INDEX search_documents_by_doc ON search_documents(kind, doc_id);

INSERT INTO search_progress (name, through) VALUES ('channels', 0), ('articles', 0), ('products', 0);
