#!/usr/bin/env python3
"""Grows a Piazza store to a given size with rows shaped like real ones, for
measuring the integrity checks (bench/integrity/run.sh). The store must
hold one conversation with a message and one top-up (run.sh makes them);
the rows added keep every invariant the checks verify: gapless seqs, each
message in the history index once, balanced transactions, balances equal
to their postings, each wallet posting in the statement once.

usage: inflate.py DATABASE TARGET_GIB
"""
import sqlite3
import sys
import time

BATCH = 200_000


def main(path, target_gib):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    conv, sender, seq = db.execute(
        "SELECT c.id, m.sender_id, c.last_seq FROM conversations c "
        "JOIN messages m ON m.conversation_id = c.id WHERE c.last_seq > 0 LIMIT 1"
    ).fetchone()
    wallet, = db.execute("SELECT id FROM ledger_accounts WHERE kind = 'user_wallet' LIMIT 1").fetchone()
    outside, = db.execute("SELECT id FROM ledger_accounts WHERE kind <> 'user_wallet' LIMIT 1").fetchone()
    account, = db.execute("SELECT holder FROM ledger_accounts WHERE id = ?", (wallet,)).fetchone()
    page_size, = db.execute("PRAGMA page_size").fetchone()
    target = target_gib * 1024**3
    started = time.time()
    while db.execute("PRAGMA page_count").fetchone()[0] * page_size < target:
        db.execute("BEGIN")
        # Nine batches of messages for one of money: chat is most of a store.
        for _ in range(9):
            db.execute(
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?) "
                "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, text, sent_at) "
                "SELECT ?, ? + n, ?, 'gen-' || (? + n), "
                "'a synthetic message of about the length people type, number ' || (? + n), "
                "1700000000000 + ? + n FROM k",
                (BATCH, conv, seq, sender, seq, seq, seq),
            )
            db.execute(
                "INSERT INTO messages_by_conversation (conversation_id, seq, message_id) "
                "SELECT conversation_id, seq, id FROM messages WHERE conversation_id = ? AND seq > ?",
                (conv, seq),
            )
            seq += BATCH
        db.execute("UPDATE conversations SET last_seq = ? WHERE id = ?", (seq, conv))
        first_txn = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transactions").fetchone()[0]
        db.execute(
            "WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < ? - 1) "
            "INSERT INTO ledger_transactions (id, kind, account_id, ref, at) "
            "SELECT ? + n, 'topup', ?, 'gen-' || (? + n), 1700000000000 + n FROM k",
            (BATCH, first_txn, account, first_txn),
        )
        for ledger_account, amount in ((wallet, 1), (outside, -1)):
            db.execute(
                "INSERT INTO ledger_postings (transaction_id, ledger_account_id, amount_minor, balance_after_minor) "
                "SELECT id, ?, ?, 0 FROM ledger_transactions WHERE id >= ?",
                (ledger_account, amount, first_txn),
            )
        db.execute(
            "INSERT INTO postings_by_account (ledger_account_id, posting_id) "
            "SELECT ledger_account_id, id FROM ledger_postings WHERE ledger_account_id = ? AND transaction_id >= ?",
            (wallet, first_txn),
        )
        db.execute("UPDATE ledger_accounts SET balance_minor = balance_minor + ? WHERE id = ?", (BATCH, wallet))
        db.execute("UPDATE ledger_accounts SET balance_minor = balance_minor - ? WHERE id = ?", (BATCH, outside))
        db.execute("COMMIT")
        size = db.execute("PRAGMA page_count").fetchone()[0] * page_size
        print(f"{size / 1024**3:6.2f} GiB, {seq:,} messages, {time.time() - started:5.0f} s", flush=True)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
