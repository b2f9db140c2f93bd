"""Where the repository and its test vectors are, for tests that read files."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository's root (the directory holding pyproject.toml)."""

VECTORS = REPO / "tests" / "vectors"
"""Test vectors copied from the specs, and generated fixtures."""
