"""A scratch PostgreSQL database for a bench script: created on the server a URL names, dropped
on exit, and the reason it cannot be had (no server, not a PostgreSQL URL) without raising."""

import uuid
from urllib.parse import urlsplit, urlunsplit


class TemporaryPostgres:
    """A database created on the server that `url` names, dropped on exit."""

    def __init__(self, url: str, prefix: str = "bench") -> None:
        self.server = urlsplit(url)
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.url = urlunsplit(self.server._replace(path=f"/{self.name}"))

    def _admin(self):
        import psycopg

        return psycopg.connect(urlunsplit(self.server), autocommit=True, connect_timeout=5)

    def __enter__(self) -> str:
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc_info) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_unavailable(url: str) -> str:
    """Why PostgreSQL cannot be measured, or '' when it can."""
    if url.lower() in ("", "none"):
        return "not asked for (--database-url none)"
    if not url.startswith(("postgres://", "postgresql://")):
        return f"not a PostgreSQL URL: {url}"
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=5).close()
    except Exception as error:  # any failure to connect: report it and go on without
        where = f"{urlsplit(url).hostname}:{urlsplit(url).port or 5432}"  # never the password
        return f"no server answers at {where}: {' '.join(str(error).split())[:200]}"
    return ""
