"""Platform funding balances kept in slices (PostgreSQL), so that postings from one platform no
longer queue on one row (benchmark 7 of issue 8; ADR 0007, addendum of 2026-11-30).

Every reward takes money from its platform's funding account. With the balance on the account
row (migration 0006), each posting locked that row until its commit, WAL flush included, so a
platform's postings ran one at a time whatever the number of writers. Here a platform funding
account's maintained balance is the account row's ``balance_fen`` (what it held when it was
sliced: unchanged afterwards) plus its ``SLICES`` rows in ``rewards_account_slice``; the
entries' trigger adds each statement's amount to the slice named by the transaction's
``rewards.ledger_slice`` setting (0 when unset). A posting locks only its own slice (chosen by
its backend's pid) and checks the floor against it, each slice keeping to a floor of its own
(slice 0: the account's floor minus the row's balance; the others: 0), so the sum never goes
below the account's floor. When its slice holds too little, the posting is refused with SQLSTATE
RW004 and redone (`rewards.ledger`) with ``p_rebalance``: all slices locked in order, the floor
checked against their sum (RW001 when short), the money spread evenly again. A reward run's
batch takes all the slices the same way. Locks are always taken in (account id, slice) order.
Other accounts keep their balance on the row, as in 0006.
"""

import django.db.models.deletion
from django.db import migrations, models

SLICES = 16
KEY_LOOKUPS_ONLY = "SET enable_seqscan = off"
POST_SIGNATURE = (
    "text, text, text, jsonb, bigint, bigint, timestamptz, bigint[], bigint[], text[]"
)

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_slice_lock(p_account bigint, p_slice integer)
    RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE
        held bigint;
    BEGIN
        SELECT balance_fen INTO held FROM rewards_account_slice
            WHERE account_id = p_account AND slice = p_slice FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            INSERT INTO rewards_account_slice (account_id, slice, balance_fen)
                VALUES (p_account, p_slice, 0) ON CONFLICT DO NOTHING;
            SELECT balance_fen INTO held FROM rewards_account_slice
                WHERE account_id = p_account AND slice = p_slice FOR NO KEY UPDATE;
        END IF;
        RETURN held;
    END;
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION rewards_ledger_rebalance(p_account bigint, p_net bigint)
    RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE
        account record;
        sliced bigint;
        held bigint;
        spare bigint;
        share bigint;
    BEGIN
        -- Every slice of the account, locked in order; the floor checked against their sum
        -- (and the row's), then the money left after p_net spread evenly, this transaction's
        -- amount going to slice 0.
        SELECT floor_fen, balance_fen INTO account FROM rewards_account WHERE id = p_account;
        INSERT INTO rewards_account_slice (account_id, slice, balance_fen)
            SELECT p_account, g, 0 FROM generate_series(0, {SLICES - 1}) AS g
            ON CONFLICT DO NOTHING;
        SELECT sum(s.balance_fen) INTO sliced FROM (
            SELECT balance_fen FROM rewards_account_slice WHERE account_id = p_account
            ORDER BY slice FOR NO KEY UPDATE) AS s;
        held := account.balance_fen + sliced;
        PERFORM set_config('rewards.ledger_slice', '0', true);
        IF account.floor_fen IS NULL THEN
            RETURN held;
        END IF;
        IF p_net < 0 AND held + p_net < account.floor_fen THEN
            RAISE EXCEPTION 'account % would go below its floor', p_account
                USING ERRCODE = 'RW001',
                DETAIL = p_account::text || ' ' || held::text || ' '
                    || (account.floor_fen - held - p_net)::text || ' '
                    || account.floor_fen::text;
        END IF;
        spare := held + p_net - account.floor_fen;
        IF spare < 0 THEN
            -- Below its floor already (a floor raised by an operator): nothing to spread, and
            -- no debit gets here (refused above); a batch sees the shortfall and stops.
            RETURN held;
        END IF;
        share := spare / {SLICES};
        UPDATE rewards_account_slice SET balance_fen = CASE
                WHEN slice = 0 THEN account.floor_fen - account.balance_fen
                    + spare - {SLICES - 1} * share - p_net
                ELSE share END
            WHERE account_id = p_account;
        RETURN held;
    END;
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION rewards_ledger_entries_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        wrong record;
        delta record;
        slice_number smallint := coalesce(
            nullif(current_setting('rewards.ledger_slice', true), ''), '0')::smallint;
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
        -- One UPDATE per account, in pk order (the order every posting locks accounts in); a
        -- platform's funding into this transaction's slice instead of its row.
        FOR delta IN
            SELECT account_id, sum(amount_fen) AS total FROM new_entries
            GROUP BY account_id ORDER BY account_id
        LOOP
            UPDATE rewards_account SET balance_fen = balance_fen + delta.total
                WHERE id = delta.account_id AND kind <> 'platform_funding';
            IF NOT FOUND THEN
                INSERT INTO rewards_account_slice AS s (account_id, slice, balance_fen)
                    VALUES (delta.account_id, slice_number, delta.total)
                    ON CONFLICT (account_id, slice)
                    DO UPDATE SET balance_fen = s.balance_fen + EXCLUDED.balance_fen;
            END IF;
        END LOOP;
        INSERT INTO rewards_ledger_unchecked (transaction_ids)
            SELECT array_agg(DISTINCT transaction_id) FROM new_entries HAVING count(*) > 0;
        RETURN NULL;
    END;
    $$
    """,
    f"DROP FUNCTION rewards_ledger_post({POST_SIGNATURE})",
    f"""
    CREATE FUNCTION rewards_ledger_post(
        p_key text, p_kind text, p_description text, p_metadata jsonb, p_created_by bigint,
        p_reverses bigint, p_posted_at timestamptz, p_accounts bigint[], p_amounts bigint[],
        p_currencies text[], p_rebalance boolean,
        OUT posted_id bigint, OUT created boolean)
    LANGUAGE plpgsql AS $$
    DECLARE
        existing record;
        account record;
        locked integer := 0;
        net bigint;
        held bigint;
        slice_floor bigint;
        slice_number integer := CASE WHEN p_rebalance THEN 0
                                     ELSE pg_backend_pid() % {SLICES} END;
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
        PERFORM set_config('rewards.ledger_slice', slice_number::text, true);
        -- Lock what this posting changes, in (account id, slice) order, and check.
        FOR account IN
            SELECT a.id, a.kind, a.currency, a.floor_fen, a.balance_fen FROM rewards_account a
            WHERE a.id = ANY(p_accounts) ORDER BY a.id
        LOOP
            locked := locked + 1;
            IF EXISTS (SELECT 1 FROM unnest(p_accounts, p_currencies) AS l(a, c)
                       WHERE l.a = account.id AND l.c IS DISTINCT FROM account.currency) THEN
                RAISE EXCEPTION 'currency of a leg is not that of account %', account.id
                    USING ERRCODE = 'RW003', DETAIL = account.id::text;
            END IF;
            SELECT sum(l.m) INTO net FROM unnest(p_accounts, p_amounts) AS l(a, m)
                WHERE l.a = account.id;
            IF account.kind = 'platform_funding' THEN
                IF p_rebalance AND net < 0 THEN
                    PERFORM rewards_ledger_rebalance(account.id, net);
                    CONTINUE;
                END IF;
                held := rewards_ledger_slice_lock(account.id, slice_number);
                slice_floor := CASE WHEN slice_number = 0
                                    THEN account.floor_fen - account.balance_fen ELSE 0 END;
                IF net < 0 AND account.floor_fen IS NOT NULL AND held + net < slice_floor THEN
                    RAISE EXCEPTION 'slice % of account % holds too little', slice_number,
                        account.id USING ERRCODE = 'RW004';
                END IF;
                CONTINUE;
            END IF;
            SELECT balance_fen INTO held FROM rewards_account WHERE id = account.id
                FOR NO KEY UPDATE;
            IF account.floor_fen IS NOT NULL AND net < 0 AND held + net < account.floor_fen
            THEN
                RAISE EXCEPTION 'account % would go below its floor', account.id
                    USING ERRCODE = 'RW001',
                    DETAIL = account.id::text || ' ' || held::text || ' '
                        || (account.floor_fen - held - net)::text || ' '
                        || account.floor_fen::text;
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
    f"ALTER FUNCTION rewards_ledger_post({POST_SIGNATURE}, boolean) {KEY_LOOKUPS_ONLY}",
    f"ALTER FUNCTION rewards_ledger_slice_lock(bigint, integer) {KEY_LOOKUPS_ONLY}",
    f"ALTER FUNCTION rewards_ledger_rebalance(bigint, bigint) {KEY_LOOKUPS_ONLY}",
    f"ALTER FUNCTION rewards_ledger_entries_inserted() {KEY_LOOKUPS_ONLY}",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0006_ledger_maintained_balance_set_checks"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountSlice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slice", models.SmallIntegerField(verbose_name="slice")),
                ("balance_fen", models.BigIntegerField(default=0, verbose_name="balance (fen)")),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="slices",
                        to="rewards.account",
                        verbose_name="account",
                    ),
                ),
            ],
            options={
                "db_table": "rewards_account_slice",
                "verbose_name": "ledger account slice",
                "verbose_name_plural": "ledger account slices",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "slice"), name="rewards_account_slice_key"
                    )
                ],
            },
        ),
        # One way: going back means restoring 0006's functions and folding the slices back
        # into the rows by hand.
        migrations.RunPython(forward, migrations.RunPython.noop, elidable=False),
    ]
