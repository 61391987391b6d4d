"""Shared fixtures: seeds, the demo incident (built once), and small data folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository, or ``$STEWARD_SHARED_DATA``."""
    env = os.environ.get("STEWARD_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test's randomness is reproducible."""
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def demo_incident():
    """The demo incident at a small size, built once per session."""
    from toolkit import demo

    return demo.make_incident(n_rows=6_000, random_state=0)


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory, demo_incident):
    """The demo incident written to files: the investigate template's parameters."""
    from toolkit import demo

    return demo.write_incident(tmp_path_factory.mktemp("demo"), demo_incident)
