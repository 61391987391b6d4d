"""``steward triage``: rank root-cause hypotheses for two windows of data.

Exit codes: 0 done, 1 the report's run failed, 2 bad input (one paragraph on stderr
naming the file, column or option, never a traceback), 3 the environment (the --json
folder or the reports folder missing, read-only or full), 130/143 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from toolkit.commands.run import add_report_arguments, check_output_file, print_run, write_output

HELP = "rank root-cause hypotheses for two windows of data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", required=True, help="reference window (CSV or Parquet)")
    parser.add_argument("--current", required=True, help="current window (CSV or Parquet)")
    parser.add_argument("--model", help="the deployed model (joblib/pickle file or MLflow URI)")
    parser.add_argument("--previous-model", help="the version before it")
    parser.add_argument("--target", help="label column")
    parser.add_argument("--prediction", help="logged score column")
    parser.add_argument("--timestamp", help="event-time column")
    parser.add_argument("--segment",
                        help="focus on a segment: a pandas expression, e.g. \"channel == 'app'\"")
    parser.add_argument("--complaint", help="the complaint, as written")
    parser.add_argument("--owners", help="YAML file mapping columns to upstream owners")
    parser.add_argument("--history", help="older rows of the same table (CSV or Parquet): "
                        "severities are judged against what pairs of past windows produce")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--json", required=True, metavar="OUT.json",
                        help="where to write the ranked findings")
    parser.add_argument("--report", action="store_true", help="also write a run folder with the HTML report")
    add_report_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from toolkit import triage
    from toolkit.findings import to_json

    out = check_output_file(args.json, option="--json", inputs=(
        args.reference, args.current, args.model, args.previous_model, args.owners,
        args.history))
    if args.report:
        from toolkit.runner import check_reports_dir

        check_reports_dir(args.reports_dir)
    options = {"target": args.target, "prediction": args.prediction, "timestamp": args.timestamp,
               "segment": args.segment, "complaint": args.complaint}
    inv = triage.investigate_files(args.reference, args.current, model=args.model,
                                   previous_model=args.previous_model, owners=args.owners,
                                   history=args.history, random_state=args.random_state,
                                   **options)
    write_output(out, to_json(inv.findings), option="--json")
    print(inv.verdict.headline)
    for f in inv.findings:
        if f.check == "triage.stage_failed":
            print(f"steward: warning: {f.summary}", file=sys.stderr)
    print(f"findings: {out} ({len(inv.findings)} findings)")
    if args.report:
        from toolkit.runner import new_run_dir, raise_for_status, run_template

        params = {k: v for k, v in dict(options, reference=args.reference, current=args.current,
                                         model=args.model, previous_model=args.previous_model,
                                         owners=args.owners, history=args.history).items() if v}
        params["random_state"] = args.random_state
        # The report shows what this run computed; it does not compute it again.
        run_dir = new_run_dir(args.reports_dir, "investigate")
        params["investigation"] = str(triage.save_investigation(
            inv, run_dir / "inputs" / "investigation.pkl"))
        result = run_template("investigate", params, run_dir=run_dir,
                              show_inputs=args.show_inputs)
        print_run(result)
        raise_for_status(result)
    return 0
