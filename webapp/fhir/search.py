"""FHIR search parameters of QuestionnaireResponse -> :class:`SearchCriteria` and of
score Observations -> :class:`ObservationCriteria`."""

from __future__ import annotations

import datetime as dt
import re

from werkzeug.datastructures import MultiDict

import instruments
from webapp.services import fhir_resources as fr
from webapp.services.fhir_responses import ObservationCriteria, SearchCriteria

DEFAULT_COUNT = 50
MAX_COUNT = 500
PARAMS = {"questionnaire", "authored", "subject:identifier", "_count", "_offset", "_format"}
OBSERVATION_PARAMS = {"code", "derived-from", "subject:identifier", "_count", "_offset", "_format"}
_DATE = re.compile(r"(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(-\d{2}(-\d{2}(T.+)?)?)?)")


class SearchError(ValueError):
    """A search the API cannot run; the message goes into the OperationOutcome."""


def _bounds(text: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a FHIR date/dateTime value at its own precision, in UTC."""
    try:
        if len(text) == 4:
            start = dt.datetime(int(text), 1, 1, tzinfo=dt.UTC)
            return start, start.replace(year=start.year + 1)
        if len(text) == 7:
            start = dt.datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=dt.UTC)
            nxt = (start + dt.timedelta(days=32)).replace(day=1)
            return start, nxt
        if len(text) == 10:
            start = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
            return start, start + dt.timedelta(days=1)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"authored: {text!r} is not a FHIR date or dateTime") from exc
    if moment.tzinfo is None:
        raise SearchError(f"authored: {text!r} needs a time zone")
    moment = moment.astimezone(dt.UTC)
    return moment, moment + dt.timedelta(seconds=1)


def _authored(values: list[str]) -> tuple[tuple[str, dt.datetime], ...]:
    found: list[tuple[str, dt.datetime]] = []
    for value in values:
        match = _DATE.fullmatch(value)
        if match is None:
            raise SearchError(f"authored: {value!r} is not [prefix]date (e.g. ge2025-03-01)")
        prefix, text = match.group(1) or "eq", match.group(2)
        if prefix not in ("eq", "gt", "lt", "ge", "le"):
            raise SearchError(f"authored: the prefix {prefix!r} is not supported (eq gt lt ge le)")
        start, end = _bounds(text)
        found += {
            "eq": [("ge", start), ("lt", end)],
            "ge": [("ge", start)],
            "gt": [("ge", end)],
            "lt": [("lt", start)],
            "le": [("lt", end)],
        }[prefix]
    return tuple(found)


def _questionnaire(value: str) -> tuple[str | None, tuple[str, ...], bool]:
    """(instrument id, stored versions, known?) for a canonical ``url[|version]``."""
    url, _, version = value.partition("|")
    version = version.replace("%20", " ")
    for inst in instruments.load_all().values():
        if fr.canonical_url(inst) != url:
            continue
        if not version:
            return inst.id, (), True
        stored = inst.version if version == fr.questionnaire_version(inst) else version
        return inst.id, (stored,), True
    return None, (), False


def _whole(name: str, text: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise SearchError(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _pseudonym(args: MultiDict[str, str]) -> str | None:
    """The pseudonym of ``subject:identifier`` (None: not given)."""
    if "subject:identifier" not in args:
        return None
    system, sep, value = args["subject:identifier"].rpartition("|")
    if not sep:
        system, value = fr.PSEUDONYM_SYSTEM, args["subject:identifier"]
    if system != fr.PSEUDONYM_SYSTEM:
        raise SearchError(
            f"subject:identifier: only the export pseudonym ({fr.PSEUDONYM_SYSTEM}) is"
            " searchable; national IDs never appear in URLs"
        )
    return value


def _paging(args: MultiDict[str, str]) -> tuple[int, int]:
    count = _whole("_count", args.get("_count", str(DEFAULT_COUNT)), 0, MAX_COUNT)
    offset = _whole("_offset", args.get("_offset", "0"), 0, 10**9)
    return count, offset


def _codes(values: list[str]) -> tuple[tuple[tuple[str | None, str], ...], bool]:
    """(instrument id or None, score name) pairs of ``code`` tokens (``system|code`` or
    ``code``, comma = or) and whether any of them can match (a foreign system cannot)."""
    pairs: list[tuple[str | None, str]] = []
    for value in values:
        for token in value.split(","):
            system, sep, code = token.rpartition("|")
            if not code:
                raise SearchError(f"code: {token!r} names no score (e.g. {fr.SCORE_SYSTEM}odi|odi)")
            if not sep:
                pairs.append((None, code))
            elif system.startswith(fr.SCORE_SYSTEM) and len(system) > len(fr.SCORE_SYSTEM):
                pairs.append((system[len(fr.SCORE_SYSTEM) :], code))
    return tuple(pairs), bool(pairs)


def _derived_from(values: list[str]) -> tuple[int, ...]:
    found = []
    for value in values:
        for token in value.split(","):
            rid = token.removeprefix("QuestionnaireResponse/")
            if not (rid.isascii() and rid.isdigit()) or len(rid) > 12:
                raise SearchError(
                    f"derived-from: {token!r} is not QuestionnaireResponse/<id> (or <id>)"
                )
            found.append(int(rid))
    return tuple(found)


def parse_observation(
    args: MultiDict[str, str],
) -> tuple[ObservationCriteria, str | None, int, int, bool]:
    """Observation search: (criteria without patients, pseudonym or None, count, offset,
    can match anything). Unknown parameters are refused."""
    unknown = sorted(set(args) - OBSERVATION_PARAMS)
    if unknown:
        raise SearchError(f"unknown search parameter(s): {', '.join(unknown)}")
    codes, possible = (), True
    if "code" in args:
        codes, possible = _codes(args.getlist("code"))
    response_ids = None
    if "derived-from" in args:
        response_ids = _derived_from(args.getlist("derived-from"))
    alias = _pseudonym(args)
    count, offset = _paging(args)
    criteria = ObservationCriteria(codes=codes, response_ids=response_ids)
    return criteria, alias, count, offset, possible


def parse(args: MultiDict[str, str]) -> tuple[SearchCriteria, str | None, int, int, bool]:
    """(criteria without patients, pseudonym or None, count, offset, can match anything).

    Unknown parameters are refused (a typo must not return every response).
    """
    unknown = sorted(set(args) - PARAMS)
    if unknown:
        raise SearchError(f"unknown search parameter(s): {', '.join(unknown)}")
    instrument_id, versions, possible = None, (), True
    if "questionnaire" in args:
        instrument_id, versions, possible = _questionnaire(args["questionnaire"])
    alias = _pseudonym(args)
    count, offset = _paging(args)
    criteria = SearchCriteria(
        instrument_id=instrument_id,
        versions=versions,
        authored=_authored(args.getlist("authored")),
    )
    return criteria, alias, count, offset, possible
