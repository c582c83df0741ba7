"""HTML to article text with trafilatura, in the worker that cleans the shard.

Readers only decode pages (:attr:`Article.html`); the shard functions of
:mod:`pipelines.stages` call :meth:`Extractor.extract` on every article
that carries markup, before repair, so extraction is spread over the worker
pool like the rest of the cleaning, and the extracted text then goes through
the same repair, boilerplate, language and gates as any text input.

Settings come from ``[extract]`` of the run configuration (see
``configs/default.toml``): trafilatura's precision/recall balance, tables,
comments. Comments stay off for news: reader comments are not the article.

A record that brings its own text with its page (news-please keeps both)
keeps that text unless the extracted one passes the article gates that need
no language (:func:`cleaners.gates.cheap_gate`: words, sentences): a page
whose extraction finds only a navigation bar must not replace a whole
article by three words. The text set aside is an ``extraction`` edit saying
why.

What the page's metadata gives (title, date, author, site name, canonical
URL) fills the fields the reader left empty: a WARC record's target URI or a
JSONL record's own ``url`` / ``published`` win over what the page claims.
The page alone decides the extraction (the container's URL is not given to
trafilatura, which would otherwise name the site after the URL's domain), so
a page reads the same from a file, a WARC record or a JSON line.

A page that takes more than ``time_limit`` seconds of CPU (trafilatura can
backtrack for minutes on pathological markup) is abandoned: the article gets
an :attr:`~Article.error` and is quarantined with it, and the shard goes on.
CPU time, not wall time, so that a busy machine does not quarantine pages
that are merely slow to get a core. The limit is a ``SIGPROF`` timer, so it
holds where extraction runs in a process's main thread (the worker pool, a
one-shard run in the main process); in a thread (``executor = "prefect"``
with the thread runner) there is no timer and pages run to completion.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

from cleaners.gates import word_count
from cleaners.record import Article, Edit

FAVOR = ("precision", "recall", "balanced")


class PageTimeout(Exception):
    pass


@dataclass(frozen=True)
class Extractor:
    favor: str = "balanced"
    include_tables: bool = True
    include_comments: bool = False
    time_limit: float = 30.0

    def __post_init__(self) -> None:
        if self.favor not in FAVOR:
            raise ValueError(f"[extract] favor must be one of {', '.join(FAVOR)}, not {self.favor!r}")

    def options(self) -> dict:
        """Keyword arguments of ``trafilatura.bare_extraction`` (the
        benchmark runs trafilatura alone with exactly these)."""
        return {
            "favor_precision": self.favor == "precision",
            "favor_recall": self.favor == "recall",
            "include_tables": self.include_tables,
            "include_comments": self.include_comments,
            "with_metadata": True,
        }

    def extract(self, art: Article, gate: Callable[[Article], str | None] | None = None) -> None:
        """Replace ``art``'s markup by its text and metadata, in place; on
        failure set ``art.error`` (the caller quarantines it). ``gate``: the
        reason an article would be dropped before cleaning (None: kept); a
        record's own text gives way only to extracted text it keeps."""
        import trafilatura

        markup, art.html = art.html, None
        if markup is None:
            return
        try:
            with _time_limit(self.time_limit):
                doc = trafilatura.bare_extraction(markup, **self.options())
        except PageTimeout:
            art.error = f"HTML extraction took longer than {self.time_limit:g} s of CPU ([extract] time_limit): page abandoned"
            return
        except Exception as exc:  # a page that breaks the parser is that page's problem only
            art.error = f"HTML extraction failed: {type(exc).__name__}: {exc}"[:500]
            return
        art.flags.append("extracted:trafilatura")
        if doc is None or not (doc.text or "").strip():
            # Nothing the extractor calls an article; a JSONL record's own
            # text (news-please keeps both) is still the article.
            art.flags.append("extract:no-text")
        else:
            # trafilatura puts one block a line; the corpus separates
            # paragraphs by a blank line whatever the input format.
            text = "\n\n".join(line.strip() for line in doc.text.splitlines() if line.strip())
            why = gate(Article(id=art.id, text=text, title="")) if gate is not None and art.text.strip() else None
            if why is None:
                art.text = text
            else:
                art.edits.append(Edit("extraction", text[:500], detail=f"the page's extracted text is no article ({why}, "
                                      f"{word_count(text)} words): the record's own text is kept"))
        if doc is not None:
            art.title = art.title or (doc.title or "")
            art.published = art.published or doc.date or None
            art.author = art.author or doc.author or None
            art.sitename = art.sitename or doc.sitename or None
            art.url = art.url or doc.url or None
        if art.source is None and art.url:
            art.source = host(art.url)


def host(url: str) -> str | None:
    """``www.example.com`` of ``https://www.example.com/a`` as ``example.com``."""
    try:
        h = (urlparse(url).hostname or "").lower()
    except ValueError:
        return None
    return (h[4:] if h.startswith("www.") else h) or None


def _on_alarm(signum, frame):
    raise PageTimeout


@contextmanager
def _time_limit(seconds: float):
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGPROF, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
