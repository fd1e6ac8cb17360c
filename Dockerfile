# Image for the web, worker and beat services of docker-compose.yml (see docs/deployment.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DATA_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# The dependencies get their own layer, rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"

# The benchmark worker's image (docker-compose's worker-benchmark builds with WITH_ML=1) also
# gets the reference models' dependencies (the `ml` extra): torch from PyTorch's CPU index, since
# PyPI's build of the same version pulls gigabytes of CUDA libraries. A GPU worker installs a CUDA
# build of torch==2.13.0 instead (docs/benchmarks.md).
ARG WITH_ML=0
RUN if [ "$WITH_ML" = "1" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
        && python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['ml']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"; \
    fi

# The project itself. The source stays in /app (PYTHONPATH) because settings find templates,
# static files and translations next to the packages.
COPY . .
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && DEBUG=0 SECRET_KEY=collectstatic-only PSEUDONYM_KEY=collectstatic-only \
        python manage.py collectstatic --noinput \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app \
    && mkdir -p /app/var \
    && chown app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind=0.0.0.0:8000", "--access-logfile=-"]
