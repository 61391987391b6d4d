"""Segment expressions are data: our own grammar, evaluated without eval, and every
column name kept out of code and out of matplotlib's mathtext."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import InputError
from toolkit.segment_expr import (
    And,
    Column,
    Compare,
    Literal,
    Member,
    Not,
    Or,
    Segment,
    parse_segment,
    quote_column,
    segment_equals,
    segment_mask,
)

EXPLOIT = ("amount.__array__.__globals__['pandas'].io.common.os.system('id > {out}') == 0 "
           "and amount > 0 or channel")


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({
        "channel": pd.array(["app", "web", None, "app", "store"], dtype="str"),
        "amount": [1.0, np.nan, 3.0, 4.0, -2.5],
        "device type": ["tablet", "phone", "tablet", None, "phone"],
        "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        "grade": pd.Categorical(["a", "b", "a", None, "c"]),
        "flag": [True, False, True, False, True],
        "when": pd.to_datetime(["2024-01-01", "2024-02-01", None, "2024-03-01", "2024-04-01"]),
        "zip": ["01", "2", "x", None, "7"],
        "mixed": pd.Series(["a", 1, None, "b", 2.5], dtype=object),
    })


# --- the grammar ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "canonical"), [
    ("channel == 'app'", "channel == 'app'"),
    ('channel=="app"', "channel == 'app'"),
    ("`device type` == 'tablet'", "`device type` == 'tablet'"),
    ("`a``b` != 1", "`a``b` != 1"),
    ("amount > -1.5 & ~(n <= 3)", "amount > -1.5 and not n <= 3"),
    ("channel in ('app', 'web',)", "channel in ['app', 'web']"),
    ("channel not in []", "channel not in []"),
    ("0 <= amount < 1e6", "0 <= amount < 1000000.0"),
    ("(a == 1 or b == 2) and c == null", "(a == 1 or b == 2) and c == None"),
    ("a == 1 | b == 2 & c == 3", "a == 1 or b == 2 and c == 3"),
    ("flag", "flag"),
    ("not (flag and x == true)", "not (flag and x == True)"),
    ("s == 'it\\'s \\u00e9\\n'", "s == 'it\\'s é\\n'"),
])
def test_parses_to_canonical_text(text, canonical):
    seg = parse_segment(text)
    assert str(seg) == canonical
    assert parse_segment(str(seg)) == seg


def test_columns_in_order_of_first_mention():
    seg = parse_segment("b == 1 and (`a b` in [1] or b > 2) and not c")
    assert seg.columns == ("b", "a b", "c")


def test_names_with_spaces_may_go_unquoted_when_the_frame_has_them(df):
    seg = parse_segment("device type == 'tablet' and amount > 0", columns=df.columns)
    assert str(seg) == "`device type` == 'tablet' and amount > 0"
    with pytest.raises(InputError, match="two names in a row"):
        parse_segment("device type == 'tablet'")  # without the frame: ambiguous


# --- rejected constructs ------------------------------------------------------------

@pytest.mark.parametrize(("text", "problem", "fix"), [
    ("amount.isna()", "attribute access ('.') is not allowed at character 7", "amount == None"),
    ("channel.isin(['a'])", "attribute access", "channel in ['a', 'b']"),
    (EXPLOIT.format(out="pwned.txt"), "attribute access ('.') is not allowed at character 7",
     "back-quote it"),
    ("channel == @x", "'@' names a Python variable", "Write the value itself"),
    ("@os.system('id') == 0", "cannot use at character 1", "value itself"),
    ("__import__ == 1", "holds '__'", "back-quote it"),
    ("amount.__class__ == 1", "attribute access", ""),
    ("len(channel) > 2", "calling 'len' is not allowed at character 1", "calls no function"),
    ("channel[0] == 'a'", "indexing 'channel' is not allowed", ""),
    ("amount + 1 > 2", "arithmetic ('+') is not allowed at character 8", "amount > 10"),
    ("amount * 2 > 2", "arithmetic ('*')", ""),
    ("amount - 1 > 2", "arithmetic ('-')", ""),
    ("channel = 'app'", "'=' alone is not a comparison", "Write =="),
    ("device type == 'tablet'", "two names in a row", "`device type` == 'tablet'"),
    ("'a' == 'b'", "names no column", ""),
    ("amount < None", "cannot be compared with <", "== None"),
    ("channel == 'app", "quoted text is not closed", ""),
    ("`device type == 1", "back-quoted name is not closed", ""),
    ("amount > 1 and", "the text ends", ""),
    ("channel == 'a' ; import os", "the character ';'", ""),
    ("x is None", "'is' is not a comparison", "== None"),
    ("channel in 'app'", "a list such as", ""),
    ("channel in [amount]", "a list holds values only", ""),
    ("lambda: 1", "the character ':'", ""),
    ("s == 'a\\q'", "the escape '\\q' is unknown", ""),
    ("1e999 > x", "out of range", ""),
    ("", "empty", ""),
])
def test_rejected_constructs_name_the_token_the_grammar_and_a_fix(text, problem, fix):
    with pytest.raises(InputError) as info:
        parse_segment(text)
    message = str(info.value)
    assert repr(text) in message or not text
    assert problem in message
    assert fix in message
    if text:
        assert "never run as code" in message  # the grammar, in one sentence


def test_unknown_column_suggests_the_closest(df):
    with pytest.raises(InputError, match=r"'chanel', which is not in the data\. Did you mean channel\?"):
        segment_mask(df, "chanel == 'app'")
    with pytest.raises(InputError, match="`device type`"):
        segment_mask(df, "`device typ` == 'x'")


# --- evaluation ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("channel == 'app'", [1, 0, 0, 1, 0]),
    ("channel != 'app'", [0, 1, 0, 0, 1]),  # a missing value is in no comparison
    ("channel == None", [0, 0, 1, 0, 0]),
    ("not channel == 'app'", [0, 1, 1, 0, 1]),
    ("amount > 0", [1, 0, 1, 1, 0]),
    ("amount >= -2.5", [1, 0, 1, 1, 1]),
    ("-3 < amount <= 3", [1, 0, 1, 0, 1]),
    ("amount != None", [1, 0, 1, 1, 1]),
    ("n >= 3", [0, 0, 1, 1, 1]),
    ("n == '3'", [0, 0, 1, 0, 0]),  # a numeric text literal against a number column
    ("amount == '<script>'", [0, 0, 0, 0, 0]),  # text that is no number equals no row
    ("amount != 'x'", [1, 0, 1, 1, 1]),
    ("amount in ['x', 4]", [0, 0, 0, 1, 0]),
    ("`device type` == 'tablet'", [1, 0, 1, 0, 0]),
    ("grade in ['a', 'c']", [1, 0, 1, 0, 1]),
    ("grade not in ('a',)", [0, 1, 0, 0, 1]),
    ("grade > 'a'", [0, 1, 0, 0, 1]),  # an unordered category compares as its text
    ("channel in ['app', None]", [1, 0, 1, 1, 0]),
    ("channel not in ['app', None]", [0, 1, 0, 0, 1]),
    ("flag", [1, 0, 1, 0, 1]),
    ("~flag | amount < 0", [0, 1, 0, 1, 1]),
    ("flag == 1", [1, 0, 1, 0, 1]),
    ("when >= '2024-02-01'", [0, 1, 0, 1, 1]),
    ("zip == 1", [1, 0, 0, 0, 0]),  # numbers that arrive as text
    ("zip < 5", [1, 1, 0, 0, 0]),
    ("mixed == 'a'", [1, 0, 0, 0, 0]),
    ("channel == amount", [0, 0, 0, 0, 0]),
])
def test_masks_match_pandas_by_hand(df, text, expected):
    before = df.copy()
    mask = segment_mask(df, text)
    assert mask.dtype == bool
    assert mask.tolist() == [bool(e) for e in expected]
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(("text", "message"), [
    ("amount > 'lots'", "the column 'amount' holds numbers and 'lots' is not one"),
    ("flag == 'x'", "holds true/false"),
    ("when > 3", "holds dates"),
    ("when > 'not a date'", "is not a date"),
    ("channel", "not true or false"),
    ("amount", "Compare it with a value: amount == 10"),
    ("mixed < 'b'", "compares values of different kinds"),
])
def test_kind_mismatches_are_input_errors_not_pandas_type_errors(df, text, message):
    with pytest.raises(InputError, match=message):
        segment_mask(df, text)


def test_segment_equals_quotes_any_name_and_value(df):
    hostile = EXPLOIT.format(out="pwned.txt")
    text = segment_equals(hostile, "tab'let\\")
    seg = parse_segment(text)
    assert seg.columns == (hostile,)
    assert seg.tree == Compare((Column(hostile), Literal("str", "tab'let\\")), ("==",))
    assert segment_equals("n", np.int64(3)) == "n == 3"
    assert segment_equals("amount", np.nan) == "amount == None"
    assert segment_mask(df, segment_equals("device type", "tablet")).tolist() == \
        [True, False, True, False, False]


# --- property tests -----------------------------------------------------------------

_names = st.text(min_size=1, max_size=10)
_values = st.one_of(
    st.text(max_size=8).map(lambda v: Literal("str", v)),
    st.integers(-10**12, 10**12).map(lambda v: Literal("int", v)),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: Literal("float", v)),
    st.booleans().map(lambda v: Literal("bool", v)),
)


@st.composite
def _comparisons(draw):
    column = Column(draw(_names))
    if draw(st.booleans()):
        values = tuple(draw(st.lists(st.one_of(_values, st.just(Literal("none", None))),
                                     max_size=3)))
        return Member(column, values, draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:
        return Compare((column, Literal("none", None)), (draw(st.sampled_from(["==", "!="])),))
    ops = ("==", "!=", "<", "<=", ">", ">=")
    if draw(st.booleans()):  # a chain, with the column in the middle
        return Compare((draw(_values), column, draw(_values)),
                       (draw(st.sampled_from(ops)), draw(st.sampled_from(ops))))
    pair = (column, draw(_values)) if draw(st.booleans()) else (draw(_values), column)
    return Compare(pair, (draw(st.sampled_from(ops)),))


def _join(kind):
    def make(parts):
        flat = []
        for p in parts:
            flat.extend(p.parts if isinstance(p, kind) else [p])
        return kind(tuple(flat))
    return make


_trees = st.recursive(
    _comparisons(),
    lambda inner: st.one_of(inner.map(Not), st.lists(inner, min_size=2, max_size=3).map(_join(And)),
                            st.lists(inner, min_size=2, max_size=3).map(_join(Or))),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(_trees)
def test_canonical_text_parses_back_to_the_same_tree(tree):
    seg = Segment(tree)
    again = parse_segment(str(seg))
    assert again == seg
    assert str(again) == str(seg)


@st.composite
def _noisy(draw, tree):
    """The tree written as a pandas user might: &, |, ~, tuples, double quotes, spaces."""
    sp = draw(st.sampled_from(["", " ", "  ", "\t"]))

    def lit(v):
        if v.kind == "str" and '"' not in v.value and "\\" not in v.value \
                and v.value.isprintable() and draw(st.booleans()):
            return f'"{v.value}"'
        return str(v)

    def write(node):
        if isinstance(node, Compare):
            out = [str(o) if isinstance(o, Column) else lit(o) for o in node.operands]
            return "".join(f"{a}{sp}{op}{sp}" for a, op in zip(out, node.ops)) + out[-1]
        if isinstance(node, Member):
            items = ",".join(lit(v) for v in node.values)
            box = f"({items},)" if items and draw(st.booleans()) else f"[{items}]"
            return f"{node.column} {'not in' if node.negated else 'in'}{sp}{box}"
        if isinstance(node, Not):
            return f"{draw(st.sampled_from(['not ', '~']))}({write(node.operand)})"
        word = draw(st.sampled_from(["and", "&"] if isinstance(node, And) else ["or", "|"]))
        return f" {word} ".join(f"({write(p)})" for p in node.parts)

    return write(tree)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_parse_of_printed_parse_is_a_fixed_point(data):
    text = data.draw(_noisy(data.draw(_trees)))
    seg = parse_segment(text)
    assert parse_segment(str(seg)) == seg


@given(_names)
def test_any_column_name_round_trips_through_quoting(name):
    assert parse_segment(f"{quote_column(name)} == 1").columns == (name,)


# --- end to end: data that carries code -----------------------------------------------

def _windows(column: str, n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def window(shift: float) -> pd.DataFrame:
        return pd.DataFrame({
            "amount": rng.lognormal(3 + shift, 1, n).round(2),
            "channel": rng.choice(["app", "web", "store"], n),
            column: rng.choice(["tablet", "phone", "desktop"], n),
            "score": rng.beta(2, 5 + 3 * shift, n).round(4),
        })

    return window(0.0), window(0.3)


def _triage(tmp_path: Path, column: str, *args: str) -> subprocess.CompletedProcess:
    ref, cur = _windows(column)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return subprocess.run(
        [sys.executable, "-m", "toolkit", "triage", "--reference", str(tmp_path / "ref.csv"),
         "--current", str(tmp_path / "cur.csv"), "--prediction", "score",
         "--json", str(tmp_path / "out.json"), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_column_name_carrying_code_runs_nothing_through_the_complaint(tmp_path):
    pwned = tmp_path / "pwned.txt"
    result = _triage(tmp_path, EXPLOIT.format(out=pwned),
                     "--complaint", "scores are off on tablet")
    assert not pwned.exists(), "the column name was run as code"
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 0:  # the segment was read as data: the column, quoted
        assert (tmp_path / "out.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("payload", [
    EXPLOIT.format(out="{out}"),
    "amount.__array__.__globals__['pandas'].io.common.os.system('id > {out}') == 0",
    "@pd.io.common.os.system('id > {out}') == 0",
    "channel == @__builtins__",
    "amount.to_csv('{out}') == 0",
])
def test_segment_option_carrying_code_runs_nothing_and_is_bad_input(tmp_path, payload):
    pwned = tmp_path / "pwned.txt"
    result = _triage(tmp_path, "device", "--segment", payload.format(out=pwned))
    assert not pwned.exists(), "the segment was run as code"
    assert result.returncode == 2, result.stderr
    assert "never run as code" in result.stderr
    assert "at character" in result.stderr


@pytest.mark.slow
def test_a_column_named_with_a_space_keeps_the_complaint_path_working(tmp_path):
    result = _triage(tmp_path, "device type", "--complaint", "scores are off on tablet")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.json").exists()


def test_the_complaint_segment_quotes_a_name_with_a_space():
    from toolkit.intake import read_complaint

    _, cur = _windows("device type")
    frame = read_complaint("scores are off on tablet", cur)
    assert frame.segment == "`device type` == 'tablet'"
    assert np.array_equal(segment_mask(cur, frame.segment),
                          (cur["device type"] == "tablet").to_numpy())


def test_an_audit_measure_carrying_code_stops_the_audit(tmp_path, monkeypatch):
    from toolkit import cli

    monkeypatch.chdir(tmp_path)
    pwned = tmp_path / "pwned.txt"
    rows = "\n".join(f"2024-03-{d:02d}T{2 * i:02d}:00:00,{(i % 5) / 10},{i % 2},0.{i % 9 + 1}"
                     for d in range(1, 11) for i in range(12))
    (tmp_path / "events.csv").write_text("ts,x,label,score\n" + rows + "\n")
    payload = f"x.__array__.__globals__['pandas'].io.common.os.system('id > {pwned}') == 0"
    config = tmp_path / "a.yaml"
    config.write_text(f"""\
name: a
data: events.csv
timestamp: ts
window: yesterday
reference:
  trailing: 3d
prediction: score
target: label
checks: []
objectives:
  - name: evil
    measure: "segment.{payload}.rows"
    min: 1
""")
    code = cli.main(["audit", str(config), "--reports-dir", str(tmp_path / "r"),
                     "--now", "2024-03-10T03:00"])
    assert not pwned.exists(), "the audit measure was run as code"
    assert code == 2


# --- mathtext -----------------------------------------------------------------------

MATH = "$\\foo{x$"


def test_a_mathtext_column_name_draws_in_the_drift_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.drift import feature_drift
    from toolkit.plots.drift import plot_bin_shares, plot_feature_drift

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({MATH: rng.normal(0, 1, 800), "b": rng.choice(["$x$", "y"], 800)})
    cur = pd.DataFrame({MATH: rng.normal(1, 1, 800), "b": rng.choice(["$x$", "y"], 800)})
    result = feature_drift(ref, cur, n_boot=20)
    for fig, shown in ((plot_feature_drift(result), "\\foo{x"),
                       (plot_bin_shares(result, MATH), "\\foo{x"),
                       (plot_bin_shares(result, "b"), "\\$x\\$")):  # a value, too
        fig.canvas.draw()  # mathtext would raise ValueError here
        texts = [t.get_text() for ax in fig.axes for t in [ax.title, *ax.get_yticklabels()]]
        assert any(shown in t for t in texts), texts
        plt.close(fig)


def test_a_mathtext_segment_draws_in_the_attribution_title():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toolkit.plots._base import plain

    fig, ax = plt.subplots()
    ax.set_title(plain(f"in {segment_equals(MATH, '$a$b')}"))
    ax.set_yticks([0], [plain(MATH)])
    fig.canvas.draw()
    assert ax.title.get_text().count("\\$") == 4
    plt.close(fig)
