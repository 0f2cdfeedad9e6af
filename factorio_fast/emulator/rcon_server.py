"""The server side of Source RCON, as the emulated Factorio server speaks it.

The protocol (https://developer.valvesoftware.com/wiki/Source_RCON_Protocol): each packet is a
little-endian ``int32 size`` (the bytes that follow), ``int32 id``, ``int32 type``, the body, a NUL
and a NUL. Types: AUTH 3, AUTH_RESPONSE 2, EXECCOMMAND 2, RESPONSE_VALUE 0.

What the game does, and so this server (docs/factorio-facts.md §2.1):

* Auth first. A right password answers AUTH_RESPONSE with the request's id; a wrong one answers
  id -1 and closes the connection. Anything but AUTH before it closes the connection.
* A command is answered by **one** RESPONSE_VALUE packet with the command's id, however long
  the reply (reported: the ``factorio-rcon`` crate's README; pmrowla/pysrcds#5).
* That packet leaves in **4096-byte writes, each after the peer acknowledged the previous one**,
  on a socket with Nagle's algorithm on (the default). This is the emulator's model of the
  stall measured on the game (JackHopkins/factorio-learning-environment PR #407: "~40 ms per
  4 KB response fragment (Nagle/delayed-ACK)", 1 MB of text in 9.7 s, 17 ms compressed): the
  second fragment waits for the client's ACK, and a client that leaves its ACKs delayed
  (Linux's delayed ACK, 40 ms at least) makes it wait that long; one that sets TCP_QUICKACK
  (re-armed after each read) does not. How many fragments of one reply wait depends on the
  client's kernel: on Linux loopback an 8 KB or a 64 KB reply took ~45 ms without QUICKACK and
  ~3 ms with it (one wait per reply: Linux acknowledges at once while the reader keeps reading).
  Waiting for the ACK (SIOCOUTQ, the unacknowledged bytes, Linux only) rather than leaving the
  writes to Nagle keeps the wait per fragment instead of per coalesced segment (loopback's MSS
  is 64 KB). The game's own mechanism is not known (INFERRED from the measurement).
* An empty EXECCOMMAND gets no answer (reported: panicbit/rust-rcon#13, the game "ignores the
  empty send"). An empty RESPONSE_VALUE from the client (the "empty packet trick" clients use to
  find the end of a split reply) is answered, in order, by one empty RESPONSE_VALUE with its
  id: the ``rcon`` package (PyPI) sends one after any reply of 4096 bytes or more and reads until
  a packet with another id arrives, and it works with real servers (INFERRED from that).
* A NUL inside a command's body cuts the command there (docs/factorio-facts.md §2.1).
* At most 128 connections (CL 1.1.54); more are closed at once.
"""

from __future__ import annotations

import errno
import fcntl
import hmac
import socket
import struct
import termios
import time
from collections import deque

__all__ = ["AUTH", "AUTH_RESPONSE", "EXECCOMMAND", "RESPONSE_VALUE", "FRAGMENT", "MAX_PACKET",
           "MAX_CONNECTIONS", "RconConnection", "packet"]

AUTH, AUTH_RESPONSE, EXECCOMMAND, RESPONSE_VALUE = 3, 2, 2, 0
FRAGMENT = 4096
# The largest packet the emulator takes from a client. A Wube developer gave the game's limit as
# 100 MiB (docs/factorio-facts.md §2.1); the emulator keeps it, since it buffers at most one.
MAX_PACKET = 100 * 1024 * 1024
MAX_CONNECTIONS = 128
_SIOCOUTQ = getattr(termios, "TIOCOUTQ", None)  # == SIOCOUTQ on Linux


def packet(pid: int, ptype: int, body: bytes) -> bytes:
    return struct.pack("<iii", len(body) + 10, pid, ptype) + body + b"\0\0"


def _unacked(sock) -> int:
    """Bytes written to the socket and not yet acknowledged by the peer (0 if unknown)."""
    if _SIOCOUTQ is None:
        return 0
    try:
        buf = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return struct.unpack("i", buf)[0]


class RconConnection:
    """One client connection: bytes in, console lines to run, reply fragments out.

    The owner (the server's select loop) calls :meth:`read` when the socket is readable, runs
    the lines :meth:`read` returns through ``execute`` (a console line -> reply text), and calls
    :meth:`flush` whenever :meth:`wants_flush` says a fragment may go out.
    """

    def __init__(self, sock: socket.socket, password: str, execute, log):
        self.sock = sock
        sock.setblocking(False)
        self._password = password.encode("utf-8")
        self._execute = execute
        self._log = log
        self._in = bytearray()
        self._out: deque[bytes] = deque()  # whole packets, in order
        self._cur = memoryview(b"")  # the packet being written
        self._frag_left = 0  # bytes of the current fragment not yet taken by the kernel
        self._wait_ack = False  # a fragment was written; the next waits for its ACK
        self._ack_since = 0.0
        self.authed = False
        self.closing = False  # close once the queued packets are out
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    # ---- input ----

    def read(self) -> None:
        """Take what the socket has and handle every complete packet."""
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        if self.closing:
            return  # a refused connection reads nothing more
        self._in += data
        while len(self._in) >= 4 and not self.closing:
            size = struct.unpack_from("<i", self._in)[0]
            if size < 10 or size > MAX_PACKET:
                self._log(f"RCON: a packet of size {size} from a client: closing its connection")
                self._in.clear()
                self.closing = True
                break
            if len(self._in) < 4 + size:
                break
            pid, ptype = struct.unpack_from("<ii", self._in, 4)
            body = bytes(self._in[12:4 + size - 2])
            del self._in[:4 + size]
            self._handle(pid, ptype, body)

    def _handle(self, pid: int, ptype: int, body: bytes) -> None:
        if not self.authed:
            if ptype != AUTH:
                self.closing = True
                return
            given = body.split(b"\0", 1)[0]
            if hmac.compare_digest(given, self._password):
                self.authed = True
                self._queue(packet(pid, AUTH_RESPONSE, b""))
            else:
                self._log("RCON: authentication failed (wrong password): closing the connection")
                self._queue(packet(-1, AUTH_RESPONSE, b""))
                self.closing = True
            return
        if ptype == EXECCOMMAND:
            line = body.split(b"\0", 1)[0].decode("utf-8", errors="replace")
            if not line:
                return  # the game ignores an empty command
            reply = self._execute(line)
            self._queue(packet(pid, RESPONSE_VALUE, reply.encode("utf-8", errors="replace")))
        elif ptype == RESPONSE_VALUE:
            self._queue(packet(pid, RESPONSE_VALUE, b""))
        elif ptype == AUTH:
            self._queue(packet(pid, AUTH_RESPONSE, b""))
        # other types: ignored

    def _queue(self, pkt: bytes) -> None:
        self._out.append(pkt)

    # ---- output ----

    def pending(self) -> bool:
        return bool(self._out) or len(self._cur) > 0

    def wants_flush(self, now: float) -> bool:
        """True when a write may happen now (the previous fragment is acknowledged)."""
        if self.closed or not self.pending():
            return False
        if self._frag_left:
            return True  # a fragment the kernel did not take whole: go on with it
        if self._wait_ack:
            if _unacked(self.sock) > 0:
                return False
            self._wait_ack = False
        return True

    def ack_poll_interval(self, now: float) -> float | None:
        """How long the owner may sleep before asking :meth:`wants_flush` again (None: no
        output waits for an ACK). Short at first (a client that acknowledges at once sees
        little added latency), longer once the ACK is clearly delayed."""
        if not self.pending() or not self._wait_ack:
            return None
        return 0.0002 if now - self._ack_since < 0.002 else 0.002

    def flush(self, now: float) -> None:
        """Write at most one fragment (or the rest of a partly taken one)."""
        if not self.wants_flush(now):
            return
        if not self._cur:
            self._cur = memoryview(self._out.popleft())
        if not self._frag_left:
            self._frag_left = min(FRAGMENT, len(self._cur))
        try:
            n = self.sock.send(self._cur[:self._frag_left])
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.ECONNRESET):
                self._log(f"RCON: write failed: {e}")
            self.close()
            return
        self._cur = self._cur[n:]
        self._frag_left -= n
        if not self._frag_left:
            self._wait_ack = True
            self._ack_since = time.monotonic()
        if self.closing and not self.pending():
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass
