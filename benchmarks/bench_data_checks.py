"""Benchmark: every data check plus drift on 1M + 1M rows, against the floor and Evidently.

Two windows of ROWS rows, 40 numeric and 10 categorical columns and an event-time
column (seeded), with planted trouble in the current window: a unit change (x100
from a date on), two mean shifts, a null spike, a new category and a stuck column.
Both are written to Parquet in ``benchmarks/_data/`` (gitignored). Then, each in its
own subprocess so that peak memories do not mix (the child reports its own
``ru_maxrss``):

- ``floor``: read both files with pyarrow into pandas, nothing else;
- ``checks``: the same read, then :func:`toolkit.drift.check_windows`: every data
  check, feature drift and the domain classifier, the call the data-checks template
  makes;
- ``evidently``: the same read, then ``Report([DataDriftPreset()])`` of Evidently 0.7,
  installed by this script into ``benchmarks/.venv-evidently`` (pandas < 3).

Wall and CPU (user + system, all threads) times are measured inside each child from
just before the read to the end, so interpreter start-up and imports are left out of
all three alike (they are printed separately; the checks child imports the scipy and
scikit-learn modules the checks would import lazily, as Evidently's import line
imports its stack). The floor and the checks alternate ``--repeat`` times and the
best of each is compared; Evidently runs once. On a shared machine, CPU time is the
steadier comparison; the load average is printed. Targets, as ratios of one run:
checks at least 10x faster than Evidently, at most 3x the floor's wall time, peak
memory at most 2x the floor's.

Run: ``python benchmarks/bench_data_checks.py [--rows 1000000] [--repeat 5]
[--skip-evidently]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
VENV = HERE / ".venv-evidently"
N_NUM, N_CAT = 40, 10


def make_window(n: int, seed: int, *, current: bool) -> object:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-29" if current else "2024-03-01")
    ts = start + pd.to_timedelta(np.sort(rng.uniform(0, 28 * 86400, n)), unit="s")
    cols: dict[str, object] = {"event_time": ts}
    for i in range(N_NUM):
        kind = i % 4
        if kind == 0:
            cols[f"x{i:02d}"] = rng.normal(10, 2, n)
        elif kind == 1:
            cols[f"x{i:02d}"] = np.round(rng.lognormal(3, 1, n), 2)
        elif kind == 2:
            cols[f"x{i:02d}"] = rng.gamma(2.0, 1.5, n)
        else:
            cols[f"x{i:02d}"] = rng.integers(0, 1000, n).astype("float64")
    for j in range(N_CAT):
        k = 3 + 3 * j
        p = np.arange(k, 0, -1, dtype=float)
        values = np.array([f"c{j}_v{v}" for v in range(k)])
        cols[f"c{j}"] = pd.Series(values[rng.choice(k, size=n, p=p / p.sum())], dtype="str")
    df = pd.DataFrame(cols)
    if current:
        late = (df["event_time"] >= pd.Timestamp("2024-04-15")).to_numpy()
        df.loc[late, "x01"] = df.loc[late, "x01"] * 100  # unit change from a date on
        df["x04"] = df["x04"] + 0.5  # mean shift of a quarter standard deviation
        df["x08"] = df["x08"] * 1.3 + 2  # a larger shift
        df.loc[rng.random(n) < 0.08, "x12"] = np.nan  # null spike
        df.loc[rng.random(n) < 0.03, "c2"] = "c2_new"  # an unseen category
        df.loc[late, "x05"] = 42.0  # stuck from the same date
    return df


def ensure_data(rows: int, seed: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    ref, cur = DATA / f"reference_{rows}.parquet", DATA / f"current_{rows}.parquet"
    if not (ref.exists() and cur.exists()):
        make_window(rows, seed, current=False).to_parquet(ref, index=False)
        make_window(rows, seed + 1, current=True).to_parquet(cur, index=False)
    return ref, cur


def ensure_evidently() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "evidently==0.7.*",
                        "pandas<3", "pyarrow"], check=True)
    return python


# Each child prints one JSON line: {"wall": seconds, "maxrss_mb": MB, ...}.
_READ = """
import resource, time, json, sys
import pyarrow.parquet as pq
t_import = time.perf_counter()
{imports}
t_import = time.perf_counter() - t_import
t0 = time.perf_counter()
cpu0 = time.process_time()
ref = pq.read_table(sys.argv[1]).to_pandas()
cur = pq.read_table(sys.argv[2]).to_pandas()
t_read = time.perf_counter() - t0
{work}
wall = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"wall": wall, "read": t_read, "imports": t_import, "extra": extra,
    "cpu": time.process_time() - cpu0, "maxrss_mb": usage.ru_maxrss / 1024}}))
"""

CHILDREN = {
    "floor": ("import pandas", "extra = {}"),
    "checks": (
        # The modules the checks import lazily are imported here, before the clock
        # starts, as Evidently's import line imports its whole stack.
        "import pandas, scipy.stats, sklearn.ensemble, sklearn.model_selection\n"
        "from toolkit import drift",
        """
result = drift.check_windows(ref, cur, timestamp="event_time", random_state=0)
extra = {"compute_s": round(time.perf_counter() - t0 - t_read, 3),
         "findings": sorted(f.check + ":" + ",".join(f.features) + ":" + f.severity
                            for f in result.findings if f.severity != "info")}
""",
    ),
    "evidently": (
        "from evidently import Report, Dataset, DataDefinition\n"
        "from evidently.presets import DataDriftPreset",
        """
num = [c for c in ref.columns if c.startswith("x")]
cat = [c for c in ref.columns if c.startswith("c")]
dd = DataDefinition(numerical_columns=num, categorical_columns=cat)
r = Dataset.from_pandas(ref.drop(columns="event_time"), data_definition=dd)
c = Dataset.from_pandas(cur.drop(columns="event_time"), data_definition=dd)
snapshot = Report([DataDriftPreset()]).run(c, r)
snapshot.dict()
extra = {}
""",
    ),
}


def measure(name: str, python: str, ref: Path, cur: Path) -> dict:
    imports, work = CHILDREN[name]
    code = _READ.format(imports=imports, work=work.strip())
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    start = time.perf_counter()
    out = subprocess.run([python, "-c", code, str(ref), str(cur)], capture_output=True,
                         text=True, env=env, cwd=HERE.parent)
    if out.returncode:
        raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - start
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5,
                    help="runs of the floor and of the checks; the best of each is kept "
                         "(reading 1.7 GB is bimodal on a shared VM: 0.55 s or 1.2 s)")
    ap.add_argument("--skip-evidently", action="store_true")
    args = ap.parse_args()
    ref, cur = ensure_data(args.rows, args.seed)
    names = ["floor", "checks"] + ([] if args.skip_evidently else ["evidently"])
    pythons = {"floor": sys.executable, "checks": sys.executable}
    if not args.skip_evidently:
        pythons["evidently"] = str(ensure_evidently())
    # The floor and the checks alternate, so that both meet the same state of the
    # machine (reading 1.7 GB is bimodal here: about 0.55 s or 1.2 s). Evidently takes
    # minutes on a million rows: it runs once, last.
    runs: dict[str, list[dict]] = {"floor": [], "checks": []}
    for _ in range(args.repeat):
        for name in ("floor", "checks"):
            runs[name].append(measure(name, pythons[name], ref, cur))
    if "evidently" in names:
        runs["evidently"] = [measure("evidently", pythons["evidently"], ref, cur)]
    results = {}
    for name in names:
        results[name] = min(runs[name], key=lambda r: r["wall"])
        r = results[name]
        walls = sorted(x["wall"] for x in runs[name])
        print(f"{name:10s} wall {r['wall']:7.2f} s (median {walls[len(walls) // 2]:.2f} of "
              f"{len(walls)})  cpu {r['cpu']:7.2f} s  read {r['read']:5.2f} s  peak "
              f"{r['maxrss_mb']:7.0f} MB  (imports {r['imports']:.2f} s)", flush=True)
    f, c = results["floor"], results["checks"]
    print(f"checks / floor: wall {c['wall'] / f['wall']:.2f}x, cpu {c['cpu'] / f['cpu']:.2f}x "
          f"(target <= 3), peak {c['maxrss_mb'] / f['maxrss_mb']:.2f}x (target <= 2)")
    if "evidently" in results:
        e = results["evidently"]
        print(f"evidently / checks: wall {e['wall'] / c['wall']:.1f}x, "
              f"cpu {e['cpu'] / c['cpu']:.1f}x (target >= 10)")
    print(f"load average at the end: {os.getloadavg()}")
    print("checks detail:", json.dumps(c["extra"], indent=1))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, rows {args.rows:,} per window")


if __name__ == "__main__":
    main()
