"""Chinese text has no spaces between words, so the database search backend would see a
whole sentence as one token. We split it into words with jieba, for the index and for
queries alike, so that 新能源 finds 新能源汽车充电安全."""

import logging
import re

import jieba

jieba.setLogLevel(logging.WARNING)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KEEP = re.compile(r"[\w\u3400-\u9fff\uf900-\ufaff]+")


def _words(text: str) -> list[str]:
    words: list[str] = []
    for chunk in _KEEP.findall(text or ""):
        if _HAN.search(chunk):
            # Search mode also yields the shorter words inside long ones
            # (新能源汽车 -> 新能源, 汽车, 新能源汽车).
            words.extend(w for w in jieba.cut_for_search(chunk) if w.strip())
        else:
            words.append(chunk.lower())
    return words


def segment_for_index(*texts: str) -> str:
    """Space-separated words of ``texts``, each once, for a search field."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in _words(text):
            seen.setdefault(word, None)
    return " ".join(seen)


def segment_query(query: str) -> str:
    """The words of a query, space-separated (the backend ORs or ANDs them)."""
    return " ".join(_words(query))
