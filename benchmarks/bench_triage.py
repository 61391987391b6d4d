"""Triage of 50,000 + 50,000 rows with a model and labels, report included.

    python benchmarks/bench_triage.py [--rows 50000] [--runs 3]

The data is the demo incident at the given size (a scikit-learn Pipeline with
gradient boosting; labels; logged scores; a unit change from a date). Only the
`steward triage ... --report` command is timed, in a fresh process each run; building
the data and training the model are not. Target: under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from toolkit import demo

    with tempfile.TemporaryDirectory() as d:
        params = demo.write_incident(Path(d) / "inputs", demo.make_incident(n_rows=args.rows))
        walls, peaks = [], []
        for _ in range(args.runs):
            cmd = [sys.executable, "-m", "toolkit", "triage", "--reference", params["reference"],
                   "--current", params["current"], "--model", params["model"], "--target",
                   params["target"], "--prediction", params["prediction"], "--timestamp",
                   params["timestamp"], "--complaint", params["complaint"], "--json",
                   str(Path(d) / "out.json"), "--report", "--reports-dir", str(Path(d) / "reports")]
            code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                    f"subprocess.run({cmd!r}, check=True, stdout=subprocess.DEVNULL); "
                    "print(time.perf_counter() - t, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
            wall, peak = map(float, out.stdout.split())
            walls.append(wall)
            peaks.append(peak)
            top = json.loads((Path(d) / "out.json").read_text())["findings"][0]
            print(f"run: {wall:.1f} s, peak {peak:.0f} MiB; "
                  f"top finding {top['check']} on {top['features']}", flush=True)
    print(f"rows per window: {args.rows}; cores: {os.cpu_count()}; load before: {os.getloadavg()[0]:.1f}")
    print(f"steward triage --report wall (s): median {statistics.median(walls):.1f} "
          f"(min {min(walls):.1f}, max {max(walls):.1f}, n={len(walls)})")
    print(f"peak RSS of the largest process (MiB): median {statistics.median(peaks):.0f}")
    print(f"measured at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    main()
