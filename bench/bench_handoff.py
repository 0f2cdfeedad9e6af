"""Trainer <-> worker round trip between two processes, 64-byte request and reply.

Group ``handoff``. Every benchmark does ``extra_info["items"]`` round trips per call, so
µs per round trip = median / items. Baselines in the same run: ``multiprocessing.Pipe`` and
loopback TCP (the transports Gymnasium's ``AsyncVectorEnv`` and RCON-style clients use).

    pytest bench/bench_handoff.py --benchmark-only --benchmark-columns=median,ops

``tools/bench_bridge.py`` runs this file and prints the per-round-trip medians and ratios.

* ``test_handoff_roundtrip_c``: the hand-off protocol with the message copied through the
  shared segment, both loops in C (what a shard worker pays per batch: the env step runs in C).
* ``test_handoff_roundtrip_py``: the trainer's ``post`` + ``wait`` called from Python (the
  worker still in C), i.e. with the Python call overhead a Python training loop pays.
"""

import multiprocessing as mp
import socket

import numpy as np
import pytest

from factorio_fast._bridge import Handoff, SharedArena

MSG = 64
N_C = 5_000        # round trips per benchmark call in C (short calls: more rounds, robust median)
N_PY = 2_000       # from Python
N_BASE = 500       # pipe / TCP round trips (tens of µs each)
TIMEOUT = 30.0


def _handoff_worker(name, msg_off):
    a = SharedArena.attach(name)
    h = Handoff(a, 0, 1, create=False)
    h._bench_worker(0, stop_command=0, timeout=600.0, msg_offset=msg_off, msg_len=MSG)
    h.close()
    a.close()


@pytest.fixture(scope="module")
def handoff():
    ctx = mp.get_context("fork")
    msg_off = Handoff.size_for(1)
    a = SharedArena.create(msg_off + 2 * MSG, expected_attaches=1)
    h = Handoff(a, 0, 1, create=True)
    p = ctx.Process(target=_handoff_worker, args=(a.name, msg_off), daemon=True)
    p.start()
    h.set_worker_pid(0, p.pid)
    h._bench_trainer(0, 1000, timeout=TIMEOUT, msg_offset=msg_off)  # warm up, and attached
    yield h, msg_off
    h.post(0, 0)  # stop
    h.wait(0, TIMEOUT)
    p.join(TIMEOUT)
    if p.is_alive():
        p.kill()
        p.join()
    h.close()
    a.unlink()
    a.close()


@pytest.mark.benchmark(group="handoff")
def test_handoff_roundtrip_c(benchmark, handoff):
    h, msg_off = handoff
    benchmark.extra_info["items"] = N_C
    benchmark.extra_info["message_bytes"] = MSG
    benchmark.extra_info["spin_us"] = h.spin_us
    benchmark(h._bench_trainer, 0, N_C, 1, TIMEOUT, msg_off, MSG)


@pytest.mark.benchmark(group="handoff")
def test_handoff_roundtrip_py(benchmark, handoff):
    h, msg_off = handoff
    # the request/reply travel through this view, as a Python trainer would write them
    arena = h.arena
    req = arena.ndarray("u1", (MSG,), msg_off)
    rep = arena.ndarray("u1", (MSG,), msg_off + MSG)
    payload = bytes(range(MSG))
    src = np.frombuffer(payload, np.uint8)
    post, wait = h.post, h.wait

    def run():
        for i in range(N_PY):
            req[:] = src
            post(0, 1, i)
            wait(0, TIMEOUT)

    benchmark.extra_info["items"] = N_PY
    benchmark.extra_info["message_bytes"] = MSG
    benchmark(run)
    assert rep.tobytes() == payload  # the worker echoed the request


def _pipe_echo(conn):
    while True:
        b = conn.recv_bytes()
        if not b:
            return
        conn.send_bytes(b)


@pytest.mark.benchmark(group="handoff")
def test_baseline_mp_pipe(benchmark):
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_pipe_echo, args=(b,), daemon=True)
    p.start()
    msg = bytes(MSG)

    def run():
        for _ in range(N_BASE):
            a.send_bytes(msg)
            a.recv_bytes()

    try:
        run()
        benchmark.extra_info["items"] = N_BASE
        benchmark.extra_info["message_bytes"] = MSG
        benchmark(run)
    finally:
        a.send_bytes(b"")
        p.join(TIMEOUT)


def _recv_exact(s, buf):
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = s.recv_into(view[got:])
        if n == 0:
            return False
        got += n
    return True


def _tcp_echo(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray(MSG)
        while _recv_exact(s, buf):
            s.sendall(buf)


@pytest.mark.benchmark(group="handoff")
def test_baseline_tcp_loopback(benchmark):
    ctx = mp.get_context("fork")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    p = ctx.Process(target=_tcp_echo, args=(srv.getsockname()[1],), daemon=True)
    p.start()
    srv.settimeout(TIMEOUT)
    conn, _ = srv.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = bytes(MSG)
    buf = bytearray(MSG)

    def run():
        for _ in range(N_BASE):
            conn.sendall(msg)
            _recv_exact(conn, buf)

    try:
        run()
        benchmark.extra_info["items"] = N_BASE
        benchmark.extra_info["message_bytes"] = MSG
        benchmark(run)
    finally:
        conn.close()
        srv.close()
        p.join(TIMEOUT)
