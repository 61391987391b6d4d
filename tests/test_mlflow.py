"""MLflow Model Registry round trip: a real registry on SQLite in a temporary folder.

Two versions of one registered model (the second broken on one segment), an alias on
the second; Steward compares them by URI, from Python and from the command line. No
mocks of MLflow.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow")

pytestmark = [
    pytest.mark.slow,
    # mlflow 3's SQLAlchemy store and schema helpers warn about their own dependencies.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow"),
    pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow"),
]

NAME = "steward-fraud"


def make_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "x3": rng.normal(size=n),
            "group": rng.integers(0, 4, n),
        }
    )
    logit = 1.2 * df.x1 - 0.8 * df.x2 + 0.5 * df.x3
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Two registered versions and the alias ``champion`` on version 2."""
    from mlflow import MlflowClient
    from sklearn.tree import DecisionTreeClassifier

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    features = ["x1", "x2", "x3", "group"]
    train = make_data(4_000, 0)
    broken = train.copy()
    seg = broken["group"] == 2
    broken.loc[seg, "y"] = 1 - broken.loc[seg, "y"]  # version 2 learnt inverted labels there
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_REGISTRY_URI", uri)
        exp = mlflow.create_experiment("steward", artifact_location=(root / "artifacts").as_uri())
        models = []
        for df in (train, broken):
            model = DecisionTreeClassifier(max_depth=6, min_samples_leaf=40, random_state=0)
            model.fit(df[features], df["y"])
            with mlflow.start_run(experiment_id=exp):
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name=NAME,
                    pip_requirements=["scikit-learn"],
                    # this test wrote the trees itself; mlflow's skops format asks to say so
                    skops_trusted_types=["sklearn.tree._tree.Tree"],
                )
            models.append(model)
        MlflowClient().set_registered_model_alias(NAME, "champion", "2")
        yield {"uri": uri, "models": models, "data": make_data(3_000, 2)}


@pytest.fixture
def tracking(registry, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry["uri"])
    return registry


def test_load_by_version_and_alias(tracking):
    from toolkit.io import load_model

    data = tracking["data"][["x1", "x2", "x3", "group"]]
    for uri, original in (
        (f"models:/{NAME}/1", tracking["models"][0]),
        (f"models:/{NAME}@champion", tracking["models"][1]),
    ):
        model, info = load_model(uri)
        assert info.source == uri
        np.testing.assert_allclose(model.predict_proba(data), original.predict_proba(data))


def test_compare_registered_versions_by_uri(tracking):
    from toolkit.versions import compare_versions

    result = compare_versions(
        tracking["data"],
        model_a=f"models:/{NAME}/1",
        model_b=f"models:/{NAME}@champion",
        target="y",
    )
    first = result.findings[0]
    assert first.check == "versions.segment_regression"
    assert first.segment == "group == 2"


def test_cli_compares_uris_and_rejects_unknown_versions(tracking, tmp_path, capsys):
    from toolkit.cli import main

    tracking["data"].to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "out.json"
    base = ["compare", "--data", str(tmp_path / "data.csv"), "--target", "y", "--json", str(out)]
    assert main([*base, "--model-a", f"models:/{NAME}/1", "--model-b", f"models:/{NAME}/2"]) == 0
    assert json.loads(out.read_text())["findings"][0]["segment"] == "group == 2"
    code = main([*base, "--model-a", f"models:/{NAME}/1", "--model-b", f"models:/{NAME}/9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "models:/steward-fraud/9" in err
    assert "MLFLOW_TRACKING_URI" in err


def test_a_registry_that_does_not_exist_fails_at_once_and_creates_nothing(
    tmp_path, monkeypatch
):
    # A held-out tester: with no MLFLOW_TRACKING_URI, in a read-only folder, mlflow
    # retried creating ./mlflow.db for minutes; in a writable one it left an empty
    # database behind. Neither can hold the model.
    from toolkit import ModelError
    from toolkit.io import load_model

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    for uri in (f"models:/{NAME}/1", "runs:/0123456789abcdef/model"):
        with pytest.raises(ModelError, match="does not exist") as caught:
            load_model(uri)
        assert "MLFLOW_TRACKING_URI" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
