"""``backend="factorio"``: the scenarios played by the mod on headless Factorio servers.

A :class:`FactorioStepper` is a batch stepper (``factorio_fast.backends``) over ``num_servers``
servers with ``envs_per_server`` envs each: one ``ModBatch`` per server
(``factorio_fast.emulator.batch``: worlds from the simulator's generator, the mod's raw states
encoded into the simulator's observation bytes in C), the servers started by
``factorio_fast.launcher`` and reached over RCON (``factorio_fast.rcon``). Observations, rewards
and flags are the same bytes ``backend="sim"`` gives for the same seeds and actions (the parity
tests hold it on the emulator).

A step of every server is one pass of a loop on one thread: each ModBatch operation is a
generator of requests, the first request of every server goes out before any reply is read, and
each server gets its next request the moment its reply is in (``RconMux``), so the client never
waits on one server while another is ready.

Servers start at the first ``reset`` (making a vector env builds a one-env stepper only to read
its spaces; that one never starts a server). With worker processes (``make_vec(...,
num_workers=k)``) each worker's stepper starts and drives the servers of its own shard.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np

from factorio_fast.errors import (
    InvalidArgumentError,
    StateError,
    WaitTimeoutError,
)

__all__ = ["FactorioStepper", "FACTORIO_ONLY_SCENARIOS"]

# Scenarios only this backend has (the simulator does not: an ordinary generated map); their
# numbers are FULL_GAME in factorio_fast._rawobs.
FACTORIO_ONLY_SCENARIOS = ("full_game",)
_MAX_ENVS_PER_SERVER = 1024


def _count(name, v, lo=1):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InvalidArgumentError(f"{name} must be an int >= {lo}, got {v!r}")
    return int(v)


class FactorioStepper:
    """``num_envs`` envs of ``scenario`` on Factorio servers (see the module's docstring).

    Parameters
    ----------
    envs_per_server : int, optional
        Envs on each server (each env has its own surface and character). Default: all the
        stepper's envs on ``num_servers`` servers.
    num_servers : int, optional
        Servers this stepper starts (default 1, or as many as ``envs_per_server`` needs). With
        worker processes it counts per worker; prefer ``envs_per_server`` there.
    factorio_path : str, optional
        The server executable (default ``$FACTORIO_PATH``; the emulator's
        ``factorio-fast-emulator`` also works).
    game_speed : float, optional
        ``game.speed`` of the servers (default: the mod's, 1000: as fast as the server runs).
    server_timeout : float
        Seconds one reset or step may take on any server before ``WaitTimeoutError`` (the
        vector env's ``timeout`` is its wait for worker processes).
    ready_timeout : float
        Seconds a server may take to start.
    encoding : {"Z", "B"}
        Frames as deflate + base64 (``helpers.encode_string``, smaller) or plain base64.
    udp : bool
        Let the mod push each step's states by Lua UDP (Factorio >= 2.0.59, the server started
        with ``--enable-lua-udp``): a step is one RCON request instead of two or more. Off by
        default: unverified on a real server (docs/mod.md §7.3 lists what to check first).
    udp_timeout : float
        Seconds to wait for a push before polling over RCON instead (a lost datagram, or a step
        slower than that).
    ticks_per_step, obstacles, goal
        As the ``sim`` backend.
    reward
        As the ``sim`` backend; full_game: None (the change of iron plates in the inventory) or a
        callable ``reward(prev_obs, obs) -> float`` of one env's observation bytes before and
        after the step (docs/scenarios.md "full_game").
    episode_steps, start_inventory
        full_game only: steps before truncation (default 1000) and the character's starting
        inventory (item name -> count; default ``emulator.batch.FULL_GAME_INVENTORY``).
    """

    def __init__(self, scenario: str, num_envs: int, *, num_servers: int | None = None,
                 envs_per_server: int | None = None, factorio_path=None,
                 game_speed: float | None = None, server_timeout: float = 30.0,
                 ready_timeout: float = 120.0, encoding: str = "Z", udp: bool = False,
                 udp_timeout: float = 1.0, ticks_per_step=None, obstacles=None, goal=None,
                 reward=None, episode_steps=None, start_inventory=None):
        from factorio_fast._sim import BatchSim
        from factorio_fast.launcher import find_executable

        self.num_envs = _count("num_envs", num_envs)
        self._num_servers = _count("num_servers", num_servers)
        self._per_server = _count("envs_per_server", envs_per_server)
        if self._per_server is not None and self._per_server > _MAX_ENVS_PER_SERVER:
            raise InvalidArgumentError(f"envs_per_server must be <= {_MAX_ENVS_PER_SERVER}")
        if encoding not in ("Z", "B"):
            raise InvalidArgumentError(f"encoding must be 'Z' or 'B', got {encoding!r}")
        if not isinstance(server_timeout, (int, float)) or not server_timeout > 0:
            raise InvalidArgumentError(f"server_timeout must be > 0 seconds, got {server_timeout!r}")
        self.scenario = scenario
        self._kw = {"ticks_per_step": ticks_per_step, "obstacles": obstacles, "goal": goal,
                    "reward": reward, "episode_steps": episode_steps,
                    "start_inventory": start_inventory}
        if scenario in FACTORIO_ONLY_SCENARIOS:
            self._init_full_game()
        else:
            if episode_steps is not None or start_inventory is not None:
                raise InvalidArgumentError("episode_steps and start_inventory are full_game's "
                                           "parameters")
            self._init_from_sim(BatchSim)
        self._exe = find_executable(factorio_path)  # a missing binary fails at make time
        if not isinstance(udp, (bool, np.bool_)):
            raise InvalidArgumentError(f"udp must be a bool, got {udp!r}")
        if not isinstance(udp_timeout, (int, float)) or not udp_timeout > 0:
            raise InvalidArgumentError(f"udp_timeout must be > 0 seconds, got {udp_timeout!r}")
        self.udp = bool(udp)
        self.udp_timeout = float(udp_timeout)
        self._udp = None
        self._udp_servers: dict = {}
        self._parts: dict = {}
        self._pushed: dict = {}
        self.push_timeouts = 0
        self._server_kw = {"game_speed": game_speed, "timeout": float(server_timeout),
                           "ready_timeout": float(ready_timeout), "udp": self.udp}
        self.timeout = float(server_timeout)
        self._encoding = encoding
        self.farm = None
        self.mods: list = []
        self.bounds: list[tuple[int, int]] = []
        self._mux = None
        self._client_server: dict = {}
        self._broken: str | None = None
        self._closed = False
        self.requests = 0

    def _init_from_sim(self, BatchSim) -> None:
        """The spaces and numbers of a scenario the simulator has, from a one-env probe."""
        probe = BatchSim(self.scenario, 1, **{k: v for k, v in self._kw.items()
                                              if v is not None})
        try:
            self.obs_shape = tuple(probe.obs_shape)
            self.obs_dtype = np.dtype(probe.obs_dtype)
            self.action_shape = tuple(probe.action_shape)
            self.action_nvec = np.asarray(probe.action_nvec, np.int64)
            self.single_observation_space = probe.single_observation_space
            self.single_action_space = probe.single_action_space
            self.episode_steps = probe.episode_steps
            self.ticks_per_step = probe.ticks_per_step
            # each env keeps a one-env generator BatchSim here (WorldSource) and an encoder
            self.bytes_per_env = 2 * int(probe.bytes_per_env) + 4096
        finally:
            probe.close()

    def _init_full_game(self) -> None:
        """full_game's spaces and numbers (the simulator does not have it)."""
        import gymnasium as gym

        from factorio_fast.emulator.batch import full_game_info

        kw = self._kw
        info = full_game_info(kw["ticks_per_step"], kw["episode_steps"], kw["obstacles"],
                              kw["goal"], kw["reward"], kw["start_inventory"])
        self.obs_shape = (info["obs_bytes"],)
        self.obs_dtype = np.dtype(np.uint8)
        self.action_nvec = np.asarray(info["nvec"], np.int64)
        self.action_shape = (len(info["nvec"]),)
        self.single_observation_space = gym.spaces.Box(0, 255, self.obs_shape, np.uint8)
        self.single_action_space = gym.spaces.MultiDiscrete(self.action_nvec)
        self.episode_steps = info["episode_steps"]
        self.ticks_per_step = info["ticks_per_step"]
        self.bytes_per_env = 4 * info["obs_bytes"] + 4096

    # ---------------------------------------------------------------- servers

    def layout(self) -> list[tuple[int, int]]:
        """The env range ``[lo, hi)`` of each server."""
        from factorio_fast._workers import shard_bounds

        n = self.num_envs
        if self._per_server is not None:
            servers = math.ceil(n / self._per_server)
            if self._num_servers is not None and self._num_servers != servers:
                raise InvalidArgumentError(
                    f"num_servers={self._num_servers} and envs_per_server={self._per_server} do "
                    f"not fit {n} envs (that needs {servers} servers)")
        else:
            servers = min(self._num_servers or 1, n)
        if math.ceil(n / servers) > _MAX_ENVS_PER_SERVER:
            raise InvalidArgumentError(f"{n} envs on {servers} server(s) is more than "
                                       f"{_MAX_ENVS_PER_SERVER} per server; add servers")
        return shard_bounds(n, servers)

    def start(self) -> None:
        """Start the servers (the first reset does it)."""
        self._check()
        if self.farm is not None:
            return
        from factorio_fast.emulator.batch import ModBatch
        from factorio_fast.launcher import FactorioFarm
        from factorio_fast.rcon import RconMux

        bounds = self.layout()
        try:
            self.farm = FactorioFarm(len(bounds), self._exe, **self._server_kw)
            self.mods = [ModBatch(self.scenario, hi - lo, None, encoding=self._encoding,
                                  max_polls=None, **{k: v for k, v in self._kw.items()
                                                     if v is not None})
                         for lo, hi in bounds]
            self._mux = RconMux([s.rcon for s in self.farm])
            self.bounds = bounds
            self._client_server = {id(s.rcon): s for s in self.farm}
            if self.udp:
                self._start_udp()
        except BaseException:
            self.close()
            raise

    def _check(self) -> None:
        if self._closed:
            raise StateError("this factorio stepper is closed")
        if self._broken is not None:
            raise StateError(f"a server failed earlier ({self._broken}); close() this env and "
                             "make a new one")

    # ---------------------------------------------------------------- driving

    def _run(self, gens: dict) -> None:
        """Run one generator per server (``{server index: gen}``) to their ends, all at once."""
        from factorio_fast.emulator.batch import Push

        mux = self._mux
        deadline = time.monotonic() + self.timeout
        active = {}
        later: list = []  # (due, server, text): polls held back while a step's ticks run
        awaiting: dict = {}  # server -> (sequence, when to give up on the push and poll)

        def send(k, item):
            while True:  # a step's next request, or the push it waits for
                if isinstance(item, Push):
                    key = (k, item.sequence)
                    if key not in self._pushed:
                        awaiting[k] = (item.sequence, time.monotonic() + self.udp_timeout)
                        return
                    item = resume(k, self._pushed.pop(key))
                    if item is None:
                        return
                    continue
                delay = self.mods[k].poll_delay
                if delay > 0:
                    heapq.heappush(later, (time.monotonic() + delay, k, item))
                else:
                    mux.send(self.farm[k].rcon, "/ff " + item, k)
                    self.requests += 1
                return

        def resume(k, value):
            try:
                return active[k].send(value)
            except StopIteration:
                del active[k]
                return None

        try:
            for k, g in gens.items():
                try:
                    text = next(g)
                except StopIteration:
                    continue
                active[k] = g
                send(k, text)
            while active:
                now = time.monotonic()
                while later and later[0][0] <= now:
                    _, k, text = heapq.heappop(later)
                    mux.send(self.farm[k].rcon, "/ff " + text, k)
                    self.requests += 1
                for k, (_, due) in list(awaiting.items()):
                    if due <= now:  # no push in time (lost, or a slow step): poll over RCON
                        del awaiting[k]
                        self.push_timeouts += 1
                        nxt = resume(k, None)
                        if nxt is not None:
                            send(k, nxt)
                if not active:
                    break
                left = deadline - now
                if left <= 0:
                    raise WaitTimeoutError(
                        f"servers {sorted(active)} did not finish the request within "
                        f"{self.timeout:g} s (server_timeout=)")
                wait = min([left] + ([later[0][0] - now] if later else [])
                           + [due - now for _, due in awaiting.values()])
                for c, k, text in mux.poll(max(0.0, wait)):
                    if c is None:  # the UDP socket
                        for sk, seq, value in self._read_datagrams():
                            if awaiting.get(sk, (None,))[0] == seq:
                                del awaiting[sk]
                                nxt = resume(sk, value)
                                if nxt is not None:
                                    send(sk, nxt)
                            elif seq > self.mods[sk]._seq - 2:  # may be awaited next
                                self._pushed[(sk, seq)] = value
                        continue
                    nxt = resume(k, text)
                    if nxt is not None:
                        send(k, nxt)
        except BaseException as e:
            # Some servers may still owe replies to requests nobody will read: the batch can
            # not go on. The error names the server and, if it died, its status and log.
            server = self._client_server.get(id(getattr(e, "rcon_client", None)))
            if server is None and len(active) == 1:
                server = self.farm[next(iter(active))]
            err = server.explain(e) if server is not None else e
            self._broken = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            for g in active.values():
                g.close()
            if err is e:
                raise
            raise err from None

    def _read_datagrams(self):
        """Complete pushes from the UDP socket: (server, sequence, reply text or None when
        the mod said to poll over RCON). Datagrams not from one of our servers' Lua UDP
        ports, or not shaped ``U<seq><index><count>text`` (docs/mod.md §7.2), are dropped."""
        out = []
        for _ in range(4096):  # bounded: at most this many datagrams a wake-up
            try:
                data, (host, port) = self._udp.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            k = self._udp_servers.get(port)
            if k is None or host != "127.0.0.1" or len(data) < 21 or data[:1] != b"U":
                continue
            try:
                seq = int.from_bytes(bytes.fromhex(data[1:17].decode("ascii")), "little")
                idx, count = int(data[17:19], 16), int(data[19:21], 16)
            except ValueError:
                continue
            if count == 0:
                out.append((k, seq, None))
                continue
            parts = self._parts.setdefault((k, seq), {})
            parts[idx] = data[21:].decode("ascii", "replace")
            if len(parts) == count and all(i in parts for i in range(count)):
                del self._parts[(k, seq)]
                out.append((k, seq, "".join(parts[i] for i in range(count))))
        if len(self._parts) > 64 or len(self._pushed) > 64:  # stale (polled instead): drop
            keep = {(k, m._seq) for k, m in enumerate(self.mods)}
            self._parts = {key: v for key, v in self._parts.items() if key in keep}
            self._pushed = {key: v for key, v in self._pushed.items() if key in keep}
        return out

    def _start_udp(self) -> None:
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._udp = sock
        self._udp_servers = {s.udp_port: k for k, s in enumerate(self.farm)}
        self._mux.watch(sock, "udp")
        port = sock.getsockname()[1]
        self._run({k: m.subscribe_gen(port, self.farm[k].udp_port)
                   for k, m in enumerate(self.mods)})

    # ---------------------------------------------------------------- BatchStepper

    def reset(self, seeds, env_ids=None, *, obs) -> None:
        """Reset the envs ``env_ids`` (all if None) with ``seeds``; starts the servers on the
        first call."""
        self._check()
        seeds = np.asarray(seeds)
        if seeds.dtype.kind not in "iu":
            raise InvalidArgumentError(f"seeds must be integers, got dtype {seeds.dtype}")
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, np.int64)
        if ids.ndim != 1 or seeds.shape != ids.shape or \
                (ids.size and (ids.min() < 0 or ids.max() >= self.num_envs)):
            raise InvalidArgumentError(f"need one seed per env id (ids in 0..{self.num_envs - 1})")
        self._check_obs(obs)
        self.start()
        seeds = seeds.astype(np.uint64)
        gens = {}
        for k, (lo, hi) in enumerate(self.bounds):
            mine = (ids >= lo) & (ids < hi)
            if mine.any():
                gens[k] = self.mods[k].reset_gen(seeds[mine], ids[mine] - lo, obs=obs[lo:hi])
        self._run(gens)

    def _check_obs(self, obs) -> None:
        want = (self.num_envs,) + self.obs_shape
        if not isinstance(obs, np.ndarray) or obs.shape != want or obs.dtype != self.obs_dtype:
            raise InvalidArgumentError(f"obs must be a {self.obs_dtype} array of shape {want}")

    def step(self, actions, *, obs, rewards, terminated, truncated, autoreset="next_step",
             final_obs=None, final_mask=None) -> None:
        """One step of every env on every server at once (BatchSim.step's contract)."""
        self._check()
        if self.farm is None:
            from factorio_fast.errors import ResetNeededError
            raise ResetNeededError("reset() first")
        if autoreset not in ("next_step", "same_step"):
            raise InvalidArgumentError("autoreset must be 'next_step' or 'same_step'")
        if autoreset == "same_step" and (final_obs is None or final_mask is None):
            raise InvalidArgumentError("autoreset='same_step' needs final_obs and final_mask")
        self._check_obs(obs)
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) + self.action_shape:
            raise InvalidArgumentError(f"actions must have shape "
                                       f"{(self.num_envs,) + self.action_shape}, got {a.shape}")
        if a.dtype.kind not in "iu":
            raise InvalidArgumentError(f"actions must be integers, got dtype {a.dtype}")
        flat = a.reshape(self.num_envs, -1)
        bad = (flat < 0) | (flat >= self.action_nvec.reshape(1, -1))
        if bad.any():  # all checked before any server moves
            env = int(np.nonzero(bad)[0][0])
            raise InvalidArgumentError(f"action of env {env} out of range: {a[env].tolist()} "
                                       f"(valid: 0..nvec-1, nvec={self.action_nvec.tolist()})")
        gens = {}
        for k, (lo, hi) in enumerate(self.bounds):
            sl = slice(lo, hi)
            gens[k] = self.mods[k].step_gen(
                a[sl], obs=obs[sl], rewards=rewards[sl], terminated=terminated[sl],
                truncated=truncated[sl], autoreset=autoreset,
                final_obs=None if final_obs is None else final_obs[sl],
                final_mask=None if final_mask is None else final_mask[sl])
        self._run(gens)

    def _gather(self, fn: str, empty) -> np.ndarray:
        if not self.mods:
            return empty
        return np.concatenate([getattr(m, fn)() for m in self.mods])

    def positions(self) -> np.ndarray:
        """Each env's character position (1/256 tile), from the mods' last states."""
        return self._gather("positions", np.zeros((self.num_envs, 2), np.int32))

    def ticks(self) -> np.ndarray:
        """Each env's game tick, from the mods' last states."""
        return self._gather("ticks", np.zeros(self.num_envs, np.uint64))

    def inventories(self) -> np.ndarray:
        """Each env's inventory (count by item id), from the mods' last states."""
        return self._gather("inventories", np.zeros((self.num_envs, 16), np.uint16))

    def render(self, env_id: int):
        """Not available: the world lives in the server (StateError)."""
        raise StateError("render() is not available with backend='factorio' (the world lives in "
                         "the server); use backend='sim' to look at an env")

    @property
    def servers(self):
        """The servers this stepper drives (empty before the first reset)."""
        return list(self.farm) if self.farm is not None else []

    def close(self) -> None:
        """Close every server of this stepper (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._mux is not None:
            self._mux.close()
        if self._udp is not None:
            self._udp.close()
        for m in self.mods:
            m.close()
        if self.farm is not None:
            self.farm.close()
        self.mods = []

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def factorio_factory(scenario: str, num_envs: int, **kwargs) -> FactorioStepper:
    return FactorioStepper(scenario, num_envs, **kwargs)
