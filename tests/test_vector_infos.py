"""Vector env infos and resets: the state infos read in one compiled pass (factorio_fast._infos)
equal the steppers' own readers and the worker path; ``reset(seed=None)`` continues each env as
a single env does, so the batch equals SyncVectorEnv over ``make()`` envs across resets and
autoresets."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import factorio_fast
from factorio_fast import _infos
from factorio_fast._sim import BatchSim
from factorio_fast.errors import ClosedError, InvalidArgumentError

STATE = ("position", "tick", "inventory")
MODES = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP,
         "disabled": AutoresetMode.DISABLED}


def actions(space, n, step):
    rng = np.random.default_rng(1000 + step)
    nvec = np.atleast_1d(getattr(space, "nvec", getattr(space, "n", 2)))
    return rng.integers(0, nvec, size=(n,) + (space.shape or ())).astype(np.int64)


@pytest.mark.parametrize("name", ["movement_micro", "mining_micro", "building_micro"])
def test_infos_state_equals_the_stepper_readers(name):
    sim = BatchSim(name, 7)
    obs = np.zeros((7,) + sim.obs_shape, np.uint8)
    sim.reset(np.arange(7, dtype=np.uint64) + 11, obs=obs)
    z = np.zeros(7, np.bool_)
    for t in range(5):
        sim.step(actions(sim.single_action_space, 7, t), obs=obs, rewards=np.zeros(7, np.float32),
                 terminated=z.copy(), truncated=z.copy())
    k = sim.inventories().shape[1]
    pos, ticks, inv = np.full((7, 2), -1.0), np.zeros(7, np.uint64), np.zeros((7, k), np.uint16)
    assert _infos.supported(sim)
    assert _infos.state(sim, pos, ticks, inv) is True
    np.testing.assert_array_equal(pos, sim.positions() / 256.0)
    np.testing.assert_array_equal(ticks, sim.ticks())
    assert ticks.min() > 0
    np.testing.assert_array_equal(inv, sim.inventories())
    part = np.zeros((7, 3), np.uint16)  # the first item ids only; None skips an output
    assert _infos.state(sim, None, None, part)
    np.testing.assert_array_equal(part, sim.inventories()[:, :3])
    with pytest.raises(InvalidArgumentError, match="shape"):
        _infos.state(sim, np.zeros((6, 2)))
    with pytest.raises(ValueError):  # a read-only or wrongly typed buffer is refused by Cython
        _infos.state(sim, np.zeros((7, 2), np.float32))
    assert _infos.streams(sim).shape == (7,)
    sim.close()
    assert not _infos.supported(sim)
    with pytest.raises(ClosedError):
        _infos.state(sim, pos)
    # another stepper type: refused, so the caller uses its public readers
    assert not _infos.supported(object()) and _infos.state(object(), pos) is False
    assert _infos.streams(object()) is None


@pytest.mark.parametrize("name", ["movement_micro", "mining_micro"])
def test_infos_streams_start_the_episode_an_autoreset_starts(name):
    """Resetting an env with its stream state as the seed gives the observation its next_step
    autoreset gives (the stream is only read while an episode is generated)."""
    n, kw = 6, dict(ticks_per_step=600)
    a_sim, b_sim = BatchSim(name, n, **kw), BatchSim(name, n, **kw)
    oa, ob = np.zeros((n,) + a_sim.obs_shape, np.uint8), np.zeros((n,) + a_sim.obs_shape, np.uint8)
    seeds = np.arange(n, dtype=np.uint64) * 7 + 1
    a_sim.reset(seeds, obs=oa)
    b_sim.reset(seeds, obs=ob)
    r, te, tr = np.zeros(n, np.float32), np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    ended = np.zeros(n, np.bool_)
    for t in range(400):
        act = actions(a_sim.single_action_space, n, t)
        a_sim.step(act, obs=oa, rewards=r, terminated=te, truncated=tr)
        b_sim.step(act, obs=ob, rewards=r, terminated=te, truncated=tr)
        if (te | tr).any():
            ended = te | tr
            break
    assert ended.any()
    ids = np.flatnonzero(ended)
    b_sim.reset(_infos.streams(b_sim)[ids], ids, obs=ob)
    a_sim.step(np.zeros_like(act), obs=oa, rewards=r, terminated=te, truncated=tr)  # autoreset
    np.testing.assert_array_equal(oa[ids], ob[ids])
    assert not np.array_equal(oa[ids], np.zeros_like(oa[ids]))


def _check_state_infos(got, ref):
    for k in STATE:
        np.testing.assert_array_equal(got[k], ref[k])
        assert got[k].dtype == ref[k].dtype
        np.testing.assert_array_equal(got["_" + k], ref["_" + k])


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("copy", [True, False])
def test_fused_state_infos_equal_the_worker_path(mode, copy):
    """In-process envs read their infos in one pass; workers copy them after each step with
    the steppers' readers. Both give the same arrays, dtypes and masks at every step."""
    kw = dict(autoreset_mode=mode, ticks_per_step=60, infos=STATE, copy=copy)
    ours = factorio_fast.make_vec("mining_micro", 4, **kw)
    ref = factorio_fast.make_vec("mining_micro", 4, num_workers=2, **kw)
    try:
        assert ours._fused_state and not ref._fused_state
        _check_state_infos(ours.reset(seed=9)[1], ref.reset(seed=9)[1])
        kept = None
        for t in range(40):
            a = actions(ours.single_action_space, 4, t)
            i1, i2 = ours.step(a)[4], ref.step(a)[4]
            _check_state_infos(i1, i2)
            if copy and t == 3:
                kept = {k: i1[k].copy() for k in STATE}, i1
        if copy:  # the arrays returned stay valid across later steps
            assert all(np.array_equal(kept[0][k], kept[1][k]) for k in STATE)
        # a reset of some envs reports every env's state
        mask = np.array([True, False, True, False])
        _check_state_infos(ours.reset(seed=3, options={"reset_mask": mask})[1],
                           ref.reset(seed=3, options={"reset_mask": mask})[1])
    finally:
        ours.close()
        ref.close()


def test_fused_state_infos_of_async_groups():
    env = factorio_fast.make_vec("building_micro", 6, batch_size=2, infos=STATE)
    try:
        env.async_reset(seed=1)
        for t in range(12):
            obs, _, _, _, info = env.recv()
            ids = info["env_id"]
            g = int(env._group_of[ids[0]])
            sim = env._sims[g]
            np.testing.assert_array_equal(info["position"], sim.positions() / 256.0)
            np.testing.assert_array_equal(info["tick"], sim.ticks())
            np.testing.assert_array_equal(info["inventory"], sim.inventories())
            env.send(actions(env.single_action_space, 6, t)[ids], ids)
    finally:
        env.close()


def _run_pair(name, mode, num_workers, script):
    """Run ``script`` (a list of ("reset", seed) / ("step", count) / ("mask", None)) on the
    native batch and on SyncVectorEnv over single envs; every result must be equal."""
    n = 4
    kw = dict(ticks_per_step=60)
    ours = factorio_fast.make_vec(name, n, autoreset_mode=mode, num_workers=num_workers, **kw)
    theirs = gym.vector.SyncVectorEnv([lambda: factorio_fast.make(name, **kw) for _ in range(n)],
                                      autoreset_mode=MODES[mode])
    t = ends = 0
    last_done = np.zeros(n, np.bool_)
    try:
        for op, arg in script:
            if op == "reset":
                o1, _ = ours.reset(seed=arg)
                o2, _ = theirs.reset(seed=arg)
                np.testing.assert_array_equal(o1, o2)
            elif op == "mask":  # disabled mode: restart the envs that ended
                if not last_done.any():
                    continue
                o1, _ = ours.reset(options={"reset_mask": last_done.copy()})
                o2, _ = theirs.reset(options={"reset_mask": last_done.copy()})
                np.testing.assert_array_equal(o1[last_done], o2[last_done])
                last_done[:] = False
            else:
                for _ in range(arg):
                    if mode == "disabled" and last_done.any():
                        break
                    a = actions(ours.single_action_space, n, t)
                    t += 1
                    r1, r2 = ours.step(a), theirs.step(a)
                    for x, y in zip(r1[:4], r2[:4]):
                        np.testing.assert_array_equal(x, y)
                    last_done = r1[2] | r1[3]
                    ends += int(last_done.sum())
        return ends
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("mode,num_workers", [("next_step", 0), ("next_step", 2), ("same_step", 0),
                                              ("same_step", 2)])
def test_reset_without_seed_equals_sync_vector_env(mode, num_workers):
    """Seeded once, then reset(seed=None) right after episodes ended (their streams go on),
    in the middle of episodes (the seed generators draw) and across autoresets."""
    script = [("reset", 5), ("step", 30), ("reset", None), ("step", 60), ("reset", None),
              ("step", 150), ("reset", None), ("step", 20), ("reset", 8), ("step", 10),
              ("reset", None), ("step", 30)]
    # next_step: reset right after an episode ended, so the reset continues those streams
    if mode == "next_step":
        script[1:1] = [("step", 200)]
    ends = _run_pair("movement_micro", mode, num_workers, script)
    assert ends >= 4


@pytest.mark.parametrize("num_workers", [0, 4])
def test_reset_right_after_episodes_end_continues_their_streams(num_workers):
    """next_step mode: a full reset(seed=None) in the step after some envs ended (in-process
    from the streams, with workers by the autoreset step of their shards)."""
    assert _run_until_ends("next_step", num_workers) >= 3


@pytest.mark.parametrize("num_workers", [0, 4])
def test_disabled_mode_masked_resets_continue_streams(num_workers):
    """disabled mode: reset(options={"reset_mask": ended}) starts the ended envs' next
    episodes from their streams (with workers: shards of one env, each stepped alone)."""
    script = [("reset", 21)] + [("step", 300), ("mask", None)] * 4
    assert _run_pair("movement_micro", "disabled", num_workers, script) >= 4


def _run_until_ends(mode, num_workers):
    """Reset(seed=None) in the very step after episodes end, three times."""
    n = 4
    kw = dict(ticks_per_step=60)
    ours = factorio_fast.make_vec("movement_micro", n, autoreset_mode=mode, num_workers=num_workers, **kw)
    theirs = gym.vector.SyncVectorEnv([lambda: factorio_fast.make("movement_micro", **kw)
                                       for _ in range(n)], autoreset_mode=MODES[mode])
    ends = t = 0
    try:
        np.testing.assert_array_equal(ours.reset(seed=21)[0], theirs.reset(seed=21)[0])
        for _ in range(3):
            for _ in range(300):
                a = actions(ours.single_action_space, n, t)
                t += 1
                r1, r2 = ours.step(a), theirs.step(a)
                for x, y in zip(r1[:4], r2[:4]):
                    np.testing.assert_array_equal(x, y)
                if (r1[2] | r1[3]).any():
                    ends += int((r1[2] | r1[3]).sum())
                    break
            np.testing.assert_array_equal(ours.reset()[0], theirs.reset()[0])
        return ends
    finally:
        ours.close()
        theirs.close()


def test_reset_seed_lists_may_hold_none():
    env = factorio_fast.make_vec("mining_micro", 3)
    ref = [factorio_fast.make("mining_micro") for _ in range(3)]
    try:
        o, _ = env.reset(seed=[4, 5, 6])
        for i, e in enumerate(ref):
            np.testing.assert_array_equal(o[i], e.reset(seed=4 + i)[0])
        o, _ = env.reset(seed=[None, 9, None])  # 0 and 2 draw from their generators
        np.testing.assert_array_equal(o[0], ref[0].reset()[0])
        np.testing.assert_array_equal(o[1], ref[1].reset(seed=9)[0])
        np.testing.assert_array_equal(o[2], ref[2].reset()[0])
        with pytest.raises(InvalidArgumentError, match="non-negative"):
            env.reset(seed=[1, -2, None])
        with pytest.raises(InvalidArgumentError, match="non-negative"):
            env.reset(seed=[1, 2])
    finally:
        env.close()
        for e in ref:
            e.close()


def _episode_reference(rewards, done, ret, length, t0, done_before, now, next_step):
    """The statistics in numpy (what FactorioVectorEnv computed before the compiled pass)."""
    if next_step:
        ret[done_before], length[done_before], t0[done_before] = 0.0, -1, now
    ret += rewards
    length += 1
    out = None
    if done.any():
        out = (np.where(done, ret, 0.0), np.where(done, length, 0),
               np.where(done, np.round(now - t0, 6), 0.0), done.copy())
    if not next_step:
        ret[done], length[done], t0[done] = 0.0, 0, now
    done_before[:] = done
    return out


@pytest.mark.parametrize("next_step", [True, False])
def test_infos_episode_equals_the_numpy_statistics(next_step):
    n, rng = 33, np.random.default_rng(5)
    state = [np.zeros(n), np.zeros(n, np.int64), np.zeros(n), np.zeros(n, np.bool_)]
    ref = [a.copy() for a in state]
    now = 1000.0
    ended = 0
    for _ in range(60):
        now += float(rng.uniform(0.0, 0.01))
        rewards = rng.normal(size=n).astype(np.float32)
        term, trunc = rng.random(n) < 0.05, rng.random(n) < 0.03
        got = _infos.episode(rewards, term, trunc, state[0], state[1], state[2],
                             state[3].view(np.uint8), now, next_step)
        want = _episode_reference(rewards, term | trunc, *ref, now, next_step)
        assert (got is None) == (want is None)
        if got is not None:
            ended += int(got[3].sum())
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)
                assert g.dtype == w.dtype
        for g, w in zip(state, ref):
            np.testing.assert_array_equal(g, w)
    assert ended > 20
    with pytest.raises(InvalidArgumentError, match="entries"):
        _infos.episode(rewards[:3], term, trunc, *state[:3], state[3].view(np.uint8), now, True)
