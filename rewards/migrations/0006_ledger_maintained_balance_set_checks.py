"""A maintained balance on every account, set-based checks, and one-statement postings
(benchmarks 7 and 8 of issue 8; ADR 0007, addendum of 2026-11-30).

- ``rewards_account.balance_fen`` is the sum of the account's entries, kept by the database in
  the statement that inserts them (PostgreSQL: one statement-level trigger over the inserted
  rows, grouped by account; SQLite: a row trigger). Nothing else may change it: on PostgreSQL
  an UPDATE from outside that trigger keeps the old value. ``check_invariants()`` compares it
  with the entries.
- The per-row checks of migration 0001 become per statement: an inserted entry is in its
  account's currency and carries its transaction's ``posted_at`` (checked once per INSERT over
  its transition table), and the transactions touched are queued so that one deferred check per
  statement, at commit, refuses any transaction with fewer than two entries or not summing to
  zero per currency (same messages as before). The queue, ``rewards_ledger_unchecked``, is an
  unlogged table whose rows live only inside the inserting transaction.
- ``rewards_ledger_post(...)``: a posting in one statement (see `rewards.ledger`): the
  transaction ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING`` (a replay compares the
  stored legs: same → returned, other → SQLSTATE RW002), the accounts of its legs locked
  ``FOR NO KEY UPDATE`` in pk order (every posting locks what it changes, in one global order,
  since crediting an account now updates its row), currencies checked (RW003), floors checked
  against the maintained balances (RW001), the entries inserted.
"""

from django.db import migrations, models

BACKFILL = """
UPDATE rewards_account SET balance_fen = COALESCE(
    (SELECT SUM(amount_fen) FROM rewards_entry WHERE rewards_entry.account_id = rewards_account.id),
    0)
"""

KEY_LOOKUPS_ONLY = "SET enable_seqscan = off"

POSTGRESQL_FORWARD = [
    BACKFILL,
    # --- the maintained balance ---------------------------------------------------------------
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_keep_balance() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Only the entries' trigger (depth 2) moves a balance; any other UPDATE keeps it.
        IF pg_trigger_depth() < 2 THEN
            NEW.balance_fen := OLD.balance_fen;
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER rewards_account_keep_balance
    BEFORE UPDATE OF balance_fen ON rewards_account
    FOR EACH ROW WHEN (OLD.balance_fen IS DISTINCT FROM NEW.balance_fen)
    EXECUTE FUNCTION rewards_ledger_keep_balance()
    """,
    # --- the queue of transactions to check at commit ----------------------------------------
    """
    CREATE UNLOGGED TABLE rewards_ledger_unchecked (
        token uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        transaction_ids bigint[] NOT NULL
    )
    """,
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_check_queued() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        short record;
        unbalanced record;
    BEGIN
        DELETE FROM rewards_ledger_unchecked WHERE token = NEW.token;
        -- LATERAL: one lookup by the transaction_id index per transaction queued, whatever
        -- the sizes (a join let the planner scan the whole entries table per transaction).
        SELECT t.id, c.legs INTO short
            FROM unnest(NEW.transaction_ids) AS t(id)
            CROSS JOIN LATERAL (SELECT count(*) AS legs FROM rewards_entry e
                                WHERE e.transaction_id = t.id) AS c
            WHERE c.legs < 2 ORDER BY t.id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger transaction % has % entries; a transaction has at least two',
                short.id, short.legs USING ERRCODE = 'check_violation';
        END IF;
        SELECT t.id, b.currency, b.total INTO unbalanced
            FROM unnest(NEW.transaction_ids) AS t(id)
            CROSS JOIN LATERAL (SELECT e.currency, sum(e.amount_fen) AS total
                                FROM rewards_entry e WHERE e.transaction_id = t.id
                                GROUP BY e.currency HAVING sum(e.amount_fen) <> 0
                                LIMIT 1) AS b
            ORDER BY t.id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger transaction % is unbalanced: its % entries sum to %, not zero',
                unbalanced.id, unbalanced.currency, unbalanced.total
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER rewards_ledger_unchecked_at_commit
    AFTER INSERT ON rewards_ledger_unchecked
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rewards_ledger_check_queued()
    """,
    # --- per statement: entries ----------------------------------------------------------------
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_entries_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        wrong record;
        delta record;
    BEGIN
        -- Lookups by primary key only (LATERAL), whatever the sizes when this was planned.
        SELECT n.currency AS entry_currency, a.currency AS account_currency INTO wrong
            FROM new_entries n
            LEFT JOIN LATERAL (SELECT currency FROM rewards_account
                               WHERE id = n.account_id) AS a ON true
            WHERE a.currency IS DISTINCT FROM n.currency LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger entry in % on an account in %', wrong.entry_currency,
                wrong.account_currency USING ERRCODE = 'check_violation';
        END IF;
        SELECT n.posted_at AS entry_at, t.posted_at AS transaction_at INTO wrong
            FROM new_entries n
            LEFT JOIN LATERAL (SELECT posted_at FROM rewards_transaction
                               WHERE id = n.transaction_id) AS t ON true
            WHERE t.posted_at IS DISTINCT FROM n.posted_at LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger entry posted at %, its transaction at %', wrong.entry_at,
                wrong.transaction_at USING ERRCODE = 'check_violation';
        END IF;
        -- One UPDATE per account, in pk order (the order every posting locks accounts in).
        FOR delta IN
            SELECT account_id, sum(amount_fen) AS total FROM new_entries
            GROUP BY account_id ORDER BY account_id
        LOOP
            UPDATE rewards_account SET balance_fen = balance_fen + delta.total
                WHERE id = delta.account_id;
        END LOOP;
        INSERT INTO rewards_ledger_unchecked (transaction_ids)
            SELECT array_agg(DISTINCT transaction_id) FROM new_entries HAVING count(*) > 0;
        RETURN NULL;
    END;
    $$
    """,
    """
    CREATE TRIGGER rewards_entry_inserted
    AFTER INSERT ON rewards_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rewards_ledger_entries_inserted()
    """,
    # --- per statement: transactions (one without entries is refused at commit) ---------------
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_transactions_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO rewards_ledger_unchecked (transaction_ids)
            SELECT array_agg(id) FROM new_transactions HAVING count(*) > 0;
        RETURN NULL;
    END;
    $$
    """,
    """
    CREATE TRIGGER rewards_transaction_inserted
    AFTER INSERT ON rewards_transaction
    REFERENCING NEW TABLE AS new_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION rewards_ledger_transactions_inserted()
    """,
    # A plpgsql function plans its queries once per session and keeps the plan: planned while
    # the ledger was small (a fresh database, the first batch of a run) a join would scan the
    # entries or transactions table, and go on scanning it per call as the table grows (a run's
    # batch took 10 s, then its commit 15 s, that way). These functions only ever look rows up
    # by key (LATERAL lookups, single-row UPDATEs): they are also kept off sequential scans.
    f"ALTER FUNCTION rewards_ledger_check_queued() {KEY_LOOKUPS_ONLY}",
    f"ALTER FUNCTION rewards_ledger_entries_inserted() {KEY_LOOKUPS_ONLY}",
    # --- the per-row triggers they replace -----------------------------------------------------
    "DROP TRIGGER rewards_entry_balanced ON rewards_entry",
    "DROP TRIGGER rewards_transaction_balanced ON rewards_transaction",
    "DROP TRIGGER rewards_entry_check ON rewards_entry",
    "DROP TRIGGER rewards_transaction_check_reversal ON rewards_transaction",
    """
    CREATE TRIGGER rewards_transaction_check_reversal
    BEFORE INSERT ON rewards_transaction
    FOR EACH ROW WHEN (NEW.reverses_id IS NOT NULL)
    EXECUTE FUNCTION rewards_ledger_check_reversal()
    """,
    # --- a posting in one statement ------------------------------------------------------------
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_post(
        p_key text, p_kind text, p_description text, p_metadata jsonb, p_created_by bigint,
        p_reverses bigint, p_posted_at timestamptz, p_accounts bigint[], p_amounts bigint[],
        p_currencies text[],
        OUT posted_id bigint, OUT created boolean)
    LANGUAGE plpgsql AS $$
    DECLARE
        existing record;
        account record;
        locked integer := 0;
        net bigint;
    BEGIN
        INSERT INTO rewards_transaction (idempotency_key, kind, description, posted_at,
                                         metadata, created_by_id, reverses_id)
            VALUES (p_key, p_kind, p_description, p_posted_at, p_metadata, p_created_by,
                    p_reverses)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id INTO posted_id;
        IF posted_id IS NULL THEN
            -- Posted before (or by a concurrent posting that committed meanwhile).
            SELECT id, kind, reverses_id INTO existing FROM rewards_transaction
                WHERE idempotency_key = p_key;
            IF existing.kind IS DISTINCT FROM p_kind
                OR existing.reverses_id IS DISTINCT FROM p_reverses
                OR (SELECT array_agg(e.account_id::text || ':' || e.amount_fen::text
                                     ORDER BY e.account_id, e.amount_fen)
                    FROM rewards_entry e WHERE e.transaction_id = existing.id)
                   IS DISTINCT FROM
                   (SELECT array_agg(l.a::text || ':' || l.m::text ORDER BY l.a, l.m)
                    FROM unnest(p_accounts, p_amounts) AS l(a, m))
            THEN
                RAISE EXCEPTION 'idempotency key % was used for another transaction', p_key
                    USING ERRCODE = 'RW002';
            END IF;
            posted_id := existing.id;
            created := false;
            RETURN;
        END IF;
        created := true;
        -- Lock every account this posting changes, in pk order, then check.
        FOR account IN
            SELECT a.id, a.currency, a.floor_fen, a.balance_fen FROM rewards_account a
            WHERE a.id = ANY(p_accounts) ORDER BY a.id FOR NO KEY UPDATE
        LOOP
            locked := locked + 1;
            IF EXISTS (SELECT 1 FROM unnest(p_accounts, p_currencies) AS l(a, c)
                       WHERE l.a = account.id AND l.c IS DISTINCT FROM account.currency) THEN
                RAISE EXCEPTION 'currency of a leg is not that of account %', account.id
                    USING ERRCODE = 'RW003', DETAIL = account.id::text;
            END IF;
            IF account.floor_fen IS NOT NULL THEN
                SELECT sum(l.m) INTO net FROM unnest(p_accounts, p_amounts) AS l(a, m)
                    WHERE l.a = account.id;
                IF net < 0 AND account.balance_fen + net < account.floor_fen THEN
                    RAISE EXCEPTION 'account % would go below its floor', account.id
                        USING ERRCODE = 'RW001',
                        DETAIL = account.id::text || ' ' || account.balance_fen::text || ' '
                            || (account.floor_fen - account.balance_fen - net)::text || ' '
                            || account.floor_fen::text;
                END IF;
            END IF;
        END LOOP;
        IF locked < (SELECT count(DISTINCT a) FROM unnest(p_accounts) AS a) THEN
            RAISE EXCEPTION 'a leg names an account that does not exist'
                USING ERRCODE = 'RW003', DETAIL = '';
        END IF;
        INSERT INTO rewards_entry (transaction_id, account_id, amount_fen, currency, posted_at)
            SELECT posted_id, l.a, l.m, l.c, p_posted_at
            FROM unnest(p_accounts, p_amounts, p_currencies) WITH ORDINALITY AS l(a, m, c, n)
            ORDER BY l.n;
    END;
    $$
    """,
    "ALTER FUNCTION rewards_ledger_post(text, text, text, jsonb, bigint, bigint, timestamptz,"
    f" bigint[], bigint[], text[]) {KEY_LOOKUPS_ONLY}",
]


POSTGRESQL_REVERSE = [
    "DROP FUNCTION IF EXISTS rewards_ledger_post(text, text, text, jsonb, bigint, bigint,"
    " timestamptz, bigint[], bigint[], text[])",
    "DROP TRIGGER IF EXISTS rewards_transaction_check_reversal ON rewards_transaction",
    """
    CREATE TRIGGER rewards_transaction_check_reversal
    BEFORE INSERT ON rewards_transaction
    FOR EACH ROW EXECUTE FUNCTION rewards_ledger_check_reversal()
    """,
    "DROP TRIGGER IF EXISTS rewards_transaction_inserted ON rewards_transaction",
    "DROP FUNCTION IF EXISTS rewards_ledger_transactions_inserted()",
    "DROP TRIGGER IF EXISTS rewards_entry_inserted ON rewards_entry",
    "DROP FUNCTION IF EXISTS rewards_ledger_entries_inserted()",
    "DROP TABLE IF EXISTS rewards_ledger_unchecked",
    "DROP FUNCTION IF EXISTS rewards_ledger_check_queued()",
    "DROP TRIGGER IF EXISTS rewards_account_keep_balance ON rewards_account",
    "DROP FUNCTION IF EXISTS rewards_ledger_keep_balance()",
    """
    CREATE TRIGGER rewards_entry_check
    BEFORE INSERT ON rewards_entry
    FOR EACH ROW EXECUTE FUNCTION rewards_ledger_check_entry()
    """,
    """
    CREATE CONSTRAINT TRIGGER rewards_entry_balanced
    AFTER INSERT ON rewards_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rewards_ledger_check_balanced()
    """,
    """
    CREATE CONSTRAINT TRIGGER rewards_transaction_balanced
    AFTER INSERT ON rewards_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rewards_ledger_check_balanced()
    """,
]

SQLITE_FORWARD = [
    BACKFILL,
    """
    CREATE TRIGGER IF NOT EXISTS rewards_entry_keeps_balance
    AFTER INSERT ON rewards_entry
    FOR EACH ROW BEGIN
        UPDATE rewards_account SET balance_fen = balance_fen + NEW.amount_fen
        WHERE id = NEW.account_id;
    END
    """,
]

SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS rewards_entry_keeps_balance"]


def _run(by_vendor):
    def run(apps, schema_editor):
        for statement in by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0005_payouts"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="balance_fen",
            field=models.BigIntegerField(default=0, editable=False, verbose_name="balance (fen)"),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
            elidable=False,
        ),
    ]
