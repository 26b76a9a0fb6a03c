-- Piazza on PostgreSQL, schema 10 (SQLite's 23): media of every kind. A
-- media's type is what its bytes are; a file keeps the name its uploader
-- gave it, and pictures, audio and video what their container says of
-- their size and length. Who may read a media is decided by the media
-- messages showing it, now of four kinds.
ALTER TABLE media ADD COLUMN name TEXT;
ALTER TABLE media ADD COLUMN width BIGINT CHECK (width > 0);
ALTER TABLE media ADD COLUMN height BIGINT CHECK (height > 0);
ALTER TABLE media ADD COLUMN duration_ms BIGINT CHECK (duration_ms >= 0);
DROP INDEX messages_by_image;
CREATE INDEX messages_by_media ON messages(ref)
    WHERE kind IN ('image', 'file', 'voice', 'video');
