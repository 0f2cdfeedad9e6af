"""The RCON client against deliberately broken servers (fault injection) and good ones.

``FakeRcon`` is a Source-RCON server on 127.0.0.1 in a thread whose answers a test chooses:
correct Factorio-style replies (one packet each), srcds-style split replies, or malformed bytes.
"""

import socket
import struct
import threading
import time

import pytest

from factorio_fast.errors import (
    FactorioServerError,
    InvalidArgumentError,
    ProtocolError,
    WaitTimeoutError,
)
from factorio_fast.rcon import RconClient, RconMux, encode_packet

PASSWORD = "s3cret-pw"


def packet(pid, ptype, body=b""):
    return struct.pack("<iii", len(body) + 10, pid, ptype) + body + b"\x00\x00"


class FakeRcon:
    """A one-connection-at-a-time RCON server. ``reply(pid, text) -> bytes`` makes the bytes
    sent for a command (default: one RESPONSE_VALUE echoing the text upper-cased)."""

    def __init__(self, reply=None, *, split=None, delay=0.0, auth=None):
        self.reply = reply or (lambda pid, text: packet(pid, 0, text.upper().encode()))
        self.auth = auth
        self.split = split  # srcds mode: reply in packets of this many bytes + marker echo
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.commands = []
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.05)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _read(self, conn, n):
        buf = b""
        while len(buf) < n:
            d = conn.recv(n - len(buf))
            if not d:
                raise ConnectionError
            buf += d
        return buf

    def _conn(self, conn):
        try:
            while not self.stop:
                size, pid, ptype = struct.unpack("<iii", self._read(conn, 12))
                body = self._read(conn, size - 8)[:-2]
                if ptype == 3:
                    if self.auth is not None:
                        conn.sendall(self.auth(pid, body))
                    else:
                        conn.sendall(packet(pid if body == PASSWORD.encode() else -1, 2))
                    continue
                if ptype == 0:  # the empty-packet trick: mirror it, then srcds' trailer
                    conn.sendall(packet(pid, 0) + packet(pid, 0, b"\x00\x01\x00\x00"))
                    continue
                text = body.decode()
                self.commands.append(text)
                if self.delay:
                    time.sleep(self.delay)
                if self.split:
                    data = text.upper().encode() * 3
                    for i in range(0, len(data), self.split):
                        conn.sendall(packet(pid, 0, data[i:i + self.split]))
                    continue
                out = self.reply(pid, text)
                if out is None:
                    conn.close()
                    return
                conn.sendall(out)
        except (ConnectionError, OSError, struct.error):
            pass

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.thread.join(2)


@pytest.fixture
def server():
    servers = []

    def make(*a, **kw):
        s = FakeRcon(*a, **kw)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def test_command_roundtrip_and_ids(server):
    s = server()
    with RconClient("127.0.0.1", s.port, PASSWORD, timeout=2) as c:
        assert c.command("/ff hello") == "/FF HELLO"
        assert c.command("é" * 5000) == "É" * 5000  # one long packet, UTF-8
        assert s.commands == ["/ff hello", "é" * 5000]
        assert c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_pipelined_commands_on_one_connection(server):
    s = server()
    with RconClient("127.0.0.1", s.port, PASSWORD, timeout=2) as c:
        ids = [c.send(f"c{i}") for i in range(20)]
        assert [c.result(i) for i in ids] == [f"C{i}" for i in range(20)]


def test_wrong_password_is_refused_and_never_shown(server):
    s = server()
    with pytest.raises(FactorioServerError, match="refused the password") as e:
        RconClient("127.0.0.1", s.port, "not-" + PASSWORD, timeout=2)
    assert PASSWORD not in str(e.value)
    c = RconClient("127.0.0.1", s.port, PASSWORD, timeout=2)
    assert PASSWORD not in repr(c) and PASSWORD not in str(vars(c).values())
    c.close()


def test_nothing_listening():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(FactorioServerError, match="connect"):
        RconClient("127.0.0.1", port, PASSWORD, timeout=1)


def test_silent_server_times_out(server):
    s = server(reply=lambda pid, text: b"")
    with RconClient("127.0.0.1", s.port, PASSWORD, timeout=0.3) as c:
        t = time.monotonic()
        with pytest.raises(WaitTimeoutError, match="no answer"):
            c.command("x")
        assert time.monotonic() - t < 2


def test_silent_login_times_out(server):
    s = server(auth=lambda pid, body: b"")
    with pytest.raises(WaitTimeoutError):
        RconClient("127.0.0.1", s.port, PASSWORD, timeout=0.3)


@pytest.mark.parametrize("bad, match", [
    (lambda pid: packet(pid + 1, 0, b"x"), "reply id"),
    (lambda pid: packet(pid, 2, b"x"), "type 2"),
    (lambda pid: struct.pack("<iii", 5, pid, 0), "size 5"),
    (lambda pid: struct.pack("<iii", -20, pid, 0), "size -20"),
    (lambda pid: struct.pack("<iii", 1 << 30, pid, 0), "size"),
    (lambda pid: struct.pack("<iii", 11, pid, 0) + b"ab\x01", "two NUL"),
    (lambda pid: packet(pid, 0, b"\xff\xfe"), "not UTF-8"),
])
def test_malformed_replies(server, bad, match):
    s = server(reply=lambda pid, text: bad(pid))
    c = RconClient("127.0.0.1", s.port, PASSWORD, timeout=2, max_reply=1 << 20)
    with pytest.raises(ProtocolError, match=match):
        c.command("x")
    assert c.sock is None  # a stream that lost its framing is closed


def test_truncated_reply_then_close(server):
    s = server(reply=lambda pid, text: packet(pid, 0, b"abcdef")[:9])
    orig = s._conn

    def conn_then_close(conn):  # send the truncated bytes, then hang up
        s.reply = lambda pid, text: (conn.sendall(packet(pid, 0, b"abcdef")[:9]), None)[1]
        orig(conn)
    s._conn = conn_then_close
    with RconClient("127.0.0.1", s.port, PASSWORD, timeout=2) as c:
        with pytest.raises(FactorioServerError, match="inside a packet"):
            c.command("x")


def test_login_malformed(server):
    s = server(auth=lambda pid, body: packet(pid, 0, b"hello"))
    with pytest.raises(ProtocolError, match="login"):
        RconClient("127.0.0.1", s.port, PASSWORD, timeout=1)


def test_split_replies_with_the_empty_packet_trick(server):
    s = server(split=7)
    with RconClient("127.0.0.1", s.port, PASSWORD, timeout=2, multi_packet=True) as c:
        assert c.command("abcdefghij") == "ABCDEFGHIJ" * 3
        ids = [c.send(f"x{i}") for i in range(5)]  # pipelined, with trailers in between
        assert [c.result(i) for i in ids] == [f"X{i}" * 3 for i in range(5)]


def test_refuses_nul_and_bad_arguments(server):
    s = server()
    with RconClient("127.0.0.1", s.port, PASSWORD, timeout=2) as c:
        with pytest.raises(InvalidArgumentError, match="NUL"):
            c.send("a\x00b")
    with pytest.raises(InvalidArgumentError):
        RconClient("127.0.0.1", 0, PASSWORD)
    with pytest.raises(InvalidArgumentError):
        RconClient("127.0.0.1", s.port, "")
    assert encode_packet(7, 2, b"hi") == packet(7, 2, b"hi")


def test_mux_overlaps_servers(server):
    """Four servers that each take 0.2 s per reply answer together in about 0.2 s."""
    servers = [server(delay=0.2) for _ in range(4)]
    clients = [RconClient("127.0.0.1", s.port, PASSWORD, timeout=3) for s in servers]
    mux = RconMux(clients)
    t = time.monotonic()
    out = mux.exchange({c: f"s{i}" for i, c in enumerate(clients)}, timeout=3)
    took = time.monotonic() - t
    assert [out[c] for c in clients] == ["S0", "S1", "S2", "S3"]
    assert took < 0.6, took
    mux.close()
    for c in clients:
        c.close()


def test_mux_times_out_naming_the_silent_server(server):
    good, bad = server(), server(reply=lambda pid, text: b"")
    a = RconClient("127.0.0.1", good.port, PASSWORD, timeout=2)
    b = RconClient("127.0.0.1", bad.port, PASSWORD, timeout=2)
    mux = RconMux([a, b])
    with pytest.raises(WaitTimeoutError, match=str(bad.port)):
        mux.exchange({a: "x", b: "y"}, timeout=0.3)
    mux.close()
    a.close()
    b.close()
