"""No template of ours carries inline script or style, which the site's Content Security Policy
would refuse (docs/decisions/0013-content-security-policy.md): scripts and styles are static
files, per-element values are classes, data- attributes or SVG attributes.

A new inline ``<script>``, ``<style>``, ``style="…"``, ``on…="…"`` handler or ``javascript:``
URL fails here; the few that must stay are listed in ALLOWED with the reason."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [
    ROOT / "templates",
    *(ROOT / app / "templates" for app in ("cms", "courses", "credentials", "rewards")),
]

# (template, what) -> why it may stay.
ALLOWED = {
    # WeasyPrint renders these to PDF on the server; no browser ever loads them as pages.
    ("credentials/certificate_pdf.html", "<style>"): "PDF, rendered by WeasyPrint",
    ("credentials/certificate_pdf.html", "style="): "PDF: font sizes fitted to the name",
    ("rewards/pdf/statement.html", "<style>"): "PDF, rendered by WeasyPrint",
}

# JSON data blocks are data, not script: CSP does not execute them.
DATA_SCRIPT = re.compile(
    r"<script\b[^>]*\btype=[\"']application/(?:ld\+)?json[\"'][^>]*>", re.IGNORECASE
)
PATTERNS = {
    "<script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "<style>": re.compile(r"<style\b", re.IGNORECASE),
    "style=": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "on…=": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE),
    "javascript:": re.compile(r"javascript:", re.IGNORECASE),
}


def inline_code(text: str) -> list[str]:
    """What in a template's text the site's policy would refuse, by kind."""
    text = re.sub(r"{#.*?#}", "", text, flags=re.DOTALL)
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.DOTALL)
    found = []
    for what, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            if what == "<script>" and DATA_SCRIPT.match(text, match.start()):
                continue
            found.append(what)
    return found


def _templates():
    for directory in TEMPLATE_DIRS:
        if directory.is_dir():
            for path in sorted(directory.rglob("*.html")):
                yield path.relative_to(directory).as_posix(), path


def test_no_template_has_inline_script_or_style():
    found = {}
    for name, path in _templates():
        for what in inline_code(path.read_text(encoding="utf-8")):
            if (name, what) not in ALLOWED:
                found.setdefault(name, []).append(what)
    assert not found, (
        "inline script or style the Content Security Policy would block (move it to a static "
        f"file, or use a class or data- attribute): {found}"
    )


def test_the_allow_list_holds_nothing_stale():
    present = {
        (name, what) for name, path in _templates() for what in inline_code(path.read_text())
    }
    assert set(ALLOWED) <= present, set(ALLOWED) - present


def test_the_scan_sees_each_kind_of_inline_code():
    hostile = """
        <script>alert(1)</script>
        <script type="text/javascript" defer>go()</script>
        <style>.x { color: red }</style>
        <p style="width: 10%">
        <button onclick="go()">
        <img src=x onerror='go()'>
        <a href="JavaScript:go()">
    """
    assert sorted(inline_code(hostile)) == sorted(
        ["<script>", "<script>", "<style>", "style=", "on…=", "on…=", "javascript:"]
    )


def test_the_scan_lets_files_and_data_through():
    harmless = """
        <script src="/static/js/lesson.js" defer></script>
        <script type="application/json" id="swagger-settings">{"a": 1}</script>
        <script type="application/ld+json">{"@context": "https://schema.org"}</script>
        <div data-style="x" data-onclick="y" class="stmt-balance"></div>
        {# <p style="ignored in a comment"> #}
        {% comment %}<script>also ignored</script>{% endcomment %}
    """
    assert inline_code(harmless) == []
