-- Piazza on PostgreSQL, schema 18 (SQLite's 31): each order item keeps
-- the product's title, the variant's name and its SKU as they were when
-- the order was placed, so that an order shows what was bought whatever
-- the shop renames later (as it keeps the price). An item of an order
-- placed before this version has none (NULL) and shows today's names.
ALTER TABLE order_items ADD COLUMN title TEXT;
ALTER TABLE order_items ADD COLUMN variant_name TEXT;
ALTER TABLE order_items ADD COLUMN sku TEXT;
