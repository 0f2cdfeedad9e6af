"""``factorio-fast-emulator``: the emulator as a stand-in for Factorio's headless server.

It takes the headless server's command line (docs/factorio-facts.md §3.2), prints log lines
shaped like the real server's on stdout, serves Source RCON on 127.0.0.1 (``rcon_server``) and
runs the mod's Lua (``game.Emulator``) in a game loop that serves commands between ticks, so
``FACTORIO_PATH`` can point at it and a launcher runs unchanged. docs/emulator.md is the user's
guide; what follows is the why of each choice.

Command line (boost-style, as the game's: ``--opt VALUE`` or ``--opt=VALUE``; an unknown option
fails with "Option 'x' does not exist" and exit status 1, as the headless build answers
``--disable-audio``, docs/factorio-facts.md §3.2):

* ``--version``: the version block (see :func:`version_text`).
* ``--create SAVE`` [``--map-gen-seed N``, ``--map-gen-settings FILE``]: writes a save of the
  emulator's own format (a zip holding ``factorio-fast-emulator.json``: format, seed) and exits 0.
* ``--start-server SAVE``: the server. ``--rcon-bind ADDR:PORT`` or ``--rcon-port N`` with
  ``--rcon-password PW``; ``--port N`` (the UDP game port, bound on 127.0.0.1 so that a clash is
  real, though nothing speaks the multiplayer protocol to it); ``--bind ADDR[:PORT]``;
  ``--mod-directory DIR``; ``--server-settings FILE``; ``-c/--config FILE``;
  ``--enable-lua-udp PORT``.
* Emulator-only: ``--emulator-unthrottled`` (or ``FACTORIO_FAST_EMULATOR_UNTHROTTLED=1``) runs
  ticks as fast as the CPU allows instead of at most 60 x game.speed per second;
  ``--emulator-version X.Y.Z`` (or ``FACTORIO_FAST_EMULATOR_VERSION``) is the version it reports
  (default :data:`DEFAULT_VERSION`; below 2.0.59 it has no ``--enable-lua-udp``, as those builds).

Addresses: everything binds 127.0.0.1. ``--rcon-bind`` and ``--bind`` refuse any other address
(exit status 1): the emulator runs unauthenticated Lua for whoever holds the password, and the
project's rule is no listening socket off loopback (docs/design.md §9). ``--rcon-port N`` alone
binds 0.0.0.0 in the game; here it binds 127.0.0.1 and says so in a warning line.
"""

from __future__ import annotations

import configparser
import datetime
import errno
import json
import os
import select
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from factorio_fast.emulator.rcon_server import MAX_CONNECTIONS, RconConnection

__all__ = ["main", "DEFAULT_VERSION", "UDP_VERSION", "version_text", "SAVE_MEMBER",
           "write_launcher"]

DEFAULT_VERSION = "2.0.77"  # the tag of wube/factorio-data our facts come from
UDP_VERSION = (2, 0, 59)  # helpers.send_udp / recv_udp and --enable-lua-udp (CL 2.0.59)
SAVE_MEMBER = "factorio-fast-emulator.json"
SAVE_FORMAT = "factorio_fast emulator save"
DEFAULT_GAME_PORT = 34197
ENV_UNTHROTTLED = "FACTORIO_FAST_EMULATOR_UNTHROTTLED"
ENV_VERSION = "FACTORIO_FAST_EMULATOR_VERSION"
LOOPBACK = ("127.0.0.1", "localhost")


class UsageError(Exception):
    """A command-line error: printed, exit status 1."""


# ---- the command line ----

# option -> takes a value. The game's options this emulator knows; the ones it accepts without
# acting on them are marked in docs/emulator.md.
_OPTIONS = {
    "--version": False, "--help": False, "-h": False, "--verbose": False, "-v": False,
    "--no-log-rotation": False, "--config": True, "-c": True,
    "--create": True, "--map-gen-settings": True, "--map-settings": True, "--map-gen-seed": True,
    "--preset": True, "--start-server": True, "--port": True, "--bind": True,
    "--rcon-port": True, "--rcon-bind": True, "--rcon-password": True,
    "--server-settings": True, "--server-whitelist": True, "--use-server-whitelist": True,
    "--server-banlist": True, "--server-adminlist": True, "--console-log": True,
    "--server-id": True, "--mod-directory": True, "--enable-lua-udp": True,
    "--emulator-unthrottled": False, "--emulator-version": True,
}
_SHORT = {"-c": "--config", "-h": "--help", "-v": "--verbose"}


def parse_args(argv: list[str]) -> dict[str, str | bool]:
    opts: dict[str, str | bool] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in _OPTIONS:
            raise UsageError(f"Option '{name.lstrip('-')}' does not exist")
        key = _SHORT.get(name, name)
        if _OPTIONS[name]:
            if not eq:
                i += 1
                if i >= len(argv) or argv[i].startswith("--"):
                    raise UsageError(f"the required argument for option '{key}' is missing")
                value = argv[i]
            opts[key] = value
        else:
            if eq:
                raise UsageError(f"option '{key}' does not take any arguments")
            opts[key] = True
        i += 1
    return opts


def _version_tuple(text: str) -> tuple[int, int, int]:
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise UsageError(f"emulator: version {text!r} is not X.Y.Z")
    return int(parts[0]), int(parts[1]), int(parts[2])


def version_text(version: str) -> str:
    """What ``--version`` prints, shaped like the game's block (``Version: 2.0.x (build N,
    linux64, headless)``, then binary and map versions). Ours: the build number 0, the map
    versions (derived from the version), and the last line naming the emulator."""
    from factorio_fast import __version__
    return (f"Version: {version} (build 0, linux64, headless)\n"
            "Binary version: 64\n"
            "Map input version: 1.0.0-0\n"
            f"Map output version: {version}-0\n"
            f"Emulator: factorio_fast {__version__} (not Factorio; docs/emulator.md)\n")


def _loopback_addr(text: str, what: str) -> tuple[str, int | None]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, ""
    if host not in LOOPBACK:
        raise UsageError(f"emulator: {what} {text!r}: the emulator binds 127.0.0.1 only "
                         "(it runs Lua for whoever has the password; no listening socket off "
                         "loopback)")
    return "127.0.0.1", (_port(port, what) if port else None)


def _port(text: str, what: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise UsageError(f"emulator: {what}: {text!r} is not a port number")
    return int(text)


# ---- log lines ----

class Log:
    """The server's log on stdout, in the game's shape: seconds since start right-aligned in 8
    columns, then ``Info File.cpp:LINE: message`` (file names as the game's log shows them;
    the line numbers are ours). Also written to ``<write-data>/factorio-current.log``, as the
    game does, when a write-data directory is known."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.file = None

    def line(self, text: str) -> None:
        out = f"{time.monotonic() - self.t0:8.3f} {text}"
        try:
            print(out, flush=True)
        except (BrokenPipeError, ValueError):
            pass  # nobody reads stdout any more: the server goes on (the file still gets it)
        if self.file is not None:
            self.file.write(out + "\n")
            self.file.flush()

    def info(self, where: str, text: str) -> None:
        self.line(f"Info {where}: {text}")

    def warning(self, where: str, text: str) -> None:
        self.line(f"Warning {where}: {text}")

    def error(self, where: str, text: str) -> None:
        self.line(f"Error {where}: {text}")


# ---- saves, mods, settings ----

def write_save(path: Path, seed: int, version: str) -> None:
    path = Path(path)
    if not path.parent.is_dir():
        raise UsageError(f"emulator: cannot create {path}: {path.parent} is not a directory")
    data = {"format": SAVE_FORMAT, "format_version": 1, "seed": seed, "factorio_version": version}
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr(SAVE_MEMBER, json.dumps(data, indent=1))
    tmp.replace(path)


def read_save(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"emulator: the save {path} does not exist")
    try:
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read(SAVE_MEMBER))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise UsageError(f"emulator: {path} is not a save this emulator wrote (--create)") from None
    if data.get("format") != SAVE_FORMAT:
        raise UsageError(f"emulator: {path} is not a save this emulator wrote (--create)")
    return data


def find_mod(mod_dir: Path | None, log: Log) -> tuple[Path | None, str | None, str | None]:
    """The factorio_fast mod in a mod directory, as the game picks mods: ``mod-list.json``
    decides what is enabled (a mod it does not list is enabled, as the game adds new mods
    enabled); the mod is a folder (``factorio_fast`` or ``factorio_fast_<version>``) or the zip
    ``factorio_fast_<version>.zip``. Returns (folder or zip, version, None) or (None, None, why
    not). Another enabled mod is an error: the emulator runs only this one."""
    from factorio_fast.emulator.modfiles import MOD_NAME
    if mod_dir is None:
        return None, None, "no mod directory"
    if not mod_dir.is_dir():
        raise UsageError(f"emulator: the mod directory {mod_dir} does not exist")
    enabled: dict[str, bool] = {}
    listing = mod_dir / "mod-list.json"
    if listing.is_file():
        try:
            for m in json.loads(listing.read_text(encoding="utf-8"))["mods"]:
                enabled[str(m["name"])] = bool(m.get("enabled", True))
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"emulator: {listing} is not a mod list: {e}") from None
    found: dict[str, tuple[Path, str]] = {}
    for p in sorted(mod_dir.iterdir()):
        name, version = _mod_identity(p)
        if name is not None:
            found[name] = (p, version)
    for name, on in enabled.items():
        if on and name not in ("base", "core", MOD_NAME) and name in found:
            raise UsageError(f"emulator: mod {name!r} is enabled; the emulator runs only "
                             f"{MOD_NAME}")
    if not enabled.get(MOD_NAME, True):
        return None, None, f"{MOD_NAME} is disabled in mod-list.json"
    if MOD_NAME not in found:
        if MOD_NAME in enabled:
            raise UsageError(f"emulator: mod {MOD_NAME} is enabled in {listing} but not in "
                             f"{mod_dir}")
        return None, None, f"no {MOD_NAME} mod in {mod_dir}"
    return found[MOD_NAME][0], found[MOD_NAME][1], None


def _mod_identity(p: Path) -> tuple[str | None, str | None]:
    try:
        if p.is_dir() and (p / "info.json").is_file():
            info = json.loads((p / "info.json").read_text(encoding="utf-8"))
            return info.get("name"), info.get("version")
        if p.is_file() and p.suffix == ".zip":
            with zipfile.ZipFile(p) as z:
                names = [n for n in z.namelist() if n.count("/") == 1 and n.endswith("/info.json")]
                if names:
                    info = json.loads(z.read(names[0]))
                    return info.get("name"), info.get("version")
    except (ValueError, OSError, zipfile.BadZipFile):
        pass
    return None, None


def unpack_mod(path: Path, into: Path) -> Path:
    """A zipped mod's folder, extracted under ``into`` (the sandbox reads files from a folder)."""
    if path.is_dir():
        return path
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("/") or ".." in Path(n).parts:
                raise UsageError(f"emulator: {path} holds a file outside its folder: {n}")
        z.extractall(into)
        top = {n.split("/", 1)[0] for n in z.namelist()}
    if len(top) != 1:
        raise UsageError(f"emulator: {path} must hold one folder")
    return into / top.pop()


def read_config(path: str | None) -> dict:
    """``config.ini``: the emulator reads ``[path] write-data`` (the lock file and the log go
    there); other sections are accepted and ignored (docs/factorio-facts.md §3.4)."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"emulator: config file {p} does not exist")
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(p.read_text(encoding="utf-8"))
    except configparser.Error as e:
        raise UsageError(f"emulator: {p}: {e}") from None
    out = {}
    if cp.has_option("path", "write-data"):
        out["write_data"] = cp.get("path", "write-data")
    return out


def read_server_settings(path: str | None) -> dict:
    """server-settings.json (docs/factorio-facts.md §3.3): the emulator acts on ``auto_pause``
    (default true: a server with no players does not run ticks) and reads the rest as JSON."""
    if path is None:
        return {"auto_pause": True}
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"emulator: server settings {p}: {e.strerror}") from None
    except ValueError as e:
        raise UsageError(f"emulator: server settings {p} is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"emulator: server settings {p} is not a JSON object")
    data.setdefault("auto_pause", True)
    return data


# ---- the server ----

class Server:
    def __init__(self, opts: dict, version: str, log: Log):
        self.opts = opts
        self.version = version
        self.log = log
        self.unthrottled = bool(opts.get("--emulator-unthrottled")) or \
            os.environ.get(ENV_UNTHROTTLED, "") not in ("", "0")
        self.stop_signal: str | None = None
        self.conns: list[RconConnection] = []
        self.sockets: list[socket.socket] = []
        self._tmp: Path | None = None
        self._lock = None

    # -- start-up --

    def start(self) -> None:
        opts, log = self.opts, self.log
        save_path = Path(str(opts["--start-server"]))
        self.save = read_save(save_path)
        self.save_path = save_path
        cfg = read_config(opts.get("--config"))
        write_data = Path(cfg["write_data"]) if "write_data" in cfg else None
        if write_data is not None:
            write_data.mkdir(parents=True, exist_ok=True)
            self._take_lock(write_data)
            log.file = open(write_data / "factorio-current.log", "w", encoding="utf-8")
        self.settings = read_server_settings(opts.get("--server-settings"))
        password = opts.get("--rcon-password")
        if "--rcon-bind" in opts:
            rcon_addr = _loopback_addr(str(opts["--rcon-bind"]), "--rcon-bind")
            if rcon_addr[1] is None:
                raise UsageError("emulator: --rcon-bind takes ADDR:PORT")
        elif "--rcon-port" in opts:
            rcon_addr = ("127.0.0.1", _port(str(opts["--rcon-port"]), "--rcon-port"))
        else:
            rcon_addr = None
        if rcon_addr is not None and not password:
            raise UsageError("emulator: RCON needs --rcon-password")
        game_host, game_port = "127.0.0.1", DEFAULT_GAME_PORT
        if "--bind" in opts:
            game_host, bport = _loopback_addr(str(opts["--bind"]), "--bind")
            if bport is not None:
                game_port = bport
        if "--port" in opts:
            game_port = _port(str(opts["--port"]), "--port")
        lua_udp = None
        if "--enable-lua-udp" in opts:
            lua_udp = _port(str(opts["--enable-lua-udp"]), "--enable-lua-udp")

        mod_dir_opt = opts.get("--mod-directory")
        mod_root = Path(str(mod_dir_opt)) if mod_dir_opt else \
            (write_data / "mods" if write_data is not None and (write_data / "mods").is_dir()
             else None)
        mod_path, mod_version, why_not = find_mod(mod_root, log)

        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        log.line(f"{now}; Factorio {self.version} (build 0, linux64, headless)")
        log.line("Operating system: Linux (factorio_fast emulator, not Factorio)")
        if write_data is not None:
            log.line(f"Write data path: {write_data}")
        log.line("Running in headless mode")
        from factorio_fast.emulator.game import Emulator, ModError
        mod_folder = None
        if mod_path is not None:
            self._tmp = Path(tempfile.mkdtemp(prefix="ff-emulator-mod-"))
            mod_folder = unpack_mod(mod_path, self._tmp)
            log.line(f"Loading mod factorio_fast {mod_version} (control.lua)")
        else:
            log.line(f"No factorio_fast mod loaded: {why_not}")
        log.line(f"Loading map {save_path}: {save_path.stat().st_size} bytes.")
        try:
            self.emu = Emulator(mod_folder, load_mod=mod_folder is not None, version=self.version,
                                on_print=self._stdout, on_log=self._script_log)
        except ModError as e:
            log.error("MainLoop.cpp", str(e))
            raise UsageError("emulator: the mod failed to load") from None
        self._ModError = ModError
        self._flush_console()

        game_sock = self._bind(socket.SOCK_DGRAM, (game_host, game_port), "--port")
        log.info("UDPSocket.cpp:27", f"Opening socket at (IP ADDR:({{{game_host}:"
                 f"{game_sock.getsockname()[1]}}}))")
        log.line(f"Hosting game at IP ADDR:({{{game_host}:{game_sock.getsockname()[1]}}})")
        self.game_sock = game_sock
        if lua_udp is not None:
            from factorio_fast.emulator.udp import LuaUdpSocket
            sock = self._bind(socket.SOCK_DGRAM, ("127.0.0.1", lua_udp), "--enable-lua-udp")
            self.emu.udp = LuaUdpSocket(sock)
            log.info("UDPSocket.cpp:27", f"Opening socket for Lua UDP at (IP ADDR:({{127.0.0.1:"
                     f"{self.emu.udp.port}}}))")
        self.listener = None
        if rcon_addr is not None:
            self.password = str(password)
            lst = self._bind(socket.SOCK_STREAM, rcon_addr, "RCON")
            lst.listen(16)
            lst.setblocking(False)
            self.listener = lst
            if "--rcon-bind" not in opts:
                log.warning("RemoteCommandProcessor.cpp:119", "--rcon-port alone: the emulator "
                            "binds 127.0.0.1, not 0.0.0.0")
            log.info("RemoteCommandProcessor.cpp:119",
                     f"Starting RCON interface at IP ADDR:({{127.0.0.1:{lst.getsockname()[1]}}})")
        log.info("ServerMultiplayerManager.cpp:807",
                 "updateTick(0) changing state from(CreatingGame) to(InGame)")

    def _take_lock(self, write_data: Path) -> None:
        """``<write-data>/.lock``, held while the server runs: a second instance on the same
        write-data directory fails, as the game's does (docs/factorio-facts.md §3.2)."""
        import fcntl
        f = open(write_data / ".lock", "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise UsageError(f"emulator: couldn't acquire exclusive lock on {write_data}/.lock: "
                             "another instance uses this write-data directory") from None
        self._lock = f

    def _bind(self, kind, addr, what) -> socket.socket:
        s = socket.socket(socket.AF_INET, kind)
        if kind == socket.SOCK_STREAM:
            # a restarted server can take its port back while old connections linger in
            # TIME_WAIT; a live listener on the port still makes the bind fail
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            s.close()
            raise UsageError(f"emulator: {what}: cannot bind {addr[0]}:{addr[1]}: "
                             f"{e.strerror}") from None
        if kind == socket.SOCK_DGRAM:
            s.setblocking(False)
        self.sockets.append(s)
        return s

    def _stdout(self, text: str) -> None:
        print(text, flush=True)  # Lua print() writes to stdout (docs/factorio-facts.md §1)

    def _script_log(self, text: str) -> None:
        self.log.line(f"Script log: {text}")

    def _flush_console(self) -> None:
        c = self.emu.console
        for text in c:
            self.log.line(text)
        c.clear()

    # -- the loop --

    def execute(self, line: str) -> str:
        try:
            out = self.emu.console_command(line)
        except self._ModError as e:
            self.crash = str(e)
            out = ""
        self._flush_console()
        return out

    def _running(self) -> bool:
        g = self.emu.game
        if self.settings.get("auto_pause", True):
            return False  # no player ever connects, so an auto-paused server never ticks
        return not g._paused or g._to_run > 0

    def _update_wanted(self) -> bool:
        """A tick to run, or (paused) input actions waiting for the next update. An auto-paused
        server runs no updates at all."""
        if self.settings.get("auto_pause", True):
            return False
        return self._running() or self.emu.pending_input()

    def _update(self) -> None:
        """One update: a tick (whose input actions come first), or a paused update that only
        runs the input actions."""
        g = self.emu.game
        if self._running():
            if g._paused:
                g._to_run -= 1
            self.emu.tick()
        else:
            self.emu.deliver_input()

    def serve(self) -> int:
        """The game loop: select() on the sockets, commands between ticks, ticks at most
        60 x game.speed per second (the schedule slips rather than bursts when the CPU is slow,
        as a real server just runs slower). Returns the exit status."""
        self.crash = None
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        next_due = time.monotonic()
        try:
            while self.stop_signal is None and self.crash is None:
                now = time.monotonic()
                timeout = 0.5
                if self._update_wanted():
                    if self.unthrottled:
                        timeout = 0.0
                    else:
                        if next_due < now - 0.1:
                            next_due = now  # fell behind: slip the schedule
                        timeout = max(0.0, next_due - now)
                        if timeout < 0.001:
                            timeout = 0.0
                for c in self.conns:
                    t = c.ack_poll_interval(now)
                    if t is not None:
                        timeout = min(timeout, t)
                # (the Lua UDP socket is not read here: recv_udp reads it, as in the game)
                rlist = [wake_r, self.game_sock] + ([self.listener] if self.listener else []) \
                    + [c for c in self.conns if not c.closed]
                wlist = [c for c in self.conns if c.wants_flush(now)]
                try:
                    r, w, _ = select.select(rlist, wlist, [], timeout)
                except InterruptedError:
                    continue
                for s in r:
                    if s is wake_r:
                        try:
                            wake_r.recv(64)
                        except OSError:
                            pass
                    elif s is self.listener:
                        self._accept()
                    elif s is self.game_sock:
                        self._drain_udp(s)
                    else:
                        s.read()
                now = time.monotonic()
                for c in self.conns:
                    if c.wants_flush(now):
                        c.flush(now)
                    if c.closing and not c.pending():
                        c.close()
                self.conns = [c for c in self.conns if not c.closed]
                if self.crash is not None:
                    break
                # updates due now (up to 1 ms early, so a high game.speed costs ~1,000 wakeups
                # a second rather than one per tick)
                if self._update_wanted():
                    if self.unthrottled:
                        deadline = time.monotonic() + 0.002
                        while self._update_wanted() and time.monotonic() < deadline:
                            self._update()
                    else:
                        now = time.monotonic()
                        while self._update_wanted() and next_due <= now + 0.001:
                            self._update()
                            next_due += 1.0 / (60.0 * self.emu.game._speed)
                            if time.monotonic() - now > 0.01:
                                break  # serve the sockets at least every 10 ms
                    self._flush_console()
                else:
                    next_due = time.monotonic()
        except self._ModError as e:
            self.crash = str(e)
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for s, h in old.items():
                signal.signal(s, h)
            wake_r.close()
            wake_w.close()
        return self._shutdown()

    def _on_signal(self, signum, frame) -> None:
        self.stop_signal = signal.Signals(signum).name

    def _accept(self) -> None:
        try:
            sock, _addr = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE):
                self.log.error("RemoteCommandProcessor.cpp:1", f"accept: {e.strerror}")
            return
        if len(self.conns) >= MAX_CONNECTIONS:
            sock.close()
            return
        self.conns.append(RconConnection(sock, self.password, self.execute,
                                         lambda m: self.log.info("RemoteCommandProcessor.cpp:1",
                                                                 m)))

    def _drain_udp(self, s) -> None:
        for _ in range(64):  # bounded: the rest is read on the next pass
            try:
                s.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return

    def _shutdown(self) -> int:
        log = self.log
        status = 0
        if self.crash is not None:
            log.error("MainLoop.cpp:1", f"The mod factorio_fast caused a non-recoverable "
                      f"error.\n{self.crash}")
            status = 1
        else:
            log.info("ServerMultiplayerManager.cpp:1",
                     f"Received {self.stop_signal}, shutting down")
        g = self.emu.game
        log.info("ServerMultiplayerManager.cpp:807", f"updateTick({g._tick}) changing state "
                 "from(InGame) to(DisconnectingScheduled)")
        for c in self.conns:
            c.close()
        for s in self.sockets:
            s.close()
        if self.crash is None:
            # the headless server saves when it quits (docs/factorio-facts.md, errors table)
            try:
                write_save(self.save_path, self.save.get("seed", 0), self.version)
                log.info("AppManager.cpp:1", f"Saving map as {self.save_path}")
            except (OSError, UsageError) as e:
                log.error("AppManager.cpp:1", f"saving {self.save_path} failed: {e}")
        log.line("Goodbye")
        self.close()
        return status

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self.log.file is not None:
            self.log.file.close()
            self.log.file = None


def write_launcher(directory, name: str = "factorio") -> Path:
    """An executable ``<directory>/<name>`` that runs this emulator with the current Python, for
    ``FACTORIO_PATH`` when the console script is not on the PATH (a checkout, a test's venv)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / name
    path.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m "
                    f"factorio_fast.emulator.server \"$@\"\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    log = Log()
    try:
        opts = parse_args(argv)
        version = str(opts.get("--emulator-version") or os.environ.get(ENV_VERSION)
                      or DEFAULT_VERSION)
        vt = _version_tuple(version)
        if "--enable-lua-udp" in opts and vt < UDP_VERSION:
            raise UsageError("Option 'enable-lua-udp' does not exist")
        if opts.get("--help"):
            print("Usage: factorio-fast-emulator [OPTION...]  (the options of Factorio's "
                  "headless server it accepts: docs/emulator.md)")
            return 0
        if opts.get("--version"):
            sys.stdout.write(version_text(version))
            return 0
        if "--create" in opts:
            import secrets
            seed = opts.get("--map-gen-seed")
            if seed is None and "--map-gen-settings" in opts:
                try:
                    seed = json.loads(Path(str(opts["--map-gen-settings"])).read_text()).get("seed")
                except (OSError, ValueError) as e:
                    raise UsageError(f"emulator: --map-gen-settings: {e}") from None
            if seed is None:
                seed = secrets.randbits(32)
            try:
                seed = int(seed)
            except (TypeError, ValueError):
                raise UsageError(f"emulator: map seed {seed!r} is not a number") from None
            path = Path(str(opts["--create"]))
            log.line(f"Factorio {version} (build 0, linux64, headless)")
            log.line(f"Creating new map {path}")
            write_save(path, seed, version)
            log.line("Goodbye")
            return 0
        if "--start-server" not in opts:
            raise UsageError("emulator: nothing to do: give --create SAVE, --start-server SAVE "
                             "or --version")
        server = Server(opts, version, log)
        try:
            server.start()
        except BaseException:
            server.close()
            raise
        return server.serve()
    except UsageError as e:
        print(str(e), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
