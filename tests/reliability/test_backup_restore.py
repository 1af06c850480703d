"""Backup and restore as docs/backup-restore.md tells an operator to do it: `pg_dump` of the
database and a copy of the media files, restored into a fresh database and folder, where
`manage.py check_integrity` finds every certificate verifying and every ledger invariant
holding, with the same counts and balances as the original. And the check can fail: a
tampered certificate, a tampered ledger entry and a lost encryption key are each reported."""

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="backups are pg_dump's: runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.skipif(
        not shutil.which("pg_dump") or not shutil.which("pg_restore"),
        reason="needs the PostgreSQL client tools (pg_dump, pg_restore)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]


def _dsn(name: str) -> str:
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(_dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql)


def _check_integrity(database_url: str, media_root: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check_integrity", "--json"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cms.settings.test",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media_root),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def restored(tmp_path):
    """A dump of the test database (after the demo data went in) restored into a fresh
    database, and the media files copied: the two steps of docs/backup-restore.md."""
    call_command("seed_demo", stdout=StringIO())
    source = connection.settings_dict["NAME"]
    target = f"{source}_restore"
    dump = tmp_path / "roadwise.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _dsn(source)], check=True
    )
    media_copy = tmp_path / "media-restored"
    shutil.copytree(settings.MEDIA_ROOT, media_copy)
    _admin(f'DROP DATABASE IF EXISTS "{target}"')
    _admin(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_dsn(target)}", str(dump)],
            check=True,
        )
        yield _dsn(target), media_copy
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def _summary(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_a_restored_dump_holds_every_certificate_and_the_whole_ledger(restored):
    url, media = restored
    before = StringIO()
    call_command("check_integrity", "--json", stdout=before)
    original = json.loads(before.getvalue())
    assert original["problems"] == []
    assert original["credentials"]["total"] >= 5
    assert original["credentials"]["revoked"] >= 1  # the demo revokes one
    assert original["ledger"]["transactions"] > 0

    result = _check_integrity(url, media)

    assert result.returncode == 0, result.stdout + result.stderr
    assert _summary(result) == original

    # Restored without the encryption key of the issuers' private keys (it is kept apart from
    # the dump): certificates still verify, but no new one could be signed. Reported.
    result = _check_integrity(url, media, CREDENTIALS_KEY_ENCRYPTION_KEY="another-" + "x" * 32)

    assert result.returncode == 1
    problems = _summary(result)["problems"]
    assert len(problems) == original["credentials"]["issuer_keys"]
    assert all("Cannot decrypt issuer key" in p for p in problems), problems

    # Tampered after the backup: a certificate's signed document, a ledger entry (past the
    # ledger's triggers, as someone holding the database's keys could) and a lost PDF.
    with psycopg.connect(url, autocommit=True) as db:
        number, name = db.execute(
            "SELECT number, holder_name FROM credentials_credential ORDER BY id LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE credentials_credential SET document = replace(document, %s, 'Mallory') "
            "WHERE number = %s",
            [name, number],
        )
        db.execute("SET session_replication_role = replica")
        entry = db.execute("SELECT min(id) FROM rewards_entry").fetchone()[0]
        db.execute("UPDATE rewards_entry SET amount_fen = amount_fen + 1 WHERE id = %s", [entry])
        pdf = db.execute(
            "SELECT pdf FROM credentials_credential WHERE pdf <> '' ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
    (media / pdf).unlink()

    result = _check_integrity(url, media)

    assert result.returncode == 1
    problems = _summary(result)["problems"]
    assert any(p.startswith(f"credential {number}: proof check says") for p in problems), problems
    assert any(p.startswith("ledger: transaction") and "sums to 1" in p for p in problems)
    assert any("is missing from storage" in p for p in problems), problems
