"""Content Security Policy violations as a browser reports them, for the end-to-end tests.

``watch(context)`` makes every page of a Playwright context record the
``securitypolicyviolation`` events the browser fires (a script installed before any of the
page's own, which no policy can block); ``violations(page)`` reads them back. Console messages
about a refused inline script or style are kept too, in case an event was missed."""

from dataclasses import dataclass, field

_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push({
    directive: e.effectiveDirective || e.violatedDirective,
    blocked: e.blockedURI,
    source: (e.sourceFile || "") + ":" + e.lineNumber,
    sample: e.sample || "",
  });
}, true);
"""


@dataclass
class Watch:
    console: list[str] = field(default_factory=list)


def watch(context) -> Watch:
    seen = Watch()
    context.add_init_script(script=_LISTENER)

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text:
            seen.console.append(f"{message.page.url if message.page else '?'}: {text}")

    context.on("console", on_console)
    return seen


def violations(page) -> list[dict]:
    """This page's violations so far (the listener lives as long as the document)."""
    try:
        return page.evaluate("window.__cspViolations || []")
    except Exception:  # noqa: BLE001 - a page gone (navigated away) has nothing more to say
        return []


def describe(found: dict[str, list[dict]]) -> str:
    return "\n".join(
        f"  {name}: {v['directive']} blocked {v['blocked'] or '(inline)'} at {v['source']}"
        f"{' ' + repr(v['sample'][:60]) if v['sample'] else ''}"
        for name, items in found.items()
        for v in items
    )
