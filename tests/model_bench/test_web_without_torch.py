"""The web processes and the main workers run from an image without torch (the Dockerfile's
WITH_ML=0): starting Django, loading every URL and the modules that queue jobs and score
submissions must not import it. Only the benchmark worker's trainers do."""

import subprocess
import sys

from django.conf import settings

CODE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # every view module
import model_bench.services.jobs, model_bench.services.evaluation, model_bench.services.predictions
import model_bench.management.commands.score_predictions, model_bench.tasks
import model_bench.services.submissions, model_bench.services.masks
import model_bench.services.onnx_models
import model_bench.management.commands.load_demo_benchmarks  # load_demo runs it on the web image
heavy = sorted(n for n in ("torch", "onnxruntime", "onnx", "lightgbm") if n in sys.modules)
print(",".join(heavy))
"""


def test_django_and_the_web_modules_start_without_torch():
    command = [sys.executable, "-c", CODE]
    done = subprocess.run(  # noqa: S603 (our own code, our interpreter)
        command, capture_output=True, text=True, cwd=settings.BASE_DIR, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1:] in ([""], []), done.stdout
