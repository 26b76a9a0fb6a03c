-- Version 32: leases, for the jobs that run once across a cluster's
-- nodes (`piazza_core::leases`). One row per lease, made here, so taking
-- one only ever updates its row. A node alone holds them all; the row is
-- kept on SQLite too so both engines answer the same rules.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms INTEGER NOT NULL
) STRICT;
INSERT INTO leases (name, holder, until_ms) VALUES ('sweeper', '', 0);
