"""A Source RCON client for Factorio servers (and the project's emulator standing in for one).

Source RCON (https://developer.valvesoftware.com/wiki/Source_RCON_Protocol): every packet is a
little-endian ``int32 size`` (the bytes that follow), ``int32 id``, ``int32 type``, the body and
two NUL bytes. The client authenticates with type 3 (AUTH) and the password, the server answers
type 2 (AUTH_RESPONSE) with the request's id, or id -1 for a wrong password; commands go as type
2 (EXECCOMMAND) and come back as type 0 (RESPONSE_VALUE) with the command's id.

Factorio answers each command with exactly one packet, however long, and does not answer the
"empty packet" trick other servers need to mark the end of a reply split over several packets
(docs/factorio-facts.md §2.1). So by default a reply is one packet; ``multi_packet=True`` turns on
the trick for servers that split (each command is followed by an empty RESPONSE_VALUE packet of
its own id, and the reply is every packet up to that id's echo).

Why not the ``rcon`` package: its ``Client`` blocks on one server at a time (a file object per
read), so a trainer driving 8 servers pays 8 round trips in a row; ``RconMux`` here sends to every
server and then collects whichever replies come first. Figures: ``bench/bench_rcon.py`` and
docs/factorio.md.

Every reply is checked: its size (at least 10 bytes, at most ``max_reply``), id, type, and the two
NUL terminators; anything else raises :class:`~factorio_fast.errors.ProtocolError` and the
connection is closed (a stream that lost its framing cannot be trusted). A wait that runs out
raises :class:`~factorio_fast.errors.WaitTimeoutError`; a peer that closes the connection, or a
refused login, :class:`~factorio_fast.errors.FactorioServerError`. The password is never part of a
message, ``repr`` or log line.
"""

from __future__ import annotations

import select
import selectors
import socket
import struct
import time
from collections import deque
from collections.abc import Iterable

from factorio_fast.errors import (
    FactorioServerError,
    InvalidArgumentError,
    ProtocolError,
    StateError,
    WaitTimeoutError,
)

__all__ = ["RconClient", "RconMux", "Secret", "encode_packet", "AUTH", "AUTH_RESPONSE", "EXECCOMMAND",
           "RESPONSE_VALUE", "DEFAULT_MAX_REPLY"]

AUTH, AUTH_RESPONSE, EXECCOMMAND, RESPONSE_VALUE = 3, 2, 2, 0
_HEAD = struct.Struct("<iii")
_MIN_SIZE = 10            # id + type + two NULs
DEFAULT_MAX_REPLY = 64 << 20  # one reply packet; Factorio's may exceed 64 KB, never 64 MB here
_RECV = 1 << 18
_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def encode_packet(pid: int, ptype: int, body: bytes) -> bytes:
    """One Source RCON packet."""
    if b"\x00" in body:
        # A NUL ends a Factorio command early (docs/factorio-facts.md §2.1): refuse it here.
        raise InvalidArgumentError("an RCON command cannot contain a NUL byte")
    return _HEAD.pack(len(body) + _MIN_SIZE, pid, ptype) + body + b"\x00\x00"


def _quickack(sock: socket.socket) -> None:
    # Linux clears TCP_QUICKACK after some ACKs, so it is set again before each wait: a delayed
    # ACK on our side meeting Nagle on the server's stalls every reply fragment ~40 ms
    # (FLE PR #407, measured on Factorio's RCON).
    if _TCP_QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            pass


class Secret:
    """A string that prints as ``'***'`` (in reprs, tracebacks' locals, ``vars()``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        """The secret itself (only to pass it to the server)."""
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a Secret is not pickled")


class RconClient:
    """One RCON connection.

    Parameters
    ----------
    host, port : str, int
        The server's RCON address (the launcher binds 127.0.0.1).
    password : str
        Kept only to log in; never shown.
    timeout : float
        Seconds for connecting, logging in and each :meth:`command`.
    max_reply : int
        Largest reply packet accepted (bytes).
    multi_packet : bool
        Replies may span several packets; use the empty-packet trick to find their end.
        Factorio never splits (leave it False for Factorio: it would not answer the trick).
    """

    def __init__(self, host: str, port: int, password: str | Secret, *, timeout: float = 10.0,
                 max_reply: int = DEFAULT_MAX_REPLY, multi_packet: bool = False,
                 connect: bool = True):
        if isinstance(password, Secret):
            password = password.reveal()
        if not isinstance(password, str) or not password:
            raise InvalidArgumentError("the RCON password must be a non-empty str")
        if not (isinstance(port, int) and 0 < port < 65536):
            raise InvalidArgumentError(f"port must be 1..65535, got {port!r}")
        if not timeout or timeout <= 0:
            raise InvalidArgumentError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.host, self.port = host, int(port)
        self.timeout = float(timeout)
        self.max_reply = int(max_reply)
        self.multi_packet = bool(multi_packet)
        self.__password = Secret(password)
        self.sock: socket.socket | None = None
        self._inbuf = bytearray()
        self._out = bytearray()
        self._next_id = 1
        self._pending: deque[int] = deque()     # command ids sent, replies not yet complete
        self._parts: dict[int, list[bytes]] = {}  # multi_packet: the reply so far of each id
        self._markers: dict[int, int] = {}      # multi_packet: command id -> its end marker's id
        self._trailers: set[int] = set()        # multi_packet: ids whose srcds trailer may come
        self._done: dict[int, str] = {}         # complete replies not yet taken
        self.bytes_sent = self.bytes_received = 0
        self._poller = None
        self._poll_out = False
        if connect:
            self.connect()

    def __repr__(self) -> str:
        state = "open" if self.sock is not None else "closed"
        return f"RconClient({self.host}:{self.port}, {state})"

    # ---------------------------------------------------------------- connection

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return f"{self.host}:{self.port}"

    def fileno(self) -> int:
        """The socket's descriptor (for selectors); StateError once closed."""
        if self.sock is None:
            raise StateError(f"RCON connection to {self.address} is closed")
        return self.sock.fileno()

    def connect(self) -> None:
        """Connect and log in; FactorioServerError if refused or the password is wrong."""
        if self.sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except socket.timeout:
            raise WaitTimeoutError(f"RCON connect to {self.address} timed out after "
                                   f"{self.timeout} s") from None
        except OSError as e:
            raise FactorioServerError(f"RCON connect to {self.address} failed: "
                                      f"{e.strerror or e}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _quickack(sock)
        sock.setblocking(False)
        self.sock = sock
        try:
            self._login()
        except BaseException:
            self.close()
            raise

    def _login(self) -> None:
        pid = self._take_id()
        self._queue(encode_packet(pid, AUTH, self.__password.reveal().encode("utf-8")))
        deadline = time.monotonic() + self.timeout
        while True:
            # srcds sends an empty RESPONSE_VALUE before the AUTH_RESPONSE; Factorio does not.
            rid, rtype, body = self._read_packet(deadline, "the login reply")
            if rtype == RESPONSE_VALUE and rid == pid and not body:
                continue
            if rtype != AUTH_RESPONSE:
                raise self._fail(ProtocolError(
                    f"RCON {self.address}: login answered with packet type {rtype}, not "
                    f"{AUTH_RESPONSE}"))
            if rid == -1:
                raise self._fail(FactorioServerError(
                    f"RCON {self.address}: the server refused the password"))
            if rid != pid:
                raise self._fail(ProtocolError(
                    f"RCON {self.address}: login answered id {rid}, sent {pid}"))
            return

    def close(self) -> None:
        """Close the connection (idempotent); outstanding commands are dropped."""
        sock, self.sock = self.sock, None
        self._poller = None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        self._pending.clear()
        self._parts.clear()
        self._markers.clear()
        self._done.clear()
        self._inbuf.clear()
        self._out.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---------------------------------------------------------------- commands

    def command(self, text: str, timeout: float | None = None) -> str:
        """Run one command and return its reply's text."""
        pid = self.send(text)
        return self.result(pid, timeout)

    def send(self, text: str) -> int:
        """Queue a command and write what the socket takes now; returns its id. Replies are
        read with :meth:`result` (or by an :class:`RconMux`)."""
        if self.sock is None:
            raise StateError(f"RCON connection to {self.address} is closed")
        if not isinstance(text, str):
            raise InvalidArgumentError(f"an RCON command is a str, got {type(text).__name__}")
        pid = self._take_id()
        self._queue(encode_packet(pid, EXECCOMMAND, text.encode("utf-8")))
        if self.multi_packet:
            # An empty RESPONSE_VALUE after the command, with an id of its own: the server
            # mirrors it after the whole reply to the command, which marks where that ends.
            marker = self._take_id()
            self._queue(encode_packet(marker, RESPONSE_VALUE, b""))
            self._parts[pid] = []
            self._markers[pid] = marker
        self._pending.append(pid)
        self.flush()
        return pid

    def result(self, pid: int, timeout: float | None = None) -> str:
        """Wait for the reply to command ``pid``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while pid not in self._done:
            if pid not in self._pending:
                raise StateError(f"RCON {self.address}: no command {pid} outstanding")
            self._wait(deadline, f"the reply to command {pid}")
        return self._done.pop(pid)

    @property
    def outstanding(self) -> int:
        """Commands sent whose replies have not been taken yet."""
        return len(self._pending)

    def take(self, pid: int) -> str | None:
        """The reply to ``pid`` if it is complete, else None."""
        return self._done.pop(pid, None)

    # ---------------------------------------------------------------- I/O, non-blocking

    def _take_id(self) -> int:
        pid = self._next_id
        self._next_id = pid + 1 if pid < 0x7FFFFFF0 else 1  # never -1, the refused-login id
        return pid

    def _queue(self, data: bytes) -> None:
        self._out += data

    @property
    def wants_write(self) -> bool:
        """Whether queued request bytes wait to be written."""
        return bool(self._out)

    def flush(self) -> None:
        """Write as much of the queued output as the socket takes without blocking."""
        while self._out:
            try:
                n = self.sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                raise self._fail(FactorioServerError(
                    f"RCON {self.address}: send failed: {e.strerror or e}")) from None
            self.bytes_sent += n
            del self._out[:n]

    def on_readable(self) -> int:
        """Read what arrived and complete replies; returns how many completed."""
        try:
            data = self.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            raise self._fail(FactorioServerError(
                f"RCON {self.address}: connection lost: {e.strerror or e}")) from None
        if not data:
            raise self._fail(FactorioServerError(
                f"RCON {self.address}: the server closed the connection"
                + (f" with {len(self._pending)} command(s) unanswered" if self._pending else "")
                + (f" inside a packet ({len(self._inbuf)} bytes of it arrived)"
                   if self._inbuf else "")))
        self.bytes_received += len(data)
        self._inbuf += data
        _quickack(self.sock)
        done = 0
        while True:
            pkt = self._parse_one()
            if pkt is None:
                return done
            done += self._deliver(*pkt)

    def _parse_one(self):
        buf = self._inbuf
        if len(buf) < 4:
            return None
        size = int.from_bytes(buf[:4], "little", signed=True)
        if size < _MIN_SIZE or size > self.max_reply + _MIN_SIZE:
            raise self._fail(ProtocolError(
                f"RCON {self.address}: packet size {size} outside {_MIN_SIZE}.."
                f"{self.max_reply + _MIN_SIZE}"))
        if len(buf) < 4 + size:
            return None
        rid, rtype = struct.unpack_from("<ii", buf, 4)
        body = bytes(buf[12:size + 2])
        term = bytes(buf[size + 2:size + 4])
        del buf[:4 + size]
        if term != b"\x00\x00":
            raise self._fail(ProtocolError(
                f"RCON {self.address}: packet {rid} does not end in two NUL bytes"))
        return rid, rtype, body

    def _deliver(self, rid: int, rtype: int, body: bytes) -> int:
        if rtype != RESPONSE_VALUE:
            raise self._fail(ProtocolError(
                f"RCON {self.address}: reply of type {rtype}, expected {RESPONSE_VALUE}"))
        if not self.multi_packet:
            if not self._pending or rid != self._pending[0]:
                want = self._pending[0] if self._pending else "none"
                raise self._fail(ProtocolError(
                    f"RCON {self.address}: reply id {rid}, expected {want}"))
            self._pending.popleft()
            self._done[rid] = self._text(body)
            return 1
        if rid in self._trailers:
            # srcds follows the marker's echo with one more packet of the marker's id
            # (body 00 01 00 00); it belongs to no reply.
            self._trailers.discard(rid)
            return 0
        if not self._pending:
            raise self._fail(ProtocolError(f"RCON {self.address}: reply id {rid} with no "
                                           "command outstanding"))
        pid = self._pending[0]
        marker = self._markers[pid]
        if rid == pid:
            parts = self._parts[pid]
            parts.append(body)
            if sum(len(p) for p in parts) > self.max_reply:
                raise self._fail(ProtocolError(
                    f"RCON {self.address}: reply {rid} exceeds {self.max_reply} bytes"))
            return 0
        if rid != marker:
            raise self._fail(ProtocolError(
                f"RCON {self.address}: reply id {rid}, expected {pid} or its end marker "
                f"{marker}"))
        # The marker's echo: the server answers in order, so the command's reply is complete.
        self._pending.popleft()
        del self._markers[pid]
        parts = self._parts.pop(pid)
        self._trailers.add(marker)
        if len(self._trailers) > 64:  # bounded: a server without the trailer never sends it
            self._trailers.pop()
        self._done[pid] = self._text(b"".join(parts))
        return 1

    def _text(self, body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self._fail(ProtocolError(
                f"RCON {self.address}: reply is not UTF-8 ({e.reason} at byte {e.start})"
            )) from None

    def _fail(self, exc: Exception) -> Exception:
        self.close()
        return exc

    def _wait(self, deadline: float, what: str) -> None:
        """One blocking wait (bounded by ``deadline``) for this socket, then its I/O."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(f"RCON {self.address}: no answer to {what} within "
                                   f"{self.timeout:g} s")
        mask = self._poll_once(left)
        if not mask:
            raise WaitTimeoutError(f"RCON {self.address}: no answer to {what} within "
                                   f"{self.timeout:g} s")
        if mask & select.POLLOUT:
            self.flush()
        if mask & (select.POLLIN | select.POLLHUP | select.POLLERR):
            self.on_readable()

    def _poll_once(self, left: float) -> int:
        """One poll(2) of this socket (a poll object kept per connection: one system call a
        wait, where a new selector would cost four)."""
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.sock, select.POLLIN)
            self._poll_out = False
        want_out = bool(self._out)
        if want_out != self._poll_out:
            self._poller.modify(self.sock, select.POLLIN | (select.POLLOUT if want_out else 0))
            self._poll_out = want_out
        events = self._poller.poll(max(1, int(left * 1000 + 0.999)))
        return events[0][1] if events else 0

    def _read_packet(self, deadline: float, what: str):
        """The next packet, bypassing reply matching (the login)."""
        while True:
            self.flush()
            pkt = self._parse_one()
            if pkt is not None:
                return pkt
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"RCON {self.address}: no answer to {what} within "
                                       f"{self.timeout:g} s")
            with selectors.DefaultSelector() as sel:
                sel.register(self.sock, selectors.EVENT_READ
                             | (selectors.EVENT_WRITE if self._out else 0))
                events = sel.select(left)
            if not events:
                continue
            if events[0][1] & selectors.EVENT_READ:
                try:
                    data = self.sock.recv(_RECV)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    raise FactorioServerError(f"RCON {self.address}: connection lost: "
                                              f"{e.strerror or e}") from None
                if not data:
                    raise FactorioServerError(f"RCON {self.address}: the server closed the "
                                              f"connection during {what}")
                self._inbuf += data


class _Watched:
    __slots__ = ("tag",)

    def __init__(self, tag):
        self.tag = tag


class RconMux:
    """Many RCON connections driven from one thread: send to all, then collect as they come.

    ``exchange({key: text})`` sends every command before reading any reply, so N servers cost
    about one round trip, not N. :meth:`send` / :meth:`collect` are the two halves, for callers
    that send each server its next request as soon as its reply arrives.
    """

    def __init__(self, clients: Iterable[RconClient] = ()):
        self._sel = selectors.DefaultSelector()
        self.clients: list[RconClient] = []
        self._inflight: dict[RconClient, deque] = {}
        self._socks: dict[RconClient, socket.socket] = {}
        for c in clients:
            self.add(c)

    def add(self, client: RconClient) -> None:
        """Drive ``client`` from this mux too."""
        self.clients.append(client)
        self._inflight[client] = deque()
        self._socks[client] = client.sock
        self._sel.register(client.sock, selectors.EVENT_READ, client)

    def discard(self, client: RconClient) -> None:
        """Stop watching ``client`` (closed, or failed)."""
        if client in self._inflight:
            del self._inflight[client]
            self.clients.remove(client)
            try:
                self._sel.unregister(self._socks.pop(client))  # found even once closed
            except (KeyError, ValueError, OSError):
                pass

    def send(self, client: RconClient, text: str, tag=None) -> None:
        """Send one command to ``client``; its reply comes out of :meth:`collect` with ``tag``."""
        pid = client.send(text)
        self._inflight[client].append((pid, tag))
        self._update(client)

    def _update(self, client: RconClient) -> None:
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.wants_write else 0)
        self._sel.modify(client.sock, ev, client)

    @property
    def inflight(self) -> int:
        """Commands in flight over all clients."""
        return sum(len(q) for q in self._inflight.values())

    def watch(self, sock, tag) -> None:
        """Also wake :meth:`poll` when ``sock`` (another socket: a UDP one) is readable; it
        is reported as ``(None, tag, None)`` and not read here."""
        self._sel.register(sock, selectors.EVENT_READ, _Watched(tag))

    def collect(self, timeout: float) -> list[tuple[RconClient, object, str]]:
        """Wait (at most ``timeout`` s) until at least one reply is complete; return all the
        complete ones as (client, tag, text), in arrival order per client."""
        if not self.inflight:
            raise StateError("collect() with no command in flight")
        deadline = time.monotonic() + timeout
        while True:
            out = self.poll(max(0.0, deadline - time.monotonic()))
            out = [o for o in out if o[0] is not None]
            if out:
                return out
            if time.monotonic() >= deadline:
                waiting = [c for c, q in self._inflight.items() if q]
                e = WaitTimeoutError(f"RCON: no reply from {', '.join(c.address for c in waiting)}"
                                     f" within {timeout:g} s")
                e.rcon_client = waiting[0]
                raise e

    def _complete(self, out: list) -> list:
        """Append to ``out`` every reply complete so far, in each client's request order."""
        for c, q in self._inflight.items():
            while q:
                text = c.take(q[0][0])
                if text is None:
                    break
                out.append((c, q.popleft()[1], text))
        return out

    def poll(self, timeout: float) -> list:
        """Complete replies as (client, tag, text) and readable watched sockets as (None, tag,
        None); waits at most ``timeout`` s for the first, returns [] when it ran out."""
        deadline = time.monotonic() + timeout
        while True:
            out = self._complete([])
            if out:
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            for key, mask in self._sel.select(left):
                c = key.data
                if isinstance(c, _Watched):
                    out.append((None, c.tag, None))
                    continue
                try:
                    if mask & selectors.EVENT_WRITE:
                        c.flush()
                        self._update(c)
                    if mask & selectors.EVENT_READ:
                        c.on_readable()
                except Exception as e:
                    e.rcon_client = c  # which connection failed, for the caller's message
                    self.discard(c)
                    raise
            if out:
                # watched sockets are readable: report them with the replies complete so far
                return self._complete(out)

    def exchange(self, commands: dict, timeout: float = 10.0) -> dict:
        """Send ``{client: text}`` to every client at once; return ``{client: reply}``."""
        for c, text in commands.items():
            self.send(c, text, c)
        out = {}
        deadline = time.monotonic() + timeout
        while len(out) < len(commands):
            for c, _, text in self.collect(max(0.0, deadline - time.monotonic())):
                out[c] = text
        return out

    def close(self) -> None:
        """Close every client of the mux (idempotent)."""
        try:
            self._sel.close()
        except Exception:
            pass
