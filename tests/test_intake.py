import datetime as dt

import pandas as pd
import pytest

from toolkit.intake import read_complaint


@pytest.fixture
def current():
    times = pd.date_range("2026-11-09", "2026-11-22 18:00", freq="6h")
    return pd.DataFrame({"ts": times, "channel": (["app", "web", "pos"] * len(times))[: len(times)],
                         "amount": range(len(times))})


@pytest.mark.parametrize(("text", "since"), [
    ("scores too high since last Monday", dt.datetime(2026, 11, 16)),
    ("since last tuesday the alerts are off", dt.datetime(2026, 11, 17)),
    ("worse since 2026-11-12", dt.datetime(2026, 11, 12)),
    ("bad since yesterday", dt.datetime(2026, 11, 21)),
    ("started 3 days ago", dt.datetime(2026, 11, 19)),
    ("since 14 November", dt.datetime(2026, 11, 14)),
    ("since Nov 14", dt.datetime(2026, 11, 14)),
])
def test_time_hints_are_read_against_the_data(current, text, since):
    assert read_complaint(text, current, timestamp="ts").since == since


def test_segment_and_symptom(current):
    frame = read_complaint("Scores went up for app users", current, timestamp="ts")
    assert frame.segment == "channel == 'app'"
    assert frame.symptom == "scores_high"
    assert any("app" in n for n in frame.describe())


def test_no_hint_means_no_frame(current):
    frame = read_complaint("something feels strange", current, timestamp="ts")
    assert frame.since is None and frame.segment is None
    assert read_complaint("", current).describe()[0].startswith("No complaint")


def test_words_inside_other_words_are_not_segments(current):
    assert read_complaint("the happy path is slow", current).segment is None
