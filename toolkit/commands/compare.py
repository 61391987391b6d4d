"""``steward compare``: two model versions on the same data, as ranked findings.

``steward compare --model-a A --model-b B --data PATH [--target COL] [--threshold T]
--json OUT.json [--report]``. A is the earlier version, B the later; each is a joblib or
pickle file (loading one runs code from it: name only files you trust) or an MLflow
URI such as ``models:/fraud/3`` or ``models:/fraud@champion``.
"""

from __future__ import annotations

import argparse

HELP = "compare two model versions on the same data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from toolkit.commands.run import add_report_arguments

    parser.add_argument("--model-a", required=True, help="the earlier version: file or MLflow URI")
    parser.add_argument("--model-b", required=True, help="the later version: file or MLflow URI")
    parser.add_argument("--data", required=True, help="rows to score with both (CSV or Parquet)")
    parser.add_argument("--target", default=None, help="label column; enables metrics and segments")
    parser.add_argument("--threshold", type=float, default=None, help="operating threshold")
    parser.add_argument("--json", required=True, help="where to write the ranked findings")
    parser.add_argument(
        "--report", action="store_true", help="also run templates/version_comparison.ipynb"
    )
    parser.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    add_report_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from toolkit.commands.run import check_output_file, write_output
    from toolkit.findings import to_json
    from toolkit.io import read_table
    from toolkit.versions import compare_versions

    out = check_output_file(args.json, option="--json",
                            inputs=(args.data, args.model_a, args.model_b))
    if args.report:
        from toolkit.runner import check_reports_dir

        check_reports_dir(args.reports_dir)
    data = read_table(args.data, name="data (--data)")
    result = compare_versions(
        data,
        model_a=args.model_a,
        model_b=args.model_b,
        target=args.target,
        threshold=args.threshold,
        random_state=args.random_state,
    )
    write_output(out, to_json(result.findings), option="--json")
    for f in result.findings[:5]:
        print(f"{f.rank}. [{f.severity}] {f.summary}")
    print(f"findings: {out} ({len(result.findings)} findings)")
    if args.report:
        from toolkit.commands.run import print_run
        from toolkit.io import save_result
        from toolkit.runner import new_run_dir, raise_for_status, run_template

        params = {"current": args.data, "model": args.model_b, "previous_model": args.model_a}
        if args.target:
            params["target"] = args.target
        if args.threshold is not None:
            params["threshold"] = args.threshold
        # The report shows what this run computed; it does not compare again.
        run_dir = new_run_dir(args.reports_dir, "version_comparison")
        params["comparison"] = str(save_result(result, run_dir / "inputs" / "comparison.pkl"))
        report = run_template("version_comparison", params, run_dir=run_dir,
                              show_inputs=args.show_inputs)
        print_run(report)
        raise_for_status(report)
    return 0
