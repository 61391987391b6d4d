"""``steward demo``: generate the demo incident and write its investigation report."""

from __future__ import annotations

import argparse

from toolkit.commands.run import add_report_arguments, print_run

HELP = "generate the demo incident and write its investigation report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000, help="rows in each window (default: 20000)")
    parser.add_argument("--random-state", type=int, default=0, help="seed of the demo data")
    add_report_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from toolkit import demo
    from toolkit.runner import new_run_dir, raise_for_status, run_template

    if args.rows < 2_000:
        from toolkit._exceptions import ParameterError

        raise ParameterError(f"--rows must be at least 2000 so the demo's windows are "
                             f"realistic; got {args.rows}.")
    run_dir = new_run_dir(args.reports_dir, "investigate")
    print(f"Generating the demo incident in {run_dir / 'inputs'} ...", flush=True)
    incident = demo.make_incident(n_rows=args.rows, random_state=args.random_state)
    params = demo.write_incident(run_dir / "inputs", incident)
    print("Running the investigation template with papermill ...", flush=True)
    result = run_template("investigate", params, run_dir=run_dir, show_inputs=args.show_inputs)
    print_run(result)
    raise_for_status(result)
    return 0
