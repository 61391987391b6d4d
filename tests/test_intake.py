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


def test_short_codes_are_named_with_their_own_case():
    # A held-out control: "dropped a lot in the last two weeks" was read as the
    # segment country == 'IN' and led to a pipeline verdict inside India.
    import pandas as pd

    from toolkit.intake import read_complaint

    cur = pd.DataFrame({"country": ["IN", "US", "DE", "UK"] * 10,
                        "dept": ["hr", "sales", "ops", "it"] * 10,
                        "region": ["north", "south"] * 20})
    for text, segment in (("Completions dropped a lot in the last two weeks", None),
                          ("Scores for IN users look off", "country == 'IN'"),
                          ("let us know why scores in the north are high", "region == 'north'"),
                          ("UK listings look wrong", "country == 'UK'"),
                          ("the it team complains", None)):
        assert read_complaint(text, cur).segment == segment, text
