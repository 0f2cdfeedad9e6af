"""PPO on a factorio_fast scenario in one file (CleanRL's ppo.py, adapted): copy it and change it.

    python examples/ppo.py --scenario movement_micro --steps 2000000

Needs torch. ``factorio_fast.train`` (``factorio-fast train``) is the same algorithm with logs,
checkpoints, plots and evaluation; this script keeps only the algorithm.

What is specific to factorio_fast:
* ``make_vec(..., obs="features")``: float32 rows decoded in C, for an MLP.
* ``copy=False``: the results are views into the env's buffers, copied once into the rollout.
* next_step autoreset: the step after an episode ends is a reset step (action ignored, reward
  0); it is masked out of the loss. The episode's last observation is what that step starts
  from, so a truncated episode bootstraps from V(last obs) with no extra work.
"""

import argparse
import time

import numpy as np
import torch
from torch import nn

import factorio_fast


def layer(i, o, std=2 ** 0.5):
    lin = nn.Linear(i, o)
    nn.init.orthogonal_(lin.weight, std)
    nn.init.zeros_(lin.bias)
    return lin


class Agent(nn.Module):
    def __init__(self, obs_dim, nvec, hidden=128):
        super().__init__()
        self.nvec = list(nvec)
        self.critic = nn.Sequential(layer(obs_dim, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(),
                                    layer(hidden, 1, 1.0))
        self.actor = nn.Sequential(layer(obs_dim, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(),
                                   layer(hidden, sum(self.nvec), 0.01))

    def dist(self, obs):
        logits = torch.split(self.actor(obs), self.nvec, -1)
        return [torch.distributions.Categorical(logits=lg) for lg in logits]

    def act(self, obs):
        ds = self.dist(obs)
        a = torch.stack([d.sample() for d in ds], -1)
        return a, sum(d.log_prob(a[:, j]) for j, d in enumerate(ds)), self.critic(obs).squeeze(-1)

    def evaluate(self, obs, a):
        ds = self.dist(obs)
        logp = sum(d.log_prob(a[:, j]) for j, d in enumerate(ds))
        return logp, sum(d.entropy() for d in ds), self.critic(obs).squeeze(-1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", default="movement_micro")
    p.add_argument("--steps", type=int, default=2_000_000)
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--num-steps", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    gamma, lam, clip, ent_coef, vf_coef, epochs, minibatches = 0.99, 0.95, 0.2, 0.0, 0.5, 3, 2
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)   # measured: faster than 2 threads on a busy 2-core machine
    n, T = args.num_envs, args.num_steps
    env = factorio_fast.make_vec(args.scenario, n, obs="features", copy=False, infos=("episode",))
    space = env.single_action_space
    discrete = not hasattr(space, "nvec")
    nvec = [int(space.n)] if discrete else [int(x) for x in space.nvec]
    obs_dim = env.single_observation_space.shape[0]
    agent = Agent(obs_dim, nvec)
    opt = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)

    obs = torch.zeros((T + 1, n, obs_dim))
    acts = torch.zeros((T, n, len(nvec)), dtype=torch.long)
    logps, rews, terms, dones, valid = (torch.zeros((T, n)) for _ in range(5))
    vals = torch.zeros((T + 1, n))
    prev_done = torch.zeros(n)
    o, _ = env.reset(seed=args.seed)
    obs[0] = torch.from_numpy(o)
    ep_returns, ep_success = [], []
    updates = args.steps // (n * T)
    t0 = time.perf_counter()
    for update in range(updates):
        opt.param_groups[0]["lr"] = args.lr * (1 - update / updates)
        with torch.inference_mode():
            for t in range(T):
                a, lp, v = agent.act(obs[t])
                acts[t], logps[t], vals[t], valid[t] = a, lp, v, 1 - prev_done
                o, r, te, tr, info = env.step(a[:, 0].numpy() if discrete else a.numpy())
                obs[t + 1] = torch.from_numpy(o)
                rews[t], terms[t] = torch.from_numpy(r), torch.from_numpy(te)
                dones[t] = prev_done = torch.from_numpy(te | tr).float()
                if "episode" in info:
                    ep_returns += info["episode"]["r"][info["_episode"]].tolist()
                    ep_success += te[info["_episode"]].tolist()
            vals[T] = agent.critic(obs[T]).squeeze(-1)
            adv = torch.zeros((T, n))
            last = torch.zeros(n)
            for t in reversed(range(T)):   # GAE; a success bootstraps 0, a truncation V(last obs)
                delta = rews[t] + gamma * vals[t + 1] * (1 - terms[t]) - vals[t]
                adv[t] = last = delta + gamma * lam * (1 - dones[t]) * last
            ret = adv + vals[:T]
        keep = valid.flatten() > 0           # drop reset steps
        b_obs, b_act = obs[:T].reshape(-1, obs_dim)[keep], acts.reshape(-1, len(nvec))[keep]
        b_logp, b_adv, b_ret, b_val = (x.flatten()[keep] for x in (logps, adv, ret, vals[:T]))
        mb = len(b_obs) // minibatches
        for _ in range(epochs):
            perm = torch.randperm(len(b_obs))
            for s in range(0, mb * minibatches, mb):
                i = perm[s:s + mb]
                logp, ent, v = agent.evaluate(b_obs[i], b_act[i])
                ratio = (logp - b_logp[i]).exp()
                a_n = (b_adv[i] - b_adv[i].mean()) / (b_adv[i].std() + 1e-8)
                pg = torch.max(-a_n * ratio, -a_n * ratio.clamp(1 - clip, 1 + clip)).mean()
                v_clip = b_val[i] + (v - b_val[i]).clamp(-clip, clip)
                vl = 0.5 * torch.max((v - b_ret[i]) ** 2, (v_clip - b_ret[i]) ** 2).mean()
                loss = pg - ent_coef * ent.mean() + vf_coef * vl
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                opt.step()
        obs[0] = obs[T]
        if update % 10 == 0 or update == updates - 1:
            steps = (update + 1) * n * T
            recent = (f"return {np.mean(ep_returns[-256:]):.3f}  success {np.mean(ep_success[-256:]):.3f}"
                      if ep_returns else "no episode ended yet")
            print(f"step {steps:>9}  sps {steps / (time.perf_counter() - t0):7.0f}  {recent}", flush=True)
    env.close()


if __name__ == "__main__":
    main()
