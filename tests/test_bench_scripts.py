"""Every bench script speaks one language: it ends by printing `RESULT {json}` through
bench/result.py, with its figures, its targets and whether each is met."""

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
# A script is what runs (`if __name__ == "__main__"`); result.py and the helpers beside it
# (scratch_postgres.py) are imported by the scripts.
SCRIPTS = sorted(path for path in BENCH.glob("*.py") if "__main__" in path.read_text())


def _result_module():
    spec = importlib.util.spec_from_file_location("bench_result", BENCH / "result.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_result_line_carries_figures_targets_and_verdicts():
    result = _result_module()
    line = result.result_line(
        {"decodes": 1.23456, "imports": {"sqlite": {"ratio": 0.7}}, "skipped": None},
        {
            "decodes": {"figure": "decodes", "max": 1.5},
            "ratio": {"figure": "imports.sqlite.ratio", "min": 0.8},
            "absent": {"figure": "skipped", "max": 1},
        },
    )
    assert line.startswith("RESULT {") and "\n" not in line
    body = json.loads(line.removeprefix("RESULT "))
    assert body["decodes"] == 1.235
    assert body["targets"]["decodes"] == {"figure": "decodes", "max": 1.5}
    assert body["met"] == {"decodes": True, "ratio": False, "absent": False}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_each_script_ends_with_print_result(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    imports = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "result"
        for alias in node.names
    }
    assert "print_result" in imports, f"{script.name} does not use bench/result.py"
    main = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "main"
    )
    last = main.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call), script.name
    assert getattr(last.value.func, "id", "") == "print_result", (
        f"{script.name}: main() must end with print_result(...)"
    )


def test_inference_times_every_reference_network_model():
    # The smallest run: the script still builds each model's path and bare pass and reports both,
    # so a change to a model's inference code that the bench no longer follows fails here.
    run = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(BENCH / "inference.py"), "--size", "32", "--images", "4",
         "--batch-size", "2", "--rounds", "1"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    body = json.loads(run.stdout.strip().splitlines()[-1].removeprefix("RESULT "))
    assert set(body["models"]) == {
        "repvgg", "vgg", "resnet", "densenet", "cnn-lgbm", "unetpp", "unetpp-repvgg-vote",
    }  # fmt: skip
    for figures in body["models"].values():
        assert figures["path_s"] > 0 and figures["bare_s"] > 0
    assert set(body["met"]) == {f"overhead_{name}" for name in body["models"]}
