"""Intake: turn a complaint into an investigation frame.

The reading is deliberately plain and explained back to the user: a time hint
(an ISO date, "since last Tuesday", "yesterday", "3 days ago", "last week", "since
16 November"), a segment hint (a value of a categorical column named in the text, such
as "app users" -> ``channel == 'app'``), and a symptom (scores too high or too low,
wrong decisions, worse quality). Relative dates are read against the latest timestamp
in the current window, not the wall clock, so a report is reproducible.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Frame", "read_complaint"]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_SYMPTOMS = {
    "scores_high": r"\b(too high|higher|went up|gone up|go up|increas\w*|more alerts|too many"
                   r"|spik\w*|inflat\w*|up a lot|rose|rising)\b",
    "scores_low": r"\b(too low|lower|went down|gone down|decreas\w*|fewer|too few|dropp?\w*|fell|falling)\b",
    "decisions": r"\b(wrong decisions?|flip\w*|declin\w*|approv\w*|reject\w*"
                 r"|false (?:positives?|negatives?)|blocked)\b",
    "quality": r"\b(worse|accura\w*|quality|auc|precision|recall|miss\w*|no longer reflects?|wrong|off)\b",
}


@dataclass
class Frame:
    """What the investigation looks at, and how the complaint was read."""

    complaint: str = ""
    since: _dt.datetime | None = None
    segment: str | None = None
    symptom: str | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """Sentences that say how the complaint was read."""
        if not self.complaint.strip():
            return ["No complaint text was given: the whole current window is investigated."]
        return list(self.notes) or ["Nothing in the complaint narrowed the investigation."]


def read_complaint(
    text: str | None,
    current: pd.DataFrame | None = None,
    *,
    timestamp: str | None = None,
    today: _dt.datetime | None = None,
    max_categories: int = 50,
) -> Frame:
    """Read a complaint into a :class:`Frame`.

    Parameters
    ----------
    text : str or None
        The complaint, as the user wrote it.
    current : DataFrame, optional
        The current window; its categorical values are matched against the text,
        and its latest timestamp anchors relative dates.
    timestamp : str, optional
        The time column of ``current``.
    today : datetime, optional
        Anchor for relative dates; by default the latest timestamp of ``current``.
    max_categories : int, default=50
        Columns with more distinct values than this are not matched.
    """
    frame = Frame(complaint=text or "")
    if not frame.complaint.strip():
        return frame
    low = frame.complaint.lower()
    anchor = today or _latest(current, timestamp)
    since = _time_hint(low, anchor)
    if since is not None:
        frame.since = since
        frame.notes.append(f"Time: read as since {since:%A %d %B %Y}.")
    if current is not None:
        seg = _segment_hint(low, current, max_categories=max_categories, skip={timestamp},
                            original=frame.complaint)
        if seg is not None:
            frame.segment = seg
            frame.notes.append(f"Segment: read as {seg}.")
    for symptom, pattern in _SYMPTOMS.items():
        if re.search(pattern, low):
            frame.symptom = symptom
            frame.notes.append(f"Symptom: read as {symptom.replace('_', ' ')}.")
            break
    return frame


def _latest(current: pd.DataFrame | None, timestamp: str | None) -> _dt.datetime | None:
    import pandas as pd

    if current is None or not timestamp or timestamp not in current.columns:
        return None
    from toolkit.repair import event_times

    try:
        latest = event_times(current[timestamp]).max()
    except (TypeError, ValueError):  # nothing parses: no anchor
        return None
    if pd.isna(latest):
        return None
    latest = latest.floor("s")
    if latest.tzinfo is not None:
        latest = latest.tz_localize(None)
    return latest.to_pydatetime()


def _time_hint(low: str, anchor: _dt.datetime | None) -> _dt.datetime | None:
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", low)
    if m:
        return _dt.datetime(int(m[1]), int(m[2]), int(m[3]))
    if anchor is None:
        return None
    day = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    m = re.search(r"\b(?:since|from|starting)?\s*last\s+(" + "|".join(_WEEKDAYS) + r")\b", low)
    if m:
        back = (day.weekday() - _WEEKDAYS.index(m[1])) % 7 or 7
        return day - _dt.timedelta(days=back)
    m = re.search(r"\bsince\s+(" + "|".join(_WEEKDAYS) + r")\b", low)
    if m:
        return day - _dt.timedelta(days=(day.weekday() - _WEEKDAYS.index(m[1])) % 7)
    m = re.search(r"\b(\d+)\s+days?\s+ago\b", low)
    if m:
        return day - _dt.timedelta(days=int(m[1]))
    if re.search(r"\byesterday\b", low):
        return day - _dt.timedelta(days=1)
    if re.search(r"\blast week\b", low):
        return day - _dt.timedelta(days=day.weekday() + 7)
    return _month_day(low, anchor)


def _month_day(low: str, anchor: _dt.datetime) -> _dt.datetime | None:
    names = "|".join(m[:3] + r"\w*" for m in _MONTHS)
    m = re.search(rf"\b(\d{{1,2}})\s+({names})\b|\b({names})\s+(\d{{1,2}})\b", low)
    if not m:
        return None
    day_s, month_s = (m[1], m[2]) if m[1] else (m[4], m[3])
    month = next(i for i, name in enumerate(_MONTHS, 1) if month_s.startswith(name[:3]))
    try:
        guess = _dt.datetime(anchor.year, month, int(day_s))
    except ValueError:
        return None
    return guess if guess <= anchor else guess.replace(year=anchor.year - 1)


#: Words of ordinary English that are also short codes ("IN" for India, "US", "OR").
_COMMON_WORDS = frozenset({"in", "on", "at", "to", "of", "or", "and", "the", "an", "is", "it",
                           "as", "by", "for", "us", "we", "no", "all", "new", "off", "out", "up",
                           "be", "do", "go", "me", "my", "so", "if", "not", "any", "can"})


def _segment_hint(low: str, current: pd.DataFrame, *, max_categories: int,
                  skip: set[str | None], original: str = "") -> str | None:
    """The segment a complaint names: a value of a low-cardinality column.

    Values of three letters or fewer, and ordinary words, must appear with their own
    case ("IN" names India, "in the last two weeks" does not); a value that is an
    ordinary word in lower case names nothing."""
    import pandas as pd

    from toolkit.segment_expr import segment_equals

    best: tuple[int, str] | None = None
    for col in current.columns:
        if col in skip:
            continue
        series = current[col]
        if not (isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(series)
                or pd.api.types.is_object_dtype(series)):
            continue
        values = series.dropna().unique()
        if len(values) > max_categories or len(values) < 2:
            continue
        for value in values:
            word = str(value).lower()
            if len(word) < 2 or (word in _COMMON_WORDS and str(value) == word):
                continue
            if len(word) <= 3 or word in _COMMON_WORDS:  # a code: its own case, no plural
                named = re.search(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", original)
            else:
                named = re.search(rf"(?<![\w-]){re.escape(word)}(?:s|es)?(?![\w-])", low)
            if named and (best is None or len(word) > best[0]):
                best = (len(word), segment_equals(col, str(value)))  # quoted, never code
    return None if best is None else best[1]
