"""A driver's phone for the end-to-end journeys: a Chromium page at 360 × 740, the site's
language, the site's own words (translated with the site's catalogue, so that the tests look
for what the driver reads), and numbered screenshots."""

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import translation
from playwright.sync_api import Browser, Page

PHONE = {"width": 360, "height": 740}
# language code -> (URL prefix, browser locale, screenshot folder)
LANGUAGES = {
    "zh-hans": ("", "zh-CN", "zh-Hans"),
    "en": ("/en", "en-US", "en"),
}


def open_phone(browser: Browser, base: str, language: str, shots: Path | None) -> "Phone":
    prefix, locale, folder = LANGUAGES[language]
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        # The site's offline service worker would answer some requests from its cache; these
        # journeys are about the server's answers (tests/e2e/test_offline.py covers offline).
        service_workers="block",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    if shots is not None:
        shots = shots / folder
        for old in shots.glob("*.png"):  # a step renamed or removed leaves no stale picture
            old.unlink()
    return Phone(page=page, base=base, language=language, prefix=prefix, shots=shots)


@dataclass
class Phone:
    page: Page
    base: str  # the live server, e.g. http://localhost:41234
    language: str  # "zh-hans" or "en"
    prefix: str  # "" or "/en"
    shots: Path | None
    taken: list[str] = field(default_factory=list)
    clock: list[tuple[str, float]] = field(default_factory=lambda: [("start", time.monotonic())])

    def lap(self, step: str) -> None:
        self.clock.append((step, time.monotonic()))

    def laps(self) -> str:
        """How long each step took, e.g. "home 0.4 s, sign-up 1.2 s"."""
        return ", ".join(
            f"{step} {now - before:.1f} s"
            for (_, before), (step, now) in zip(self.clock, self.clock[1:], strict=False)
        )

    def t(self, message: str, context: str | None = None, **values) -> str:
        """``message`` as the site shows it in this language (``values`` filled in)."""
        with translation.override(self.language):
            text = (
                translation.pgettext(context, message) if context else translation.gettext(message)
            )
        return text % values if values else text

    def nav(self, name: str):
        """A link of the site's header menu, by its (translated) name."""
        menu = self.page.get_by_role("navigation", name=self.t("Account"))
        return menu.get_by_role("link", name=self.t(name), exact=True)

    def path(self, path: str) -> str:
        """A site path in this language: "/courses/" -> "/en/courses/" in English."""
        return self.prefix + path

    def go(self, path: str) -> None:
        response = self.page.goto(self.base + self.path(path))
        assert response is not None and response.ok, f"{path}: {response and response.status}"

    def here(self) -> str:
        """The current path, without the language prefix."""
        path = re.sub(r"^https?://[^/]+", "", self.page.url)
        return path.removeprefix(self.prefix) if self.prefix else path

    def shoot(self, step: str, *, element=None) -> None:
        """Save NN-<step>.png (the whole page, or just ``element``), when screenshots are on."""
        self.taken.append(step)
        self.lap(step)
        if self.shots is None:
            return
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{len(self.taken):02d}-{step}.png"
        if element is not None:
            element.screenshot(path=str(path), scale="css")
        else:
            # CSS pixels (360 wide), not the phone's device pixels: a quarter of the bytes.
            self.page.screenshot(path=str(path), full_page=True, scale="css")

    def shoot_pdf(self, step: str, pdf: bytes) -> None:
        """The first page of a PDF as NN-<step>.png, when screenshots are on."""
        self.taken.append(step)
        self.lap(step)
        if self.shots is None:
            return
        self.shots.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "document.pdf"
            source.write_bytes(pdf)
            target = self.shots / f"{len(self.taken):02d}-{step}"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", "-singlefile", str(source), str(target)],
                check=True,
            )

    def close(self) -> None:
        self.page.context.close()


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, with poppler's pdftotext."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "document.pdf"
        source.write_bytes(pdf)
        result = subprocess.run(["pdftotext", str(source), "-"], check=True, capture_output=True)
    return result.stdout.decode("utf-8")
