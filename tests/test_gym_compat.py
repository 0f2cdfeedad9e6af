"""What Gymnasium-based tools read from our envs: the autoreset_mode attribute and the disabled
mode, specs with a time limit, and the same episodes through SyncVectorEnv as natively."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import factorio_fast
from factorio_fast.errors import ResetNeededError

SCEN = ["movement_micro", "mining_micro", "building_micro"]


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_gym_compat_autoreset_mode_attribute(mode):
    env = factorio_fast.make_vec("movement_micro", 2, autoreset_mode=mode)
    assert env.autoreset_mode == AutoresetMode(env.metadata["autoreset_mode"])
    assert env.autoreset_mode.name.lower() == mode
    env.close()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_gym_compat_disabled_mode_needs_a_masked_reset(num_workers):
    env = factorio_fast.make_vec("movement_micro", 4, autoreset_mode="disabled",
                                 num_workers=num_workers, ticks_per_step=60)
    ref = factorio_fast.make_vec("movement_micro", 4, autoreset_mode="next_step", ticks_per_step=60)
    try:
        env.reset(seed=3)
        ref.reset(seed=3)
        a = np.zeros(4, np.int64)
        for _ in range(100):  # standing still: every env truncates at step 100
            obs, r, term, trunc, _ = env.step(a)
            ref.step(a)
        assert (term | trunc).all()
        with pytest.raises(ResetNeededError, match="reset_mask"):
            env.step(a)
        mask = np.array([True, False, True, False])
        obs, _ = env.reset(seed=3, options={"reset_mask": mask})
        with pytest.raises(ResetNeededError, match=r"\[1, 3\]"):
            env.step(a)
        obs, _ = env.reset(seed=3, options={"reset_mask": ~mask})
        ref_obs, _ = ref.reset(seed=3)
        np.testing.assert_array_equal(obs, ref_obs)  # a masked reset starts the same episodes
        np.testing.assert_array_equal(env.step(a)[0], ref.step(a)[0])
    finally:
        env.close()
        ref.close()


@pytest.mark.parametrize("name", SCEN)
def test_gym_compat_specs_carry_the_time_limit(name):
    steps = factorio_fast.SCENARIOS[name].episode_steps
    env = factorio_fast.make(name, ticks_per_step=4)
    assert env.spec is not None and env.spec.id == f"factorio_fast/{name}-v0"
    assert env.spec.max_episode_steps == steps and env.spec.kwargs["ticks_per_step"] == 4
    env.close()
    g = gym.make(f"factorio_fast/{name}-v0")
    assert g.spec.max_episode_steps == steps
    g.reset(seed=0)
    stand = np.zeros(g.action_space.shape, np.int64)
    for i in range(steps):  # the env's own truncation and the TimeLimit agree on the step
        *_, term, trunc, _ = g.step(stand)
        if term:
            break
        assert trunc == (i == steps - 1)
    g.close()


@pytest.mark.parametrize("name", SCEN)
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_gym_compat_sync_vector_env_equals_native_over_autoresets(name, mode):
    n, steps = 3, 700  # several autoresets in every scenario (episodes <= 500 steps)
    kw = dict(ticks_per_step=20)
    native = factorio_fast.make_vec(name, n, autoreset_mode=mode, copy=True, **kw)
    sync = gym.vector.SyncVectorEnv([lambda: factorio_fast.make(name, **kw)] * n,
                                    autoreset_mode=AutoresetMode(mode.title().replace("_", "")))
    native.single_action_space.seed(0)
    o1, _ = native.reset(seed=11)
    o2, _ = sync.reset(seed=11)
    np.testing.assert_array_equal(o1, o2)
    ends = 0
    for _ in range(steps):
        a = np.stack([native.single_action_space.sample() for _ in range(n)])
        r1, r2 = native.step(a), sync.step(a)
        for x, y in zip(r1[:4], r2[:4]):
            np.testing.assert_array_equal(x, y)
        if mode == "same_step" and r1[4]["_final_obs"].any():
            m = r1[4]["_final_obs"]
            np.testing.assert_array_equal(m, r2[4]["_final_obs"])
            np.testing.assert_array_equal(r1[4]["final_obs"][m], np.stack(r2[4]["final_obs"][m]))
        ends += int((r1[2] | r1[3]).sum())
    assert ends >= n
    native.close()
    sync.close()


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_gym_compat_episode_infos_equal_record_episode_statistics(mode, num_workers):
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    kw = dict(autoreset_mode=mode, ticks_per_step=30, num_workers=num_workers)
    ours = factorio_fast.make_vec("movement_micro", 4, infos=("episode",), **kw)
    theirs = RecordEpisodeStatistics(factorio_fast.make_vec("movement_micro", 4, **kw))
    ours.reset(seed=2)
    theirs.reset(seed=2)
    ours.single_action_space.seed(1)
    ended = 0
    for _ in range(400):
        a = np.stack([ours.single_action_space.sample() for _ in range(4)])
        i1, i2 = ours.step(a)[4], theirs.step(a)[4]
        assert ("episode" in i1) == ("episode" in i2)
        if "episode" in i1:
            np.testing.assert_array_equal(i1["_episode"], i2["_episode"])
            np.testing.assert_allclose(i1["episode"]["r"], i2["episode"]["r"], rtol=1e-5)
            np.testing.assert_array_equal(i1["episode"]["l"], i2["episode"]["l"])
            ended += int(i1["_episode"].sum())
    assert ended >= 8
    ours.close()
    theirs.close()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_gym_compat_state_infos_equal_the_single_envs(num_workers):
    from factorio_fast.codec import ITEM_IDS

    vec = factorio_fast.make_vec("mining_micro", 3, num_workers=num_workers,
                                 infos=("position", "tick", "inventory"))
    singles = [factorio_fast.make("mining_micro") for _ in range(3)]
    _, info = vec.reset(seed=4)
    sinfos = [e.reset(seed=4 + i)[1] for i, e in enumerate(singles)]
    vec.single_action_space.seed(3)
    for _ in range(200):
        for i, s in enumerate(sinfos):
            assert tuple(info["position"][i]) == s["position"] and info["tick"][i] == s["tick"]
            inv = {name: int(info["inventory"][i][k]) for name, k in ITEM_IDS.items()
                   if info["inventory"][i][k]}
            assert inv == s["inventory"]
        assert info["_position"].all() and info["position"].dtype == np.float64
        a = np.stack([vec.single_action_space.sample() for _ in range(3)])
        _, _, term, trunc, info = vec.step(a)
        sinfos = []
        for e, ai in zip(singles, a):
            *_, t1, t2, si = e.step(ai)
            if t1 or t2:
                e.reset()
            sinfos.append(si)
        if (term | trunc).any():
            break  # next_step autoreset: the infos of the reset step differ by design
    vec.close()
    for e in singles:
        e.close()
