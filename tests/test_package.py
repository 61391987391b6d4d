"""The public face: what ``import toolkit`` offers, and that it stays light."""

import subprocess
import sys

import toolkit


def test_public_names_are_pinned():
    assert sorted(toolkit.__all__) == [
        "ConfigError", "Finding", "InputError", "ModelError", "ParameterError", "RunError",
        "RunInterrupted", "StewardError", "StorageError", "__version__", "from_json",
        "rank_findings", "to_json",
    ]


def test_errors_share_one_base_and_are_exceptions():
    for name in ("ConfigError", "InputError", "ModelError", "ParameterError", "RunError",
                 "RunInterrupted", "StorageError"):
        cls = getattr(toolkit, name)
        assert issubclass(cls, toolkit.StewardError)
        assert issubclass(cls, Exception)


def test_import_pulls_no_heavy_library():
    code = ("import sys, toolkit, toolkit.cli, toolkit.findings; "
            "heavy = {'pandas', 'numpy', 'sklearn', 'shap', 'matplotlib', 'papermill', 'scipy'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
