"""zh-Hans (the default) and en must both be complete: every string the code and templates
use has a Chinese translation, and the compiled catalogue matches the source."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCES = ["cms", "courses", "credentials", "rewards", "templates", "manage.py"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _entries(catalogue) -> dict[tuple[str | None, str], str]:
    """(context, msgid) → translation: "Paid" as a price and as a payment's state differ."""
    return {(e.msgctxt, e.msgid): e.msgstr for e in catalogue if e.msgid and not e.obsolete}


def test_every_chinese_string_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_translations_keep_the_placeholders_of_the_original():
    for entry in polib.pofile(str(PO)).translated_entries():
        if entry.msgid_plural:  # Chinese has one form: it must carry the plural's placeholders
            original, texts = entry.msgid_plural, list(entry.msgstr_plural.values())
        else:
            original, texts = entry.msgid, [entry.msgstr]
        for text in texts:
            assert sorted(PLACEHOLDER.findall(original)) == sorted(PLACEHOLDER.findall(text)), (
                entry.msgid
            )


def test_the_compiled_catalogue_matches_the_source():
    assert _entries(polib.mofile(str(MO))) == _entries(polib.pofile(str(PO)))


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (make setup)")
def test_no_string_in_the_code_is_missing_from_the_catalogue(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale").mkdir()
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"DJANGO_SETTINGS_MODULE": "cms.settings.test", "PATH": "/usr/bin:/bin",
             "ROADWISE_VAR_DIR": str(tmp_path / "var")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    fresh = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = _entries(polib.pofile(str(PO)))
    missing = sorted(
        (msgid if context is None else f"{context}|{msgid}")
        for context, msgid in set(_entries(fresh)) - set(committed)
    )
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing)


def test_chinese_is_the_default_and_english_the_second(client, db):
    from django.conf import settings

    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]
    chinese = client.get("/accounts/login/").content.decode()
    english = client.get("/en/accounts/login/").content.decode()
    assert "忘记密码？" in chinese
    assert "Forgot your password?" in english
    assert "忘记密码" not in english
