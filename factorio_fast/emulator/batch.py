"""A batch of envs played by the mod (on a real server or the emulator), with BatchSim's API.

``ModBatch`` is the client side of the mod's wire (docs/mod.md): worlds come from the native
simulator (``WorldSource``), go to the mod in WORLD requests, the actions in ACTIONS requests, and
the mod's raw states become observations, rewards and flags in C (``factorio_fast._rawobs``), the
same bytes ``BatchSim`` gives for the same worlds and actions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from factorio_fast._rawobs import STATUS_ACCEPTED, STATUS_PENDING, STATUS_STATES, RawEncoder
from factorio_fast._sim import BatchSim, scenario_info
from factorio_fast.emulator import wire
from factorio_fast.errors import FactorioServerError, InvalidArgumentError, ProtocolError

__all__ = ["WorldSource", "ModBatch", "EmulatorLink"]

SCENARIO_IDS = {"movement_micro": 0, "mining_micro": 1, "building_micro": 2}


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


class EmulatorLink:
    """Sends one command to an in-process emulator and lets its game loop run afterwards, as a
    real server runs its ticks between commands."""

    def __init__(self, emulator):
        self.emulator = emulator

    def __call__(self, text: str) -> str:
        out = self.emulator.command("/ff " + text)
        self.emulator.run()
        return out


class ModBatch:
    """``num_envs`` envs of one scenario on one server running the mod.

    Parameters
    ----------
    scenario : str
        A scenario name.
    num_envs : int
        Envs on the server (each on its own surface, stepped in lockstep).
    send : callable
        One request's text -> the reply's text (an RCON command ``/ff <text>``).
    ticks_per_step, obstacles, goal
        As ``BatchSim``.
    encoding : {"Z", "B"}
        How frames travel: deflate + base64 (``helpers.encode_string``) or plain base64.
    """

    def __init__(self, scenario: str, num_envs: int, send: Callable[[str], str], *,
                 ticks_per_step=None, obstacles=None, goal=None, encoding: str = "Z",
                 max_polls: int = 1000):
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
        self.source = WorldSource(scenario, self.num_envs, obstacles=obstacles,
                                  goal=goal if scenario != "movement_micro" else None)
        self.encoder = RawEncoder(scenario, self.num_envs, episode_steps=self.episode_steps,
                                  goal=self.goal)
        self._targets = np.full((self.num_envs, 2), -1, np.int32)
        self._needs_reset = np.zeros(self.num_envs, np.bool_)
        self._started = False
        self.requests = 0

    # ---- the wire ----

    def request(self, ftype: int, payload: bytes) -> tuple[int, bytes]:
        self._seq += 1
        self.requests += 1
        reply = self._send(wire.to_text(wire.frame(ftype, payload, self._seq), self._how))
        rtype, seq, body = wire.unframe(wire.from_text(reply))
        if rtype == wire.T_ERROR:
            raise FactorioServerError("the mod refused the request: "
                                      + body.decode("utf-8", "replace"))
        if rtype != wire.T_RAW or seq != self._seq:
            raise ProtocolError(f"unexpected reply (type {rtype}, sequence {seq} for "
                                f"{self._seq})")
        return rtype, body

    def _reset(self, ids, worlds, obs):
        recs = []
        for i, wd in zip(ids, worlds):
            self._targets[i] = wd["target"]
            recs.append(wire.world_record(int(i), wd["tiles"], wd["resources"], wd["buildings"],
                                          wd["position"], wd["inventory"], wd["target"]))
        w, h = self.map_size
        payload = wire.world_payload(SCENARIO_IDS[self.scenario], self.num_envs,
                                     self.ticks_per_step, w, h, recs)
        _, body = self.request(wire.T_WORLD, payload)
        got = self.encoder.begin(body, self._targets, obs)
        if sorted(got.tolist()) != sorted(int(i) for i in ids):
            raise ProtocolError("the WORLD reply holds other envs than were reset")

    def _states(self):
        for _ in range(self._max_polls):
            _, body = self.request(wire.T_RAW, b"")
            status = self.encoder.header(body)[0]
            if status == STATUS_STATES:
                return body
            if status != STATUS_PENDING:
                raise ProtocolError(f"unexpected RAW status {status}")
        raise FactorioServerError(f"the step did not finish within {self._max_polls} polls")

    # ---- BatchSim's API ----

    def reset(self, seeds, *, obs):
        seeds = np.asarray(seeds, np.uint64)
        if seeds.shape != (self.num_envs,):
            raise InvalidArgumentError(f"need {self.num_envs} seeds")
        worlds = [self.source.first(i, int(s)) for i, s in enumerate(seeds)]
        self._reset(range(self.num_envs), worlds, obs)
        self._needs_reset[:] = False
        self._started = True

    def step(self, actions, *, obs, rewards, terminated, truncated, autoreset="next_step",
             final_obs=None, final_mask=None):
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
            self._reset(ids, [self.source.next(int(i)) for i in ids], obs)
            rewards[ids] = 0.0
            terminated[ids] = False
            truncated[ids] = False
        _, body = self.request(wire.T_ACTIONS, records)
        if self.encoder.header(body)[0] != STATUS_ACCEPTED:
            raise ProtocolError("the mod did not accept the step")
        body = self._states()
        mask = ~resets
        term = terminated.view(np.uint8)
        trunc = truncated.view(np.uint8)
        self.encoder.step(body, a, mask, obs, rewards, term, trunc)
        done = (terminated | truncated) & mask
        if autoreset == "next_step":
            self._needs_reset = done
        else:
            final_mask[:] = done
            if done.any():
                ids = np.flatnonzero(done)
                final_obs[ids] = obs[ids]
                self._reset(ids, [self.source.next(int(i)) for i in ids], obs)

    def close(self):
        self.source.close()
