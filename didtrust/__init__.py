"""didtrust: the composition root (settings, app factory, CLI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("didtrust")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"
