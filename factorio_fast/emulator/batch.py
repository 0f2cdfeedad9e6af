"""A batch of envs played by the mod (on a real server or the emulator), with BatchSim's API.

``ModBatch`` is the client side of the mod's wire (docs/mod.md): worlds come from the native
simulator (``WorldSource``), go to the mod in WORLD requests, the actions in ACTIONS requests, and
the mod's raw states become observations, rewards and flags in C (``factorio_fast._rawobs``), the
same bytes ``BatchSim`` gives for the same worlds and actions.
"""

from __future__ import annotations

import binascii
import struct
import time
import zlib
from collections.abc import Callable

import numpy as np

from factorio_fast import codec
from factorio_fast._rawobs import (
    FULL_GAME,
    STATUS_ACCEPTED,
    STATUS_PENDING,
    STATUS_STATES,
    RawEncoder,
)
from factorio_fast._reference_sim import SplitMix64
from factorio_fast._sim import BatchSim, scenario_info
from factorio_fast.emulator import wire
from factorio_fast.errors import FactorioServerError, InvalidArgumentError, ProtocolError

__all__ = ["WorldSource", "FullGameSource", "ModBatch", "EmulatorLink", "Push",
           "FULL_GAME_INVENTORY"]

SCENARIO_IDS = {"movement_micro": 0, "mining_micro": 1, "building_micro": 2, "full_game": 3}
# full_game's default starting inventory, by item name: what the game's freeplay start gives
# of the items the cells and the inventory know (8 iron plates, a burner drill, a stone furnace)
FULL_GAME_INVENTORY = {"iron-plate": 8, "burner-mining-drill": 1, "stone-furnace": 1}
POLL_FIRST_S = 0.0002  # the first wait of a pending step, before the tick rate is known
POLL_MAX_S = 0.02


def _stored_zlib(data: bytes) -> bytes:
    """``data`` as a zlib stream of stored (uncompressed) deflate blocks (RFC 1950/1951).
    A request is small (48 bytes an env) and a server inflates it natively
    (``helpers.decode_string``), so compressing it buys nothing; building the stream by hand
    costs a few µs where ``zlib.compress`` costs tens (it sets up a full deflate state)."""
    out = [b"\x78\x01"]
    n = len(data)
    pos = 0
    while True:
        chunk = data[pos:pos + 65535]
        pos += len(chunk)
        last = pos >= n
        out.append(struct.pack("<BHH", 1 if last else 0, len(chunk), len(chunk) ^ 0xFFFF))
        out.append(chunk)
        if last:
            break
    out.append(struct.pack(">I", zlib.adler32(data)))
    return b"".join(out)


def _request_text(frame: bytes, how: str) -> str:
    if how == "Z":
        return "Z" + binascii.b2a_base64(_stored_zlib(frame), newline=False).decode("ascii")
    return wire.to_text(frame, how)


def _reply_bytes(text: str) -> bytes:
    return wire.from_text(text)


T_UDP = int(codec.FrameType.UDP)  # the mod's UDP subscription request (docs/mod.md §7.1)


class Push:
    """Yielded by a ModBatch step instead of a request text when the states come by UDP: the
    driver answers with the pushed reply text for ``sequence``, or None to poll over RCON
    instead (no push in time, or the mod said the reply does not fit in datagrams)."""

    __slots__ = ("sequence",)

    def __init__(self, sequence: int):
        self.sequence = sequence


class WorldSource:
    """The worlds the simulator generates for each env, episode after episode.

    Each env has its own one-env ``BatchSim`` whose RNG stream is the env's: ``first(i, seed)``
    resets it with the seed, ``next(i)`` draws the next episode's world from the same stream, as
    an autoreset does. BatchSim has no call to regenerate an env (its RNG state is not exposed),
    so ``next`` lets the generator's episode run out: it steps the env standing still until the
    episode is truncated (standing never finishes a task), and the autoreset draws the next world.
    """

    def __init__(self, scenario: str, num_envs: int, *, obstacles=None, goal=None):
        kw = {"ticks_per_step": 1, "obstacles": obstacles}
        if goal is not None:
            kw["goal"] = goal
        self.scenario = scenario
        self.gens = [BatchSim(scenario, 1, **kw) for _ in range(num_envs)]
        g = self.gens[0]
        self._obs = np.zeros((1, g.obs_shape[0]), np.uint8)
        self._fobs = np.zeros_like(self._obs)
        self._r = np.zeros(1, np.float32)
        self._te = np.zeros(1, np.bool_)
        self._tr = np.zeros(1, np.bool_)
        self._fm = np.zeros(1, np.bool_)
        self._stand = np.zeros((1,) + g.action_shape, np.int64)

    def first(self, i: int, seed: int) -> dict:
        self.gens[i].reset(np.array([seed], np.uint64), obs=self._obs)
        return self.describe(i)

    def next(self, i: int) -> dict:
        g = self.gens[i]
        for _ in range(g.episode_steps + 1):
            g.step(self._stand, obs=self._obs, rewards=self._r, terminated=self._te,
                   truncated=self._tr, autoreset="same_step", final_obs=self._fobs,
                   final_mask=self._fm)
            if self._fm[0]:
                if self._te[0]:
                    raise FactorioServerError("a generator env finished its task standing still")
                return self.describe(i)
        raise FactorioServerError("a generator env did not reach its episode's end")

    def describe(self, i: int) -> dict:
        g = self.gens[i]
        w = g.world(0)
        tiles = (w.cells() >> 28).astype(np.uint8)
        target = (-1, -1)
        px, py = w.position
        if self.scenario == "movement_micro":
            o = g.observe(0)
            dx = int(np.frombuffer(o[36:38].tobytes(), np.int16)[0])
            dy = int(np.frombuffer(o[38:40].tobytes(), np.int16)[0])
            target = ((px + dx - 128) // 256, (py + dy - 128) // 256)
        return {"tiles": tiles, "resources": w.resources(),
                "buildings": [(b["entity"], b["x"], b["y"], b["direction"])
                              for b in w.buildings()],
                "position": (px, py), "inventory": w.inventory(), "target": target}

    def close(self):
        for g in self.gens:
            g.close()


class FullGameSource:
    """full_game's worlds: the game generates the map, so an episode's world is its map seed
    (MapGenSettings.seed, 32 bits) and the starting inventory. Each env's seeds are a
    splitmix64 stream started by its reset seed: ``first`` the first, ``next`` the following
    episodes' (as an autoreset continues an env's stream)."""

    def __init__(self, num_envs: int, inventory=None):
        inv = FULL_GAME_INVENTORY if inventory is None else inventory
        if not isinstance(inv, dict):
            raise InvalidArgumentError("start_inventory must be a dict of item name -> count")
        counts = np.zeros(16, np.uint16)
        for name, n in inv.items():
            if name not in codec.ITEM_IDS or not codec.ITEM_IDS[name]:
                raise InvalidArgumentError(f"start_inventory: unknown item {name!r} (known: "
                                           f"{', '.join(n for n in codec.ITEM_NAMES if n)})")
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 65535:
                raise InvalidArgumentError(f"start_inventory: count of {name!r} must be an int "
                                           f"0..65535, got {n!r}")
            counts[codec.ITEM_IDS[name]] = int(n)
        self.inventory = counts
        self._rng = [SplitMix64(0) for _ in range(int(num_envs))]

    def _draw(self, i: int) -> dict:
        return {"seed": self._rng[i].next() & 0xFFFFFFFF, "inventory": self.inventory, "target": (-1, -1)}

    def first(self, i: int, seed: int) -> dict:
        """Env ``i``'s first episode after a reset with ``seed``: its map seed and inventory."""
        self._rng[i] = SplitMix64(int(seed))
        return self._draw(i)

    def next(self, i: int) -> dict:
        """Env ``i``'s next episode, from the same stream."""
        return self._draw(i)

    def close(self):
        """Nothing to free (the maps live in the game)."""


class EmulatorLink:
    """Sends one command to an in-process emulator and lets its game loop run afterwards, as a
    real server runs its ticks between commands."""

    def __init__(self, emulator):
        self.emulator = emulator

    def __call__(self, text: str) -> str:
        out = self.emulator.command("/ff " + text)
        self.emulator.run()
        return out


def full_game_info(ticks_per_step=None, episode_steps=None, obstacles=None, goal=None,
                   reward=None, start_inventory=None) -> dict:
    """full_game's numbers, as ``scenario_info`` gives the simulator's scenarios', with its
    parameters checked (the simulator does not have full_game: docs/scenarios.md)."""
    if obstacles is not None or goal is not None:
        raise InvalidArgumentError("full_game has no obstacles or goal (an ordinary map; the "
                                   "reward is user-set)")
    if reward is not None and not callable(reward):
        raise InvalidArgumentError("full_game's reward is None (the change of iron plates in the "
                                   "inventory) or a callable reward(prev_obs, obs) -> float, got "
                                   f"{reward!r}")
    for name, v, hi in (("ticks_per_step", ticks_per_step, 600),
                        ("episode_steps", episode_steps, 1 << 30)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or not 1 <= v <= hi):
            raise InvalidArgumentError(f"full_game: {name} must be an int 1..{hi}, got {v!r}")
    if start_inventory is not None:
        FullGameSource(1, start_inventory)  # checks it
    return {"ticks_per_step": int(ticks_per_step or FULL_GAME["ticks_per_step"]),
            "episode_steps": int(episode_steps or FULL_GAME["episode_steps"]), "goal": 0,
            "map_size": (0, 0), "obs_bytes": FULL_GAME["obs_bytes"], "nvec": FULL_GAME["nvec"]}


class ModBatch:
    """``num_envs`` envs of one scenario on one server running the mod.

    Parameters
    ----------
    scenario : str
        A scenario name.
    num_envs : int
        Envs on the server (each on its own surface, stepped in lockstep).
    send : callable or None
        One request's text -> the reply's text (an RCON command ``/ff <text>``). None: the
        caller drives the ``*_gen`` generators itself (many servers at once).
    ticks_per_step, obstacles, goal, reward
        As ``BatchSim``. full_game (the real game only, docs/scenarios.md): no obstacles or
        goal; ``reward`` None (the change of iron plates in the inventory) or a callable
        ``reward(prev_obs, obs) -> float`` of one env's observations before and after a step.
    episode_steps : int, optional
        full_game: steps before truncation (default 1000). The other scenarios have the
        simulator's.
    start_inventory : dict, optional
        full_game: the character's inventory at the start, item name -> count (default
        ``FULL_GAME_INVENTORY``).
    encoding : {"Z", "B"}
        How frames travel: deflate + base64 (``helpers.encode_string``) or plain base64.
    max_polls : int or None
        Polls for a step's states before giving up; None: no count (the caller bounds the wait
        by time, as the factorio backend does).
    """

    def __init__(self, scenario: str, num_envs: int, send: Callable[[str], str] | None, *,
                 ticks_per_step=None, obstacles=None, goal=None, encoding: str = "Z",
                 max_polls: int | None = 1000, reward=None, episode_steps=None,
                 start_inventory=None):
        self.full = scenario == "full_game"
        self._reward_fn = None
        if self.full:
            info = full_game_info(ticks_per_step, episode_steps, obstacles, goal, reward,
                                  start_inventory)
            if callable(reward):
                self._reward_fn = reward
            reward = None
        else:
            if episode_steps is not None or start_inventory is not None:
                raise InvalidArgumentError("episode_steps and start_inventory are full_game's "
                                           "parameters")
            info = scenario_info(scenario)
        if goal is None and info["goal"]:
            goal = info["goal"]
        self.scenario = scenario
        self.num_envs = int(num_envs)
        self.ticks_per_step = int(ticks_per_step or info["ticks_per_step"])
        self.episode_steps = info["episode_steps"]
        self.goal = int(goal or 0)
        self.map_size = info["map_size"]
        self.obs_bytes = info["obs_bytes"]
        self.action_dims = len(info["nvec"])
        self._nvec = np.array(info["nvec"], np.int64)
        self._send = send
        self._how = encoding
        self._seq = 0
        self._max_polls = max_polls
        if self.full:
            self.source = FullGameSource(self.num_envs, start_inventory)
        else:
            self.source = WorldSource(scenario, self.num_envs, obstacles=obstacles,
                                      goal=goal if scenario != "movement_micro" else None)
        self.encoder = RawEncoder(scenario, self.num_envs, episode_steps=self.episode_steps,
                                  goal=self.goal, reward=reward)
        self._targets = np.full((self.num_envs, 2), -1, np.int32)
        self._needs_reset = np.zeros(self.num_envs, np.bool_)
        self._started = False
        self.requests = 0
        self.poll_delay = 0.0
        self._tick_rate = 0.0  # ticks a second the server ran during the last pending poll
        # drive() sleeps poll_delay before a poll: a server runs its ticks between commands;
        # an in-process link runs them inside send(), so it need not wait (EmulatorLink)
        self.poll_sleeps = not isinstance(send, EmulatorLink)
        self._unparsed: list = []
        self.udp = False      # steps wait for the mod's UDP push (subscribe_gen)
        self.pushes = 0
        self._pos = np.zeros((self.num_envs, 2), np.int32)
        self._tick0 = np.zeros(self.num_envs, np.int64)
        self._tick = np.zeros(self.num_envs, np.int64)
        self._inv = np.zeros((self.num_envs, 16), np.uint16)

    # ---- the wire ----
    #
    # Every operation is a generator of request texts: ``reply = yield text`` is one round trip.
    # ``drive`` runs one with ``send``; ``factorio_fast.factorio_backend`` runs the generators of
    # many servers at once, sending each server its next request as soon as its reply is in, so
    # the client never waits on one server while another is ready (the send and collect phases
    # of a step are the two sides of each ``yield``).

    def drive(self, gen):
        """Run an operation's generator to its end with ``send``; returns its value.
        A poll waits ``poll_delay`` first (the step's ticks still to run, see _next_poll)."""
        if self._send is None:
            raise InvalidArgumentError("this ModBatch has no send(); drive its generators")
        try:
            text = next(gen)
            while True:
                reply = None if isinstance(text, Push) else self._send(text)
                text = gen.send(reply)  # a Push gets None: this driver polls over RCON
                if self.poll_delay > 0 and self.poll_sleeps:
                    time.sleep(self.poll_delay)
        except StopIteration as stop:
            return stop.value

    def request(self, ftype: int, payload: bytes):
        """Generator: one request frame as text, its reply checked -> (type, payload)."""
        self._seq += 1
        self.requests += 1
        seq = self._seq
        reply = yield _request_text(wire.frame(ftype, payload, seq), self._how)
        rtype, rseq, body = wire.unframe(_reply_bytes(reply))
        if rtype == wire.T_ERROR:
            raise FactorioServerError("the mod refused the request: "
                                      + body.decode("utf-8", "replace"))
        if rtype != wire.T_RAW or rseq != seq:
            raise ProtocolError(f"unexpected reply (type {rtype}, sequence {rseq} for {seq})")
        return rtype, body

    def _reset(self, ids, worlds, obs):
        recs = []
        for i, wd in zip(ids, worlds):
            self._targets[i] = wd["target"]
            if self.full:
                recs.append(wire.full_game_record(int(i), wd["seed"], wd["inventory"]))
                continue
            recs.append(wire.world_record(int(i), wd["tiles"], wd["resources"], wd["buildings"],
                                          wd["position"], wd["inventory"], wd["target"]))
        w, h = self.map_size
        payload = wire.world_payload(SCENARIO_IDS[self.scenario], self.num_envs,
                                     self.ticks_per_step, w, h, recs)
        _, body = yield from self.request(wire.T_WORLD, payload)
        got = self.encoder.begin(body, self._targets, obs)
        if sorted(got.tolist()) != sorted(int(i) for i in ids):
            raise ProtocolError("the WORLD reply holds other envs than were reset")
        self._note_states(body, started=True)

    def _states(self):
        polls = 0
        first = None
        self.poll_delay = 0.0
        try:
            while self._max_polls is None or polls < self._max_polls:
                polls += 1
                _, body = yield from self.request(wire.T_RAW, b"")
                status, _, _, _, tick, end = self.encoder.header(body)
                if status == STATUS_STATES:
                    return body
                if status != STATUS_PENDING:
                    raise ProtocolError(f"unexpected RAW status {status}")
                self.poll_delay = self._next_poll(first, tick, end)
                if first is None:
                    first = (time.perf_counter(), tick)
            raise FactorioServerError(f"the step did not finish within {self._max_polls} polls")
        finally:
            self.poll_delay = 0.0

    def _next_poll(self, first, tick: int, end: int) -> float:
        """How long to wait before polling again: the step's ticks still to run at the rate
        the server has been running them (the header's tick and end tick), so a server paced
        at 60 x game.speed is not polled hundreds of times a step; never more than 20 ms, and
        a first short wait while no step has shown the rate."""
        if first is None:
            if self._tick_rate:  # the rate the previous step showed
                return min(POLL_MAX_S, max(0.0, 0.8 * (end - tick) / self._tick_rate))
            return POLL_FIRST_S
        t0, tick0 = first
        dt = time.perf_counter() - t0
        if tick <= tick0 or dt <= 0:
            return min(POLL_MAX_S, max(POLL_FIRST_S, 2 * self.poll_delay))
        self._tick_rate = rate = (tick - tick0) / dt
        return min(POLL_MAX_S, max(0.0, 0.8 * (end - tick) / rate))

    def _note_states(self, body, started: bool = False):
        """Keep each env's position, tick and inventory from a RAW payload (the infos).
        A step's states (every env) are kept as they are and parsed when asked for; a reset's
        are parsed at once (they start the envs' tick counts)."""
        if not started and self.encoder.header(body)[2] == self.num_envs:
            self._unparsed = [body]
            return
        self._parse_pending()
        self._parse_states(body, started)

    def _parse_pending(self):
        pending, self._unparsed = self._unparsed, []
        for b in pending:
            self._parse_states(b, False)

    def _parse_states(self, body, started: bool):
        hdr = self.encoder.header(body)
        count, rb = hdr[2], hdr[3]
        if count == 0:
            return
        recs = np.frombuffer(body, np.uint8, count * rb, 16).reshape(count, rb)
        env = recs[:, 0:2].copy().view(np.uint16)[:, 0].astype(np.int64)
        if env.size and int(env.max()) >= self.num_envs:
            raise ProtocolError(f"a RAW record names env {int(env.max())} of {self.num_envs}")
        self._pos[env] = recs[:, 4:12].copy().view(np.int32)
        tick = recs[:, 12:16].copy().view(np.uint32)[:, 0]
        if started:
            self._tick0[env] = tick
        self._tick[env] = tick
        self._inv[env] = recs[:, 16:48].copy().view(np.uint16)

    # ---- BatchSim's API ----

    def reset(self, seeds, env_ids=None, *, obs):
        return self.drive(self.reset_gen(seeds, env_ids, obs=obs))

    def reset_gen(self, seeds, env_ids=None, *, obs):
        """reset() as a generator of request texts (send phase, then collect phase), so one
        client can reset many servers at once."""
        seeds = np.asarray(seeds, np.uint64).reshape(-1)
        ids = np.arange(self.num_envs) if env_ids is None else \
            np.asarray(env_ids, np.int64).reshape(-1)
        if seeds.shape != ids.shape or (ids.size and (ids.min() < 0 or ids.max() >= self.num_envs)):
            raise InvalidArgumentError(f"need one seed per env id (ids in 0..{self.num_envs - 1})")
        if not self._started and ids.size != self.num_envs:
            # the first WORLD request configures the server for every env
            raise InvalidArgumentError("the first reset must reset every env")
        if ids.size == 0:
            return
        worlds = [self.source.first(int(i), int(s)) for i, s in zip(ids, seeds)]
        yield from self._reset(ids.tolist(), worlds, obs)
        self._needs_reset[ids] = False
        self._started = True

    def step(self, actions, *, obs, rewards, terminated, truncated, autoreset="next_step",
             final_obs=None, final_mask=None):
        return self.drive(self.step_gen(actions, obs=obs, rewards=rewards, terminated=terminated,
                                        truncated=truncated, autoreset=autoreset,
                                        final_obs=final_obs, final_mask=final_mask))

    def step_gen(self, actions, *, obs, rewards, terminated, truncated, autoreset="next_step",
                 final_obs=None, final_mask=None):
        """step() as a generator of request texts, as reset_gen."""
        if not self._started:
            from factorio_fast.errors import ResetNeededError
            raise ResetNeededError("reset() first")
        if autoreset not in ("next_step", "same_step"):
            raise InvalidArgumentError("autoreset must be 'next_step' or 'same_step'")
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise InvalidArgumentError("actions must be integers")
        a = a.astype(np.int64).reshape(self.num_envs, self.action_dims)
        bad = (a < 0) | (a >= self._nvec)
        if bad.any():  # every env's action is checked, as BatchSim does, before anything moves
            env, dim = (int(v[0]) for v in np.nonzero(bad))
            raise InvalidArgumentError(f"{self.scenario}: action of env {env} is "
                                       f"{int(a[env, dim])}; valid range "
                                       f"0..{int(self._nvec[dim]) - 1}")
        resets = self._needs_reset.copy() if autoreset == "next_step" else \
            np.zeros(self.num_envs, np.bool_)
        records = self.encoder.actions(a, stand=resets, command_id=self._seq + 1)
        if resets.any():
            ids = np.flatnonzero(resets)
            yield from self._reset(ids, [self.source.next(int(i)) for i in ids], obs)
            rewards[ids] = 0.0
            terminated[ids] = False
            truncated[ids] = False
        _, body = yield from self.request(wire.T_ACTIONS, records)
        if self.encoder.header(body)[0] != STATUS_ACCEPTED:
            raise ProtocolError("the mod did not accept the step")
        body = None
        if self.udp:
            seq = self._seq
            pushed = yield Push(seq)
            if pushed is not None:
                rtype, rseq, pbody = wire.unframe(_reply_bytes(pushed))
                if rtype == wire.T_ERROR:
                    raise FactorioServerError("the mod refused the request: "
                                              + pbody.decode("utf-8", "replace"))
                if rtype != wire.T_RAW or rseq != seq or \
                        self.encoder.header(pbody)[0] != STATUS_STATES:
                    raise ProtocolError(f"unexpected pushed reply (type {rtype}, sequence "
                                        f"{rseq} for {seq})")
                body = pbody
                self.pushes += 1
        if body is None:
            body = yield from self._states()
        mask = ~resets
        term = terminated.view(np.uint8)
        trunc = truncated.view(np.uint8)
        prev = obs.copy() if self._reward_fn is not None else None
        self.encoder.step(body, a, mask, obs, rewards, term, trunc)
        if prev is not None:  # full_game's reward=callable(prev_obs, obs)
            for i in np.flatnonzero(mask):
                rewards[i] = float(self._reward_fn(prev[i], obs[i]))
        self._note_states(body)
        done = (terminated | truncated) & mask
        if autoreset == "next_step":
            self._needs_reset = done
        else:
            final_mask[:] = done
            if done.any():
                ids = np.flatnonzero(done)
                final_obs[ids] = obs[ids]
                yield from self._reset(ids, [self.source.next(int(i)) for i in ids], obs)

    def subscribe_gen(self, client_port: int, server_port: int, max_bytes: int = 0):
        """Ask the mod to push each step's states by UDP to 127.0.0.1:``client_port``
        (``server_port``: the server's ``--enable-lua-udp`` port; 0, 0 stops it)."""
        payload = struct.pack("<HHHH", client_port, server_port, max_bytes, 0)
        _, body = yield from self.request(T_UDP, payload)
        if self.encoder.header(body)[0] != STATUS_ACCEPTED:
            raise ProtocolError("the mod did not accept the UDP subscription")
        self.udp = bool(client_port)

    def positions(self):
        """Each env's character position in 1/256 tile, from the last state the mod sent."""
        self._parse_pending()
        return self._pos.copy()

    def ticks(self):
        """Game ticks since each env's episode began, from the mod's states."""
        self._parse_pending()
        return (self._tick - self._tick0).astype(np.uint64)

    def inventories(self):
        """Each env's inventory (count by item id) from the mod's last states."""
        self._parse_pending()
        return self._inv.copy()

    def close(self):
        self.source.close()
