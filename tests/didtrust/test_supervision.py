"""``didtrust serve --workers N`` under a supervisor (issue 18, item 10).

The attacks and accidents, each run for real against ``python -m didtrust
serve`` processes: a worker killed with SIGKILL (it must be replaced), the
supervisor killed with SIGKILL (its workers must not stay behind as orphans
serving the port), and a second server started on a port the first still holds
(it must refuse to start instead of sharing the port). The back-off and the
give-up rule are tested on :class:`didtrust.supervisor.Supervisor` directly,
with workers that are real spawned processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from didtrust import supervisor as supervision
from didtrust.supervisor import PortInUseError, Supervisor, check_port_free
from tests.helpers.fakes import ED25519_DID
from tests.helpers.processes import free_port, wait_ready

SERVE = (sys.executable, "-m", "didtrust", "serve")


def children(pid: int) -> set[int]:
    """Worker processes of ``pid`` (spawned children, not the resource tracker)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_for(condition, within: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def resolves(port: int) -> bool:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/1.0/identifiers/{ED25519_DID}",
        headers={"Accept": "application/did+json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return bool(resp.status == 200)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A two-worker server; killed (with whatever it left) after the test."""
    port = free_port()
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "DIDTRUST_DATA_DIR": str(tmp_path)},
    )
    workers: set[int] = set()
    try:
        wait_ready(port, proc)
        wait_for(lambda: len(children(proc.pid)) == 2, what="two workers")
        workers = children(proc.pid)
        yield proc, port
    finally:
        workers |= children(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.slow
def test_killed_worker_is_replaced(server):
    proc, port = server
    before = children(proc.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid),
        what="a replacement worker",
    )
    after = children(proc.pid)
    assert victim not in after
    assert before - {victim} <= after  # the other worker was left alone
    assert resolves(port)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0  # a replaced crash is not a failed stop


@pytest.mark.slow
def test_workers_do_not_outlive_a_killed_supervisor(server):
    proc, port = server
    workers = children(proc.pid)
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    wait_for(
        lambda: not any(alive(pid) for pid in workers), what="orphaned workers to exit"
    )
    check_port_free("127.0.0.1", port)  # nobody is left listening


@pytest.mark.slow
def test_second_server_on_a_held_port_refuses_to_start(server, tmp_path):
    _proc, port = server
    other = tmp_path / "other"
    out = subprocess.run(
        [*SERVE, "--port", str(port), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DIDTRUST_DATA_DIR": str(other)},
        check=False,
    )
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr
    assert resolves(port)  # the first server is untouched


def test_port_held_by_a_plain_socket_is_refused():
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUseError, match="cannot listen"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)


# -- the supervisor itself, with tiny spawned workers ----------------------------


def exit_at_once(code: int, _parent: Connection) -> None:
    """A worker that cannot start."""
    sys.exit(code)


def die_first_time(marker: str, _parent: Connection) -> None:
    """Exits 3 on its first start; later starts stay up until terminated."""
    path = Path(marker)
    with path.open("a") as f:
        f.write("start\n")
    if path.read_text().count("start") == 1:
        sys.exit(3)
    time.sleep(120)  # until terminated


@pytest.mark.slow
def test_worker_that_keeps_dying_is_given_up(monkeypatch):
    monkeypatch.setattr(supervision, "RESTART_DELAY", 0.01)
    monkeypatch.setattr(supervision, "MAX_QUICK_DEATHS", 2)
    exited: list[int] = []
    sup = Supervisor(exit_at_once, (7,), 1, on_exit=exited.append)
    sup.run()
    assert sup.gave_up
    assert len(exited) == 3  # started, restarted twice, then given up
    assert sup.final_exit_codes == [7]


@pytest.mark.slow
def test_crashed_worker_restarts_after_back_off(monkeypatch, tmp_path):
    monkeypatch.setattr(supervision, "RESTART_DELAY", 0.05)
    marker = tmp_path / "starts"
    sup = Supervisor(die_first_time, (str(marker),), 1)
    runner = threading.Thread(target=sup.run)
    runner.start()
    try:
        wait_for(
            lambda: marker.exists() and marker.read_text().count("start") == 2,
            what="the restart",
        )
    finally:
        sup.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert not sup.gave_up
    assert sup.final_exit_codes == [-signal.SIGTERM]
