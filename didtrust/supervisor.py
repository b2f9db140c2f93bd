"""Worker processes for ``didtrust serve --workers N``, and the port they share.

The parent process (the supervisor) binds nothing itself: each worker listens
with ``SO_REUSEPORT`` and the kernel spreads connections over them. The
supervisor's job is to keep that set of workers whole and to never leave one
behind:

- **The port is checked first.** Before any worker starts, the supervisor
  binds the address once *without* ``SO_REUSEPORT``. If anything listens there
  — another didtrust, or orphans of an earlier one — that bind fails and the
  server refuses to start with one line (:class:`PortInUseError`), instead of
  joining the other listeners on the port.
- **A dead worker is replaced,** after a back-off that doubles from
  ``RESTART_DELAY`` up to ``MAX_RESTART_DELAY`` while workers keep dying young
  (before ``HEALTHY_AFTER`` seconds) and resets once one has lived that long.
  After ``MAX_QUICK_DEATHS`` quick deaths in a row the supervisor gives up and
  stops the rest: a worker that cannot start will not start on the next try.
- **Workers exit when the supervisor dies.** Each worker holds the reading end
  of a pipe whose only writing end is the supervisor's; when the supervisor
  goes (even by ``SIGKILL``) the pipe reads end-of-file and the worker sends
  itself ``SIGTERM``, which shuts it down gracefully. No orphan keeps serving.

On ``SIGTERM`` or ``SIGINT`` the supervisor stops restarting and passes
``SIGTERM`` to every worker, then waits for them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from typing import Any, Final

__all__ = [
    "HEALTHY_AFTER",
    "MAX_QUICK_DEATHS",
    "MAX_RESTART_DELAY",
    "RESTART_DELAY",
    "PortInUseError",
    "Supervisor",
    "check_port_free",
    "exit_with_parent",
]

log = logging.getLogger("didtrust.supervisor")

RESTART_DELAY: Final = 0.5
MAX_RESTART_DELAY: Final = 30.0
HEALTHY_AFTER: Final = 30.0
MAX_QUICK_DEATHS: Final = 8


class PortInUseError(Exception):
    """Something already listens on the address the server was told to use."""


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` once without ``SO_REUSEPORT``, then let it go.

    Port 0 (any free port) is always free.

    Raises:
        PortInUseError: the address is taken (by anything, including workers
            of another didtrust that share it with ``SO_REUSEPORT``).
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise PortInUseError(f"cannot listen on {host}:{port}: {exc}") from None
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # The same SO_REUSEADDR the server sets, so sockets lingering in
            # TIME_WAIT after a restart do not count as taken.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise PortInUseError(
                    f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                    " (is another server running there?)"
                ) from None


def exit_with_parent(parent: Connection) -> None:
    """In a worker: send ourselves ``SIGTERM`` when the supervisor is gone.

    ``parent`` is the reading end of a pipe whose writing end only the
    supervisor holds; it never writes, so a read returns only when the
    supervisor has exited and the kernel closed its end.
    """

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            parent.recv()
        log.warning("the supervising process is gone; this worker stops")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="didtrust-parent-watch", daemon=True).start()


@dataclass
class _Slot:
    """One worker position: the process in it now and its restart history."""

    index: int
    process: SpawnProcess | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    pipe: Connection | None = field(default=None, repr=False)


class Supervisor:
    """Keeps ``count`` worker processes running ``target(*args, parent)``.

    ``target`` is called in a spawned process with the worker's end of the
    parent pipe appended to ``args``; it should call :func:`exit_with_parent`
    on it. ``on_exit(pid)`` runs in the supervisor for every worker that ends.
    """

    def __init__(
        self,
        target: Callable[..., None],
        args: tuple[Any, ...],
        count: int,
        *,
        on_exit: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._args = args
        self._slots = [_Slot(i) for i in range(count)]
        self._on_exit = on_exit
        self._clock = clock
        self._ctx = multiprocessing.get_context("spawn")
        self._stopping = False
        # stop() runs in a signal handler; writing here wakes run()'s wait().
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self.gave_up = False
        #: Exit codes of the workers that ended after stop() (the last ones).
        self.final_exit_codes: list[int | None] = []

    def _start(self, slot: _Slot) -> None:
        reader, writer = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=self._target,
            args=(*self._args, reader),
            name=f"didtrust-worker-{slot.index}",
        )
        proc.start()
        reader.close()  # only the worker holds the reading end now
        slot.process, slot.pipe = proc, writer
        slot.started = self._clock()
        slot.restart_at = None

    def stop(self, *_args: object) -> None:
        """Stop restarting and ask every worker to shut down (a signal handler)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        for slot in self._slots:
            if slot.process is not None and slot.process.is_alive():
                slot.process.terminate()

    def run(self) -> None:
        """Start the workers and supervise them until they have all stopped."""
        try:
            self._run()
        finally:
            self._wake_r.close()
            self._wake_w.close()

    def _run(self) -> None:
        for slot in self._slots:
            self._start(slot)
        while True:
            live = [s for s in self._slots if s.process is not None]
            if not live and (self._stopping or self.gave_up):
                return
            pending = [s.restart_at for s in self._slots if s.restart_at is not None]
            timeout = None
            if pending and not self._stopping:
                timeout = max(0.0, min(pending) - self._clock())
            sentinels: dict[Any, _Slot] = {
                s.process.sentinel: s for s in live if s.process is not None
            }
            for ready in wait([*sentinels, self._wake_r], timeout=timeout):
                if ready is self._wake_r:
                    self._wake_r.recv(64)
                else:
                    self._reap(sentinels[ready])
            if self._stopping or self.gave_up:
                continue
            now = self._clock()
            for slot in self._slots:
                if slot.restart_at is not None and slot.restart_at <= now:
                    log.info("restarting worker %d", slot.index)
                    self._start(slot)

    def _reap(self, slot: _Slot) -> None:
        proc = slot.process
        assert proc is not None  # noqa: S101 - only live slots are waited on
        proc.join()
        if slot.pipe is not None:
            slot.pipe.close()
        slot.process, slot.pipe = None, None
        if self._on_exit is not None and proc.pid is not None:
            self._on_exit(proc.pid)
        if self._stopping or self.gave_up:
            self.final_exit_codes.append(proc.exitcode)
            return
        lived = self._clock() - slot.started
        slot.quick_deaths = slot.quick_deaths + 1 if lived < HEALTHY_AFTER else 1
        if slot.quick_deaths > MAX_QUICK_DEATHS:
            log.error(
                "worker %d keeps dying (exit code %s, %d times in a row); giving up",
                slot.index,
                proc.exitcode,
                slot.quick_deaths,
            )
            self.gave_up = True
            self.final_exit_codes.append(proc.exitcode)
            self.stop()
            return
        delay = min(MAX_RESTART_DELAY, RESTART_DELAY * 2 ** (slot.quick_deaths - 1))
        log.warning(
            "worker %d (pid %s) exited with code %s; restarting in %.1f s",
            slot.index,
            proc.pid,
            proc.exitcode,
            delay,
        )
        slot.restart_at = self._clock() + delay
