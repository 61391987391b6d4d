"""Evidently's DataDriftPreset on the quiet pairs of the real-data benchmark (issue 14).

    python benchmarks/bench_real_evidently.py [--split tune|holdout|all] [--out PATH]
        [--python /tmp/evenv/bin/python]

For comparison with Steward's quiet-pair figures: how many columns a widely used drift
tool flags on the same pairs of consecutive real windows where nothing was injected.
Evidently runs in its own virtual environment (it needs pandas < 3)::

    python -m venv /tmp/evenv
    /tmp/evenv/bin/pip install 'evidently==0.7.*' 'pandas<3' pyarrow

This script runs twice. With the project's Python it builds the quiet pairs exactly as
``bench_real_incidents.py`` does (same windows, same logged ``prediction`` column), writes
them as Parquet to a temporary folder, and calls itself with ``--worker DIR`` under the
Evidently interpreter, which runs ``Report([DataDriftPreset()])`` with its defaults on
every column but the timestamp (features, target and prediction) and writes one result
per pair. A column counts as flagged when its drift test says so at Evidently's default
threshold (p-value below it, or distance at or above it); the preset's dataset drift is
"half the columns or more flagged".
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_worker(folder: Path) -> None:
    """Under the Evidently interpreter: one report per pair in ``folder``."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    manifest = json.loads((folder / "manifest.json").read_text())
    results = []
    for item in manifest:
        ref = pd.read_parquet(folder / item["reference"]).drop(columns=[item["time"]])
        cur = pd.read_parquet(folder / item["current"]).drop(columns=[item["time"]])
        started = time.perf_counter()
        snap = Report([DataDriftPreset()]).run(cur, ref)
        flagged, tested = [], []
        for m in snap.dict()["metrics"]:
            cfg = m["config"]
            if not cfg["type"].endswith("ValueDrift"):
                continue
            tested.append(cfg["column"])
            value, threshold = float(m["value"]), float(cfg["threshold"])
            drifted = value < threshold if "p_value" in cfg["method"] else value >= threshold
            if drifted:
                flagged.append(cfg["column"])
        results.append({**item, "tested": tested, "flagged": flagged,
                        "seconds": round(time.perf_counter() - started, 3)})
    (folder / "results.json").write_text(json.dumps(results, indent=1))


def write_pairs(split: str, folder: Path) -> list[dict[str, Any]]:
    """With the project's Python: the quiet pairs as Parquet files, and a manifest."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_real_incidents as bench

    manifest = []
    for k, case in enumerate(c for c in bench.build_cases(split) if not c.is_fault):
        ref, cur, _ = bench.case_data(case)
        spec = bench.real_data.DATASETS[case.dataset]
        ref.to_parquet(folder / f"{k}_ref.parquet")
        cur.to_parquet(folder / f"{k}_cur.parquet")
        manifest.append({"id": case.id, "dataset": case.dataset, "split": case.split,
                         "time": spec.time, "target": spec.target, "prediction": bench.PRED,
                         "reference": f"{k}_ref.parquet", "current": f"{k}_cur.parquet",
                         "rows": [len(ref), len(cur)]})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def table(results: list[dict[str, Any]]) -> str:
    head = ("| dataset | split | quiet pairs | columns tested | columns flagged per pair (mean) "
            "| features flagged per pair (mean) | pairs with any column flagged "
            "| pairs with dataset drift (>= half) | seconds |\n|---|---|---|---|---|---|---|---|---|")
    groups = collections.defaultdict(list)
    for r in results:
        groups[r["dataset"]].append(r)
    lines = [head]
    for name, rs in [*groups.items(), ("**total**", results)]:
        n = len(rs)
        split = "/".join(sorted({r["split"] for r in rs}))
        tested = sorted({len(r["tested"]) for r in rs})
        flagged = sum(len(r["flagged"]) for r in rs) / n
        feats = sum(len(set(r["flagged"]) - {r["target"], r["prediction"]}) for r in rs) / n
        anyf = sum(bool(r["flagged"]) for r in rs)
        drift = sum(len(r["flagged"]) >= 0.5 * len(r["tested"]) for r in rs)
        lines.append(f"| {name} | {split} | {n} | {'-'.join(map(str, tested[::max(1, len(tested) - 1)]))} "
                     f"| {flagged:.1f} | {feats:.1f} | {anyf}/{n} ({100 * anyf / n:.0f}%) "
                     f"| {drift}/{n} ({100 * drift / n:.0f}%) "
                     f"| {sum(r['seconds'] for r in rs):.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["tune", "holdout", "all"], default="all")
    ap.add_argument("--out", help="write the per-pair results as JSON here")
    ap.add_argument("--python", default="/tmp/evenv/bin/python",
                    help="the interpreter of the Evidently virtual environment")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(Path(args.worker))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        write_pairs(args.split, folder)
        subprocess.run([args.python, __file__, "--worker", str(folder)], check=True)
        results = json.loads((folder / "results.json").read_text())
    wall = time.perf_counter() - started
    version = subprocess.run([args.python, "-c", "import evidently; print(evidently.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    print(f"Evidently {version} DataDriftPreset (defaults) on {len(results)} quiet pairs; "
          f"wall {wall:.0f} s\n")
    print(table(results))
    count = collections.Counter(f"{r['dataset']}.{c}" for r in results for c in r["flagged"])
    print("\nmost flagged columns (pairs): "
          + ", ".join(f"{k} {v}" for k, v in count.most_common(12)))
    if args.out:
        Path(args.out).write_text(json.dumps({"evidently": version, "wall_seconds": round(wall, 1),
                                              "table": table(results), "records": results},
                                             indent=1))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
