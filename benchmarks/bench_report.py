"""Size of the investigation report against its budget, for a demo of N rows per window.

    python benchmarks/bench_report.py --rows 1000000

Runs the demo's investigation (like ``steward demo --rows N``) and prints the wall time,
the size of report.html (with what the inline images weigh) and of the executed
notebook. The budget is BUDGET_BYTES: a report must stay small enough to mail and to
open instantly, whatever the number of rows, because it holds only aggregates.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

BUDGET_BYTES = 2_000_000


def measure(report: Path) -> dict[str, float]:
    """Bytes of the report, of its inline PNGs, and the number of images."""
    text = report.read_text(encoding="utf-8")
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    return {"report_bytes": len(text.encode("utf-8")), "images": len(images),
            "image_bytes": sum(len(i) for i in images)}


def _incident(rows: int, train_rows: int | None) -> object:
    """The demo incident with ``rows`` per window and a model trained on ``train_rows``."""
    import dataclasses

    import numpy as np

    from toolkit import demo

    if train_rows is None or train_rows == rows:
        return demo.make_incident(n_rows=rows)
    small = demo.make_incident(n_rows=train_rows)
    rng = np.random.default_rng(1)
    ref = demo._transactions(rows, *demo._REFERENCE, rng, season=0.4)
    cur = demo._transactions(rows, *demo._CURRENT, rng, season=0.7)
    hit = cur["event_time"] >= demo._INCIDENT_START  # the same fault as the demo's
    cur.loc[hit, "amount"] = np.round(cur.loc[hit, "amount"] * 100, 0)
    for frame in (ref, cur):
        frame["fraud_score"] = np.round(small.model.predict_proba(frame[demo.FEATURES])[:, 1], 6)
    return dataclasses.replace(small, reference=ref, current=cur)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--train-rows", type=int, default=None,
                        help="rows the model is trained on (default: --rows, as the demo does); "
                             "fewer keeps a 1M-row run affordable on 2 cores")
    parser.add_argument("--reports-dir", default=None)
    args = parser.parse_args()

    from toolkit import demo
    from toolkit.runner import new_run_dir, run_template

    out = Path(args.reports_dir or tempfile.mkdtemp(prefix="steward-bench-"))
    started = time.perf_counter()
    run_dir = new_run_dir(out, "investigate")
    params = demo.write_incident(run_dir / "inputs", _incident(args.rows, args.train_rows))
    generated = time.perf_counter()
    result = run_template("investigate", params, run_dir=run_dir)
    finished = time.perf_counter()
    sizes = measure(result.html)
    print(f"rows per window: {args.rows}; status: {result.status}")
    print(f"demo generation: {generated - started:.1f} s; "
          f"template run: {finished - generated:.1f} s")
    print(f"report.html: {sizes['report_bytes'] / 1e6:.2f} MB ({sizes['images']} images, "
          f"{sizes['image_bytes'] / 1e6:.2f} MB of them); budget {BUDGET_BYTES / 1e6:.1f} MB: "
          f"{'within' if sizes['report_bytes'] <= BUDGET_BYTES else 'OVER'}")
    size = result.notebook.stat().st_size / 1e6
    print(f"executed notebook: {size:.2f} MB; run folder: {run_dir}")


if __name__ == "__main__":
    main()
