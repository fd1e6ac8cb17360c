"""`imagebank download`: a granted release version into a folder, every byte verified.

The order: the version's own files first (the API list gives their SHA-256), manifest.csv among
them, then the images the verified manifest lists, in parallel. The manifest is still not trusted
as a list of paths: a row whose path is not a plain relative path that stays inside the folder,
whose SHA-256 or size is malformed, or whose path another row also names, is refused and named,
and nothing is written for it.

Resuming is per file. A file already in the folder with the right size and SHA-256 is kept and
not asked for. A file's bytes arrive in `<name>.part`; an interrupted one is continued with
`Range: bytes=N-` and `If-Range: "<sha256>"` (the bank's ETag of a file), so a server holding
other bytes answers the whole file, which starts the part again. A finished part is hashed, then
moved into place with os.replace: a file under its final name is always whole and verified. A
final file that is too short is taken as the start of its part (its bytes are checked with the
rest, so wrong ones only cost a retry).

Retries: a broken transfer, no connection, a 5xx or a 429 (after its Retry-After) is tried again,
waiting longer each time, from the bytes already received; a file that arrives with the wrong
SHA-256 is fetched again from its start. 401 and 403 stop the whole run (the token or the
agreement, nothing another try mends); 404 fails the file. Out of reach after every retry stops
the run too: the next files would only wait the same way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from tqdm import tqdm

from imagebank.client.api import BankClient, ClientError, RangeRefused, Refused, Transient

PART_SUFFIX = ".part"
MANIFEST_PATH = "manifest.csv"
MANIFEST_REQUIRED = ("path", "sha256", "bytes")
SHA256 = re.compile(r"[0-9a-fA-F]{64}")
SIZE = re.compile(r"[0-9]{1,20}")
DRIVE = re.compile(r"[A-Za-z]:")
MAX_WAIT = 60.0
MAX_RETRY_AFTER = 300.0
HASH_CHUNK = 1024 * 1024
# Never follow a link where a part file is written: it could point outside the folder.
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


class UnsafePath(ValueError):
    """A path from the server that must not be written: the reason is the message."""


class Stopped(Exception):
    """The run was stopped (a refusal, out of reach, Ctrl-C): the file was left as it was."""


class FileFailed(Exception):
    """A file that could not be had whole and verified: the reason is the message."""


# --- paths --------------------------------------------------------------------------------------


def check_release_path(path: object) -> str:
    """`path` if it is a plain relative POSIX path (normalised, no `..`, no leading slash, no
    backslash, no drive letter, no NUL or other control character); UnsafePath otherwise."""
    if not isinstance(path, str) or not path:
        raise UnsafePath("empty path")
    if "\x00" in path:
        raise UnsafePath("the path holds a NUL")
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        raise UnsafePath("the path holds a control character")
    if "\\" in path:
        raise UnsafePath("the path holds a backslash")
    if path.startswith("/"):
        raise UnsafePath("the path is absolute")
    if DRIVE.match(path):
        raise UnsafePath("the path starts with a drive letter")
    parts = path.split("/")
    if ".." in parts:
        raise UnsafePath("the path climbs out with '..'")
    if any(part in ("", ".") for part in parts):
        raise UnsafePath("the path is not normalised (empty or '.' parts)")
    if path.endswith(PART_SUFFIX):
        raise UnsafePath(f"the path ends in {PART_SUFFIX}, the name of a download under way")
    return path


def target_in(root: Path, path: str) -> Path:
    """Where `path` (already checked) goes under `root`, which must be resolved; UnsafePath when
    a link already in the folder would lead it outside."""
    target = root / path
    resolved = target.parent.resolve() / target.name
    if not resolved.is_relative_to(root) or resolved == root:
        raise UnsafePath("the path leads outside the folder (through a link)")
    return target


def shown(path: object) -> str:
    text = str(path)
    return text if text.isprintable() and text else ascii(text)


# --- what to fetch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Problem:
    what: str  # a path, or which manifest line
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


def _checked_fields(sha256: object, size: object) -> tuple[str, int]:
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise UnsafePath(f"the SHA-256 {shown(sha256)} is not 64 hexadecimal digits")
    if isinstance(size, int) and not isinstance(size, bool):
        size = str(size)
    if not isinstance(size, str) or not SIZE.fullmatch(size.strip()):
        raise UnsafePath(f"the size {shown(size)} is not a whole number of bytes")
    return sha256.lower(), int(size.strip())


class PathSet:
    """The paths accepted so far: a path given twice (or twice but for letter case, a clash on
    the disks that ignore case), or both a file and a folder of other files, is refused."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}  # casefolded path: where it was given
        self.folders: dict[str, str] = {}

    def clash(self, path: str) -> str | None:
        key = path.casefold()
        if key in self.files:
            return f"the same path as {self.files[key]}"
        if key in self.folders:
            return f"a folder of other files ({self.folders[key]})"
        parts = key.split("/")
        for end in range(1, len(parts)):
            above = "/".join(parts[:end])
            if above in self.files:
                return f"below {above}, which is a file ({self.files[above]})"
        return None

    def add(self, path: str, where: str) -> None:
        key = path.casefold()
        self.files[key] = where
        parts = key.split("/")
        for end in range(1, len(parts)):
            self.folders.setdefault("/".join(parts[:end]), where)


def release_files(entry: dict, root: Path, paths: PathSet) -> tuple[list[Wanted], list[Problem]]:
    """The version's own files from the API list entry, checked like the manifest's rows."""
    files = entry.get("files")
    if not isinstance(files, list):
        raise ClientError(
            "The server does not list the release's files and their checksums: it is older "
            "than this client."
        )
    wanted, problems = [], []
    for item in files:
        item = item if isinstance(item, dict) else {}
        path = item.get("path")
        try:
            check_release_path(path)
            target_in(root, path)
            sha256, size = _checked_fields(item.get("sha256"), item.get("bytes"))
            clash = paths.clash(path)
            if clash:
                raise UnsafePath(clash)
        except UnsafePath as refusal:
            problems.append(Problem(f"release file {shown(path)}", f"refused: {refusal}"))
            continue
        paths.add(path, "a release file")
        wanted.append(Wanted(path, sha256, size))
    return wanted, problems


def read_manifest(data: bytes, root: Path, paths: PathSet) -> tuple[list[Wanted], list[Problem]]:
    """The images manifest.csv lists, and a Problem for each row refused (named by its line:
    its path may be anything). Every row naming a path that another row names is refused: which
    of them would be right cannot be told."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Problem(MANIFEST_PATH, "not UTF-8 text: no image could be checked")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in MANIFEST_REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        return [], [Problem(MANIFEST_PATH, f"has no column {', '.join(missing)}")]
    rows: list[tuple[str, Wanted]] = []
    problems: list[Problem] = []
    seen: dict[str, list[str]] = {}
    try:
        for row in reader:
            where = f"{MANIFEST_PATH} line {reader.line_num}"
            path = row.get("path")
            try:
                check_release_path(path)
                target_in(root, path)
                sha256, size = _checked_fields(row.get("sha256"), row.get("bytes"))
            except UnsafePath as refusal:
                problems.append(Problem(f"{where} ({shown(path)})", f"refused: {refusal}"))
                continue
            seen.setdefault(path.casefold(), []).append(where)
            rows.append((where, Wanted(path, sha256, size)))
    except csv.Error as error:
        problems.append(Problem(MANIFEST_PATH, f"unreadable after line {reader.line_num}: {error}"))
    wanted = []
    for where, want in rows:
        others = [w for w in seen[want.path.casefold()] if w != where]
        clash = f"the same path as {', '.join(others)}" if others else paths.clash(want.path)
        if clash:
            problems.append(Problem(f"{where} ({shown(want.path)})", f"refused: {clash}"))
            continue
        paths.add(want.path, where)
        wanted.append(want)
    return wanted, problems


# --- one file -----------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _regular_size(path: Path) -> int | None:
    """The size of a regular file at `path` (a link is not one); None when there is none."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


class _FileBar:
    """One file's share of the progress bar: the bytes of it on disk, whatever happens to them
    (a part resumed, started again, discarded)."""

    def __init__(self, progress: Callable[[int], None]) -> None:
        self.n = 0
        self._progress = progress

    def at(self, n: int) -> None:
        self._progress(n - self.n)
        self.n = n


@dataclass
class Report:
    files: int = 0
    bytes: int = 0
    downloaded: int = 0
    present: int = 0
    problems: list[Problem] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped before the end
    not_done: int = 0  # files left untouched when it stopped


class Downloader:
    def __init__(
        self,
        client: BankClient,
        entry: dict,
        root: Path,
        *,
        jobs: int = 4,
        retries: int = 5,
        backoff: float = 1.0,
        quiet: bool = False,
    ):
        self.client = client
        self.entry = entry
        self.root = root
        self.jobs = max(1, jobs)
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self.quiet = quiet
        self.stop = threading.Event()
        self.report = Report()
        self._lock = threading.Lock()
        self._bar: tqdm | None = None

    # progress ----------------------------------------------------------------------------------

    def _progress(self, count: int) -> None:
        """Moves the bar by `count` bytes (less than 0: bytes discarded); from any thread."""
        if count and self._bar is not None:
            with self._lock:
                self._bar.update(count)

    def _expect(self, wanted: Iterable[Wanted]) -> None:
        sizes = [w.size for w in wanted]
        with self._lock:
            self.report.files += len(sizes)
            self.report.bytes += sum(sizes)
            if self._bar is not None:
                self._bar.total = self.report.bytes
                self._bar.refresh()

    # the run -----------------------------------------------------------------------------------

    def run(self) -> Report:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root = self.root.resolve()
        paths = PathSet()
        own, problems = release_files(self.entry, self.root, paths)
        self.report.problems += problems
        label = f"{self.entry.get('release')}@{self.entry.get('version')}"
        with tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label,
            disable=self.quiet or None,
        ) as bar:
            self._bar = bar
            try:
                self._fetch_all(own)
                if self.stop.is_set():
                    return self.report
                images, problems = self._images(own)
                self.report.problems += problems
                self._fetch_all(images)
            except KeyboardInterrupt:
                self.stop.set()
                raise
            finally:
                self._bar = None
        return self.report

    def _images(self, own: list[Wanted]) -> tuple[list[Wanted], list[Problem]]:
        manifest = next((w for w in own if w.path == MANIFEST_PATH), None)
        if manifest is None:
            return [], [Problem(MANIFEST_PATH, "not among the release's files: no image listed")]
        path = self.root / MANIFEST_PATH
        if _regular_size(path) != manifest.size or sha256_of(path) != manifest.sha256:
            # Named already, with why; the images cannot be listed without it.
            return [], [Problem("images", f"not fetched: {MANIFEST_PATH} is not here, verified")]
        taken = PathSet()
        for want in own:
            taken.add(want.path, "a release file")
        return read_manifest(path.read_bytes(), self.root, taken)

    def _fetch_all(self, wanted: list[Wanted]) -> None:
        self._expect(wanted)
        prefix = self.entry["files_url_prefix"]
        failed: list[Problem] = []
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="download") as pool:
            # Quoted: a path is data (a `#` or `?` in it must not end the URL's path).
            futures = {pool.submit(self._one, prefix + quote(w.path), w): w for w in wanted}
            try:
                for future in as_completed(futures):
                    want = futures[future]
                    try:
                        outcome = future.result()
                    except Stopped:
                        self.report.not_done += 1
                        continue
                    except FileFailed as failure:
                        failed.append(Problem(want.path, str(failure)))
                        continue
                    if outcome == "present":
                        self.report.present += 1
                    else:
                        self.report.downloaded += 1
            except BaseException:
                self.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        self.report.problems += sorted(failed, key=lambda p: p.what)

    def _halt(self, reason: str) -> None:
        with self._lock:
            if self.report.stopped is None:
                self.report.stopped = reason
        self.stop.set()

    def _one(self, url: str, want: Wanted) -> str:
        """Whether the file was already here ("present") or "downloaded"; FileFailed when it
        cannot be had, Stopped when the run stops."""
        if self.stop.is_set():
            raise Stopped
        target = self.root / want.path
        bar = _FileBar(self._progress)
        try:
            if _regular_size(target) == want.size and sha256_of(target) == want.sha256:
                bar.at(want.size)
                return "present"
            return self._download(url, want, target, bar)
        except OSError as error:
            raise FileFailed(f"cannot write it: {error.strerror or error}") from None

    def _download(self, url: str, want: Wanted, target: Path, bar: _FileBar) -> str:
        part = target.with_name(target.name + PART_SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = _regular_size(target)
        if size is not None and size < want.size and _regular_size(part) is None:
            os.replace(target, part)  # the start of the file, perhaps: checked with the rest
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._wait(attempt, last)
            if self.stop.is_set():
                raise Stopped
            try:
                got, length = self._transfer(url, want, part, bar)
            except Refused as refusal:
                if refusal.status == 404:
                    raise FileFailed(str(refusal)) from None
                self._halt(str(refusal))
                raise Stopped from None
            except RangeRefused as error:
                self._discard(part, bar)
                last = error
                continue
            except Transient as error:
                last = error
                continue
            except ClientError as error:  # an answer no other try would change
                raise FileFailed(str(error)) from None
            if length == want.size and got == want.sha256:
                os.replace(part, target)
                return "downloaded"
            self._discard(part, bar)
            last = FileFailed(
                f"SHA-256 mismatch (expected {want.sha256}, got {got})"
                if length == want.size
                else f"size mismatch (expected {want.size} bytes, the server sent more)"
            )
        if isinstance(last, Transient) and last.connection:
            self._halt(f"{last}, after {self.retries + 1} tries")
            raise Stopped
        if isinstance(last, FileFailed):
            raise last
        raise FileFailed(f"not downloaded: {last} (after {self.retries + 1} tries)")

    def _discard(self, part: Path, bar: _FileBar) -> None:
        part.unlink(missing_ok=True)
        bar.at(0)

    def _wait(self, attempt: int, last: Exception | None) -> None:
        """No wait before the first retry, then `backoff`, doubling (urllib3's rule, as for
        uploads); at least what a Retry-After asked for."""
        delay = 0.0 if attempt == 1 else min(MAX_WAIT, self.backoff * 2 ** (attempt - 2))
        if isinstance(last, Transient) and last.retry_after is not None:
            delay = max(delay, min(last.retry_after, MAX_RETRY_AFTER))
        if delay and self.stop.wait(delay):
            raise Stopped

    def _transfer(self, url: str, want: Wanted, part: Path, bar: _FileBar) -> tuple[str, int]:
        """The part's SHA-256 and length once the server has sent what it will, resuming the
        part if there is one; a length over the size expected when the server sent more (what
        is over is not stored). Transient when the transfer breaks before the end."""
        digest = hashlib.sha256()
        have = _regular_size(part)
        if have is None or have > want.size:
            if have is not None or part.is_symlink():
                self._discard(part, bar)
            have = 0
        if have:
            with part.open("rb") as handle:
                while chunk := handle.read(HASH_CHUNK):
                    digest.update(chunk)
            bar.at(have)
            if have == want.size:
                return digest.hexdigest(), have
        answer = self.client.open_file(url, offset=have, etag=f'"{want.sha256}"')
        try:
            if answer.start == 0 and have:  # the server holds other bytes: start again
                digest, have = hashlib.sha256(), 0
                bar.at(0)
            flags = _OPEN_FLAGS | (os.O_APPEND if have else os.O_TRUNC)
            with os.fdopen(os.open(part, flags, 0o644), "wb") as handle:
                for chunk in answer.chunks():
                    if self.stop.is_set():
                        raise Stopped
                    room = want.size - have
                    if len(chunk) > room:  # more than expected: never stored
                        handle.write(chunk[:room])
                        bar.at(want.size)
                        return "", want.size + 1
                    handle.write(chunk)
                    digest.update(chunk)
                    have += len(chunk)
                    bar.at(have)
        finally:
            answer.close()
        if have < want.size:
            raise Transient(f"the transfer ended after {have} of {want.size} bytes")
        return digest.hexdigest(), have


# --- choosing the grant -------------------------------------------------------------------------


def parse_target(text: str) -> tuple[str, str]:
    slug, at, version = text.partition("@")
    if not (at and slug and version):
        raise ValueError(f"“{text}” is not SLUG@VERSION (e.g. cervix@1.0.0).")
    return slug, version


def choose_entry(entries: list[dict], slug: str, version: str, grant: int | None) -> dict:
    """The list entry for SLUG@VERSION: through `grant` when given, otherwise through the grant
    expiring last (the one least likely to end during the download). LookupError explains."""
    matching = [e for e in entries if e.get("release") == slug and e.get("version") == version]
    if grant is not None:
        chosen = [e for e in matching if e.get("grant") == grant]
        if not chosen:
            others = ", ".join(f"#{e.get('grant')}" for e in matching)
            raise LookupError(
                f"Grant #{grant} does not give you {slug}@{version} now"
                + (f" (these do: {others})." if others else ".")
            )
        return chosen[0]
    if not matching:
        raise LookupError(
            f"No grant of yours gives {slug}@{version} now (revoked, expired, or never "
            "granted): `imagebank releases` lists what you may download."
        )
    return max(matching, key=lambda e: (_when(e.get("expires_at")), e.get("grant") or 0))


def _when(text: object) -> datetime:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)
