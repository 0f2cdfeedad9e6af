"""Client-side cost of a step over RCON: ours (``factorio_fast.rcon``) against the ``rcon`` package.

Each benchmark call is ``STEPS`` env-batch steps of a ``ModBatch`` (encode the actions, frame,
base64/deflate, RCON out, RCON in, decode, C encoder to observations/rewards/flags): the whole
client side of ``backend="factorio"``. The server is a *canned* one in another process that
answers each request with the bytes the emulator answered for the same kind of request (its
sequence number patched in), so its own cost is tiny and the same for both clients; µs per env
step = median / ``extra_info["env_steps"]``.

Groups ``rcon-<scenario>-<envs>`` (one server) and ``rcon-mux-8x<envs>`` (8 servers, each
answering 2 ms after a request as a tick-paced server does: our mux sends to all, then collects;
the ``rcon`` package's blocking client takes them one after the other).

    pytest bench/bench_rcon.py --benchmark-only --benchmark-columns=median,ops
"""

import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("lupa.lua52")
rcon_source = pytest.importorskip("rcon.source")

from factorio_fast.emulator import wire  # noqa: E402
from factorio_fast.emulator.batch import EmulatorLink, ModBatch  # noqa: E402
from factorio_fast.emulator.game import Emulator  # noqa: E402
from factorio_fast.rcon import RconClient, RconMux  # noqa: E402

STEPS = 50
PACED_S = 0.002
PASSWORD = "bench-password"

# The canned server: argv = port file, then per frame type the reply payload as hex. WORLD
# requests get the states of exactly the envs they reset (records cut from the full states).
CANNED = r'''
import base64, socket, struct, sys, time, zlib
port_file, accepted, states = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
delay = float(sys.argv[4])
HDR = struct.Struct("<HBBIQ")
head, rb = states[:16], struct.unpack_from("<H", states, 4)[0]
count = struct.unpack_from("<H", states, 2)[0]
recs = {struct.unpack_from("<H", states, 16 + k * rb)[0]: states[16 + k * rb:16 + (k + 1) * rb]
        for k in range(count)}
def world_envs(p):
    n, off, out = struct.unpack_from("<H", p, 4)[0], 16, []
    for _ in range(n):
        env, runs, res, bld = struct.unpack_from("<HHHH", p, off)
        out.append(env)
        off += 52 + 3 * runs + 8 * res + 6 * bld
    return out
def text(data, how):
    if how == "Z":
        return "Z" + base64.b64encode(zlib.compress(data, 6)).decode()
    return "B" + base64.b64encode(data).decode()
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
open(port_file, "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b""
def rd(n):
    global buf
    while len(buf) < n:
        d = c.recv(1 << 20)
        if not d: sys.exit(0)
        buf += d
    out, buf = buf[:n], buf[n:]
    return out
while True:
    size, pid, ptype = struct.unpack("<iii", rd(12))
    body = rd(size - 8)[:-2].decode()
    if ptype == 3:
        c.sendall(struct.pack("<iii", 10, pid, 2) + b"\0\0"); continue
    t = body[4:]
    raw = base64.b64decode(t[1:])
    raw = zlib.decompress(raw) if t[0] == "Z" else raw
    _, _, ftype, _, seq = HDR.unpack_from(raw)
    if ftype == 1:
        payload = accepted
    elif ftype == 6:
        envs = world_envs(raw[16:])
        payload = head[:2] + struct.pack("<H", len(envs)) + head[4:] + b"".join(recs[e] for e in envs)
    else:
        payload = states
    out = text(HDR.pack(0xFA57, 1, 7, len(payload), seq) + payload, t[0]).encode()
    if delay:
        time.sleep(delay)
    c.sendall(struct.pack("<iii", len(out) + 10, pid, 0) + out + b"\0\0")
'''


def _capture(scenario, n):
    """The mod's ACTIONS reply and a states reply for ``n`` envs, from the emulator."""
    got = {}
    emu = Emulator()
    link = EmulatorLink(emu)

    def send(text):
        reply = link(text)
        ftype = wire.unframe(wire.from_text(text))[0]
        body = wire.unframe(wire.from_text(reply))[2]
        if ftype in (wire.T_ACTIONS, wire.T_RAW) and body[0] in (0, 1):
            got[ftype] = body
        return reply
    mb = ModBatch(scenario, n, send)
    obs = np.zeros((n, mb.obs_bytes), np.uint8)
    mb.reset(np.arange(n, dtype=np.uint64), obs=obs)
    r, te, tr = np.zeros(n, np.float32), np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    mb.step(np.zeros((n, mb.action_dims), np.int64), obs=obs, rewards=r, terminated=te,
            truncated=tr)
    mb.close()
    return got[wire.T_ACTIONS], got[wire.T_RAW]


class Canned:
    def __init__(self, scenario, n, tmp_path, k=0, delay=0.0):
        accepted, states = _capture(scenario, n)
        pf = tmp_path / f"port{k}"
        self.proc = subprocess.Popen([sys.executable, "-c", CANNED, str(pf), accepted.hex(),
                                      states.hex(), str(delay)])
        deadline = time.monotonic() + 20
        while not (pf.exists() and pf.read_text()):
            assert time.monotonic() < deadline and self.proc.poll() is None
            time.sleep(0.01)
        self.port = int(pf.read_text())

    def close(self):
        self.proc.kill()
        self.proc.wait()


def _ours(port):
    c = RconClient("127.0.0.1", port, PASSWORD, timeout=10)
    return c, (lambda text: c.command("/ff " + text)), c.close


def _package(port):
    # frag_threshold above any reply: Factorio answers no empty-packet trick (the package
    # would wait forever on a reply of 4096 bytes or more)
    c = rcon_source.Client("127.0.0.1", port, passwd=PASSWORD, timeout=10, frag_threshold=1 << 30)
    c.__enter__()
    return c, (lambda text: c.run("/ff " + text)), (lambda: c.__exit__(None, None, None))


CASES = [("movement_micro", 1), ("movement_micro", 16), ("building_micro", 16)]


@pytest.mark.parametrize("client", ["factorio_fast", "rcon-package"])
@pytest.mark.parametrize("scenario, n", CASES)
def test_rcon_step(benchmark, tmp_path, scenario, n, client):
    benchmark.group = f"rcon-{scenario}-{n}"
    srv = Canned(scenario, n, tmp_path)
    conn, send, close = (_ours if client == "factorio_fast" else _package)(srv.port)
    try:
        mb = ModBatch(scenario, n, send)
        obs = np.zeros((n, mb.obs_bytes), np.uint8)
        r, te, tr = np.zeros(n, np.float32), np.zeros(n, np.bool_), np.zeros(n, np.bool_)
        mb.reset(np.arange(n, dtype=np.uint64), obs=obs)
        a = np.zeros((n, mb.action_dims), np.int64)

        def run():
            for _ in range(STEPS):
                mb.step(a, obs=obs, rewards=r, terminated=te, truncated=tr)
        cpu0 = time.process_time()
        benchmark.pedantic(run, rounds=7, warmup_rounds=1)
        benchmark.extra_info["env_steps"] = STEPS * n
        benchmark.extra_info["client_cpu_us_per_env_step"] = round(
            (time.process_time() - cpu0) / (8 * STEPS * n) * 1e6, 2)
        mb.close()
    finally:
        close()
        srv.close()


@pytest.mark.parametrize("client", ["factorio_fast-mux", "rcon-package-serial"])
def test_rcon_eight_servers(benchmark, tmp_path, client):
    """One request to each of 8 servers and all replies: pipelined vs one after the other.
    Each server answers ``PACED_S`` after a request, as a server whose reply waits for its
    next tick does (a real server at game.speed s serves commands every 1/(60 s) seconds)."""
    benchmark.group = "rcon-mux-8x16"
    servers = [Canned("movement_micro", 16, tmp_path, k, delay=PACED_S) for k in range(8)]
    poll = wire.to_text(wire.frame(wire.T_RAW, b"", 1), "Z")
    try:
        if client == "factorio_fast-mux":
            conns = [RconClient("127.0.0.1", s.port, PASSWORD) for s in servers]
            mux = RconMux(conns)

            def run():
                for _ in range(STEPS):
                    mux.exchange({c: "/ff " + poll for c in conns})
            closer = [mux.close] + [c.close for c in conns]
        else:
            pk = [_package(s.port) for s in servers]

            def run():
                for _ in range(STEPS):
                    for _, send, _ in pk:
                        send(poll)
            closer = [p[2] for p in pk]
        benchmark.pedantic(run, rounds=7, warmup_rounds=1)
        benchmark.extra_info["env_steps"] = STEPS * 8 * 16
        for f in closer:
            f()
    finally:
        for s in servers:
            s.close()
