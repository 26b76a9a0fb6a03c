-- Version 7: housekeeping for money. Idempotency keys are kept for a
-- configurable retention (at least 24 h) and then purged, like spent or
-- expired payment codes; collections above the no-PIN limit wait for the
-- buyer's confirmation for a bounded time. These indexes let the sweeper
-- find each without scanning.

CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
CREATE INDEX payment_codes_by_expiry ON payment_codes(expires_at);

-- `payments.status`: 0 waiting for the buyer, 1 completed, 2 declined by
-- the buyer, 3 expired unconfirmed. Only waiting ones are swept.
CREATE INDEX payments_waiting ON payments(created_at) WHERE status = 0;

-- When a collection waiting for the buyer lapses (NULL once it is not
-- waiting, and for payments that never waited).
ALTER TABLE payments ADD COLUMN confirm_by INTEGER;
