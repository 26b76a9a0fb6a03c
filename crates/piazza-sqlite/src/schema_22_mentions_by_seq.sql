-- Version 22: a recall takes its message's mentions away by (conversation,
-- seq); the primary key leads with the account, so without this index the
-- recall would scan every mention of the conversation in the writer.
CREATE INDEX mentions_by_seq ON mentions(conversation_id, seq);
