-- Version 9: uploaded images. The bytes live in files under
-- <data_dir>/media/<first 2 hex>/<sha256 hex>, named by their content, so
-- the same bytes are kept once however often they are uploaded; a row is
-- written only after its file is durable. An image message is a message
-- with kind = 'image' and ref = 'med_<id>'.
CREATE TABLE media (
    id           INTEGER PRIMARY KEY,
    uploader_id  INTEGER NOT NULL REFERENCES accounts(id),
    sha256       BLOB    NOT NULL CHECK (length(sha256) = 32),
    content_type TEXT    NOT NULL,
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    created_at   INTEGER NOT NULL,
    -- One row per account and content: uploading again answers the first.
    UNIQUE (uploader_id, sha256)
);
-- Who may fetch a media: members who can see a message showing it.
CREATE INDEX messages_by_image ON messages(ref) WHERE kind = 'image';
