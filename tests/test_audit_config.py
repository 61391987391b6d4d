"""Audit config validation: every mistake names its key path and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from toolkit import ConfigError
from toolkit._audit_config import Window, load_config, parse_config, resolve_window
from toolkit._audit_measures import MEASURES, find_measure

UTC = dt.UTC


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for day in ("2024-03-01", "2024-03-02"):
        (tmp_path / f"events-{day}.csv").write_text("ts,x,score,label\n2024-03-01T01:00,1,0.2,0\n")
    (tmp_path / "ref.parquet").write_bytes(b"")  # existence is all validation looks at
    return tmp_path


def base() -> dict:
    return {
        "name": "nightly",
        "data": "events-*.csv",
        "timestamp": "ts",
        "window": "yesterday",
        "reference": {"trailing": "7d"},
        "prediction": "score",
        "target": "label",
        "checks": [],
        "objectives": [{"name": "auc", "measure": "quality.auc", "min": 0.7}],
    }


def parse(raw: dict, folder: Path):
    return parse_config(raw, base_dir=folder)


def test_valid_config_resolves_paths_from_its_folder(folder: Path, monkeypatch) -> None:
    path = folder / "audit.yaml"
    path.write_text(yaml.safe_dump(base()))
    monkeypatch.chdir("/")
    cfg = load_config(path)
    assert cfg.name == "nightly"
    assert [Path(f).name for f in cfg.data_files()] == ["events-2024-03-01.csv",
                                                       "events-2024-03-02.csv"]
    assert cfg.reference_trailing == dt.timedelta(days=7)
    assert cfg.objectives[0].min == 0.7
    assert cfg.objectives[0].max is None
    assert cfg.objectives[0].severity == "warning"
    assert cfg.objectives[0].required
    assert len(cfg.sha256) == 64


def test_fixed_reference_and_explicit_window(folder: Path) -> None:
    raw = base() | {"reference": {"path": "ref.parquet"},
                    "window": {"start": dt.date(2024, 3, 1), "end": "2024-03-02T00:00:00Z"}}
    cfg = parse(raw, folder)
    assert cfg.reference_files() == [str(folder / "ref.parquet")]
    assert cfg.window_at("2030-01-01") == Window(dt.datetime(2024, 3, 1, tzinfo=UTC),
                                                 dt.datetime(2024, 3, 2, tzinfo=UTC))
    assert cfg.reference_window(cfg.window_at()) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"objectivs": []}, "objectivs: unknown key. Did you mean 'objectives'?"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "minn": 1}]},
         "objectives[0].minn: unknown key. Did you mean 'min'?"),
        ({"reference": {"trailling": "7d"}}, "reference.trailling: unknown key. Did you mean"),
        ({"data": 3}, "data must be a file path, a glob"),
        ({"random_state": 1.5}, "random_state must be an integer"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "min": "ten"}]},
         "objectives[0].min must be a number; got str 'ten'"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "min": True}]},
         "objectives[0].min must be a number"),
        ({"objectives": {"name": "a"}}, "objectives must be a list"),
        ({"checks": "drift"}, "checks must be a list"),
        ({"timestamp": None}, "timestamp: this key is required"),
        ({"data": "missing-*.csv"}, "data: the glob matches no file: "),
        ({"data": "nope.csv"}, "data: the file does not exist: "),
        ({"reference": {"path": "gone.parquet"}}, "reference.path: the file does not exist"),
        ({"model": "model.joblib"}, "model: the file"),
        ({"objectives": [{"name": "a", "measure": "quality.auc", "max": 1.5}]},
         "objectives[0].max = 1.5 is out of range: quality.auc"),
        ({"objectives": [{"name": "a", "measure": "missing.x.null_rate", "max": -0.1}]},
         "objectives[0].max = -0.1 is out of range"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "min": -1}]},
         "out of range: volume.rows"),
        ({"objectives": [{"name": "a", "measure": "quality.acu", "min": 0.5}]},
         "objectives[0].measure: unknown measure 'quality.acu'. Did you mean 'quality.auc'"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "min": 5, "max": 1}]},
         "min (5) is above max (1)"),
        ({"objectives": [{"name": "a", "measure": "volume.rows"}]}, "give a threshold"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "min": 1, "severity": "high"}]},
         "objectives[0].severity must be one of info, warning, critical"),
        ({"objectives": [{"name": "a", "measure": "volume.rows", "min": 1}] * 2},
         "names must be unique"),
        ({"objectives": [{"name": "a", "measure": "drift.max_effect", "max": 0.2}]},
         "comes from the 'drift' check, which this audit does not run"),
        ({"target": None}, "needs labels; set 'target: <column>'"),
        ({"objectives": [{"name": "a", "measure": "findings.critical_count", "max": 0}]},
         "counts the findings of the checks, and this audit runs none"),
        ({"checks": ["drfit"]}, "checks[0]: unknown check 'drfit'"),
        ({"checks": ["attribution"]}, "'attribution' needs a model"),
        ({"window": "last week"}, "window must be a positive duration"),
        ({"window": "tomorrow"}, "window must be 'yesterday'"),
        ({"window": {"start": "2024-03-02", "end": "2024-03-01"}}, "must be after start"),
        ({"window": {"start": "March 1st", "end": "2024-03-01"}}, "window.start must be an ISO"),
        ({"reference": {"trailing": "7d", "path": "ref.parquet"}}, "exactly one of 'path'"),
        ({"reference": {"trailing": "0d"}}, "reference.trailing must be a positive duration"),
        ({"name": "my audit"}, "name must use letters, digits"),
        ({"objectives": [{"name": "a", "measure": "segment.channel == .auc", "min": 0.5}]},
         "The segment 'channel == ' cannot be read: the text ends"),
    ],
)
def test_bad_configs_name_the_key_and_the_fix(folder: Path, change: dict, expected: str) -> None:
    raw = base()
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None or k != "target"}
    with pytest.raises(ConfigError) as info:
        parse(raw, folder)
    assert expected in str(info.value)


def test_not_a_mapping_and_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the config must be a mapping"):
        parse_config(["a"], base_dir=tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("spec", "now", "start", "end"),
    [
        ("yesterday", "2024-03-11T02:30:00", "2024-03-10T00:00", "2024-03-11T00:00"),
        ("yesterday", "2024-03-11T23:59:59+00:00", "2024-03-10T00:00", "2024-03-11T00:00"),
        ("yesterday", "2024-03-11T01:00:00+02:00", "2024-03-09T00:00", "2024-03-10T00:00"),
        ("today", "2024-03-11T05:00:00", "2024-03-11T00:00", "2024-03-11T05:00"),
        ("last month", "2024-03-01T00:30", "2024-02-01T00:00", "2024-03-01T00:00"),
        ("last month", "2024-01-31T23:00", "2023-12-01T00:00", "2024-01-01T00:00"),
        (("last", dt.timedelta(days=7)), "2024-03-11T05:00", "2024-03-04", "2024-03-11"),
        (("last", dt.timedelta(hours=6)), "2024-03-11T05:40", "2024-03-10T23:00",
         "2024-03-11T05:00"),
    ],
)
def test_relative_windows_end_on_a_boundary(spec, now, start, end) -> None:
    from toolkit._audit_config import parse_now

    window = resolve_window(spec, now=parse_now(now))
    assert window.start == dt.datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert window.end == dt.datetime.fromisoformat(end).replace(tzinfo=UTC)


def test_trailing_reference_ends_where_the_window_starts(folder: Path) -> None:
    cfg = parse(base() | {"reference": {"trailing": "2w"}}, folder)
    window = cfg.window_at("2024-03-20T03:00")
    ref = cfg.reference_window(window)
    assert ref.end == window.start
    assert ref.start == window.start - dt.timedelta(days=14)


@pytest.mark.parametrize(
    ("name", "pattern", "arg"),
    [
        ("volume.rows", "volume.rows", None),
        ("missing.amount.null_rate", "missing.{column}.null_rate", "amount"),
        ("missing.a.b.null_rate", "missing.{column}.null_rate", "a.b"),
        ("missing.max_null_rate", "missing.max_null_rate", None),
        ("segment.amount > 1.5.auc", "segment.{segment}.auc", "amount > 1.5"),
        ("segment.channel == 'app'.rows", "segment.{segment}.rows", "channel == 'app'"),
        ("drift.feature.amount.effect", "drift.feature.{column}.effect", "amount"),
        ("findings.check.scale.unit_change.count", "findings.check.{check}.count",
         "scale.unit_change"),
    ],
)
def test_measure_names_parse_even_with_dots(name: str, pattern: str, arg) -> None:
    measure, found = find_measure(name)
    assert measure.pattern == pattern
    assert found == arg


def test_registry_is_consistent() -> None:
    from toolkit._audit_measures import KEY_MEASURES
    from toolkit.findings import LAYERS

    for pattern, measure in MEASURES.items():
        assert measure.pattern == pattern
        assert measure.layer in LAYERS
        assert measure.low <= measure.high
        assert pattern.count("{") <= 1
    assert set(KEY_MEASURES) <= set(MEASURES)


def test_the_commented_example_is_a_valid_config(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "audit.yaml"
    raw = yaml.safe_load(example.read_text())
    (tmp_path / "p.parquet").write_bytes(b"")
    raw["data"] = ["p.parquet"]  # the example's data does not ship; everything else must parse
    cfg = parse_config(raw, base_dir=tmp_path)
    assert cfg.model == "models:/fraud/Production"
    assert len(cfg.objectives) == 8


def test_docs_list_every_measure() -> None:
    docs = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert [p for p in MEASURES if f"`{p}`" not in docs] == []
