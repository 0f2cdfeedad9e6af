"""Gymnasium's vector wrappers over make_vec: RecordEpisodeStatistics, NormalizeObservation,
NormalizeReward and TransformObservation, each checked against a twin env stepped raw."""

import numpy as np
import pytest
from gymnasium.spaces import Box
from gymnasium.wrappers import vector as vw

import factorio_fast

N = 4
KW = dict(ticks_per_step=60)  # long steps: movement episodes end within the test


def _twins(**kw):
    a = factorio_fast.make_vec("movement_micro", N, **KW, **kw)
    b = factorio_fast.make_vec("movement_micro", N, **KW, **kw)
    return a, b


@pytest.mark.parametrize("num_workers", [0, 2])
def test_gymnasium_record_episode_statistics(num_workers):
    raw, inner = _twins()
    env = vw.RecordEpisodeStatistics(factorio_fast.make_vec("movement_micro", N, num_workers=num_workers,
                                                            **KW))
    inner.close()
    try:
        env.reset(seed=2)
        raw.reset(seed=2)
        ret, length, seen = np.zeros(N), np.zeros(N, np.int64), 0
        prev_done = np.zeros(N, np.bool_)
        for t in range(250):
            a = np.full(N, 1 + t % 8, np.int64)
            _, _, _, _, info = env.step(a)
            _, r, term, trunc, _ = raw.step(a)
            ret[prev_done], length[prev_done] = 0.0, 0  # next_step: the reset step is no episode's
            ret[~prev_done] += r[~prev_done]
            length[~prev_done] += 1
            done = term | trunc
            if done.any():
                np.testing.assert_array_equal(info["_episode"], done)
                np.testing.assert_allclose(info["episode"]["r"][done], ret[done], rtol=1e-6)
                np.testing.assert_array_equal(info["episode"]["l"][done], length[done])
                seen += int(done.sum())
            else:
                assert "episode" not in info
            prev_done = done
        assert seen >= N
    finally:
        env.close()
        raw.close()


def test_gymnasium_normalize_observation_over_features():
    raw, inner = _twins(obs="features")
    env = vw.NormalizeObservation(inner)
    try:
        o, _ = env.reset(seed=3)
        r, _ = raw.reset(seed=3)
        for t in range(60):
            rms = env.obs_rms
            np.testing.assert_allclose(o, (r - rms.mean) / np.sqrt(rms.var + env.epsilon), rtol=1e-5,
                                       atol=1e-5)
            a = np.full(N, 1 + t % 8, np.int64)
            o, *_ = env.step(a)
            r, *_ = raw.step(a)
        assert env.obs_rms.count == pytest.approx(1e-4 + 61 * N)
        assert o.dtype.kind == "f" and np.abs(o).max() < 1e3
    finally:
        env.close()
        raw.close()


def test_gymnasium_normalize_reward():
    raw, inner = _twins()
    env = vw.NormalizeReward(inner, gamma=0.9)
    try:
        env.reset(seed=4)
        raw.reset(seed=4)
        for t in range(150):
            a = np.full(N, 1 + (t // 3) % 8, np.int64)
            _, rew, *_ = env.step(a)
            _, r, *_ = raw.step(a)
            np.testing.assert_allclose(rew, r / np.sqrt(env.return_rms.var + env.epsilon), rtol=1e-5)
    finally:
        env.close()
        raw.close()


def test_gymnasium_transform_observation_decodes_bytes():
    """The bytes env plus TransformObservation(decode) is the features env."""
    raw, feat = factorio_fast.make_vec("movement_micro", N, **KW), \
        factorio_fast.make_vec("movement_micro", N, obs="features", **KW)
    space = factorio_fast.feature_space("movement_micro")
    env = vw.TransformObservation(raw, lambda o: factorio_fast.decode(o, "movement_micro"),
                                  Box(np.stack([space.low] * N), np.stack([space.high] * N)),
                                  single_observation_space=space)
    try:
        o, _ = env.reset(seed=5)
        f, _ = feat.reset(seed=5)
        np.testing.assert_array_equal(o, f)
        for t in range(120):
            a = np.full(N, 1 + t % 8, np.int64)
            o, *_ = env.step(a)
            f, *_ = feat.step(a)
            np.testing.assert_array_equal(o, f)
            assert env.observation_space.contains(o)
    finally:
        env.close()
        feat.close()
