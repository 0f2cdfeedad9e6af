"""A numpy-vectorised movement_micro over N envs: the "pure numpy" peer baseline (docs/design.md §10).

Same movement rule as the C core (docs/factorio-facts.md §4.2): positions in 1/256 tile, 38/256 per tick
straight and 27/256 per axis diagonally on grass, the tile under the character's centre point
blocks (water, out of map), and a blocked move falls back as in ``ff_walk_tick``: diagonal ->
x alone -> y alone; then the halved vector (same fallbacks); then, for orthogonal moves only,
a short movement of 8, 7, ... 1 units; else the character stays.

Differences from the C scenario, on purpose (this is a throughput peer, not an oracle): its
obstacles are single water tiles that block as a whole by the centre point, the rule before
Factorio 0.18. The C core follows tile-transition collision (Friday Facts #344: a lone water
tile is walkable, ponds block as whole tiles and corner triangles, with the tile slide, see
csrc/ff_world.h) and its scenario places 3x3 ponds and wooden chests (whose +-0.35 box and
corner slide are not vectorised here either); its worlds come from numpy's RNG, not the per-env
splitmix64 stream. So this baseline APPROXIMATES the obstacles (same work per tick: a tile
lookup per candidate move); on open grass against the map edge its movement is the C rule
exactly, which ``tests/test_numpy_baseline.py`` checks against ``factorio_fast._sim.World``.

Per step it does what the C scenario does: ``ticks_per_step`` ticks for all envs, the 64-byte
observation (16x16 blocked bitmap around the character, position, offset to the target, last
action, step), the reward (L1 progress to the target / 2560, +1 on arrival), terminated /
truncated (100 steps) and next-step autoreset of finished envs.
"""

from __future__ import annotations

import numpy as np

SIDE = 32
STRAIGHT, DIAGONAL = 38, 27
DIR_DX = np.array([0, 1, 1, 1, 0, -1, -1, -1], np.int32)
DIR_DY = np.array([-1, -1, 0, 1, 1, 1, 0, -1], np.int32)


def _candidates() -> np.ndarray:
    """int32 (9, 11, 2): for action code 0..8 (0 = stand, 1..8 = N..NW) the moves ff_walk_tick
    tries, in order, padded with (0, 0) (= stay, which never collides: the character stands on
    a walkable tile)."""
    out = np.zeros((9, 11, 2), np.int32)
    for code in range(1, 9):
        d = code - 1
        s = DIAGONAL if d & 1 else STRAIGHT
        vx, vy = int(DIR_DX[d]) * s, int(DIR_DY[d]) * s
        seq = []
        while True:
            seq.append((vx, vy))
            if vx and vy:
                seq += [(vx, 0), (0, vy)]
            if vx * vx + vy * vy > 655:
                vx, vy = int(vx / 2), int(vy / 2)   # C division truncates toward zero
                continue
            break
        if not (vx and vy):
            sx, sy = (vx > 0) - (vx < 0), (vy > 0) - (vy < 0)
            seq += [(sx * k, sy * k) for k in range(8, 0, -1)]
        out[code, :len(seq)] = seq
    return out


CANDIDATES = _candidates()


class NumpyMovement:
    """N movement_micro envs stepped together with numpy."""

    def __init__(self, num_envs: int, *, ticks_per_step: int = 8, obstacles: int = 24,
                 episode_steps: int = 100, seed: int = 0):
        self.n = num_envs
        self.ticks = ticks_per_step
        self.obstacles = obstacles
        self.episode_steps = episode_steps
        self.rng = np.random.default_rng(seed)
        n = num_envs
        self.blocked = np.zeros((n, SIDE, SIDE), bool)     # water tiles
        self.pos = np.zeros((n, 2), np.int32)
        self.target = np.zeros((n, 2), np.int32)
        self.step_count = np.zeros(n, np.int32)
        self.prev_dist = np.zeros(n, np.int32)
        self.last_action = np.zeros(n, np.uint8)
        self.needs_reset = np.zeros(n, bool)
        self.obs = np.zeros((n, 64), np.uint8)
        self._ar = np.arange(n)
        self.generate(self._ar)

    # -- worlds -----------------------------------------------------------------------------

    def generate(self, ids: np.ndarray) -> None:
        """New random worlds for envs ``ids``: water obstacles, start and target on free tiles."""
        k = len(ids)
        if not k:
            return
        b = np.zeros((k, SIDE * SIDE), bool)
        cells = self.rng.integers(0, SIDE * SIDE, (k, self.obstacles))
        b[np.arange(k)[:, None], cells] = True
        free = ~b
        # start: a random free tile; target: a random free tile (>= 8 tiles away when possible)
        score = self.rng.random((k, SIDE * SIDE)) + free
        start = score.argmax(1)
        sx, sy = start % SIDE, start // SIDE
        xs, ys = np.arange(SIDE * SIDE) % SIDE, np.arange(SIDE * SIDE) // SIDE
        far = (np.abs(xs[None] - sx[:, None]) + np.abs(ys[None] - sy[:, None])) >= 8
        score = self.rng.random((k, SIDE * SIDE)) + free + far
        goal = score.argmax(1)
        self.blocked[ids] = b.reshape(k, SIDE, SIDE)
        self.pos[ids, 0] = sx * 256 + 128
        self.pos[ids, 1] = sy * 256 + 128
        self.target[ids, 0] = goal % SIDE
        self.target[ids, 1] = goal // SIDE
        self.step_count[ids] = 0
        self.last_action[ids] = 0
        self.needs_reset[ids] = False
        self.prev_dist[ids] = self._dist()[ids]

    def _dist(self) -> np.ndarray:
        c = self.target * 256 + 128
        return np.abs(c[:, 0] - self.pos[:, 0]) + np.abs(c[:, 1] - self.pos[:, 1])

    # -- mechanics --------------------------------------------------------------------------

    def _collides(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Centre-point rule: out of the map or on water. x, y: (n, c) in 1/256 tile."""
        tx, ty = x >> 8, y >> 8
        inside = (tx >= 0) & (tx < SIDE) & (ty >= 0) & (ty < SIDE)
        flat = np.where(inside, ty * SIDE + tx, 0)
        water = np.take_along_axis(self.blocked.reshape(self.n, -1), flat, 1)
        return ~inside | water

    def tick(self, codes: np.ndarray) -> None:
        """One tick for every env walking with action ``codes`` (0 = stand)."""
        cand = CANDIDATES[codes]                            # (n, 11, 2)
        nx = self.pos[:, 0:1] + cand[:, :, 0]
        ny = self.pos[:, 1:2] + cand[:, :, 1]
        ok = ~self._collides(nx, ny)
        ok[:, -1] = True                                    # (0, 0): stay
        first = ok.argmax(1)
        self.pos[:, 0] = nx[self._ar, first]
        self.pos[:, 1] = ny[self._ar, first]

    def observe(self) -> np.ndarray:
        """The 64-byte observations (layout of the C scenario, docs/scenarios.md)."""
        n = self.n
        pad = np.ones((n, SIDE + 16, SIDE + 16), bool)      # blocked outside the map
        pad[:, 8:8 + SIDE, 8:8 + SIDE] = self.blocked
        tx, ty = self.pos[:, 0] >> 8, self.pos[:, 1] >> 8
        r = ty[:, None] + np.arange(16)[None]               # padded rows ty-8+r+8
        c = tx[:, None] + np.arange(16)[None]
        win = pad[self._ar[:, None, None], r[:, :, None], c[:, None, :]]   # (n, 16, 16)
        bits = np.packbits(win, axis=2, bitorder="little")  # (n, 16, 2): bit c = column c
        o = self.obs
        o[:, 0:32] = bits.reshape(n, 32)
        w = o[:, 32:44].view(np.uint16)
        w[:, 0] = np.clip(self.pos[:, 0], 0, 65535)
        w[:, 1] = np.clip(self.pos[:, 1], 0, 65535)
        w[:, 2] = (self.target[:, 0] * 256 + 128 - self.pos[:, 0]).astype(np.uint16)
        w[:, 3] = (self.target[:, 1] * 256 + 128 - self.pos[:, 1]).astype(np.uint16)
        w[:, 4] = self.last_action
        w[:, 5] = self.step_count
        return o

    def step(self, actions: np.ndarray):
        """Step all envs (next-step autoreset). Returns obs, rewards, terminated, truncated."""
        done = np.flatnonzero(self.needs_reset)
        codes = np.asarray(actions, np.int64).astype(np.int32)
        codes[done] = 0
        self.last_action[:] = codes
        self.step_count += 1
        for _ in range(self.ticks):
            self.tick(codes)
        d = self._dist()
        rew = (self.prev_dist - d).astype(np.float32) / np.float32(2560.0)
        self.prev_dist = d
        term = ((self.pos[:, 0] >> 8) == self.target[:, 0]) & ((self.pos[:, 1] >> 8) == self.target[:, 1])
        rew[term] += np.float32(1.0)
        trunc = ~term & (self.step_count >= self.episode_steps)
        self.generate(done)                                 # envs done on the previous call
        rew[done] = 0.0
        term[done] = False
        trunc[done] = False
        self.needs_reset = term | trunc
        return self.observe(), rew, term, trunc
