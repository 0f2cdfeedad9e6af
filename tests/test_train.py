"""factorio_fast.train (PPO) and `factorio-fast train`: it learns, runs are reproducible, the
command writes its logs, curve, evaluation and episode strip."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factorio_fast import train  # noqa: E402
from factorio_fast.cli import main  # noqa: E402


def _tiny(scenario="movement_micro", **kw):
    base = dict(total_steps=2 * 32 * 16, num_envs=32, num_steps=16, num_minibatches=2, update_epochs=2,
                hidden=(32, 32))
    base.update(kw)
    return train.Config.for_scenario(scenario, **base)


def _weights(agent):
    return torch.cat([p.detach().flatten() for p in agent.parameters()])


def test_same_seed_same_run_other_seed_other_run():
    a = train.train(_tiny(seed=3))
    b = train.train(_tiny(seed=3))
    c = train.train(_tiny(seed=4, total_steps=32 * 16))
    assert torch.equal(_weights(a.agent), _weights(b.agent))
    drop = ("time", "sps", "cpu_time", "time_env", "time_inference", "time_update")
    strip = [[{k: v for k, v in r.items() if k not in drop} for r in res.history] for res in (a, b)]
    assert strip[0] == strip[1]
    assert not torch.equal(_weights(a.agent), _weights(c.agent))


def test_learning_rate_and_entropy_coefficient_anneal_linearly():
    res = train.train(_tiny(total_steps=4 * 32 * 16, ent_coef=0.02, ent_coef_end=0.004, learning_rate=1e-3))
    assert [r["ent_coef"] for r in res.history] == pytest.approx([0.02, 0.016, 0.012, 0.008])
    assert [r["lr"] for r in res.history] == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4])
    flat = train.train(dataclasses.replace(_tiny(total_steps=2 * 32 * 16, ent_coef=0.02), ent_coef_end=None))
    assert [r["ent_coef"] for r in flat.history] == [0.02, 0.02]


def test_fast_tanh_is_tanh():
    x = torch.linspace(-12, 12, 4001, dtype=torch.float32, requires_grad=True)
    y = train.Tanh()(x)
    torch.testing.assert_close(y, torch.tanh(x), atol=3e-7, rtol=0)
    y.sum().backward()
    torch.testing.assert_close(x.grad, 1 - torch.tanh(x.detach()) ** 2, atol=1e-6, rtol=0)


@pytest.mark.parametrize("scenario", ["mining_micro", "building_micro"])
def test_other_action_spaces_train_and_report_their_metrics(scenario):
    res = train.train(_tiny(scenario, num_steps=8, total_steps=32 * 8))
    assert res.steps == 32 * 8
    assert set(res.timing) == {"env", "inference", "update", "total", "cpu"}
    ev = train.evaluate(scenario, res.agent, episodes=4)
    assert ev["episodes"] == 4 and set(train.METRICS[scenario]) <= set(ev)


def test_async_envs_train():
    res = train.train(_tiny(async_envs=True))
    assert res.steps == 2 * 32 * 16 and res.timing["env"] > 0


def test_ppo_beats_random_on_movement_by_a_wide_margin():
    """A short run (131k steps: about 15 s of one core): on episodes it never trained on, the
    trained policy's return is several times the random one's and it succeeds more often."""
    cfg = train.Config.for_scenario("movement_micro", total_steps=131_072, num_envs=256, num_steps=32,
                                    hidden=(128, 128), num_minibatches=2, update_epochs=3, seed=1)
    res = train.train(cfg)
    rand = train.evaluate("movement_micro", None, episodes=256)
    ppo = train.evaluate("movement_micro", res.agent, episodes=256, greedy=False)
    assert rand["success"] < 0.1 and rand["return"] < 0.5, rand
    assert ppo["return"] > max(3 * rand["return"], rand["return"] + 0.5), (ppo, rand)
    assert ppo["success"] > rand["success"], (ppo, rand)


def test_cli_train_writes_logs_curve_eval_and_strip(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "movement_micro", "--steps", "8192", "--num-envs", "64", "--num-steps", "16",
               "--eval-episodes", "200", "--no-progress", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "time split: env" in text and "random policy over 200 episodes" in text
    for f in ("config.json", "progress.csv", "progress.jsonl", "checkpoint.pt", "eval.json",
              "summary.json", "curve.png", "episode.png"):
        assert (out / f).stat().st_size > 0, f
    ev = json.loads((out / "eval.json").read_text())
    assert ev["random"]["episodes"] == 200 and ev["greedy"]["episodes"] == 200
    rows = (out / "progress.csv").read_text().splitlines()
    assert rows[0].startswith("step,update,time,sps,return,length,success") and len(rows) == 9
    assert rows[-1].split(",")[4] != ""   # episodes ended: their mean return is logged
    agent, cfg = train.load_checkpoint(os.fspath(out / "checkpoint.pt"))
    assert cfg["scenario"] == "movement_micro" and agent.nvec == [9]


def test_cli_train_refuses_bad_arguments(capsys):
    assert main(["train", "nope"]) == 2
    assert main(["train", "movement_micro", "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario" in err and "--steps must be >= 1" in err


def test_episode_metrics_read_the_final_features():
    env_obs = np.zeros((2, 1477), np.float32)
    env_obs[1, 1374] = 7 / 50
    m = train.episode_metrics("mining_micro", env_obs, np.array([False, True]))
    assert m["ore"].tolist() == [0, 7] and m["success"].tolist() == [0, 1]
