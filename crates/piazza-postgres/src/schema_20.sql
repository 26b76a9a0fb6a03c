-- Piazza on PostgreSQL, schema 20: leases, for the jobs that run once
-- across a cluster's nodes (`piazza_core::leases`: the sweeper). One row
-- per lease, made here, so taking one locks and updates a row that is
-- always there, and two nodes racing for a lease never both insert it.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
INSERT INTO leases (name, holder, until_ms) VALUES ('sweeper', '', 0);
