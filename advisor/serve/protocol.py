"""The HTTP/1.1 connection: uvicorn's httptools protocol with the limits it does not enforce itself.

Measured on uvicorn 0.55 (``python benchmarks/http_limits.py``): neither of its HTTP/1.1 parsers bounds
the request head as sent over a socket. httptools (llhttp) takes header lines of any length and any
number of fields (200 lines of 1 MiB got 200 OK); h11's ``max_incomplete_event_size`` is checked only
on data left over between reads, so a 100 KiB header line, or 5,000 fields, arriving in one read pass.
Neither times out a client that sends its head or body slowly, and a refused request whose body was
still arriving (413) was closed with unread data, which the kernel answers with a reset that can
destroy the 413 before the client reads it.

So the service runs httptools (the faster parser) through this subclass, which, before any other work:

* refuses a request target over :data:`MAX_LINE` bytes (414), a header line over :data:`MAX_LINE`,
  more than :data:`MAX_FIELDS` header fields or a head over :data:`MAX_HEAD` bytes (431); the bytes
  of a head still incomplete are counted as they arrive, so the parser never holds more than one
  read (at most 256 KiB) beyond :data:`MAX_HEAD`;
* closes a connection whose request head is not complete :data:`Limits.header_timeout` seconds after
  it opened or the request began (408 if part of a request arrived), and answers 408 to a request
  whose body is not complete :data:`Limits.body_timeout` seconds after its head;
* closes a refused connection gracefully: the answer is sent, the sending side shut, and the rest of
  what the client sends read and discarded (at most :data:`DRAIN_MAX` bytes, :data:`LINGER` seconds),
  so the client can always read the answer; a pipelined request refused while the ones before it are
  being handled is answered after them, in order;
* refuses a connection (503) while :data:`MAX_CONNECTIONS` are open: uvicorn's ``limit_concurrency``
  answers 503 to requests but accepts and reads any number of connections, each of which may hold an
  incomplete head of up to :data:`MAX_HEAD` (3,000 of them took the server from 77 to 261 MiB);
* on a graceful shutdown (SIGTERM, SIGINT), answers 503 at once to a request whose head or body is
  still arriving, instead of waiting for it up to the header or body timeout (uvicorn waits, without
  a limit of its own, for every connection to close).

:func:`server_options` are the uvicorn settings that use it, for ``ms-advisor serve`` and
``python -m advisor.web`` alike.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from advisor.errors import ServiceError

MAX_LINE = 16 * 1024      # bytes: the request line, and each header line
MAX_HEAD = 64 * 1024      # bytes: the request line and all header lines
MAX_FIELDS = 100          # header fields in one request
DRAIN_MAX = 16 * 1024 * 1024  # bytes read and discarded after a refusal, before the connection is cut
LINGER = 5.0              # seconds the discarding may take
MAX_CONNECTIONS = 1024    # open at once: each may hold a head of up to MAX_HEAD while it arrives


@dataclass
class Limits:
    """The timeouts of this process's connections (``serve --header-timeout``, ``--body-timeout``)."""
    header_timeout: float = 10.0
    body_timeout: float = 20.0


limits = Limits()  # set by create_app from its Settings: the app and its connections live in one process


def configure(header_timeout: float, body_timeout: float) -> None:
    limits.header_timeout = header_timeout
    limits.body_timeout = body_timeout


def server_options() -> dict[str, Any]:
    """uvicorn's settings for a server of this package: this protocol (head limits, timeouts, the
    drain after a refusal), at most 256 connections and requests at once (503 past them), kept-alive
    connections closed after 30 s idle, no WebSockets, no Server header."""
    return {"server_header": False, "timeout_keep_alive": 30, "limit_concurrency": 256, "ws": "none",
            "http": "advisor.serve.protocol:LimitedHttpToolsProtocol"}


class _Refused(ServiceError):
    pass


def error_response(status: int, reason: str, field: str, message: str) -> bytes:
    """A complete HTTP/1.1 response in the service's error shape, closing the connection."""
    body = json.dumps({"errors": [{"field": field, "message": message}]}, separators=(",", ":")).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode() + body


class _Transport:
    """The connection's transport as uvicorn's code sees it: ``close()`` while the client may still
    be sending its request becomes a graceful close (see :meth:`LimitedHttpToolsProtocol.linger`)."""

    def __init__(self, transport: asyncio.Transport, protocol: "LimitedHttpToolsProtocol"):
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        if self._protocol.request_incomplete() and not self._transport.is_closing():
            self._protocol.linger()
        else:
            self._transport.close()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounded (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_head = True           # the current request's head is not complete yet
        self.in_message = False       # a request has begun and its body is not complete
        self.head_bytes = 0           # bytes received while the head was incomplete
        self.fields = 0
        self.refusal: bytes | None = None
        self.lingering = False
        self.drained = 0
        self.raw: asyncio.Transport | None = None
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None
        self.linger_timer: asyncio.TimerHandle | None = None

    # --- the connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.raw = transport
        super().connection_made(_Transport(transport, self))  # type: ignore[arg-type]
        if len(self.connections) > MAX_CONNECTIONS:
            self.refuse(503, "Service Unavailable", "(connection)",
                        f"the service has {MAX_CONNECTIONS} connections open, its most; try again shortly")
            return
        self.head_timer = self.loop.call_later(limits.header_timeout, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self.head_timer, self.body_timer, self.linger_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def eof_received(self) -> None:
        if self.lingering:  # the client has sent all it will: the answer is out, close now
            self.close_now()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            self.drained += len(data)
            if self.drained > DRAIN_MAX:
                self.close_now()
            return
        if self.refusal is not None:
            return
        if self.in_head:
            self.head_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:  # also what a callback's _Refused becomes
            if self.refusal is None:
                self.refuse(400, "Bad Request", "(request)", "the request is not valid HTTP/1.1")
        except httptools.HttpParserUpgrade:  # as uvicorn does: with ws off, the request was passed on as a plain one
            self._unsupported_upgrade_warning()
        else:
            if self.in_head and self.head_bytes > MAX_HEAD:  # a head still arriving is already too long
                self.refuse(431, "Request Header Fields Too Large", "(headers)", self._head_message())

    def _head_message(self) -> str:
        return f"the request's header lines are longer than {MAX_HEAD // 1024} KiB together or {MAX_LINE // 1024} KiB each"

    def refuse(self, status: int, reason: str, field: str, message: str) -> None:
        """Answer ``status`` without passing the request on, and close gracefully."""
        if self.refusal is not None:
            return
        self.refusal = error_response(status, reason, field, message)
        self.logger.warning("refused a request with %d: %s", status, message)
        if self.in_head and self.cycle is not None and not self.cycle.response_complete:
            return  # a pipelined request: answered after the requests before it (see on_response_complete)
        if self.cycle is not None and not self.cycle.response_complete:
            if self.cycle.response_started:  # an answer is on its way (pipelining): it cannot be followed
                self.close_now()
                return
            self.cycle.disconnected = True  # the app's receive() ends; its answer is not sent
            self.cycle.message_event.set()
        self.transport.write(self.refusal)
        self.linger()

    def request_incomplete(self) -> bool:
        return self.in_message or (self.head_bytes > 0 and self.in_head)

    def linger(self) -> None:
        """Shut the sending side after the answer, and read and discard what the client still sends
        (up to DRAIN_MAX bytes, LINGER seconds): closing with unread data would reset the connection,
        and a reset can destroy the answer before the client reads it."""
        if self.lingering or self.raw is None:
            return
        self.lingering = True
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        try:
            if self.raw.can_write_eof():
                self.raw.write_eof()
        except (OSError, RuntimeError):
            self.close_now()
            return
        self.raw.resume_reading()
        self.linger_timer = self.loop.call_later(LINGER, self.close_now)

    def awaiting_answer(self) -> bool:
        """Whether a request has begun to arrive and nothing has been answered to it yet."""
        if self.in_head:  # a head arriving; any cycle is the previous request's
            return (self.head_bytes > 0 or self.in_message) and (self.cycle is None or self.cycle.response_complete)
        return self.in_message and self.cycle is not None and not self.cycle.response_started

    def shutdown(self) -> None:
        """The server is stopping: a request still arriving gets 503 now (the client may send it again
        to the next server), not up to the header or body timeout later; the rest as uvicorn does."""
        if self.refusal is None and not self.lingering and self.awaiting_answer():
            self.refuse(503, "Service Unavailable", "(request)", "the service is shutting down; send the request again")
            return
        super().shutdown()

    def close_now(self) -> None:
        if self.raw is not None and not self.raw.is_closing():
            self.raw.close()

    # --- timeouts ---------------------------------------------------------------------------------

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.lingering or self.raw is None or self.raw.is_closing():
            return
        if self.head_bytes == 0 and not self.in_message:  # nothing of a request arrived: just close
            self.close_now()
            return
        self.refuse(408, "Request Timeout", "(headers)", f"the request's headers did not arrive within {limits.header_timeout:g} s")

    def body_timed_out(self) -> None:
        self.body_timer = None
        if self.lingering or self.raw is None or self.raw.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.close_now()  # answered already: the rest of the body is not needed
            return
        self.refuse(408, "Request Timeout", "(body)", f"the request's body did not arrive within {limits.body_timeout:g} s")

    # --- parser callbacks -------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.in_message = True
        self.fields = 0
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(limits.header_timeout, self.head_timed_out)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_LINE:
            self.refuse(414, "URI Too Long", "(url)", f"the request's URL is longer than {MAX_LINE // 1024} KiB")
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields += 1
        if self.fields > MAX_FIELDS:
            self.refuse(431, "Request Header Fields Too Large", "(headers)", f"the request has more than {MAX_FIELDS} header fields")
            raise _Refused
        if len(name) + len(value) + 4 > MAX_LINE:
            self.refuse(431, "Request Header Fields Too Large", "(headers)", self._head_message())
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        if len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers) > MAX_HEAD:  # it came in few reads
            self.refuse(431, "Request Header Fields Too Large", "(headers)", self._head_message())
            raise _Refused
        self.head_bytes = 0
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        self.body_timer = self.loop.call_later(limits.body_timeout, self.body_timed_out)
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """A response is sent: the next pipelined request starts, or a refusal held back until the
        requests before it were answered is sent (answered at once, a client would take it for the
        answer to the first of them)."""
        super().on_response_complete()
        if self.refusal is not None and not self.lingering and self.cycle is not None and self.cycle.response_complete \
                and not self.raw_closing():  # self.cycle: the last request before the refused one
            self._unset_keepalive_if_required()
            self.transport.write(self.refusal)
            self.linger()

    def raw_closing(self) -> bool:
        return self.raw is None or self.raw.is_closing()

    def on_message_complete(self) -> None:
        self.in_message = False
        self.in_head = True
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None
        super().on_message_complete()
