"""The dependency rule (docs/architecture.md) is checked by import-linter's contracts in
pyproject.toml: these tests run them on the project, and on a copy with one upward import or one
import cycle added, which must break them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "portal", "access_requests", "model_bench", "curation", "imagebank")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own venv's tool on our own files
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy_of_the_project(tmp_path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "*.json", "*.js", "*.css"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_project_keeps_its_import_contracts():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_from_the_core_breaks_the_layers(copy_of_the_project):
    (copy_of_the_project / "imagebank" / "upward.py").write_text("import portal.views  # noqa\n")
    result = _lint(copy_of_the_project)
    assert result.returncode != 0
    assert "imagebank.upward -> portal.views" in result.stdout


def test_access_requests_and_model_bench_stay_independent(copy_of_the_project):
    (copy_of_the_project / "model_bench" / "sideways.py").write_text(
        "import access_requests.roles  # noqa\n"
    )
    result = _lint(copy_of_the_project)
    assert result.returncode != 0
    assert "model_bench.sideways -> access_requests.roles" in result.stdout


def test_a_cycle_between_modules_of_an_app_breaks_the_acyclic_contract(copy_of_the_project):
    core = copy_of_the_project / "imagebank"
    (core / "storage.py").write_text(
        (core / "storage.py").read_text() + "\nimport imagebank.tasks\n"
    )
    result = _lint(copy_of_the_project)
    assert result.returncode != 0
    assert "No import cycles between the modules of an app BROKEN" in result.stdout
