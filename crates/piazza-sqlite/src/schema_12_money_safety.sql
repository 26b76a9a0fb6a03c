-- Version 12: what keeps a device token alone from moving money.

-- A forgotten PIN reset with the password: the new PIN's hash waits here
-- and takes over at `reset_effective_at`; until then no money leaves the
-- wallet. Both NULL when no reset waits.
ALTER TABLE payment_pins ADD COLUMN reset_pin_hash TEXT;
ALTER TABLE payment_pins ADD COLUMN reset_effective_at INTEGER;

-- When this device last entered the right payment PIN: within a short
-- window it may show payment codes without typing it again. Kept in the
-- store, not in one server's memory, so every node sees the same.
ALTER TABLE devices ADD COLUMN pin_entered_at INTEGER;

-- Collections that completed without the buyer's confirmation, per buyer
-- and UTC day (unix ms / 86,400,000): counted in the writer job that lets
-- one through, so racing collections cannot both slip under the cap. Days
-- before yesterday are purged by the sweeper.
CREATE TABLE collections_without_confirmation (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    day          INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count > 0),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
CREATE INDEX collections_without_confirmation_by_day
    ON collections_without_confirmation(day);
