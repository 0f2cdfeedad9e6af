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
    # the update trains views of one flat tensor; the agent returned owns ordinary parameters
    ptrs = [p.untyped_storage().data_ptr() for p in a.agent.parameters()]
    assert all(p.is_contiguous() for p in a.agent.parameters()) and len(set(ptrs)) == len(ptrs)


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


@pytest.mark.parametrize("nvec,hidden,clip_vloss,ent_coef", [
    ([9], (16, 16), False, 0.0), ([9], (16, 16), True, 0.01), ([3, 4, 2], (8, 12, 8), True, 0.05),
    ([5], (12,), False, 0.02), ([4, 3], (), True, 0.0)])
def test_update_gradient_is_autograds_of_the_ppo_loss(nvec, hidden, clip_vloss, ent_coef):
    """The update's hand-written backward (train._Packed) against autograd through the agent's own
    modules and the loss written the plain way, with ratios inside and outside the clip range."""
    torch.manual_seed(5)
    cfg = train.Config(clip_vloss=clip_vloss, ent_coef=ent_coef, vf_coef=0.7, clip_coef=0.2)
    agent = train.Agent(7, nvec, hidden)
    packed = train._Packed(agent)
    B = 40
    obs = torch.randn(B, 7)
    act = torch.stack([torch.randint(0, n, (B,)) for n in nvec], 1)
    with torch.no_grad():
        logp0, _, val0 = agent.evaluate(obs, act)
    old_logp = logp0 + 0.4 * torch.randn(B)           # ratios from about 0.5 to 2
    old_val, ret, neg_adv = val0 + 0.3 * torch.randn(B), torch.randn(B), torch.randn(B)
    with torch.no_grad():
        ratio, _, _, new_val = packed.loss_grad(cfg, ent_coef, obs, act, old_logp, old_val, ret, neg_adv)
    new_logp, entropy, v = agent.evaluate(obs, act)
    r = (new_logp - old_logp).exp()
    pg = torch.max(neg_adv * r, neg_adv * r.clamp(0.8, 1.2)).mean()
    if clip_vloss:
        vc = old_val + (v - old_val).clamp(-0.2, 0.2)
        v_loss = 0.5 * torch.max((v - ret) ** 2, (vc - ret) ** 2).mean()
    else:
        v_loss = 0.5 * ((v - ret) ** 2).mean()
    (pg - ent_coef * entropy.mean() + 0.7 * v_loss).backward()
    assert ((ratio < 0.8) | (ratio > 1.2)).any() and ((ratio > 0.8) & (ratio < 1.2)).any()
    torch.testing.assert_close(ratio, r.detach())
    torch.testing.assert_close(new_val, v.detach())
    pairs = packed.param_grads()
    assert len(pairs) == len(list(agent.parameters()))
    for p, g in pairs:
        torch.testing.assert_close(g, p.grad, atol=1e-6, rtol=1e-4)


def test_flat_adam_is_torch_fused_adam():
    torch.manual_seed(2)
    w = torch.randn(300)
    ref = w.clone().requires_grad_(True)
    opt_ref = torch.optim.Adam([ref], lr=3e-3, eps=1e-5, fused=True)
    opt = train._FlatAdam(w, 3e-3)
    for i in range(4):
        g = torch.randn(300)
        opt.param_groups[0]["lr"] = opt_ref.param_groups[0]["lr"] = 3e-3 * (1 - i / 4)
        ref.grad = g.clone()
        opt_ref.step()
        opt.step(g)
    assert torch.equal(w, ref.detach())


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
