-- One durable double-entry transfer between two distinct random accounts:
-- debit (the CHECK refuses an overdraft), credit, the transfer row and its
-- two postings, in one transaction. The two balance rows are locked in id
-- order so that crossing transfers cannot deadlock.
\set from random(1, :accounts)
\set to 1 + (:from + random(0, :accounts - 2)) % :accounts
\set amount random(1, 100)
BEGIN;
\if :from < :to
UPDATE accounts SET balance = balance - :amount WHERE id = :from;
UPDATE accounts SET balance = balance + :amount WHERE id = :to;
\else
UPDATE accounts SET balance = balance + :amount WHERE id = :to;
UPDATE accounts SET balance = balance - :amount WHERE id = :from;
\endif
INSERT INTO transfers (from_id, to_id, amount) VALUES (:from, :to, :amount);
INSERT INTO postings (transfer_id, account_id, amount)
    VALUES (currval('transfers_id_seq'), :from, -:amount),
           (currval('transfers_id_seq'), :to, :amount);
COMMIT;
