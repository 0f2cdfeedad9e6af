"""The launcher's life cycle and failure paths, against a fake server executable.

The fake (written to a temporary file by ``fake_exe``) takes the headless server's command line
(``--version``, ``--create``, ``--start-server ... --rcon-bind --rcon-password``), prints the real
server's RCON log line and answers RCON; ``FAKE_MODE`` makes it misbehave in one way. The real
server path (the emulator, or Factorio with FACTORIO_PATH) is tests/test_factorio_backend.py.
"""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from factorio_fast.errors import FactorioServerError, WaitTimeoutError
from factorio_fast.launcher import FactorioFarm, FactorioServer, allocate_port, read_version

from conftest import pid_alive, wait_gone

FAKE = r'''#!{python}
import os, socket, struct, sys, time
mode = os.environ.get("FAKE_MODE", "ok")
args = sys.argv[1:]
if "--version" in args:
    if mode == "notfactorio":
        print("hello, I am a text editor"); sys.exit(0)
    print("Version: %s (build 80000, linux64, headless)" % ("1.1.110" if mode == "old" else "2.0.45"))
    sys.exit(0)
def opt(name):
    return args[args.index(name) + 1]
if "--create" in args:
    if mode == "nocreate":
        print("Error: cannot create map"); sys.exit(3)
    open(opt("--create"), "wb").write(b"PK")
    sys.exit(0)
assert "--start-server" in args
cfg = open(opt("-c")).read()
assert cfg.count("[") == 1 and "[path]" in cfg, cfg
settings = __import__("json").load(open(opt("--server-settings")))
assert settings["auto_pause"] is False and settings["visibility"] == {{"public": False, "lan": False}}
mods = opt("--mod-directory")
assert any(f.startswith("factorio_fast_") for f in os.listdir(mods))
host, port = opt("--rcon-bind").split(":")
pw = opt("--rcon-password").encode()
print("   0.100 Info loading map", flush=True)
if mode == "die_early":
    print("Error: something broke"); sys.exit(7)
if mode == "never_ready":
    time.sleep(60); sys.exit(0)
if mode == "fork":  # a child in the same process group that must die with the server
    if os.fork() == 0:
        time.sleep(300); os._exit(0)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port))); s.listen(4)
print("   0.200 Info RemoteCommandProcessor.cpp:119: Starting RCON interface at IP "
      "ADDR:({{%s:%s}})" % (host, port), flush=True)
def rd(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: raise SystemExit(0)
        b += d
    return b
def pk(i, t, body=b""):
    return struct.pack("<iii", len(body) + 10, i, t) + body + b"\0\0"
c, _ = s.accept()
n = 0
while True:
    size, i, t = struct.unpack("<iii", rd(c, 12))
    body = rd(c, size - 8)[:-2]
    if t == 3:
        c.sendall(pk(i if body == pw else -1, 2)); continue
    n += 1
    if mode == "die_mid" and body.startswith(b"/ff"):
        print("Error: the mod crashed", flush=True); os._exit(9)
    if mode == "hang" and body.startswith(b"/ff"):
        time.sleep(60)
    c.sendall(pk(i, 0, b"ok " + body))
'''


@pytest.fixture
def fake_exe(tmp_path, monkeypatch):
    p = tmp_path / "factorio"
    p.write_text(FAKE.format(python=sys.executable))
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FACTORIO_PATH", str(p))
    monkeypatch.delenv("FAKE_MODE", raising=False)
    return p


def _server_dirs():
    import tempfile
    return {p for p in Path(tempfile.gettempdir()).glob(f"factorio_fast_srv_{os.getpid()}_*")}


def test_start_command_close(fake_exe):
    before = _server_dirs()
    srv = FactorioServer(ready_timeout=20)
    d, pid = srv.dir, srv.proc.pid
    assert srv.version == (2, 0, 45) and srv.running
    assert srv.command("/ff hello") == "ok /ff hello"
    cfg = (d / "config" / "config.ini").read_text()
    assert "[path]" in cfg and f"write-data={d}" in cfg
    assert json.loads((d / "mods" / "mod-list.json").read_text())["mods"][1] == \
        {"name": "factorio_fast", "enabled": True}
    pw = srv.password.reveal()
    assert pw not in repr(srv) and pw not in (d / "server.log").read_text()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    srv.close()
    srv.close()  # idempotent
    assert not d.exists() and not pid_alive(pid)
    assert _server_dirs() == before


def test_missing_binary_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("FACTORIO_PATH", str(tmp_path / "nope"))
    with pytest.raises(FactorioServerError, match="FACTORIO_PATH"):
        FactorioServer()
    monkeypatch.delenv("FACTORIO_PATH")
    with pytest.raises(FactorioServerError, match="FACTORIO_PATH"):
        FactorioServer()
    f = tmp_path / "plain"
    f.write_text("x")
    with pytest.raises(FactorioServerError, match="not executable"):
        FactorioServer(f)


def test_not_factorio_and_too_old(fake_exe, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "notfactorio")
    with pytest.raises(FactorioServerError, match="not a Factorio server.*FACTORIO_PATH"):
        FactorioServer()
    monkeypatch.setenv("FAKE_MODE", "old")
    with pytest.raises(FactorioServerError, match="1.1.110.*2.0.7 or newer"):
        FactorioServer()
    with pytest.raises(FactorioServerError, match="not a Factorio"):
        read_version(Path("/bin/true"))


def test_port_in_use(fake_exe):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    with pytest.raises(FactorioServerError, match=f"rcon_port {s.getsockname()[1]} .*in use"):
        FactorioServer(rcon_port=s.getsockname()[1])
    s.close()


def test_ports_never_handed_out_twice():
    ports = [allocate_port() for _ in range(50)]
    assert len(set(ports)) == 50


def test_create_fails(fake_exe, monkeypatch):
    before = _server_dirs()
    monkeypatch.setenv("FAKE_MODE", "nocreate")
    with pytest.raises(FactorioServerError, match="(?s)--create exited with status 3.*cannot create"):
        FactorioServer()
    assert _server_dirs() == before


def test_dies_before_ready(fake_exe, monkeypatch):
    before = _server_dirs()
    monkeypatch.setenv("FAKE_MODE", "die_early")
    with pytest.raises(FactorioServerError, match="(?s)exit status 7.*something broke"):
        FactorioServer()
    assert _server_dirs() == before


def test_never_ready_times_out(fake_exe, monkeypatch):
    before = _server_dirs()
    monkeypatch.setenv("FAKE_MODE", "never_ready")
    t = time.monotonic()
    with pytest.raises(WaitTimeoutError, match="not ready within"):
        FactorioServer(ready_timeout=1.5)
    assert time.monotonic() - t < 6
    assert _server_dirs() == before


def test_dies_mid_episode_reports_status_and_log(fake_exe, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "die_mid")
    with FactorioServer() as srv:
        assert srv.command("/sc x") == "ok /sc x"
        with pytest.raises(FactorioServerError, match="(?s)exit status 9.*the mod crashed") as e:
            srv.command("/ff step")
        assert srv.password.reveal() not in str(e.value)


def test_hung_server_times_out(fake_exe, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "hang")
    with FactorioServer(timeout=0.5) as srv:
        with pytest.raises(WaitTimeoutError, match="no answer"):
            srv.command("/ff step")


def test_process_group_killed(fake_exe, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "fork")
    srv = FactorioServer()
    pgid = srv.proc.pid
    kids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == pgid]
    assert len(kids) >= 2
    srv.close()
    assert wait_gone(kids, 5) == []


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def test_farm_starts_in_parallel_and_closes(fake_exe):
    before = _server_dirs()
    with FactorioFarm(3) as farm:
        assert len({s.rcon_port for s in farm}) == 3
        assert [s.command(f"/x {i}") for i, s in enumerate(farm)] == [f"ok /x {i}" for i in range(3)]
        pids = [s.proc.pid for s in farm]
    assert wait_gone(pids, 5) == [] and _server_dirs() == before


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_trainer_killed_leaves_nothing(fake_exe, tmp_path, sig):
    """SIGKILL the process that started a server: the watchdog kills it and removes its dir.
    Ctrl-C (SIGINT): the trainer's KeyboardInterrupt ends it and its atexit hook closes."""
    code = textwrap.dedent("""
        import sys, time
        from factorio_fast.launcher import FactorioServer
        s = FactorioServer()
        print(s.proc.pid, s.dir, flush=True)
        time.sleep(60)
    """)
    env = dict(os.environ)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    line = p.stdout.readline().decode().split()
    assert line, "the trainer did not start its server"
    pid, d = int(line[0]), Path(line[1])
    assert pid_alive(pid) and d.exists()
    p.send_signal(sig)
    p.wait(10)
    p.stdout.close()
    assert wait_gone([pid], 10) == []
    deadline = time.monotonic() + 10
    while d.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not d.exists()
