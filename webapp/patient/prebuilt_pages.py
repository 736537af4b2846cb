"""Question pages rendered once per process, then filled in per request.

A question page GET is the hot path of the patient app. Its HTML depends on the
instrument page, the languages, the page position, the back link, the form class (which
items are required) and the script root, and per request only on a few values: the
invitation token inside the URLs, the CSRF token, a fresh idempotency key, the ``ret``
field and the saved answers (a ``checked`` radio, a number box's value). The page
template is rendered once per such key with placeholders, cut into static text and
slots, and each later GET joins the pieces with its own values, which gives exactly the
HTML the template would (tested: ``tests/webapp/test_prebuilt_pages.py``).

Only pages whose items are display texts, single-choice radios (including CAT's bipolar
rows) and whole numbers (the EQ VAS) are prebuilt; other item types, a refused POST and
a conflict are rendered by the template as before.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import escape

from instruments import Instrument, Page

TOKEN_SLOT = "pRebuiltTokenSlot0"  # noqa: S105 (a placeholder, not a secret)
CSRF_SLOT = "pRebuiltCsrfSlot0"  # noqa: S105
IDEM_SLOT = "pRebuiltIdemSlot0"
RET_SLOT = "pRebuiltRetSlot0"
_URLSAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SLOTS = re.compile(
    rf"(?P<token>{TOKEN_SLOT})|(?P<csrf>{CSRF_SLOT})|(?P<idem>{IDEM_SLOT})|(?P<ret>{RET_SLOT})"
    r'|(?P<radio><input type="radio" id="[^"]*" name="(?P<rname>[^"]*)" value="(?P<rvalue>[^"]*)")'
    r'|(?P<number><input type="number" inputmode="numeric" id="[^"]*" name="(?P<nname>[^"]*)"'
    r' value=")(?=")'
)
MAX_PAGES = 2048


@dataclass(frozen=True, slots=True)
class Slot:
    """A place in a prebuilt page: what to write there (kind) and for which item."""

    kind: str  # "token", "csrf", "idem", "ret", "checked" or "number"
    name: str = ""
    value: str = ""


Piece = str | Slot


def eligible(instrument: Instrument, page: Page, token: str) -> bool:
    """Whether ``page`` can be served prebuilt: only item kinds whose HTML the slots cover."""
    if not _URLSAFE_TOKEN.fullmatch(token):
        return False
    for item_id in page.items:
        item = instrument.item(item_id)
        if item.type == "display":
            continue
        if item.type not in ("choice", "integer") or item.repeats:
            return False
        if any(not isinstance(code, int) or isinstance(code, bool) for code in item.codes):
            return False
    return True


def cut(rendered: str, csrf_token: str) -> tuple[Piece, ...]:
    """Cut a page rendered with the placeholders into static text and slots."""
    if csrf_token:
        rendered = rendered.replace(csrf_token, CSRF_SLOT)
    pieces: list[Piece] = []
    at = 0
    for match in _SLOTS.finditer(rendered):
        kind = match.lastgroup if match.lastgroup in ("token", "csrf", "idem", "ret") else None
        if match["radio"]:
            pieces.append(rendered[at : match.end()])
            pieces.append(Slot("checked", match["rname"], html.unescape(match["rvalue"])))
        elif match["number"]:
            pieces.append(rendered[at : match.end()])
            pieces.append(Slot("number", match["nname"]))
        else:
            pieces.append(rendered[at : match.start()])
            pieces.append(Slot(kind or ""))
        at = match.end()
    pieces.append(rendered[at:])
    return _merged(pieces)


def _merged(pieces: list[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + piece
        elif piece != "":
            out.append(piece)
    return tuple(out)


def fill(
    pieces: tuple[Piece, ...],
    *,
    token: str,
    csrf_token: Callable[[], str],
    idem: str,
    ret: str,
    answers: Mapping[str, str],
) -> str:
    """The page for one request: ``answers`` are the saved item values as strings.

    ``csrf_token`` is called only when the page has a CSRF field (as a form would).
    """
    values = {"token": token, "idem": idem, "ret": str(escape(ret))}
    if any(piece.__class__ is Slot and piece.kind == "csrf" for piece in pieces):  # type: ignore[union-attr]
        values["csrf"] = str(escape(csrf_token()))
    out: list[str] = []
    append = out.append
    for piece in pieces:
        if piece.__class__ is str:
            append(piece)  # type: ignore[arg-type]
            continue
        kind = piece.kind  # type: ignore[union-attr]
        if kind == "checked":
            if answers.get(piece.name) == piece.value:  # type: ignore[union-attr]
                append(" checked")
        elif kind == "number":
            append(_number(answers.get(piece.name)))  # type: ignore[union-attr]
        else:
            append(values[kind])
    return "".join(out)


def _number(saved: str | None) -> str:
    """A number box's value as WTForms' IntegerField shows saved data (``str(int(v))``)."""
    if saved is None:
        return ""
    try:
        return str(int(saved))
    except ValueError:
        return ""


class PageCache:
    """Prebuilt pages of one process, by a key that holds everything but per-request values."""

    def __init__(self, limit: int = MAX_PAGES, *, remember: bool = True) -> None:
        self._pages: dict[Any, tuple[Piece, ...]] = {}
        self._limit = limit
        self._remember = remember  # False: cut every page afresh (templates reloading)

    def get(self, key: Any, build: Callable[[], tuple[str, str]]) -> tuple[Piece, ...]:
        """The pieces for ``key``; ``build()`` renders the page as (html, csrf token) once."""
        pieces = self._pages.get(key)
        if pieces is None:
            rendered, csrf_token = build()
            pieces = cut(rendered, csrf_token)
            if not self._remember:
                return pieces
            if len(self._pages) >= self._limit:  # never grows without bound
                self._pages.clear()
            self._pages[key] = pieces
        return pieces

    def clear(self) -> None:
        """Forget every prebuilt page (tests; a changed template in development)."""
        self._pages.clear()


def cache_of(app: Any) -> PageCache:
    """The prebuilt pages of ``app`` (one cache per app: pages depend on its settings).

    With templates reloading (``flask run --debug``) nothing is remembered, so an edited
    template shows at once; the pages are still served through the same pieces.
    """
    cache = app.extensions.get("prebuilt_pages")
    if cache is None:
        cache = PageCache(remember=not app.jinja_env.auto_reload)
        app.extensions["prebuilt_pages"] = cache
    return cache
