"""The signature library ships with the package and names every taxonomy cause."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.catalogue import load_causes

ROOT = Path(__file__).resolve().parents[2]
TAXONOMY = ROOT.parent / "shared" / "taxonomy.yaml"


def test_catalogue_loads_with_dimensions_and_titles() -> None:
    causes = load_causes()
    assert len(causes) >= 37
    for cause_id, cause in causes.items():
        assert cause_id.split(".")[0] == cause["dimension"]
        assert cause["title"]


@pytest.mark.corpus
def test_every_taxonomy_id_is_in_the_catalogue() -> None:
    if not TAXONOMY.exists():
        pytest.skip("../shared/taxonomy.yaml absent")
    # Read ids by line: the shared file is not strictly valid YAML.
    ids = re.findall(r"^  ([a-z_]+\.[a-z_]+):\s*$", TAXONOMY.read_text(encoding="utf-8"), re.M)
    assert ids
    assert set(ids) <= set(load_causes())


@pytest.mark.slow
def test_non_editable_install_ships_the_signatures(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(target), str(ROOT)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    assert (target / "signatures" / "causes.yaml").is_file()
    probe = "from analyzer.catalogue import load_causes; import analyzer; print(len(load_causes()), analyzer.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    count, location = result.stdout.split()
    assert int(count) >= 37
    assert location.startswith(str(target))
