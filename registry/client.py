"""Fetches registry answers and consistency proofs over HTTP(S).

A plain client for a URL the user chose (``didtrust registry verify URL``),
not the hardened fetcher: nothing it fetches is trusted until
``registry.answercheck`` checks it. One :class:`RegistryClient` owns, or
borrows, one ``aiohttp.ClientSession`` for all its requests, so a caller (or
a test) can pass its own session, connector or transport::

    async with RegistryClient() as client:          # owns a session
        answer = await client.answer(url, accept_jwt=True)
        report = await verify_answer_document(answer, ...)
        await check_history(report, store, proofs=client.proofs_from(server))

    client = RegistryClient(session=session)        # borrows one; never closes it

What this does not do: check anything it fetched, or follow redirects to
more than a few places.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import aiohttp

from registry.answercheck import (
    MAX_ANSWER_BYTES,
    decode_hash,
    describe_error,
    parse_answer_text,
    show_value,
)
from registry.errors import AnswerFormatError, RegistryFetchError
from resolver import strictjson

__all__ = ["RegistryClient", "ServerProofs"]

_CONNECT_TIMEOUT: Final = 10.0
_TOTAL_TIMEOUT: Final = 30.0
_MAX_REDIRECTS: Final = 3
_MAX_PROOF_BYTES: Final = 1 << 20


class RegistryClient:
    """GETs answers and proofs from registry servers through one session.

    Use it as an async context manager. Without ``session`` it opens its own
    on entry (with connect and total timeouts) and closes it on exit; with
    one, it uses that session and leaves closing it to its owner.

    Args:
        session: A session to borrow (its timeouts then apply).
    """

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session
        self._owned: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is None and self._owned is None:
            self._owned = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=_TOTAL_TIMEOUT, connect=_CONNECT_TIMEOUT
                )
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client opened it (a borrowed one stays open)."""
        owned, self._owned = self._owned, None
        if owned is not None:
            await owned.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session requests go through.

        Raises:
            RuntimeError: the client owns no session (not entered, or closed).
        """
        session = self._session or self._owned
        if session is None:
            raise RuntimeError("RegistryClient is used outside 'async with'")
        return session

    async def answer(
        self, url: str, *, accept_jwt: bool, max_bytes: int = MAX_ANSWER_BYTES
    ) -> dict[str, Any] | str:
        """GET a registry answer, as JSON or (``accept_jwt``) as a signed answer.

        Nothing in the answer is trusted until
        ``registry.answercheck.verify_answer_document`` checks it.

        Raises:
            RegistryFetchError: not an http(s) URL, a network error or timeout, a
                status other than 200, or a body over ``max_bytes``.
            AnswerFormatError: the body is neither JSON nor a compact JWS.
        """
        accept = "application/jwt" if accept_jwt else "application/json"
        status, body = await self._get(url, accept, max_bytes)
        if status != 200:
            raise RegistryFetchError(f"{url[:200]} answered {_problem(status, body)}")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AnswerFormatError("the answer is not utf-8 text") from None
        return parse_answer_text(text)

    async def consistency(self, server: str, first: int, second: int) -> list[bytes]:
        """GET an RFC 9162 consistency proof between two tree sizes from ``server``.

        Raises:
            RegistryFetchError: a network error, another status than 200, or a body
                that is not the proof asked for.
        """
        base = server.rstrip("/")
        url = f"{base}/registry/v1/log/proof/consistency?first={first}&second={second}"
        status, body = await self._get(url, "application/json", _MAX_PROOF_BYTES)
        if status != 200:
            raise RegistryFetchError(f"{base} answered {_problem(status, body)}")
        try:
            data = strictjson.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a json object")
            if data.get("first") != first or data.get("second") != second:
                raise ValueError(
                    f"it is for sizes {show_value(data.get('first'))} to "
                    f"{show_value(data.get('second'))}"
                )
            hashes = data.get("proof")
            if not isinstance(hashes, list) or len(hashes) > 128:
                raise ValueError("'proof' is not a list of hashes")
            return [decode_hash(h, f"proof hash {i}") for i, h in enumerate(hashes)]
        except (ValueError, RecursionError) as exc:
            raise RegistryFetchError(
                f"{base}: malformed consistency proof: {exc}"
            ) from None

    def proofs_from(self, server: str) -> ServerProofs:
        """``server``'s consistency proofs, for ``registry.history.check_history``."""
        return ServerProofs(self, server)

    async def _get(self, url: str, accept: str, max_bytes: int) -> tuple[int, bytes]:
        """GET ``url``; return the status and the body (capped)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryFetchError(f"not an http(s) url: {url[:200]}")
        try:
            async with self.session.get(
                url, headers={"Accept": accept}, max_redirects=_MAX_REDIRECTS
            ) as resp:
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise RegistryFetchError(
                        f"{url[:200]}: the body is {resp.content_length} bytes, "
                        f"over the limit of {max_bytes}"
                    )
                body = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > max_bytes:
                        raise RegistryFetchError(
                            f"{url[:200]}: the body is over the limit of "
                            f"{max_bytes} bytes"
                        )
                return resp.status, bytes(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            why = describe_error(exc)
            raise RegistryFetchError(f"cannot fetch {url[:200]}: {why}") from exc


@dataclass(frozen=True, slots=True)
class ServerProofs:
    """One server's consistency proofs, fetched through a client.

    A ``registry.history.ConsistencySource``.
    """

    client: RegistryClient
    server: str

    @property
    def source(self) -> str:
        """The server's URL, as the report names it."""
        return self.server

    async def consistency(self, first: int, second: int) -> list[bytes]:
        """The server's proof from size ``first`` to ``second``.

        Raises:
            RegistryFetchError: the proof could not be had.
        """
        return await self.client.consistency(self.server, first, second)


def _problem(status: int, body: bytes) -> str:
    try:
        problem = strictjson.loads(body)
        detail = f"{problem.get('title')}: {problem.get('detail')}"
    except (ValueError, RecursionError, AttributeError):
        detail = body[:200].decode("utf-8", "replace")
    return f"status {status}: {detail}"
