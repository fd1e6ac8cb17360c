"""The near-duplicate index at scale: look-ups among 1,000,000 stored hashes, against an
exhaustive scan of the same table in the same run.

    .venv/bin/python bench/near_duplicates.py [--rows 1000000] [--lookups 1000] [--scans 20]
        [--radius 6] [--database-url postgres://postgres@127.0.0.1:5432/postgres | none]

For SQLite (a temporary file) and PostgreSQL (a temporary database on the server --database-url
names, dropped afterwards; skipped with the reason when none answers), each in a child process of
its own (Django reads its settings once per process):

- the project's schema is migrated, and --rows fingerprints are inserted with bulk SQL (COPY on
  PostgreSQL, one transaction on SQLite), with the foreign key to the images switched off for the
  insert (the rows name no
  real image: the look-up reads the fingerprint table only). Their bits follow the frequency of
  each pHash bit over the IARC JPEGs (the DC bit is always set, a few bits are skewed), 90% drawn
  independently and 10% in clusters of five a few bits apart (copies);
- --lookups look-ups through the project's own function (curation.fingerprints.near_ids) at the
  radius, half near a stored hash (0 to radius+2 bits away), half anywhere: median and p95 ms
  (target <= 10 ms);
- --scans of the same queries answered by an exhaustive scan of the table (PostgreSQL: in SQL,
  bit_count of the XOR on every row; SQLite, which cannot count bits in SQL: every row read and
  compared in Python): the ratio of the scan's median to the look-up's (target >= 50);
- every look-up's answer compared with a brute-force answer over the hashes in memory (numpy), and
  the scans' answers with the look-ups': `same_matches` is true only when all agree.

Ends with one line `RESULT {json}`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from result import print_result  # noqa: E402 - bench/result.py, beside this script
from scratch_postgres import TemporaryPostgres, postgres_unavailable  # noqa: E402

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
WORKER_MARK = "NEAR "
LOOKUP_TARGET_MS = 10.0
RATIO_TARGET = 50.0
# How often each bit of imagehash.phash is set over the 386 IARC JPEGs (bit 0 the least
# significant; bit 63, the DC term, is always set).
BIT_FREQUENCY = [
    0.52, 0.56, 0.54, 0.54, 0.54, 0.48, 0.52, 0.49, 0.48, 0.49, 0.5, 0.38, 0.49, 0.49, 0.49, 0.48,
    0.49, 0.52, 0.49, 0.48, 0.51, 0.48, 0.48, 0.52, 0.53, 0.47, 0.54, 0.38, 0.44, 0.75, 0.54, 0.26,
    0.46, 0.46, 0.52, 0.53, 0.55, 0.55, 0.53, 0.4, 0.53, 0.44, 0.52, 0.61, 0.48, 0.6, 0.54, 0.23,
    0.49, 0.53, 0.53, 0.44, 0.51, 0.33, 0.51, 0.4, 0.43, 0.59, 0.53, 0.52, 0.61, 0.26, 0.49, 1.0,
]  # fmt: skip
WEIGHTS = np.array([1 << b for b in range(64)], dtype=np.uint64)


def setup_django(data_dir: Path, database_url: str) -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    for name in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ["DATABASE_URL"] = database_url  # empty: SQLite in data_dir
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def random_hashes(rng: np.random.Generator, count: int) -> np.ndarray:
    bits = rng.random((count, 64)) < np.array(BIT_FREQUENCY)
    return (bits.astype(np.uint64) * WEIGHTS).sum(axis=1, dtype=np.uint64)


def flipped(rng: np.random.Generator, values: np.ndarray, most: int) -> np.ndarray:
    out = values.copy()
    for i in range(len(out)):
        for bit in rng.choice(64, size=rng.integers(0, most + 1), replace=False):
            out[i] ^= np.uint64(1) << np.uint64(bit)
    return out


def bank(rng: np.random.Generator, rows: int) -> np.ndarray:
    """`rows` hashes: 90% independent, 10% in clusters of five within a few bits (copies)."""
    centres = random_hashes(rng, rows // 50)
    clustered = np.repeat(centres, 5)
    for i in range(len(clustered)):
        if i % 5:
            for bit in rng.choice(64, size=rng.integers(1, 9), replace=False):
                clustered[i] ^= np.uint64(1) << np.uint64(bit)
    hashes = np.concatenate([random_hashes(rng, rows - len(clustered)), clustered])
    rng.shuffle(hashes)
    return hashes


def queries(rng: np.random.Generator, hashes: np.ndarray, count: int, radius: int) -> np.ndarray:
    near = flipped(rng, hashes[rng.integers(0, len(hashes), count // 2)], radius + 2)
    return np.concatenate([near, random_hashes(rng, count - len(near))])[rng.permutation(count)]


def brute_force(hashes: np.ndarray, ids: np.ndarray, query: int, radius: int) -> dict[int, int]:
    distances = np.bitwise_count(hashes ^ np.uint64(query))
    hits = np.nonzero(distances <= radius)[0]
    return {int(ids[i]): int(distances[i]) for i in hits}


def insert(hashes: np.ndarray) -> np.ndarray:
    """Bulk-insert the fingerprints (ids 1…n); their ids."""
    from django.db import connection

    from curation import fingerprints
    from curation.models import ImageFingerprint

    table = ImageFingerprint._meta.db_table
    columns = ["image_id", "algorithm", "phash", *fingerprints.CHUNK_FIELDS, "indexed_at"]
    now = "2026-01-01 00:00:00+00:00"

    def rows():
        for image_id, value in enumerate(hashes.tolist(), start=1):
            row = fingerprints.fingerprint_row(image_id, value)
            yield (image_id, row["algorithm"], row["phash"], *row_chunks(row), now)

    def row_chunks(row):
        return [row[field] for field in fingerprints.CHUNK_FIELDS]

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # no FK triggers
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute(f"VACUUM ANALYZE {table}")
    else:
        from django.db import transaction

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or ignored
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        with transaction.atomic(), connection.cursor() as cursor:
            batch = []
            for row in rows():
                batch.append(row)
                if len(batch) == 20000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("ANALYZE")
    return np.arange(1, len(hashes) + 1)


def exhaustive_scan(query: int, radius: int) -> dict[int, int]:
    """Every row of the table read and compared: in SQL where the engine counts bits
    (PostgreSQL), else in Python."""
    from django.db import connection

    from curation import fingerprints
    from curation.models import ImageFingerprint

    table = ImageFingerprint._meta.db_table
    signed = fingerprints.to_signed(query)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT image_id, d FROM (SELECT image_id, "
                f"bit_count((phash # %s)::bit(64)) AS d FROM {table}) s WHERE d <= %s",
                [signed, radius],
            )
            return {image_id: d for image_id, d in cursor.fetchall()}
        cursor.execute(f"SELECT image_id, phash FROM {table}")
        found = {}
        for image_id, stored in cursor.fetchall():
            d = ((stored ^ signed) & 0xFFFFFFFFFFFFFFFF).bit_count()
            if d <= radius:
                found[image_id] = d
        return found


def worker(database_url: str, rows: int, lookups: int, scans: int, radius: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-near-") as folder:
        setup_django(Path(folder) / "data", database_url)
        from django.core.management import call_command
        from django.db import connection

        from curation import fingerprints

        call_command("migrate", verbosity=0)
        rng = np.random.default_rng(20240305)
        hashes = bank(rng, rows)
        started = time.perf_counter()
        ids = insert(hashes)
        insert_seconds = time.perf_counter() - started
        asked = queries(rng, hashes, lookups, radius)

        for query in asked[:50].tolist():  # warm the caches and the connection
            fingerprints.near_ids(query, radius=radius)
        times, answers, candidates = [], [], []
        for query in asked.tolist():
            started = time.perf_counter()
            answer = fingerprints.near_ids(query, radius=radius)
            times.append(time.perf_counter() - started)
            answers.append(answer)
        for query in asked[:100].tolist():
            candidates.append(sum(1 for _ in fingerprints.candidates(query, radius)))
        agree = all(
            answer == brute_force(hashes, ids, query, radius)
            for query, answer in zip(asked.tolist(), answers, strict=True)
        )
        scan_times = []
        for i, query in enumerate(asked[:scans].tolist()):
            started = time.perf_counter()
            scanned = exhaustive_scan(query, radius)
            scan_times.append(time.perf_counter() - started)
            agree = agree and scanned == answers[i]
        engine = connection.vendor
        connection.close()
    ms = np.array(times) * 1000
    figures = {
        "engine": engine,
        "rows": rows,
        "insert_s": insert_seconds,
        "lookups": lookups,
        "lookup_median_ms": float(np.median(ms)),
        "lookup_p95_ms": float(np.percentile(ms, 95)),
        "matches_per_lookup": statistics.mean(len(a) for a in answers),
        "lookups_with_a_match": sum(1 for a in answers if a),
        "candidates_per_lookup": statistics.mean(candidates),
        "scans": scans,
        "scan_median_ms": statistics.median(scan_times) * 1000,
        "scan_ratio": statistics.median(scan_times) * 1000 / float(np.median(ms)),
        "same_matches": agree,
    }
    print(WORKER_MARK + json.dumps(figures), flush=True)


def run_worker(database_url: str, args) -> dict:
    command = [
        sys.executable, __file__, "--worker", database_url or "sqlite", "--rows", str(args.rows),
        "--lookups", str(args.lookups), "--scans", str(args.scans), "--radius", str(args.radius),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in finished.stdout.splitlines():
        if line.startswith(WORKER_MARK):
            return json.loads(line[len(WORKER_MARK) :])
    raise RuntimeError(f"the bench process failed:\n{finished.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--scans", type=int, default=20, help="queries also answered by a scan")
    parser.add_argument("--radius", type=int, default=None, help="default: the bank's radius")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES,
        help="PostgreSQL server for the PostgreSQL run, or 'none' to skip it",
    )
    parser.add_argument("--worker", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.radius is None:
        sys.path.insert(0, str(ROOT))
        from curation.checks.defaults import DEFAULTS

        args.radius = int(DEFAULTS["duplicate"]["near_radius"])
    if args.worker is not None:
        url = "" if args.worker == "sqlite" else args.worker
        worker(url, args.rows, args.lookups, args.scans, args.radius)
        return

    figures: dict = {"radius": args.radius, "rows": args.rows}
    print(f"SQLite: {args.rows:,} hashes, {args.lookups} look-ups at radius {args.radius} …")
    figures["sqlite"] = run_worker("", args)
    print(json.dumps(figures["sqlite"]), flush=True)
    why_not = postgres_unavailable(args.database_url)
    if why_not:
        figures["postgresql"] = {"skipped": why_not}
        print(f"PostgreSQL skipped: {why_not}", flush=True)
    else:
        print("PostgreSQL …", flush=True)
        with TemporaryPostgres(args.database_url, prefix="bench_near") as url:
            figures["postgresql"] = run_worker(url, args)
        print(json.dumps(figures["postgresql"]), flush=True)
    targets = {}
    for engine in ("sqlite", "postgresql"):
        targets[f"{engine}_median_ms"] = {
            "figure": f"{engine}.lookup_median_ms",
            "max": LOOKUP_TARGET_MS,
        }
        targets[f"{engine}_p95_ms"] = {"figure": f"{engine}.lookup_p95_ms", "max": LOOKUP_TARGET_MS}
        targets[f"{engine}_scan_ratio"] = {"figure": f"{engine}.scan_ratio", "min": RATIO_TARGET}
        figures[f"{engine}_same_matches"] = int(bool(figures[engine].get("same_matches")))
        targets[f"{engine}_same_matches"] = {"figure": f"{engine}_same_matches", "min": 1}
    print_result(figures, targets)


if __name__ == "__main__":
    main()
