"""House rules for notebooks: no outputs committed, kernelspec kept, one parameters cell
per template, and template parameters exactly as the README documents them."""

import json
import re
from pathlib import Path

import papermill
import pytest

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((REPO / "templates").glob("*.ipynb"))
NOTEBOOKS = TEMPLATES + sorted((REPO / "notebooks").glob("*.ipynb")) + sorted(
    (REPO / "tests" / "notebooks").glob("*.ipynb"))


def documented_parameters() -> dict[str, list[str]]:
    """The README's table of templates and their parameters."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Templates and their parameters", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", section, flags=re.M)
    return {name: re.findall(r"`(\w+)`", params) for name, params in rows}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_with_kernelspec(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} has outputs committed"
            assert cell.get("execution_count") is None, f"{path.name} has execution counts"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_has_exactly_one_parameters_cell(path):
    nb = json.loads(path.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_parameters_are_documented(path):
    documented = documented_parameters()
    assert path.stem in documented, f"README's template table lacks {path.stem}"
    assert list(papermill.inspect_notebook(str(path))) == documented[path.stem]


def test_every_documented_template_exists():
    assert set(documented_parameters()) == {p.stem for p in TEMPLATES}
