"""factorio-fast-emulator as a process: its command line, log lines, RCON server, console
commands, game loop pacing and signals (real processes, real sockets on 127.0.0.1 only)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("lupa.lua52")

from factorio_fast.emulator import server as srv  # noqa: E402
from factorio_fast.emulator.modfiles import write_zip  # noqa: E402

READY = "changing state from(CreatingGame) to(InGame)"
PASSWORD = "s3cret-pw"


def free_port(kind=socket.SOCK_STREAM) -> int:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class EmulatorProcess:
    """One emulator server: a write-data directory with the mod zipped into mods/, a map, the
    settings, stdout in a file (never a pipe the server could block on)."""

    def __init__(self, root: Path, *, settings=None, extra=(), env=None, mods=True,
                 rcon_port=None, game_port=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        mods_dir = self.root / "mods"
        mods_dir.mkdir(exist_ok=True)
        if mods:
            write_zip(mods_dir)
            (mods_dir / "mod-list.json").write_text(json.dumps(
                {"mods": [{"name": "base", "enabled": True},
                          {"name": "factorio_fast", "enabled": True}]}))
        self.save = self.root / "map.zip"
        if not self.save.exists():
            srv.write_save(self.save, 123, srv.DEFAULT_VERSION)
        (self.root / "server-settings.json").write_text(json.dumps(
            settings if settings is not None else {"auto_pause": False,
                                                   "visibility": {"public": False, "lan": False}}))
        (self.root / "config.ini").write_text(f"[path]\nwrite-data={self.root}\n")
        self.rcon_port = rcon_port or free_port()
        self.game_port = game_port or free_port(socket.SOCK_DGRAM)
        self.args = ["--start-server", self.save, "--rcon-bind", f"127.0.0.1:{self.rcon_port}",
                     "--rcon-password", PASSWORD, "--mod-directory", mods_dir,
                     "--server-settings", self.root / "server-settings.json",
                     "--port", self.game_port, "-c", self.root / "config.ini", *extra]
        self.log_path = self.root / "stdout.txt"
        self._out = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "factorio_fast.emulator.server", *map(str, self.args)],
            stdout=self._out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in self.log():
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"the emulator exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"no readiness line in {timeout} s:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError("the emulator did not exit on " + sig.name) from None
        self._out.close()
        return self.proc.returncode

    def rcon(self, **kw):
        from rcon.source import Client
        c = Client("127.0.0.1", self.rcon_port, passwd=PASSWORD, timeout=20, **kw)
        c.__enter__()
        return c


class Raw:
    """A minimal Source RCON client on a raw socket, to see exactly what the server sends."""

    def __init__(self, port, quickack=False):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.quickack = quickack
        self.buf = b""

    def send(self, pid, ptype, body: bytes):
        self.s.sendall(struct.pack("<iii", len(body) + 10, pid, ptype) + body + b"\0\0")

    def _fill(self, n):
        while len(self.buf) < n:
            if self.quickack:  # Linux clears it after a while: re-arm before every read
                self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def read(self):
        self._fill(4)
        size = struct.unpack_from("<i", self.buf)[0]
        self._fill(4 + size)
        pid, ptype = struct.unpack_from("<ii", self.buf, 4)
        body, term = self.buf[12:4 + size - 2], self.buf[4 + size - 2:4 + size]
        self.buf = self.buf[4 + size:]
        assert term == b"\0\0"
        return pid, ptype, body

    def auth(self, pw=PASSWORD):
        self.send(7, 3, pw.encode())
        return self.read()

    def closed_by_peer(self, timeout=5.0) -> bool:
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    p = EmulatorProcess(tmp_path_factory.mktemp("emulator")).wait_ready()
    yield p
    assert p.stop() == 0


# ---- the command line (in this process: main() is the whole executable) ----

def cli(capsys, *args, env=None):
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        status = srv.main([str(a) for a in args])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return status, capsys.readouterr().out


def test_server_version_is_shaped_like_the_games_and_can_be_older(capsys):
    status, out = cli(capsys, "--version")
    assert status == 0
    assert out.splitlines()[0] == f"Version: {srv.DEFAULT_VERSION} (build 0, linux64, headless)"
    assert tuple(map(int, srv.DEFAULT_VERSION.split("."))) >= srv.UDP_VERSION
    assert "Map output version:" in out
    status, out = cli(capsys, "--version", env={srv.ENV_VERSION: "2.0.45"})
    assert out.startswith("Version: 2.0.45 (build 0")
    # builds before 2.0.59 have no --enable-lua-udp
    status, out = cli(capsys, "--start-server", "x.zip", "--enable-lua-udp", 1234,
                      "--emulator-version", "2.0.58")
    assert status == 1 and "Option 'enable-lua-udp' does not exist" in out


def test_server_unknown_options_and_missing_values_fail_as_the_game(capsys, tmp_path):
    assert cli(capsys, "--disable-audio") == (1, "Option 'disable-audio' does not exist\n")
    status, out = cli(capsys, "--create")
    assert status == 1 and "required argument for option '--create' is missing" in out
    status, out = cli(capsys, "--start-server", tmp_path / "missing.zip", "--rcon-bind",
                      "127.0.0.1:1", "--rcon-password", "x")
    assert status == 1 and "does not exist" in out
    (tmp_path / "not-a-save.zip").write_text("x")
    status, out = cli(capsys, "--start-server", tmp_path / "not-a-save.zip")
    assert status == 1 and "not a save this emulator wrote" in out


def test_server_create_writes_a_save_with_the_seed(capsys, tmp_path):
    assert cli(capsys, "--create", tmp_path / "m.zip", "--map-gen-seed", "4242")[0] == 0
    with zipfile.ZipFile(tmp_path / "m.zip") as z:
        assert json.loads(z.read(srv.SAVE_MEMBER))["seed"] == 4242


def test_server_refuses_addresses_off_loopback(capsys, tmp_path):
    assert cli(capsys, "--create", tmp_path / "m.zip")[0] == 0
    for flag, addr in (("--rcon-bind", "0.0.0.0:27015"), ("--bind", "10.1.2.3")):
        args = ["--start-server", tmp_path / "m.zip", "--rcon-password", "x", flag, addr]
        if flag != "--rcon-bind":
            args += ["--rcon-bind", "127.0.0.1:0"]
        status, out = cli(capsys, *args)
        assert status == 1 and "127.0.0.1 only" in out, out


def test_server_refuses_ports_and_write_data_in_use(capsys, server):
    """A second server on a used RCON or game port, or on the same write-data directory (its
    .lock), fails to start (status 1)."""
    base = ["--start-server", server.save, "--rcon-password", "x",
            "--server-settings", server.root / "server-settings.json"]
    status, out = cli(capsys, *base, "--rcon-bind", f"127.0.0.1:{server.rcon_port}", "--port", 0)
    assert status == 1 and "RCON: cannot bind" in out, out
    status, out = cli(capsys, *base, "--rcon-bind", "127.0.0.1:0", "--port", server.game_port)
    assert status == 1 and "--port: cannot bind" in out, out
    status, out = cli(capsys, *base, "--rcon-bind", "127.0.0.1:0", "--port", 0,
                      "-c", server.root / "config.ini")
    assert status == 1 and ".lock" in out, out


# ---- the server ----

def test_server_prints_the_readiness_lines(server):
    log = server.log()
    assert f"Starting RCON interface at IP ADDR:({{127.0.0.1:{server.rcon_port}}})" in log
    assert f"Hosting game at IP ADDR:({{127.0.0.1:{server.game_port}}})" in log
    assert log.index("Starting RCON interface") < log.index(READY)
    assert PASSWORD not in log
    assert (server.root / "factorio-current.log").read_text().count(READY) == 1


def test_server_rcon_package_runs_console_commands(server):
    c = server.rcon()
    try:
        assert c.run("/version") == srv.DEFAULT_VERSION + "\n"
        assert c.run("/time").rstrip("\n").split()[-1] in ("second", "seconds")
        assert c.run("/sc rcon.print(1 + 2) rcon.print('x')") == "3\nx\n"
        assert c.run("/silent-command rcon.print(game.tick_paused)") == "true\n"  # the mod's on_init
        # /sc returns the error; /c does not (it goes to the console)
        err = c.run("/sc rcon.print(nothing.here)")
        assert err.startswith('Cannot execute command. Error: [string "rcon.print(nothing.here)"]:1:')
        assert c.run("/c rcon.print(nothing.here)") == ""
        # the console's Lua is the level's, not the mod's: its own storage, no mod globals
        assert c.run("/sc rcon.print(tostring(storage.ff == nil) .. ' ' .. tostring(script == nil))") \
            == "true true\n"
        assert c.run("/no-such-command") == 'Unknown command "no-such-command".\n'
        assert c.run("hello from chat") == ""
        # the mod's command answers a frame (an ERROR for this bad text)
        assert c.run("/ff Bnot-base64!").startswith("B")
    finally:
        c.close()
    assert "Cannot execute command. Error:" in server.log()


def test_server_wrong_password_answers_id_minus_one_and_closes(server):
    raw = Raw(server.rcon_port)
    try:
        assert raw.auth("wrong") == (-1, 2, b"")
        assert raw.closed_by_peer()
    finally:
        raw.close()
    from rcon.exceptions import WrongPassword
    from rcon.source import Client
    c = Client("127.0.0.1", server.rcon_port, passwd="nope", timeout=10)
    try:
        with pytest.raises(WrongPassword):
            c.connect(login=True)
    finally:
        c.close()  # the package leaves its socket open when the login fails
    raw = Raw(server.rcon_port)  # a command before auth: closed, no reply
    try:
        raw.send(1, 2, b"/version")
        assert raw.closed_by_peer()
    finally:
        raw.close()


def test_server_long_reply_is_one_packet_and_the_empty_packet_trick_answers_in_order(server):
    raw = Raw(server.rcon_port, quickack=True)
    try:
        assert raw.auth() == (7, 2, b"")
        raw.send(11, 2, b'/sc rcon.print(string.rep("ab", 50000))')
        raw.send(12, 0, b"")  # the trick: an empty RESPONSE_VALUE after the command
        raw.send(13, 2, b"")  # an empty command: the game answers nothing
        raw.send(14, 2, b"/version")
        assert raw.read() == (11, 0, b"ab" * 50000 + b"\n")
        assert raw.read() == (12, 0, b"")
        assert raw.read() == (14, 0, srv.DEFAULT_VERSION.encode() + b"\n")
        # a NUL cuts a command there
        raw.send(15, 2, b"/version\0garbage")
        assert raw.read() == (15, 0, srv.DEFAULT_VERSION.encode() + b"\n")
    finally:
        raw.close()
    c = server.rcon()  # the rcon package sends the trick itself after a reply >= 4096 bytes
    try:
        assert c.run('/sc rcon.print(string.rep("z", 20000))') == "z" * 20000 + "\n"
        assert c.run("/version") == srv.DEFAULT_VERSION + "\n"
    finally:
        c.close()


def _reply_seconds(port, quickack, size=8000, n=3):
    times = []
    for _ in range(n):
        raw = Raw(port, quickack=quickack)
        try:
            raw.auth()
            t = time.perf_counter()
            raw.send(1, 2, f'/sc rcon.print(string.rep("q", {size}))'.encode())
            assert len(raw.read()[2]) == size + 1
            times.append(time.perf_counter() - t)
        finally:
            raw.close()
    return statistics.median(times)


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux-only")
def test_server_a_reply_over_one_fragment_stalls_a_client_that_delays_its_acks(server):
    # Two 4 KB fragments: the second leaves only once the first is acknowledged. Linux delays
    # an ACK by at least 40 ms, so a client without TCP_QUICKACK waits that long; one with it
    # does not. A one-fragment reply never waits.
    slow = _reply_seconds(server.rcon_port, quickack=False)
    fast = _reply_seconds(server.rcon_port, quickack=True)
    small = _reply_seconds(server.rcon_port, quickack=False, size=2000)
    assert slow >= 0.030, (slow, fast)
    assert fast < 0.025 and small < 0.025, (slow, fast, small)


def _ticks_per_second(c, seconds=0.6):
    t0, tick0 = time.monotonic(), int(c.run("/sc rcon.print(game.tick)"))
    time.sleep(seconds)
    t1, tick1 = time.monotonic(), int(c.run("/sc rcon.print(game.tick)"))
    return (tick1 - tick0) / (t1 - t0)


def test_server_runs_at_most_60_times_game_speed_ticks_a_second(server):
    c = server.rcon()
    try:
        c.run("/sc game.speed = 2 game.tick_paused = false")
        rate = _ticks_per_second(c)
        assert 120 * 0.6 < rate < 120 * 1.2, rate
        # paused: no ticks; ticks_to_run: exactly that many, then paused again
        c.run("/sc game.tick_paused = true")
        t = int(c.run("/sc rcon.print(game.tick)"))
        time.sleep(0.1)
        assert int(c.run("/sc rcon.print(game.tick)")) == t
        c.run("/sc game.ticks_to_run = 30")
        time.sleep(0.5)
        assert c.run("/sc rcon.print(game.tick .. ' ' .. game.ticks_to_run)").split() == [str(t + 30), "0"]
    finally:
        c.run("/sc game.speed = 1000")
        c.close()


def test_server_unthrottled_and_sigint(tmp_path):
    p = EmulatorProcess(tmp_path / "u", extra=["--emulator-unthrottled"]).wait_ready()
    try:
        c = p.rcon()
        c.run("/sc game.speed = 1 game.tick_paused = false")
        assert _ticks_per_second(c, 0.3) > 600  # far more than 60 x speed
        c.close()
    finally:
        assert p.stop(signal.SIGINT) == 0
    assert "Received SIGINT" in p.log()


def test_server_auto_pause_without_the_mod_then_sigterm_frees_its_ports(tmp_path):
    # No mod: no /ff. auto_pause (the default settings) and no player: the server never ticks,
    # though it serves RCON.
    p = EmulatorProcess(tmp_path / "n", mods=False, settings={}).wait_ready()
    try:
        assert "No factorio_fast mod loaded" in p.log()
        c = p.rcon()
        assert c.run("/ff B") == 'Unknown command "ff".\n'
        assert c.run("/sc rcon.print(game.tick_paused)") == "false\n"
        time.sleep(0.2)
        assert c.run("/sc rcon.print(game.tick)") == "0\n"
        c.close()
    finally:
        assert p.stop(signal.SIGTERM) == 0
    log = p.log()
    assert "Received SIGTERM" in log and log.rstrip().endswith("Goodbye")
    for kind, port in ((socket.SOCK_STREAM, p.rcon_port), (socket.SOCK_DGRAM, p.game_port)):
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", port))  # free again
        s.close()


def test_write_launcher_runs_the_emulator(tmp_path):
    exe = srv.write_launcher(tmp_path / "bin")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("Version: ")


def test_server_finds_the_mod_as_mod_list_json_says(tmp_path):
    from factorio_fast.emulator.modfiles import mod_dir
    log = srv.Log()
    mods = tmp_path / "mods"
    mods.mkdir()
    assert srv.find_mod(mods, log)[0] is None  # nothing there: no mod, not an error
    zipped = write_zip(mods)
    assert srv.find_mod(mods, log)[:2] == (zipped, "0.1.0")  # not listed: enabled
    (mods / "mod-list.json").write_text(json.dumps({"mods": [
        {"name": "base", "enabled": True}, {"name": "factorio_fast", "enabled": False}]}))
    path, _, why = srv.find_mod(mods, log)
    assert path is None and "disabled" in why
    zipped.unlink()  # as a folder, named with its version
    folder = mods / "factorio_fast_0.1.0"
    shutil.copytree(mod_dir(), folder)
    (mods / "mod-list.json").write_text(json.dumps({"mods": [
        {"name": "factorio_fast", "enabled": True}]}))
    assert srv.find_mod(mods, log)[0] == folder
    assert srv.unpack_mod(folder, tmp_path) == folder
    # another enabled mod, or ours listed but missing: the emulator refuses
    other = mods / "other-mod"
    other.mkdir()
    (other / "info.json").write_text(json.dumps({"name": "other-mod", "version": "1.0.0"}))
    (mods / "mod-list.json").write_text(json.dumps({"mods": [
        {"name": "factorio_fast", "enabled": True}, {"name": "other-mod", "enabled": True}]}))
    with pytest.raises(srv.UsageError, match="runs only"):
        srv.find_mod(mods, log)
    shutil.rmtree(folder)
    shutil.rmtree(other)
    with pytest.raises(srv.UsageError, match="enabled in"):
        srv.find_mod(mods, log)
