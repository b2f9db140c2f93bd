"""A loopback DNS server that answers A/AAAA queries from a dict the test controls.

Only for tests: it listens on 127.0.0.1 (UDP), parses queries with dnspython and
answers from ``records`` (name → addresses), which the test may change at any
time, e.g. to rebind a name between two lookups. A name not in ``records`` gets
NXDOMAIN; a name with no address of the queried family gets an empty NOERROR
answer. Every query is logged in ``queries``. ``after_query`` lets a test act
right after an answer leaves (the next lookup sees the change), and ``silent``
makes the server drop queries, for timeout tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import cast

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DNSServer(asyncio.DatagramProtocol):
    """The protocol and the test-facing state; start it with ``serve_dns``."""

    def __init__(self, records: dict[str, list[str]] | None = None) -> None:
        self.records: dict[str, list[str]] = dict(records or {})
        self.queries: list[tuple[str, str]] = []
        self.after_query: Callable[[str, str], None] | None = None
        self.silent = False
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass the ABC.
        self._transport = cast(asyncio.DatagramTransport, transport)
        self.address = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if self.silent:
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            version = {"A": 4, "AAAA": 6}.get(rdtype)
            found = [
                a
                for a in self.records[name]
                if ipaddress.ip_address(a).version == version
            ]
            if found:
                response.answer.append(
                    dns.rrset.from_text_list(
                        question.name, 60, dns.rdataclass.IN, question.rdtype, found
                    )
                )
        assert self._transport is not None
        self._transport.sendto(response.to_wire(), addr)
        if self.after_query is not None:
            self.after_query(name, rdtype)

    def count(self, name: str, rdtype: str | None = None) -> int:
        """How many queries for ``name`` (of ``rdtype``, if given) arrived."""
        return sum(1 for n, t in self.queries if n == name and rdtype in (None, t))


@asynccontextmanager
async def serve_dns(
    records: dict[str, list[str]] | None = None,
) -> AsyncIterator[DNSServer]:
    """Run a ``DNSServer`` on 127.0.0.1 at a free port for the block's duration."""
    loop = asyncio.get_running_loop()
    server = DNSServer(records)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: server, local_addr=("127.0.0.1", 0)
    )
    try:
        yield server
    finally:
        transport.close()
