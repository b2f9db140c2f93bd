"""Which store a database URL names, and the one place that opens it.

URLs (``DIDTRUST_DATABASE_URL``):

- ``sqlite:///PATH``: a SQLite file (``registry.sqlite.SqliteStore``). As in
  SQLAlchemy, what follows the third slash is the path, so
  ``sqlite:///data/registry.sqlite3`` is relative to the working directory and
  ``sqlite:////var/lib/didtrust/registry.sqlite3`` is absolute. Percent-escapes
  are decoded; a host, a query or a fragment is refused.
- ``memory:`` (or ``memory://``): a new, empty store in the process's memory
  (``registry.memory.InMemoryStore``); nothing outlives the process.

Adding a backend means a scheme here and its ``registry.store.Backend``. This
module opens stores; it knows nothing of what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from registry.memory import InMemoryStore
from registry.sqlite import SqliteStore
from registry.store import LogStore

__all__ = ["SCHEMES", "DatabaseUrl"]

SCHEMES = ("sqlite", "memory")
"""The schemes :meth:`DatabaseUrl.parse` knows."""

_EXAMPLE = "e.g. sqlite:///data/registry.sqlite3 or memory:"


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed database URL: its scheme and, for a file, its path.

    Attributes:
        url: The URL as given.
        scheme: One of :data:`SCHEMES`.
        path: The database file (``sqlite``), or ``None`` (``memory``).
    """

    url: str
    scheme: str
    path: Path | None

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        """Parse ``url`` (see the module docstring).

        Raises:
            ValueError: ``url`` is malformed or names an unknown scheme; the
                message is one line and says what is wrong.
        """
        scheme, colon, rest = url.partition(":")
        if not colon or not scheme:
            raise ValueError(f"{url!r} is not a database URL ({_EXAMPLE})")
        scheme = scheme.lower()
        if scheme == "memory":
            if rest not in ("", "//"):
                raise ValueError(f"{url!r}: memory: takes nothing after it")
            return cls(url, "memory", None)
        if scheme != "sqlite":
            raise ValueError(
                f"{url!r}: unknown database scheme {scheme!r} "
                f"(known: {', '.join(SCHEMES)})"
            )
        if not rest.startswith("//"):
            raise ValueError(f"{url!r}: a sqlite URL starts sqlite:/// ({_EXAMPLE})")
        host, slash, path = rest[2:].partition("/")
        if host:
            raise ValueError(
                f"{url!r}: a sqlite URL takes no host "
                "(sqlite:///relative/path or sqlite:////absolute/path)"
            )
        if "?" in path or "#" in path:
            raise ValueError(f"{url!r}: a sqlite URL takes no query or fragment")
        if not slash or not path or path.endswith("/"):
            raise ValueError(f"{url!r}: a sqlite URL must name a file ({_EXAMPLE})")
        return cls(url, "sqlite", Path(unquote(path)))

    @classmethod
    def sqlite(cls, path: Path) -> DatabaseUrl:
        """The URL of the SQLite file at ``path``."""
        return cls.parse(f"sqlite:///{path}")

    def __str__(self) -> str:
        return self.url

    @property
    def persistent(self) -> bool:
        """Whether the store keeps its data beyond the process."""
        return self.path is not None

    def exists(self) -> bool:
        """Whether a store is already there (a file; memory never is)."""
        return self.path is not None and self.path.exists()

    async def open(self) -> LogStore:
        """Open the store this URL names (creating an empty one if needed).

        Raises:
            StorageError: The store cannot be opened (see ``SqliteStore.open``).
        """
        if self.path is None:
            return InMemoryStore()
        return await SqliteStore.open(self.path)
