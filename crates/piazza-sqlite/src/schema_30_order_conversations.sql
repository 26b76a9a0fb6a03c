-- Version 30: each order's own conversation between its buyer and the
-- shop's owner and staff. `conversations.kind` 2 is such a conversation
-- (0 direct, 1 group): no owner, its members following the order's shop's
-- staff. An order placed before this version has none (NULL). The same
-- column as PostgreSQL's schema 17 (`admin migrate-store` copies it by
-- name).
ALTER TABLE orders ADD COLUMN conversation_id INTEGER REFERENCES conversations(id);
