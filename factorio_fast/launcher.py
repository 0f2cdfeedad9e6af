"""Start headless Factorio servers (or the emulator standing in for one) for training.

``FactorioServer`` is one server: its own write-data directory with a ``config.ini`` holding
only ``[path]``, a ``server-settings.json`` for a private, never-pausing, never-saving server, the
mod installed and enabled in ``mod-list.json``, a map made with ``--create``, then
``--start-server`` with RCON bound to 127.0.0.1 under a random password (docs/factorio-facts.md
§3.2-3.4). It is ready when the log says RCON listens and a login succeeds. ``FactorioFarm``
starts N of them at once.

The executable is ``factorio_path`` or the ``FACTORIO_PATH`` environment variable: a Factorio
headless binary, its install folder, or ``factorio-fast-emulator`` (the project's stand-in,
which takes the same command line). ``--version`` is read first and checked.

Clean-up: ``close()`` kills the server's whole process group (it runs in a session of its own,
so Ctrl-C in the trainer's terminal reaches the trainer, whose ``atexit`` hook closes every
server) and removes its directory. If the trainer dies without running Python (SIGKILL, a
crash), a small watchdog process per server sees the pipe from the trainer close (the kernel
closes it however the process ends), kills the server's process group and removes the
directory. A watchdog rather than ``PR_SET_PDEATHSIG``: that signal fires when the *thread*
that started the server exits, which would kill servers a helper thread started (and it would
leave the directory behind).

The RCON password never appears in a log line, error message or ``repr``: errors quote the
server's log with the password replaced by ``***``.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

from factorio_fast.errors import (
    FactorioServerError,
    InvalidArgumentError,
    StateError,
    WaitTimeoutError,
)
from factorio_fast.rcon import RconClient, Secret

__all__ = ["FactorioServer", "FactorioFarm", "find_executable", "read_version",
           "MIN_VERSION", "UDP_VERSION", "allocate_port"]

MIN_VERSION = (2, 0, 7)    # the mod's API: storage, helpers.* (moved there in 2.0.7)
UDP_VERSION = (2, 0, 59)   # helpers.send_udp / recv_udp and --enable-lua-udp
ENV_VAR = "FACTORIO_PATH"
_VERSION_RE = re.compile(r"Version:\s*(\d+)\.(\d+)\.(\d+)")
_RCON_RE = re.compile(r"Starting RCON interface at IP ADDR:\(\{([0-9.]+):(\d+)\}\)")
_LOG_TAIL = 20

_ports_lock = threading.Lock()
_ports_given: set[int] = set()   # ports this process handed out (never twice)
_live: weakref.WeakSet = weakref.WeakSet()


def find_executable(factorio_path: str | os.PathLike | None = None) -> Path:
    """The server executable: ``factorio_path``, else ``$FACTORIO_PATH``. A folder is taken as
    a Factorio install (``bin/x64/factorio``)."""
    raw = factorio_path if factorio_path is not None else os.environ.get(ENV_VAR)
    origin = "factorio_path" if factorio_path is not None else ENV_VAR
    if not raw:
        raise FactorioServerError(
            f"no Factorio server executable: set {ENV_VAR} to a Factorio headless binary (or its "
            "install folder, or factorio-fast-emulator) or pass factorio_path=")
    p = Path(os.fspath(raw)).expanduser()
    if p.is_dir():
        cand = p / "bin" / "x64" / "factorio"
        if not cand.is_file():
            raise FactorioServerError(f"{origin}={str(p)!r} is a folder without bin/x64/factorio")
        p = cand
    if not p.is_file():
        found = shutil.which(str(raw)) if os.sep not in str(raw) else None
        if found is None:
            raise FactorioServerError(f"{origin}={str(raw)!r}: no such file")
        p = Path(found)
    if not os.access(p, os.X_OK):
        raise FactorioServerError(f"{origin}={str(p)!r} is not executable")
    return p


_versions: dict = {}


def read_version(exe: Path, timeout: float = 60.0) -> tuple[int, int, int]:
    """``exe --version`` parsed (``Version: 2.0.45 (build ...)``); FactorioServerError if it
    does not answer like Factorio. Remembered per file (path, size, mtime): a farm asks once."""
    try:
        st = os.stat(exe)
        key = (str(exe), st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key in _versions:
        return _versions[key]
    v = _read_version(exe, timeout)
    if key is not None:
        _versions[key] = v
    return v


def _read_version(exe: Path, timeout: float) -> tuple[int, int, int]:
    try:
        out = subprocess.run([str(exe), "--version"], capture_output=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FactorioServerError(f"{exe} --version did not finish within {timeout:g} s "
                                  f"(is {ENV_VAR} a Factorio binary?)") from None
    except OSError as e:
        raise FactorioServerError(f"{exe} could not run ({e.strerror or e}); {ENV_VAR} must "
                                  "name a Factorio headless binary") from None
    text = out.stdout.decode("utf-8", "replace")
    m = _VERSION_RE.search(text)
    if out.returncode != 0 or m is None:
        first = (text.strip() or out.stderr.decode("utf-8", "replace").strip())[:200]
        raise FactorioServerError(
            f"{exe} is not a Factorio server: '--version' exited {out.returncode} and printed "
            f"{first!r}, not 'Version: X.Y.Z'; {ENV_VAR} must name a Factorio headless binary")
    return tuple(int(g) for g in m.groups())


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def allocate_port() -> int:
    """A port free on 127.0.0.1 for both TCP and UDP, never handed out before by this
    process (the kernel picks it; another process could still take it before the server binds
    it, which the server's start then reports)."""
    with _ports_lock:
        for _ in range(200):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            if port not in _ports_given and _port_free(port):
                _ports_given.add(port)
                return port
    raise FactorioServerError("no free port on 127.0.0.1 after 200 tries")


def _claim(port: int, what: str) -> int:
    if not (isinstance(port, int) and 1024 <= port < 65536):
        raise InvalidArgumentError(f"{what} must be an int in 1024..65535, got {port!r}")
    with _ports_lock:
        if port in _ports_given or not _port_free(port):
            raise FactorioServerError(f"{what} {port} on 127.0.0.1 is in use")
        _ports_given.add(port)
    return port


def _release(*ports) -> None:
    with _ports_lock:
        for p in ports:
            _ports_given.discard(p)


# The watchdog: waits for EOF on stdin (the trainer's end of the pipe closing, however the
# trainer ends), then kills the server's process group and removes its directory.
_WATCHDOG = r"""
import os, shutil, signal, sys, time
pgid, path = int(sys.argv[1]), sys.argv[2]
try:
    while sys.stdin.buffer.read(1):
        pass
except Exception:
    pass
try:
    os.killpg(pgid, signal.SIGKILL)
except OSError:
    pass
for _ in range(50):
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.exists(path):
        break
    time.sleep(0.1)
"""


class FactorioServer:
    """One headless server running the mod, reachable over RCON on 127.0.0.1.

    Parameters
    ----------
    factorio_path : str or Path, optional
        The executable (default ``$FACTORIO_PATH``).
    rcon_port, game_port : int, optional
        Fixed ports (default: free ones, never two servers the same).
    game_speed : float, optional
        ``game.speed`` set over RCON once the server is up (the mod sets 1000 in ``on_init``:
        steps run as fast as the server can; a lower value paces the server like a real game
        at that speed).
    udp : bool or None
        Start with ``--enable-lua-udp`` (needs Factorio >= 2.0.59). None: when the version
        has it.
    ready_timeout : float
        Seconds for ``--create`` and for the server to become ready.
    timeout : float
        RCON timeout per command.
    extra_args : list of str
        More command-line arguments for ``--start-server``.
    start : bool
        Start now (default) or on :meth:`start`.
    """

    def __init__(self, factorio_path=None, *, rcon_port: int | None = None,
                 game_port: int | None = None, game_speed: float | None = None,
                 udp: bool | None = False, ready_timeout: float = 120.0, timeout: float = 30.0,
                 extra_args=(), start: bool = True):
        self.exe = find_executable(factorio_path)
        self.version = read_version(self.exe)
        if self.version < MIN_VERSION:
            raise FactorioServerError(
                f"{self.exe} is Factorio {'.'.join(map(str, self.version))}; the mod needs "
                f"{'.'.join(map(str, MIN_VERSION))} or newer (Factorio 2.0's API)")
        if udp and self.version < UDP_VERSION:
            raise FactorioServerError(
                f"udp=True needs Factorio {'.'.join(map(str, UDP_VERSION))} or newer "
                f"(--enable-lua-udp); {self.exe} is {'.'.join(map(str, self.version))}")
        self.udp = bool(self.version >= UDP_VERSION) if udp is None else bool(udp)
        if game_speed is not None and not (isinstance(game_speed, (int, float))
                                           and 0.01 <= game_speed <= 1e6):
            raise InvalidArgumentError(f"game_speed must be a number >= 0.01, got {game_speed!r}")
        self.game_speed = game_speed
        self.ready_timeout = float(ready_timeout)
        self.timeout = float(timeout)
        self.extra_args = [str(a) for a in extra_args]
        self._ports = []
        self.rcon_port = _claim(rcon_port, "rcon_port") if rcon_port else allocate_port()
        self._ports.append(self.rcon_port)
        try:
            self.game_port = _claim(game_port, "game_port") if game_port else allocate_port()
            self._ports.append(self.game_port)
            self.udp_port = allocate_port() if self.udp else None
            if self.udp_port:
                self._ports.append(self.udp_port)
        except BaseException:
            _release(*self._ports)
            raise
        self._password = Secret(secrets.token_urlsafe(24))
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._watchdog: subprocess.Popen | None = None
        self._log = None
        self.rcon: RconClient | None = None
        self._closed = False
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else ("closed" if self._closed else "stopped")
        return (f"FactorioServer({self.exe.name} {'.'.join(map(str, self.version))}, "
                f"rcon 127.0.0.1:{self.rcon_port}, {state})")

    @property
    def password(self) -> Secret:
        """The RCON password, wrapped so that it never shows in a repr or a log."""
        return self._password

    @property
    def running(self) -> bool:
        """Whether the server's process is alive."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        """The server's log file (None before start)."""
        return self.dir / "server.log" if self.dir is not None else None

    # ---------------------------------------------------------------- start

    def _write_files(self) -> None:
        d = self.dir
        (d / "config").mkdir()
        # Only [path] matters to a headless server (docs/factorio-facts.md §3.4); write-data
        # of our own per server avoids the .lock clash between instances.
        (d / "config" / "config.ini").write_text(
            "; version=12\n[path]\nread-data=__PATH__executable__/../../data\n"
            f"write-data={d}\n", encoding="utf-8")
        settings = {
            "name": "factorio_fast", "description": "factorio_fast training server",
            "tags": [], "max_players": 0,
            "visibility": {"public": False, "lan": False},
            "require_user_verification": False, "allow_commands": "admins-only",
            "auto_pause": False,   # a player-less server stays paused otherwise (§3.3)
            "autosave_interval": 0, "autosave_slots": 0, "autosave_only_on_server": True,
            "non_blocking_saving": False, "only_admins_can_pause_the_game": True,
        }
        (d / "server-settings.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")
        mods = d / "mods"
        mods.mkdir()
        from factorio_fast.emulator.modfiles import MOD_NAME, write_zip

        write_zip(mods)
        (mods / "mod-list.json").write_text(json.dumps({"mods": [
            {"name": "base", "enabled": True}, {"name": MOD_NAME, "enabled": True}]}, indent=1),
            encoding="utf-8")
        (d / "saves").mkdir()

    def _common(self) -> list[str]:
        d = self.dir
        return ["-c", str(d / "config" / "config.ini"), "--mod-directory", str(d / "mods")]

    def start(self) -> None:
        """Create the directory and the map, start the server, wait until it is ready."""
        self.prepare()
        self.launch()
        self.wait_ready()

    def prepare(self) -> None:
        """The directory, its files and the map (``--create``); safe in any thread."""
        if self._closed:
            raise StateError("this server was closed")
        if self.dir is not None:
            return
        _live.add(self)
        self._deadline = time.monotonic() + self.ready_timeout
        try:
            # the trainer's pid in the name: whose server a leftover was is plain to see
            self.dir = Path(tempfile.mkdtemp(prefix=f"factorio_fast_srv_{os.getpid()}_"))
            os.chmod(self.dir, 0o700)
            self._write_files()
            self._create_map(self._deadline)
        except BaseException:
            self.close()
            raise

    def launch(self) -> None:
        """Start the server process (and its watchdog) on the prepared directory."""
        if self._closed:
            raise StateError("this server was closed")
        if self.proc is None:
            try:
                self._spawn()
            except BaseException:
                self.close()
                raise

    def wait_ready(self) -> None:
        """Wait for the RCON line in the log, then log in."""
        if self.rcon is not None:
            return
        try:
            self._wait_ready(self._deadline)
        except BaseException:
            self.close()
            raise

    def _create_map(self, deadline: float) -> None:
        save = self.dir / "saves" / "ff.zip"
        with open(self.dir / "create.log", "wb") as log:
            try:
                p = subprocess.run([str(self.exe), "--create", str(save), *self._common()],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   timeout=max(1.0, deadline - time.monotonic()),
                                   start_new_session=True)
            except subprocess.TimeoutExpired:
                raise WaitTimeoutError(f"{self.exe} --create did not finish within "
                                       f"{self.ready_timeout:g} s: {self._tail('create.log')}") from None
        if p.returncode != 0 or not save.is_file():
            raise FactorioServerError(f"{self.exe} --create exited with status {p.returncode}"
                                      f" and made no map: {self._tail('create.log')}")

    def _spawn(self) -> None:
        d = self.dir
        args = [str(self.exe), "--start-server", str(d / "saves" / "ff.zip"), *self._common(),
                "--server-settings", str(d / "server-settings.json"),
                "--port", str(self.game_port),
                "--rcon-bind", f"127.0.0.1:{self.rcon_port}",
                "--rcon-password", self._password.reveal()]
        if self.udp:
            args += ["--enable-lua-udp", str(self.udp_port)]
        args += self.extra_args
        self._log = open(d / "server.log", "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(d),
                                     start_new_session=True)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(self.proc.pid), str(d)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)

    def _wait_ready(self, deadline: float) -> None:
        seen = False
        while True:
            if not seen:
                seen = _RCON_RE.search(self._read_log()) is not None
            code = self.proc.poll()
            if code is not None:
                raise FactorioServerError(f"the server exited with {_status(code)} before it "
                                          f"was ready: {self._tail()}")
            if seen:
                try:
                    left = max(0.2, min(self.timeout, deadline - time.monotonic()))
                    self.rcon = RconClient("127.0.0.1", self.rcon_port, self._password,
                                           timeout=left)
                    break
                except (FactorioServerError, WaitTimeoutError):
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"the server was not ready within {self.ready_timeout:g} s"
                                       f" (no RCON line in its log): {self._tail()}")
            time.sleep(0.02)
        if self.game_speed is not None:
            self.command(f"/silent-command game.speed = {float(self.game_speed)!r}")

    # ---------------------------------------------------------------- use

    def command(self, text: str, timeout: float | None = None) -> str:
        """One RCON command; a dead server raises FactorioServerError with its exit status
        and the end of its log."""
        if self.rcon is None:
            raise StateError("the server is not running")
        try:
            return self.rcon.command(text, timeout)
        except (FactorioServerError, WaitTimeoutError) as e:
            raise self.explain(e) from None

    def explain(self, exc: BaseException) -> BaseException:
        """``exc`` with the server's exit status and last log lines when it died."""
        if self.proc is None:
            return exc
        try:
            code = self.proc.wait(0.5) if not isinstance(exc, WaitTimeoutError) else self.proc.poll()
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return exc
        return FactorioServerError(f"the server (rcon 127.0.0.1:{self.rcon_port}) died with "
                                   f"{_status(code)}: {self._tail()}")

    def _read_log(self, name: str = "server.log") -> str:
        try:
            return (self.dir / name).read_text("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def _tail(self, name: str = "server.log") -> str:
        lines = self._read_log(name).splitlines()[-_LOG_TAIL:]
        text = "\n".join(lines).replace(self._password.reveal(), "***")
        return ("last log lines:\n" + text) if text else "(empty log)"

    # ---------------------------------------------------------------- stop

    def close(self) -> None:
        """Kill the server's process group, remove its directory. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.rcon is not None:
            self.rcon.close()
            self.rcon = None
        if self.proc is not None:
            _kill_group(self.proc)
        if self._log is not None:
            self._log.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._watchdog is not None:
            try:
                self._watchdog.stdin.close()  # EOF: the watchdog finds nothing left and exits
            except OSError:
                pass
            try:
                self._watchdog.wait(5)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait(1)
        _release(*self._ports)
        _live.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the group, give it a moment, then SIGKILL whatever is left; reap the server."""
    try:
        pgid = os.getpgid(proc.pid)
    except OSError:
        pgid = None
    if proc.poll() is None and pgid is not None:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except OSError:
            pass
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            pass
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)  # the server's own children too
        except OSError:
            pass
    try:
        proc.wait(5.0)
    except subprocess.TimeoutExpired:
        pass


class FactorioFarm:
    """``n`` servers started together (in parallel: each start is mostly waiting)."""

    def __init__(self, n: int, factorio_path=None, **kwargs):
        if not isinstance(n, int) or n < 1:
            raise InvalidArgumentError(f"a farm needs n >= 1 servers, got {n!r}")
        self.servers: list[FactorioServer] = []
        try:
            for _ in range(n):
                self.servers.append(FactorioServer(factorio_path, start=False, **kwargs))
            errors: list[BaseException] = []

            def run(s):
                try:
                    s.prepare()
                except BaseException as e:  # noqa: B036 - re-raised below
                    errors.append(e)
            # --create runs in parallel; the servers start from this thread, then all become
            # ready together (their start-up overlaps).
            threads = [threading.Thread(target=run, args=(s,)) for s in self.servers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            for s in self.servers:
                s.launch()
            for s in self.servers:
                s.wait_ready()
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self.servers)

    def __iter__(self):
        return iter(self.servers)

    def __getitem__(self, i):
        return self.servers[i]

    def close(self) -> None:
        """Close every server of the farm (idempotent)."""
        for s in self.servers:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@atexit.register
def _close_all_servers() -> None:
    for s in list(_live):
        try:
            s.close()
        except Exception:
            pass
