"""``steward history``: past audit runs, newest first, with their status."""

from __future__ import annotations

import argparse
import json

HELP = "list past audit runs and their status"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reports-dir", default="reports",
                        help="the folder audits write to (default: ./reports)")
    parser.add_argument("--config", default=None, metavar="NAME",
                        help="only the runs of the audit with this name")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="show at most N runs (default: 20; 0 for all)")
    parser.add_argument("--json", action="store_true",
                        help="print the runs as JSON, with their objective results and measures")


def _table(runs: list[dict]) -> list[str]:
    header = ("id", "config", "window start", "window end", "status", "breached", "run folder")
    rows = [(str(r["id"]), r["config"], r["window_start"], r["window_end"], r["status"]
             + (" (forced)" if r["forced"] else ""), ", ".join(r["breached"]) or "-",
             r["run_dir"] or "-") for r in runs]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            for row in [header, *rows]]


def run(args: argparse.Namespace) -> int:
    from toolkit._exceptions import ParameterError
    from toolkit.audit import History, history_path

    if args.limit < 0:
        raise ParameterError(f"--limit must be 0 (all) or a positive number; got {args.limit}.")
    path = history_path(args.reports_dir)
    runs = History(path).runs(config=args.config, limit=args.limit or None)
    if args.json:
        store = History(path)
        for r in runs:
            r["objectives"] = store.objectives_of(r["id"])
            r["measures"] = store.measures_of(r["id"])
        print(json.dumps({"history": str(path), "runs": runs}, indent=2))
        return 0
    if not runs:
        where = f" of {args.config!r}" if args.config else ""
        print(f"No audit runs{where} in {path}. Run 'steward audit CONFIG.yaml' first.")
        return 0
    for line in _table(runs):
        print(line)
    return 0
