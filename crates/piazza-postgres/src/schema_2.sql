-- Piazza on PostgreSQL, schema 2: room for hot rows. Every batch of
-- sends moves each sender's conversation seq, each member's log head and
-- read position: the same few rows, updated thousands of times a second.
-- With half of each page kept free an update can stay on its page (a HOT
-- update: no new index entries, and the next reader prunes the old
-- version in passing); and these tables are vacuumed after a thousand
-- dead rows rather than a fifth of the table. Pages written before this
-- schema keep their packing until the table is rewritten.

ALTER TABLE accounts SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,
                          autovacuum_vacuum_threshold = 1000);
ALTER TABLE conversations SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,
                               autovacuum_vacuum_threshold = 1000);
ALTER TABLE members SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,
                         autovacuum_vacuum_threshold = 1000);
ALTER TABLE ledger_accounts SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0,
                                 autovacuum_vacuum_threshold = 1000);
