-- Piazza on PostgreSQL, schema 19: orders and their items lose the
-- foreign-key triggers of the rows a placing writes, as schema 3 did for
-- the other hot tables. The writer's batch now writes a batch's orders
-- and items with one statement (`batch/shops.rs`), and each row's keys
-- were checked by a query of their own: 5.4 ms of a 95-job batch's
-- flush with them, 2.8 ms without (`bench shop`, wide catalog). Each
-- reference dropped names a row never deleted that the placing has just
-- read (the shop, the buyer's session, the variant, locked) or made (the
-- order); `piazza admin check` looks for a dangling one
-- (`integrity.rs`, `UNGUARDED`). An order's conversation, set rarely,
-- keeps its key.

ALTER TABLE orders DROP CONSTRAINT orders_shop_id_fkey,
                   DROP CONSTRAINT orders_buyer_id_fkey;
ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey,
                        DROP CONSTRAINT order_items_variant_id_fkey;
