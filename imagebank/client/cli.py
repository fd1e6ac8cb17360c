"""`imagebank`: sign in to a Cervical Image Bank, upload files, folders and ZIPs to it, and
download the release versions granted to you.

    imagebank login --url https://bank.example.org --email me@example.org [--otp 123456]
    imagebank upload "IARC colposcopy/" case-package/ scan.dcm --site my-clinic --report out.json
    imagebank releases [--release cervix] [--json]
    imagebank download cervix@1.0.0 --out cervix/ [--jobs 4] [--grant 12]

With two-factor authentication on (required for curators, committee members and superusers),
login sends the code given with --otp, or asks for it when the server says one is needed.

Resuming: images the site already holds are not sent again but declared by their SHA-256, so an
IARC folder or a case package always goes whole in meaning (every case, every listed file) and
the server decides what is new; nothing is skipped on the strength of hashes alone.

Downloading (imagebank/client/download.py): every file is checked against its SHA-256 (the
manifest's, or the API list's for the release's own files); a second run fetches only what is
missing or wrong, and resumes what was interrupted.

Exit status: 0 when every upload succeeded (warnings allowed) or every file of a download is
here and verified; 1 when the server reported errors in what was sent, or when files of a
download are missing or corrupt (each named); 2 on a usage, connection or authorisation failure.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from imagebank.client import download
from imagebank.client.api import BankClient, ClientError, SecondFactorNeeded

EXIT_OK = 0
EXIT_REPORTED_ERRORS = 1
EXIT_FAILURE = 2

IARC_MARKER = "Cases - Images.xlsx"
# Images left out because the bank holds them are declared in this file (see
# imagebank/ingest/known_files.py, which reads it on the server).
KNOWN_FILES_NAME = ".imagebank-known.json"
MANIFESTS = ("manifest.json", "manifest.csv")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".dcm"})
# Already compressed: storing them is as small as deflating them, and much faster.
STORED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".zip", ".gz"})


class UsageError(Exception):
    pass


# --- configuration ------------------------------------------------------------------------------


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "imagebank" / "config.json"


def load_config() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"Cannot read {path}: {error}") from None


def save_config(config: dict) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 from the start: the token must never be readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    os.chmod(path, 0o600)
    return path


def _settings(args: argparse.Namespace, need_token: bool = True) -> tuple[str, str | None]:
    config = load_config()
    url = args.url or os.environ.get("IMAGEBANK_URL") or config.get("url")
    token = args.token or os.environ.get("IMAGEBANK_TOKEN") or config.get("token")
    if not url:
        raise UsageError("No server URL: run `imagebank login --url URL …` or set IMAGEBANK_URL.")
    if need_token and not token:
        raise UsageError("Not signed in: run `imagebank login` or pass --token / IMAGEBANK_TOKEN.")
    return url, token


def _client(args: argparse.Namespace, url: str, token: str | None) -> BankClient:
    return BankClient(
        url, token, retries=args.retries, backoff=args.backoff, read_timeout=args.timeout
    )


# --- login --------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("IMAGEBANK_URL") or load_config().get("url")
    if not url:
        raise UsageError("Give the bank's address with --url (or IMAGEBANK_URL).")
    password = os.environ.get("IMAGEBANK_PASSWORD") or getpass.getpass(
        f"Password for {args.email}: "
    )
    client = _client(args, url, None)
    # The bank takes names of up to 100 characters.
    name = (args.token_name or f"imagebank login on {socket.gethostname()}")[:100]
    try:
        token = client.obtain_token(args.email, password, otp=args.otp, name=name)
    except SecondFactorNeeded as needed:
        # Asked once: a code given with --otp that the server refused is not asked for again.
        if needed.code_was_sent:
            raise
        code = getpass.getpass("Code from your authenticator app (or a recovery code): ")
        if not code.strip():
            raise UsageError("No code given: two-factor authentication is on.") from None
        token = client.obtain_token(args.email, password, otp=code.strip(), name=name)
    path = save_config({"url": url.rstrip("/"), "email": args.email, "token": token})
    print(f"Signed in to {url} as {args.email}; token saved in {path}.")
    return EXIT_OK


# --- what to send -------------------------------------------------------------------------------


@dataclass
class Outcome:
    path: str
    status: str  # "uploaded", "skipped" or "failed"
    message: str = ""
    run: dict = field(default_factory=dict)


def _visible_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_all(files: list[Path], quiet: bool) -> dict[Path, str]:
    hashes = {}
    with tqdm(total=len(files), unit="file", desc="hashing", disable=quiet or None) as bar:
        for path in files:
            hashes[path] = sha256_of(path)
            bar.update(1)
    return hashes


def _zip(folder: Path, files: list[Path], target: Path, extra: dict[str, str]) -> None:
    """`extra`: {name: text} of files written at the top of the folder in the archive."""
    # Entries sit under the folder's own name, as zipping the folder by hand would make them.
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for path in files:
            compress = (
                zipfile.ZIP_STORED
                if path.suffix.lower() in STORED_SUFFIXES
                else zipfile.ZIP_DEFLATED
            )
            arcname = (Path(folder.name) / path.relative_to(folder)).as_posix()
            archive.write(path, arcname, compress_type=compress)
        for name, text in extra.items():
            arcname = (Path(folder.name) / name).as_posix()
            archive.writestr(arcname, text, compress_type=zipfile.ZIP_DEFLATED)


def is_iarc_folder(path: Path) -> bool:
    return path.is_dir() and (path / IARC_MARKER).is_file()


def is_case_package(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in MANIFESTS)


def _has_dicom_preamble(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(132)[128:] == b"DICM"


def is_dicom_folder(path: Path) -> bool:
    """A folder of DICOM files (a study exported from a colposcope or PACS), at any depth."""
    if not path.is_dir():
        return False
    files = list(_visible_files(path))
    return bool(files) and all(_has_dicom_preamble(f) for f in files)


class Uploader:
    def __init__(self, client: BankClient, site: int, quiet: bool, workdir: Path):
        self.client = client
        self.site = site
        self.quiet = quiet
        self.workdir = workdir

    def _known(self, hashes: dict[Path, str]) -> set[str]:
        return self.client.known(self.site, sorted(set(hashes.values()))) if hashes else set()

    def _send(self, path: Path, shown_as: str) -> Outcome:
        size = path.stat().st_size
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"sending {shown_as}",
            disable=self.quiet or None,
        ) as bar:

            def progress(position: int) -> None:
                bar.update(min(position, size) - bar.n)

            run = self.client.ingest(self.site, path, progress)
        return Outcome(path=shown_as, status="uploaded", run=run)

    def upload(self, path: Path) -> Outcome:
        shown = str(path)
        if not path.exists():
            return Outcome(shown, "failed", "No such file or folder.")
        if is_iarc_folder(path):
            return self._iarc(path)
        if is_case_package(path) or is_dicom_folder(path):
            return self._whole_folder(path)
        if path.is_dir():
            return Outcome(
                shown,
                "failed",
                f"Not an IARC folder (no “{IARC_MARKER}”) nor a case package (no "
                f"{' or '.join(MANIFESTS)}) nor a folder of DICOM files: send the files in it, "
                "or a ZIP of it.",
            )
        # A lone DICOM or image file is already in the site if its exact bytes are.
        if not zipfile.is_zipfile(path) and self._known({path: sha256_of(path)}):
            return Outcome(shown, "skipped", "Already in the bank: not sent again.")
        return self._send(path, shown)

    def _iarc(self, folder: Path) -> Outcome:
        """Every case folder goes, whatever the bank holds: what an import means never depends
        on what was sent before. Images the bank holds are declared, not sent again."""
        spreadsheets = sorted(
            p for p in folder.glob("*.xlsx") if not p.name.startswith((".", "~$"))
        )
        cases = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        images = [f for case in cases for f in _visible_files(case)]
        return self._send_declaring_known(folder, spreadsheets, images)

    def _whole_folder(self, folder: Path) -> Outcome:
        """A case package goes with its manifest and every file it holds, the images the bank
        already holds declared rather than sent. A DICOM folder is read from its files'
        headers, so it goes whole, unless the bank holds every file of it."""
        files = list(_visible_files(folder))
        if is_case_package(folder):
            # Only what the bank stores can be known to it: manifests and notes are not.
            images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
            others = [f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES]
            return self._send_declaring_known(folder, others, images)
        hashes = _hash_all(files, self.quiet)
        known = self._known(hashes)
        if hashes and all(h in known for h in hashes.values()):
            return Outcome(
                str(folder),
                "skipped",
                "Every file of the folder is already in the bank: not sent.",
            )
        return self._send_zipped(folder, files)

    def _send_declaring_known(
        self, folder: Path, others: list[Path], images: list[Path]
    ) -> Outcome:
        hashes = _hash_all(images, self.quiet)
        known = self._known(hashes)
        declared = {
            path.relative_to(folder).as_posix(): hashes[path]
            for path in images
            if hashes[path] in known
        }
        to_send = [path for path in images if hashes[path] not in known]
        if declared:
            self._say(
                f"{folder}: {len(declared)} of {len(images)} images are already in the bank: "
                f"declared, not sent again."
            )
        extra = (
            {KNOWN_FILES_NAME: json.dumps({"version": 1, "files": declared})} if declared else {}
        )
        return self._send_zipped(folder, others + to_send, extra)

    def _send_zipped(
        self, folder: Path, files: list[Path], extra: dict[str, str] | None = None
    ) -> Outcome:
        target = self.workdir / f"{folder.name or 'upload'}.zip"
        try:
            _zip(folder, files, target, extra or {})
            outcome = self._send(target, str(folder))
        finally:
            target.unlink(missing_ok=True)
        return outcome

    def _say(self, text: str) -> None:
        print(text, flush=True)


# --- reporting ----------------------------------------------------------------------------------


def _where(problem: dict) -> str:
    parts = []
    if problem.get("case"):
        parts.append(f"case {problem['case']}")
    if problem.get("file"):
        parts.append(f"file {problem['file']}")
    if problem.get("row") not in (None, ""):
        parts.append(f"row {problem['row']}")
    if problem.get("field"):
        parts.append(f"field {problem['field']}")
    return ", ".join(parts)


def print_outcome(outcome: Outcome) -> None:
    if outcome.status == "skipped":
        print(f"{outcome.path}: skipped. {outcome.message}")
        return
    if outcome.status == "failed":
        print(f"{outcome.path}: FAILED. {outcome.message}", file=sys.stderr)
        return
    report = outcome.run.get("report") or {}
    summary = report.get("summary") or {}
    print(f"{outcome.path}: import #{outcome.run.get('id')} {outcome.run.get('status', '')}")
    if summary:
        print(
            "  cases: {created} created, {unchanged} unchanged, {rejected} rejected; "
            "images: {added} added, {known} already in the bank, {out} left out; "
            "{errors} errors, {warnings} warnings".format(
                created=summary.get("cases_created", 0),
                unchanged=summary.get("cases_unchanged", 0),
                rejected=summary.get("cases_rejected", 0),
                added=summary.get("images_added", 0),
                known=summary.get("images_already_in_bank", 0),
                out=summary.get("images_left_out", 0),
                errors=summary.get("errors", 0),
                warnings=summary.get("warnings", 0),
            )
        )
    for problem in report.get("problems", []):
        level = problem.get("level", "")
        if level not in ("error", "warning"):
            continue
        where = _where(problem)
        print(f"  {level.upper()}{' ' + where if where else ''}: {problem.get('message', '')}")


def outcome_status(outcome: Outcome) -> int:
    if outcome.status == "failed":
        return EXIT_FAILURE
    report = outcome.run.get("report") or {}
    errors = (report.get("summary") or {}).get("errors")
    if errors is None:
        errors = sum(p.get("level") == "error" for p in report.get("problems", []))
    return EXIT_REPORTED_ERRORS if errors else EXIT_OK


# --- upload -------------------------------------------------------------------------------------


def resolve_site(client: BankClient, site: str) -> int:
    if site.isdigit():
        return int(site)
    sites = client.sites()
    for candidate in sites:
        if candidate.get("slug") == site:
            return int(candidate["id"])
    names = ", ".join(sorted(s.get("slug", "") for s in sites)) or "none"
    raise UsageError(f"No site “{site}” among yours (yours: {names}).")


def cmd_upload(args: argparse.Namespace) -> int:
    url, token = _settings(args)
    client = _client(args, url, token)
    site = resolve_site(client, args.site)
    outcomes: list[Outcome] = []
    status = EXIT_OK
    with tempfile.TemporaryDirectory(prefix="imagebank-upload-") as workdir:
        uploader = Uploader(client, site, args.quiet, Path(workdir))
        for raw in args.paths:
            try:
                outcome = uploader.upload(Path(raw))
            except ClientError as error:
                outcome = Outcome(raw, "failed", str(error))
            outcomes.append(outcome)
            print_outcome(outcome)
            status = max(status, outcome_status(outcome))
    if args.report:
        Path(args.report).write_text(
            json.dumps(
                {"server": url, "site": site, "uploads": [o.__dict__ for o in outcomes]},
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    return status


# --- releases and downloads -------------------------------------------------------------------


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value = count / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def cmd_releases(args: argparse.Namespace) -> int:
    url, token = _settings(args)
    entries = _client(args, url, token).downloadable(args.release)
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not entries:
        print("Nothing to download now: no live grant of yours gives a published release version.")
        return EXIT_OK
    rows = [
        (
            f"{e.get('release')}@{e.get('version')}",
            f"grant #{e.get('grant')}",
            f"{e.get('image_count', '?')} images",
            f"expires {e.get('expires_at')}",
        )
        for e in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]))
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    try:
        slug, version = download.parse_target(args.target)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.jobs < 1:
        raise UsageError("--jobs must be 1 or more.")
    url, token = _settings(args)
    client = _client(args, url, token)
    try:
        entry = download.choose_entry(client.downloadable(slug), slug, version, args.grant)
    except LookupError as error:
        raise UsageError(str(error)) from None
    out = Path(args.out)
    report = download.Downloader(
        client,
        entry,
        out,
        jobs=args.jobs,
        retries=args.retries,
        backoff=args.backoff,
        quiet=args.quiet,
    ).run()
    for problem in report.problems:
        print(problem, file=sys.stderr)
    label = f"{slug}@{version} (grant #{entry.get('grant')})"
    print(
        f"{label} in {out}: {report.files} files, {_size(report.bytes)}: "
        f"{report.downloaded} downloaded, {report.present} already here and verified."
    )
    if report.stopped:
        print(f"imagebank: stopped: {report.stopped}", file=sys.stderr)
        if report.not_done:
            print(
                f"{report.not_done} files not fetched: run the same command again to resume.",
                file=sys.stderr,
            )
        return EXIT_FAILURE
    if report.problems:
        print(
            f"{len(report.problems)} files missing, corrupt or refused (listed above).",
            file=sys.stderr,
        )
        return EXIT_REPORTED_ERRORS
    return EXIT_OK


FINISHED = ("scored", "invalid", "failed")
CARD_OPTIONS = ("architecture", "training_data", "settings", "parameters", "training_time",
                "code_url", "paper_url")  # fmt: skip


def _print_submission(answer: dict) -> None:
    print(f"{answer.get('task')}: submission #{answer.get('id')} “{answer.get('title')}” "
          f"({answer.get('group')}): {answer.get('state')}")  # fmt: skip
    for error in answer.get("errors") or []:
        where = ", ".join(
            part
            for part in (
                f"row {error['row']}" if error.get("row") is not None else "",
                f"column {error['column']}" if error.get("column") else "",
                str(error["file"]) if error.get("file") else "",
            )
            if part
        )
        print(f"  {where}: {error.get('message')}" if where else f"  {error.get('message')}")
    if answer.get("failure"):
        print(f"  {answer['failure']}")
    for level in answer.get("results") or []:
        print(f"  {level.get('level')} level, n = {level.get('n_test')}:")
        for name, figure in (level.get("metrics") or {}).items():
            value, low, high = figure.get("value"), figure.get("ci_low"), figure.get("ci_high")
            shown = "undefined" if value is None else f"{value:.3f}"
            if value is not None and low is not None and high is not None:
                shown += f" [{low:.3f}, {high:.3f}]"
            print(f"    {name:18} {shown}")
    if answer.get("page"):
        print(f"  {answer['page']}")


def cmd_submit(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: no such file.")
    url, token = _settings(args)
    client = _client(args, url, token)
    fields = {"title": args.title or path.stem}
    if args.group:
        fields["group"] = args.group
    if args.kind:
        fields["kind"] = args.kind
    for name in CARD_OPTIONS:
        value = getattr(args, name)
        if value:
            fields[name] = value
    answer = client.submit(args.task, path, fields)
    deadline = time.monotonic() + args.wait
    while args.wait > 0 and answer.get("state") not in FINISHED and time.monotonic() < deadline:
        time.sleep(args.poll)
        answer = client.submission(answer["url"])
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        _print_submission(answer)
    state = answer.get("state")
    if state == "scored" or (args.wait <= 0 and state not in ("invalid", "failed")):
        return EXIT_OK
    if state == "invalid":
        return EXIT_REPORTED_ERRORS
    if state not in FINISHED:
        print(f"imagebank: not scored within {args.wait:g} s: see {answer.get('page')}",
              file=sys.stderr)  # fmt: skip
    return EXIT_FAILURE


# --- entry point --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="the bank's address (default: IMAGEBANK_URL, then login's)")
    common.add_argument("--token", help="API token (default: IMAGEBANK_TOKEN, then login's)")
    common.add_argument(
        "--retries",
        type=int,
        default=5,
        help="re-tries after a connection error or 429/502/503/504",
    )
    common.add_argument(
        "--backoff", type=float, default=1.0, help="seconds before the second re-try, doubling"
    )
    common.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait for the server's answer"
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = argparse.ArgumentParser(
        prog="imagebank",
        description=(
            "Send images and cases to a Cervical Image Bank; download granted releases; submit "
            "benchmark results."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login", parents=[common], help="get and store an API token")
    login.add_argument("--email", required=True)
    login.add_argument(
        "--otp",
        help="a code from your authenticator app or a recovery code (asked for when needed)",
    )
    login.add_argument(
        "--token-name", help="what the bank lists the token as (default: this computer's name)"
    )
    login.set_defaults(handler=cmd_login)
    upload = commands.add_parser(
        "upload",
        parents=[common],
        help="send files, case-package folders, IARC folders or ZIPs",
    )
    upload.add_argument("paths", nargs="+", metavar="PATH")
    upload.add_argument("--site", required=True, help="site id or slug")
    upload.add_argument("--report", help="write every import report to this JSON file")
    upload.set_defaults(handler=cmd_upload)
    releases = commands.add_parser(
        "releases", parents=[common], help="list the release versions you may download now"
    )
    releases.add_argument("--release", metavar="SLUG", help="only this release's versions")
    releases.add_argument("--json", action="store_true", help="print the server's list as JSON")
    releases.set_defaults(handler=cmd_releases)
    fetch = commands.add_parser(
        "download",
        parents=[common],
        help="download a release version, verified file by file; run again to resume",
    )
    fetch.add_argument("target", metavar="SLUG@VERSION")
    fetch.add_argument("--out", required=True, metavar="DIR", help="the folder to download into")
    fetch.add_argument(
        "--grant", type=int, help="the grant to download through (default: the one expiring last)"
    )
    fetch.add_argument("--jobs", type=int, default=4, help="files downloaded at once (default 4)")
    fetch.set_defaults(handler=cmd_download)
    send = commands.add_parser(
        "submit",
        parents=[common],
        help="submit predictions, masks or an ONNX model to a benchmark task; wait for the score",
    )
    send.add_argument("task", metavar="TASK", help="the task's short name (its slug)")
    send.add_argument("file", metavar="FILE", help="the predictions CSV, masks ZIP or ONNX model")
    send.add_argument(
        "--kind", choices=("predictions", "masks", "onnx"),
        help="what FILE is (default: its ending says, .csv, .zip or .onnx)",
    )  # fmt: skip
    send.add_argument("--title", help="the entry's title (default: the file's name)")
    send.add_argument("--group", help="the group's key, when you hold the release through several")
    for name in CARD_OPTIONS:
        send.add_argument(f"--{name.replace('_', '-')}", dest=name, help="for the model card")
    send.add_argument(
        "--wait", type=float, default=600.0,
        help="seconds to wait for the score (0: do not wait; default 600)",
    )  # fmt: skip
    send.add_argument("--poll", type=float, default=2.0, help="seconds between two looks")
    send.add_argument("--json", action="store_true", help="print the server's answer as JSON")
    send.set_defaults(handler=cmd_submit)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on a usage error, 0 on --help
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except (UsageError, ClientError) as error:
        print(f"imagebank: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("imagebank: interrupted.", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:
        print(f"imagebank: {error}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
