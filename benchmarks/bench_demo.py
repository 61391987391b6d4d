"""Wall time and peak memory of `steward demo`, and the time of `import toolkit`.

    python benchmarks/bench_demo.py [--runs 5]

Each run is a fresh process in a fresh folder; peak memory is the largest resident set
of the process tree (the CLI and the papermill kernel are measured separately, since
the kernel is a child). The goal for a newcomer: a finished report in under 30 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def machine() -> str:
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def summary(values: list[float]) -> str:
    import statistics

    return (f"median {statistics.median(values):.2f} (min {min(values):.2f}, "
            f"max {max(values):.2f}, n={len(values)})")


def one_demo() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        # GNU time reports the peak RSS of the largest process in the tree it waits for;
        # /usr/bin/time is not always installed, so wrap with python's resource module.
        code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                "subprocess.run([sys.executable, '-m', 'toolkit', 'demo'], check=True, "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
                "print(time.perf_counter() - t, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
        out = subprocess.run([sys.executable, "-c", code], cwd=d, check=True, capture_output=True, text=True)
        wall, peak = out.stdout.split()
        return float(wall), float(peak)


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import toolkit; print((time.perf_counter() - t) * 1000)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    imports = [import_time() for _ in range(10)]
    walls, peaks = [], []
    for i in range(args.runs):
        wall, peak = one_demo()
        walls.append(wall)
        peaks.append(peak)
        print(f"run {i + 1}: {wall:.1f} s, peak {peak:.0f} MiB", flush=True)
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    print(f"import toolkit (ms): {summary(imports)}")
    print(f"steward demo wall (s): {summary(walls)}")
    print(f"steward demo peak RSS of the largest process (MiB): {summary(peaks)}")
    print(f"measured at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    main()
