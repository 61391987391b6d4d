"""``steward audit CONFIG.yaml``: one scheduled audit, gated on its objectives.

Exit codes: 0 every objective met, 1 an objective breached (named on stdout), 2 the
audit could not run (bad config, unreadable input), 3 the environment failed (the
reports folder missing, read-only or full, the history locked or damaged; checked
before any kernel starts), 130 or 143 interrupted by SIGINT or SIGTERM (the history
row and the manifest say ``interrupted``). A run that started keeps its folder either
way. A second run of the same config and window does nothing and prints the earlier
run folder, unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys

HELP = "run a scheduled audit from a YAML config and gate on its objectives"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="the audit config (YAML), see examples/audit.yaml")
    parser.add_argument("--reports-dir", default="reports",
                        help="where run folders and audit/history.sqlite go (default: ./reports)")
    parser.add_argument("--force", action="store_true",
                        help="run again even if this config and window were audited already")
    parser.add_argument("--now", default=None, metavar="ISO",
                        help="pretend the audit runs at this UTC time (e.g. 2024-03-11T02:00); "
                             "it decides the window")


def run(args: argparse.Namespace) -> int:
    from toolkit.audit import run_audit

    result = run_audit(args.config, reports_dir=args.reports_dir, force=args.force, now=args.now)
    for line in result.lines():
        print(line)
    if result.status == "failed":
        print(f"steward: error: the audit could not run: {result.error} The partial report is "
              f"in {result.run_dir}.", file=sys.stderr)
    return result.exit_code
