-- Piazza on PostgreSQL, schema 15 (SQLite's 28): the channels' fan-out
-- tasks take turns. `turn` orders the tasks: a task is given the next
-- turn when it is made and each time it advances, and a step takes the
-- task of the lowest turn (that no other step holds), so one article to
-- a million followers no longer holds every other channel's article back
-- for its whole run. Tasks left by an older binary keep turn 0, in
-- article order, as they ran before.
ALTER TABLE channel_fanouts ADD COLUMN turn BIGINT NOT NULL DEFAULT 0;
CREATE INDEX channel_fanouts_by_turn ON channel_fanouts(turn, article_id);
