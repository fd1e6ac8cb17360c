"""HTTP access to the bank's REST API for the command-line client.

One requests Session carries the token; urllib3's Retry re-sends a request after a connection error
or a 429/502/503/504 answer, waiting longer each time. Re-sending an upload is harmless: the server
recognises files it already holds by their SHA-256 and does not store them twice.

Downloads of release files (`open_file`) are not retried here: a broken transfer resumes from the
bytes already on disk, which only the caller (imagebank/client/download.py) knows, so it retries;
each of its threads has its own Session (a Session is not meant to be shared between threads).
"""

from __future__ import annotations

import email.utils
import io
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 502, 503, 504)
CHUNK = 64 * 1024


class ClientError(Exception):
    """A failure to tell the user in one sentence: bad credentials, unreachable server, refusal."""


class SecondFactorNeeded(ClientError):
    """The account has two-factor authentication: the server wants a code, or a valid one."""

    def __init__(self, message: str, code_was_sent: bool):
        super().__init__(message)
        self.code_was_sent = code_was_sent


class Refused(ClientError):
    """The server refused a download for good (401, 403, 404): asking again changes nothing."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Transient(ClientError):
    """A download that may succeed if asked again: no connection, a broken transfer, a 5xx or 429
    answer. `retry_after`: the seconds the server asked to wait, if it said."""

    def __init__(self, message: str, retry_after: float | None = None, connection: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.connection = connection  # no answer at all: the server is out of reach


class RangeRefused(Transient):
    """416: the bytes already on disk are more than the file has; start it again."""


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass
class FileAnswer:
    """A file download under way: its body starts at byte `start` of the file (0 for a whole
    answer, the offset asked for in a 206)."""

    start: int
    response: requests.Response

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self.response.iter_content(CHUNK)
        except requests.exceptions.RequestException as error:  # broken mid-transfer
            raise Transient(f"the transfer broke off ({type(error).__name__})") from None

    def close(self) -> None:
        self.response.close()


def _explain(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason}".strip()
    if isinstance(body, dict):
        parts = []
        for key, value in body.items():
            text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(text if key in ("detail", "non_field_errors") else f"{key}: {text}")
        return f"HTTP {response.status_code}: " + " ".join(parts)
    return f"HTTP {response.status_code}: {body}"


class MultipartFile(io.RawIOBase):
    """A multipart/form-data body streamed from disk, so a progress bar can follow the bytes
    actually sent (requests' own `files=` reads the whole file into memory first).

    It has a length (requests sends Content-Length instead of chunked encoding) and tell/seek
    (urllib3 rewinds the body before re-sending it on a retry).
    """

    def __init__(
        self,
        fields: dict[str, str],
        file_field: str,
        path: Path,
        on_progress: Callable[[int], None] | None = None,
    ):
        super().__init__()
        self.boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in fields.items()
        )
        filename = path.name.replace('"', "_")
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._path = path
        self._file_size = path.stat().st_size
        self._size = len(self._head) + self._file_size + len(self._tail)
        self._file = path.open("rb")
        self._pos = 0
        self._on_progress = on_progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, min(self._size, base + offset))
        if self._on_progress:
            self._on_progress(self._pos)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        out = bytearray()
        while len(out) < size and self._pos < self._size:
            want = size - len(out)
            head_end = len(self._head)
            file_end = head_end + self._file_size
            if self._pos < head_end:
                piece = self._head[self._pos : self._pos + want]
            elif self._pos < file_end:
                self._file.seek(self._pos - head_end)
                piece = self._file.read(min(want, file_end - self._pos))
                if not piece:  # the file shrank while being sent
                    raise ClientError(f"{self._path} changed while it was being sent.")
            else:
                start = self._pos - file_end
                piece = self._tail[start : start + want]
            out += piece
            self._pos += len(piece)
        if self._on_progress:
            self._on_progress(self._pos)
        return bytes(out)

    def __iter__(self) -> Iterator[bytes]:  # requests treats only iterables as streams
        while chunk := self.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self._file.close()
        super().close()


class BankClient:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        retries: int = 5,
        backoff: float = 1.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 900.0,
    ):
        self.url = url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "imagebank-cli"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            backoff_max=60,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # POST too: uploads are idempotent on the server's side
            raise_on_status=False,  # after the last try, hand back the answer to explain it
            respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._token = token
        self._local = threading.local()

    def _file_session(self) -> requests.Session:
        """This thread's Session for file downloads: the token, no retries of its own."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "imagebank-cli"
            if self._token:
                # requests drops it on a redirect to another host (a signed object-storage URL).
                session.headers["Authorization"] = f"Token {self._token}"
            self._local.session = session
        return session

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The server's answer, whatever its status; ClientError when there is none."""
        url = path if path.startswith(("http://", "https://")) else f"{self.url}{path}"
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.RetryError as error:
            raise ClientError(f"The server kept refusing {url}: {error}") from None
        except requests.exceptions.ConnectionError:
            raise ClientError(f"Cannot connect to {self.url}: is the URL right?") from None
        except requests.exceptions.Timeout:
            raise ClientError(f"No answer from {self.url} in time.") from None
        except requests.exceptions.RequestException as error:
            raise ClientError(f"Request to {url} failed: {error}") from None

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self._send(method, path, **kwargs)
        if response.status_code == 401:
            raise ClientError(
                "The server refused the token (HTTP 401): run `imagebank login` again or check "
                "--token / IMAGEBANK_TOKEN."
            )
        if response.status_code >= 400:
            raise ClientError(f"{method} {path} failed: {_explain(response)}")
        return response

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"The server at {self.url} did not answer with JSON: is the URL the bank's?"
            ) from None

    def obtain_token(
        self, email: str, password: str, otp: str | None = None, name: str | None = None
    ) -> str:
        """A new token. SecondFactorNeeded when the server asks for a code (`otp`) that was not
        sent, or refuses the one sent."""
        body = {"email": email, "password": password}
        if otp:
            body["otp"] = otp
        if name:
            body["name"] = name
        response = self._send("POST", "/api/auth/token/", json=body)
        if response.status_code == 400:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            if isinstance(answer, dict) and "otp" in answer:
                raise SecondFactorNeeded(_explain(response), code_was_sent=bool(otp))
        if response.status_code >= 400:
            raise ClientError(f"POST /api/auth/token/ failed: {_explain(response)}")
        return self._json(response)["token"]

    def sites(self) -> list[dict]:
        sites: list[dict] = []
        next_url: str | None = "/api/sites/"
        while next_url:
            body = self._json(self._request("GET", next_url))
            if isinstance(body, list):  # not paginated
                return body
            sites.extend(body.get("results", []))
            next_url = body.get("next")
        return sites

    def known(self, site: int, hashes: list[str], batch: int = 5000) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(hashes), batch):
            body = self._json(
                self._request(
                    "POST",
                    "/api/ingest/known/",
                    json={"site": site, "sha256": hashes[start : start + batch]},
                )
            )
            known.update(body.get("known", []))
        return known

    def ingest(
        self, site: int, path: Path, on_progress: Callable[[int], None] | None = None
    ) -> dict:
        body = MultipartFile({"site": str(site)}, "file", path, on_progress)
        try:
            response = self._request(
                "POST", "/api/ingest/", data=body, headers={"Content-Type": body.content_type}
            )
        finally:
            body.close()
        return self._json(response)

    def downloadable(self, release: str | None = None) -> list[dict]:
        """What the user may download now: GET /api/access/downloads/, one entry per grant and
        release version."""
        params = {"release": release} if release else None
        body = self._json(self._request("GET", "/api/access/downloads/", params=params))
        if not isinstance(body, list):
            raise ClientError(f"The server at {self.url} answered the downloads list oddly.")
        return body

    def submit(self, task: str, path: str | os.PathLike, fields: dict[str, str]) -> dict:
        """Send a file (predictions, masks, a model) to a benchmark task: POST
        /api/benchmarks/{task}/submissions/.
        The server takes the same file again as the same submission, so a retried POST after a
        lost answer creates nothing twice."""
        name = os.path.basename(os.fspath(path))
        with open(path, "rb") as handle:
            files = {"file": (name, handle, "application/octet-stream")}
            response = self._request(
                "POST", f"/api/benchmarks/{quote(task, safe='')}/submissions/", data=fields,
                files=files,
            )  # fmt: skip
        return self._json(response)

    def submission(self, url: str) -> dict:
        """A submission as it stands (its `url` from submit)."""
        return self._json(self._request("GET", url))

    def open_file(self, url: str, *, offset: int = 0, etag: str | None = None) -> FileAnswer:
        """A release file's body, streamed; from byte `offset` on when `offset` > 0, on the
        condition (If-Range) that the file is still the one whose ETag is `etag`: otherwise the
        server answers the whole file (start 0). Refused for 401/403/404, Transient for what may
        pass (no connection, 5xx, 429); ClientError for any other answer."""
        headers = {"Accept": "*/*"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
            if etag:
                headers["If-Range"] = etag
        try:
            response = self._file_session().get(
                url, headers=headers, stream=True, timeout=self.timeout
            )
        except requests.exceptions.ConnectionError:
            raise Transient(f"cannot connect to {self.url}", connection=True) from None
        except requests.exceptions.Timeout:
            raise Transient("no answer in time") from None
        except requests.exceptions.RequestException as error:
            raise Transient(f"the request failed ({type(error).__name__})") from None
        status = response.status_code
        if status in (200, 206):
            start = 0
            if status == 206:
                match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
                if not match or int(match.group(1)) != offset:
                    response.close()
                    raise Transient("the server answered another byte range than asked for")
                start = offset
            return FileAnswer(start=start, response=response)
        text = _refusal_text(response)
        response.close()
        if status == 401:
            raise Refused(
                "The server refused the token (HTTP 401): run `imagebank login` again or check "
                "--token / IMAGEBANK_TOKEN.",
                status,
            )
        if status == 403:
            raise Refused(f"Refused (HTTP 403): {text}", status)
        if status == 404:
            raise Refused("not on the server for you (HTTP 404)", status)
        if status == 416:  # what is on disk is longer than the file: start again
            raise RangeRefused("the server has fewer bytes than were already here (HTTP 416)")
        if status == 429 or status >= 500:
            raise Transient(
                f"HTTP {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        raise ClientError(f"GET {url} failed: HTTP {status} {response.reason}".strip())


def _refusal_text(response: requests.Response, limit: int = 2000) -> str:
    """The first lines of a refusal's body (the bank's 403 says where to sign the agreement)."""
    try:
        text = response.raw.read(limit, decode_content=True).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 (a body that cannot be read explains nothing)
        return f"{response.reason}"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines) or f"{response.reason}"
