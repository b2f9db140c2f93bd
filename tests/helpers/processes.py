"""``didtrust`` run as a real child process, the way a user runs it.

- ``didtrust``: run one command to its end (stdout and stderr as text);
- ``in_parallel``: run several commands at once (start-up time dominates);
- ``serving``: ``didtrust serve`` on a free port for a ``with`` block, ready
  when the block starts, stopped by SIGTERM when it ends; the test then asserts
  on ``Served.returncode`` and ``Served.stderr``;
- ``registry_init``: the arguments of ``didtrust registry init``;
- ``free_port`` and ``wait_ready`` for tests that drive the server otherwise.

``env`` is the child's whole environment unless a helper says it adds to this
process's own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

DIDTRUST = (sys.executable, "-m", "didtrust")
"""The command line that starts the CLI in this interpreter."""


def didtrust(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``didtrust *args`` to its end; ``env`` defaults to this process's."""
    return subprocess.run(
        [*DIDTRUST, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy() if env is None else env,
        input=stdin,
        check=False,
    )


def registry_init(
    root: str, *, uri: str = "https://example.org/gov", sha256: str = "0" * 64
) -> tuple[str, ...]:
    """``registry init`` for ``root``, with a governance framework's URI and hash."""
    return (
        "registry",
        "init",
        "--root",
        root,
        "--governance-uri",
        uri,
        "--governance-sha256",
        sha256,
    )


def in_parallel(
    *commands: tuple[str, ...], env: dict[str, str], stdin: str | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``didtrust`` commands at once and wait for them all."""
    procs = [
        subprocess.Popen(
            [*DIDTRUST, *args],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in commands
    ]
    runs = []
    for proc, args in zip(procs, commands, strict=True):
        out, err = proc.communicate(stdin, timeout=60)
        runs.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return runs


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Until ``GET /ready`` on ``port`` answers 200; fails if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/ready", timeout=1
            ) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


@dataclass
class Served:
    """A ``didtrust serve`` child; ``returncode`` and ``stderr`` once it stopped."""

    port: int
    proc: subprocess.Popen[bytes]
    returncode: int | None = None
    stderr: bytes = field(default=b"", repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float) -> None:
        """SIGTERM, then wait; a server still running after ``timeout`` is killed."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            _out, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        self.returncode = self.proc.returncode


@contextmanager
def serving(
    *args: str, env: dict[str, str], stop_timeout: float = 20
) -> Iterator[Served]:
    """``didtrust serve --port N *args`` for the block, ready when it starts."""
    port = free_port()
    proc = subprocess.Popen(
        [*DIDTRUST, "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    served = Served(port, proc)
    try:
        wait_ready(port, proc)
        yield served
    finally:
        served.stop(stop_timeout)
