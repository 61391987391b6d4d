"""Run a Steward audit every night from Airflow (2.4+).

Copy this file into your DAGs folder and adjust the paths. The task runs
``steward audit`` with ``--now`` set to the end of the DAG run's data interval, so a
backfill or a retry audits that run's window; an audit already done for the window is
not repeated. Exit 1 (an objective breached) and 2 (the audit could not run) both
fail the task, so Airflow's retries and alerts apply; the report is in the newest
folder of ``<reports_dir>/audit/`` either way.
"""

from __future__ import annotations

import datetime as dt

from airflow import DAG
from airflow.operators.bash import BashOperator

STEWARD = "/opt/steward/venv/bin/steward"
REPORTS = "/srv/steward/reports"
AUDITS = {"fraud": "/srv/steward/audits/fraud.yaml", "churn": "/srv/steward/audits/churn.yaml"}

with DAG(
    dag_id="steward_audits",
    schedule="15 2 * * *",  # 02:15 UTC: yesterday's data has landed
    start_date=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    catchup=False,
    default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=20)},
    tags=["steward", "monitoring"],
) as dag:
    for name, config in AUDITS.items():
        # Audits of different configs run in parallel safely: their run folders are
        # unique and the shared history.sqlite is written in short WAL transactions.
        BashOperator(
            task_id=f"audit_{name}",
            bash_command=(
                f"{STEWARD} audit {config} --reports-dir {REPORTS} "
                "--now {{ data_interval_end.isoformat() }}"
            ),
        )

# The alternative: papermill's operator runs the template itself. It writes the report
# but does not gate on objectives, write objectives.json or record the history, so it
# suits ad-hoc reports better than scheduled audits.
#
# from airflow.providers.papermill.operators.papermill import PapermillOperator
# PapermillOperator(
#     task_id="audit_fraud_report",
#     input_nb="/opt/steward/venv/share/mlsteward/templates/audit.ipynb",
#     output_nb=REPORTS + "/papermill/fraud-{{ ds }}.ipynb",
#     parameters={"config": AUDITS["fraud"], "now": "{{ data_interval_end.isoformat() }}",
#                 "history": REPORTS + "/audit/history.sqlite"},
# )
