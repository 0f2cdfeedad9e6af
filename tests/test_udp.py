"""Lua UDP (Factorio >= 2.0.59): the emulator's helpers.send_udp / recv_udp and
on_udp_packet_received, and the mod's UDP push of each step's states (docs/mod.md §7). Real
sockets on 127.0.0.1 only; the round trip also through a real emulator process."""

from __future__ import annotations

import socket
import struct

import numpy as np
import pytest

pytest.importorskip("lupa.lua52")

from factorio_fast.emulator import wire  # noqa: E402
from factorio_fast.emulator.api import NEWER_API, api_spec  # noqa: E402
from factorio_fast.emulator.batch import EmulatorLink, ModBatch  # noqa: E402
from factorio_fast.emulator.game import Emulator  # noqa: E402
from factorio_fast.emulator.udp import FRAME_CAP, LuaUdpSocket  # noqa: E402

T_UDP = 8
HEADER = 21


def udp_socket(timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    return s


def test_udp_api_newer_than_the_json_is_exactly_lua_udp():
    assert NEWER_API["version"] == "2.0.59"
    assert {c: set(m) for c, m in NEWER_API["methods"].items()} == \
        {"LuaHelpers": {"send_udp", "recv_udp"}}
    assert NEWER_API["events"] == ["on_udp_packet_received"]
    spec = api_spec()
    assert [p["name"] for p in spec.method("LuaHelpers", "send_udp")["params"]] == \
        ["port", "data", "for_player"]
    assert "on_udp_packet_received" in spec.defines["defines.events"]


@pytest.fixture(scope="module")
def old_emu():
    return Emulator(version="2.0.45")


def test_udp_absent_before_2_0_59_and_refused_without_the_flag(old_emu):
    ok, err = old_emu.sandbox.run("helpers.send_udp(1234, 'x')")
    assert not ok and err == "LuaHelpers doesn't contain key send_udp."
    assert old_emu.sandbox.run("return defines.events.on_udp_packet_received") == (True, None)
    # the mod answers its UDP request with an ERROR frame
    req = wire.to_text(wire.frame(T_UDP, struct.pack("<HHHH", 40000, 40001, 0, 0), 3), "B")
    ftype, _, body = wire.unframe(wire.from_text(old_emu.command("/ff " + req)))
    assert ftype == wire.T_ERROR and b"no Lua UDP" in body
    new = Emulator(version="2.0.77")  # new enough, but started without --enable-lua-udp
    ok, err = new.sandbox.run("helpers.send_udp(1234, 'x')")
    assert not ok and "Lua UDP is not enabled" in err
    ftype, _, body = wire.unframe(wire.from_text(new.command("/ff " + req)))
    assert ftype == wire.T_ERROR and b"send_udp failed" in body


@pytest.fixture(scope="module")
def udp_emu():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    emu = Emulator(version="2.0.77", udp=LuaUdpSocket(sock))
    yield emu
    sock.close()


def test_udp_send_from_the_one_socket_and_the_frame_cap(udp_emu):
    client = udp_socket(timeout=0.3)
    try:
        port = client.getsockname()[1]
        emu_port = udp_emu.udp.port
        assert udp_emu.command(f"/sc helpers.send_udp({port}, 'hello', 0)") == ""
        data, (host, src) = client.recvfrom(65536)
        assert (data, host, src) == (b"hello", "127.0.0.1", emu_port)
        # binary-safe, and a datagram over the cap is dropped without an error
        udp_emu.command(f"/sc helpers.send_udp({port}, string.rep('\\0', {FRAME_CAP + 1}))")
        udp_emu.command(f"/sc helpers.send_udp({port}, string.rep('\\1', {FRAME_CAP}))")
        assert client.recvfrom(65536)[0] == b"\1" * FRAME_CAP
        with pytest.raises(socket.timeout):
            client.recvfrom(65536)
        err = udp_emu.command("/sc helpers.send_udp(0, 'x')")
        assert "port must be a uint16" in err
    finally:
        client.close()


def _subscribe(send, client_port, server_port, size=0):
    req = wire.frame(T_UDP, struct.pack("<HHHH", client_port, server_port, size, 0), 77)
    ftype, seq, body = wire.unframe(wire.from_text(send(wire.to_text(req, "B"))))
    assert (ftype, seq, body[:1]) == (wire.T_RAW, 77, b"\x01"), body


def _datagrams(client, seq):
    """(reply text, datagrams) of one pushed step, reassembled; None if the mod said "use
    RCON"."""
    head = "U" + struct.pack("<Q", seq).hex()
    parts: dict[int, str] = {}
    count = None
    for _ in range(300):
        d = client.recvfrom(65536)[0].decode("ascii")
        assert d.startswith(head), d[:40]
        idx, count = int(d[17:19], 16), int(d[19:21], 16)
        if count == 0:
            return None
        assert idx not in parts and len(d) <= 3800
        parts[idx] = d[HEADER:]
        if len(parts) == count:
            return "".join(parts[i] for i in range(count)), count
    raise AssertionError("too many datagrams")


def _steps(mb, send, client, how, n_steps, seed=0):
    """n_steps random steps: ACTIONS over RCON, the states over UDP, each equal to what a RAW
    poll answers afterwards (the same payload bytes: status, ticks and every record)."""
    rng = np.random.default_rng(seed)
    n = mb.num_envs
    datagram_counts = []
    for step in range(n_steps):
        a = rng.integers(0, mb._nvec, size=(n, len(mb._nvec)))
        seq = 1000 + step
        rec = mb.encoder.actions(a, stand=np.zeros(n, np.bool_), command_id=seq)
        ftype, _, body = wire.unframe(wire.from_text(send(wire.to_text(
            wire.frame(wire.T_ACTIONS, rec, seq), how))))
        assert ftype == wire.T_RAW and body[0] == 1  # accepted
        got = _datagrams(client, seq)
        assert got is not None and got[0][0] == how
        text, count = got
        datagram_counts.append(count)
        utype, useq, ubody = wire.unframe(wire.from_text(text))
        ptype, _, pbody = wire.unframe(wire.from_text(send(wire.to_text(
            wire.frame(wire.T_RAW, b"", 5000 + step), how))))
        assert (utype, useq) == (wire.T_RAW, seq) and ptype == wire.T_RAW
        assert ubody[0] == 0 and ubody == pbody
    return datagram_counts


def test_udp_push_equals_the_poll_in_process(udp_emu):
    client = udp_socket()
    try:
        link = EmulatorLink(udp_emu)
        mb = ModBatch("movement_micro", 16, link, encoding="B")
        obs = np.zeros((16, mb.obs_bytes), np.uint8)
        mb.reset(np.arange(16, dtype=np.uint64), obs=obs)
        _subscribe(link, client.getsockname()[1], udp_emu.udp.port)
        # 16 movement states are ~26 KB of base64: several datagrams
        assert min(_steps(mb, link, client, "B", 3)) > 1
        # packets from others reach the mod too (recv_udp takes all): ignored, nothing breaks
        other = udp_socket()
        other.sendto(b"ff_udp 1", ("127.0.0.1", udp_emu.udp.port))
        other.close()
        _steps(mb, link, client, "Z", 2, seed=1)
        # too small a datagram for the reply: one datagram with count 0, poll over RCON
        _subscribe(link, client.getsockname()[1], udp_emu.udp.port, size=64)
        rec = mb.encoder.actions(np.zeros((16, len(mb._nvec)), np.int64),
                                 stand=np.zeros(16, np.bool_), command_id=9)
        link(wire.to_text(wire.frame(wire.T_ACTIONS, rec, 9), "B"))
        assert _datagrams(client, 9) is None
        # unsubscribed: no more datagrams
        _subscribe(link, 0, 0)
        link(wire.to_text(wire.frame(wire.T_ACTIONS, rec, 10), "B"))
        client.settimeout(0.3)
        with pytest.raises(socket.timeout):
            client.recvfrom(65536)
    finally:
        client.close()


def test_udp_round_trip_through_the_emulator_process(tmp_path):
    from test_emulator_server import EmulatorProcess, free_port
    server_port = free_port(socket.SOCK_DGRAM)
    p = EmulatorProcess(tmp_path, extra=["--enable-lua-udp", server_port]).wait_ready()
    client = udp_socket()
    try:
        assert f"Lua UDP at (IP ADDR:({{127.0.0.1:{server_port}}}))" in p.log()
        c = p.rcon()

        def send(text):
            return c.run("/ff " + text)
        mb = ModBatch("mining_micro", 4, send, encoding="Z")
        obs = np.zeros((4, mb.obs_bytes), np.uint8)
        mb.reset(np.arange(4, dtype=np.uint64) + 7, obs=obs)
        _subscribe(send, client.getsockname()[1], server_port)
        _steps(mb, send, client, "Z", 3)
        c.close()
    finally:
        client.close()
        assert p.stop() == 0
