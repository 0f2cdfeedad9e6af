"""PPO for the factorio_fast scenarios, in one readable module (CleanRL style).

``factorio-fast train SCENARIO`` runs it from the command line; from Python:

>>> from factorio_fast import train
>>> cfg = train.Config("movement_micro", total_steps=200_000)          # doctest: +SKIP
>>> result = train.train(cfg)                                          # doctest: +SKIP
>>> train.evaluate("movement_micro", result.agent, episodes=256)       # doctest: +SKIP

The algorithm is CleanRL's ``ppo.py`` (clipped surrogate, GAE, value clipping, advantage
normalisation per minibatch, annealed learning rate) over one ``make_vec`` batch. What is
specific to these environments:

* ``obs="features"``: float32 rows decoded in C; the policy is a plain MLP.
* ``autoreset_mode="next_step"``: the step after an episode ends is a reset step whose action
  the env ignores. Its transition is masked out of the loss (``valid``), and the episode's last
  observation is the one that step starts from, so a truncated episode bootstraps from
  ``V(final_obs)`` with no extra forward pass; a terminated one bootstraps from 0.
* ``copy=False``: the env's result arrays are views, copied once into the rollout tensors with
  ``torch.from_numpy``; nothing loops over envs in Python.
* Rollouts run under ``torch.inference_mode``; the time of env stepping, inference and update is
  measured and reported (``Result.timing``).
* The update (``_update``) computes the loss's gradient by hand (``_Packed.loss_grad``, the
  same loss as autograd would differentiate) on one flat parameter tensor, and runs Adam as one
  fused kernel on it (``_FlatAdam``): at small minibatches the count of torch calls, not
  arithmetic, is the cost (docs/training.md, "Speed").
* ``async_envs=True``: the batch is split in two halves stepped by a worker process while this
  process runs the policy on the other half (``make_vec(..., num_workers=2, batch_size=n/2)``,
  ``send``/``recv``).

A run is a function of ``Config`` (seed included): same config, same machine, same numbers
(``torch.use_deterministic_algorithms`` is not needed on CPU for these layers).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("factorio_fast.train needs PyTorch: pip install 'factorio_fast[train]'") from exc

from factorio_fast.errors import InvalidArgumentError
from factorio_fast.scenarios import SCENARIOS
from factorio_fast.vector import make_vec

__all__ = ["Config", "DEFAULTS", "Agent", "Result", "train", "evaluate", "episode_metrics",
           "save_checkpoint", "load_checkpoint", "plot_curve", "render_strip"]


# ------------------------------------------------------------------------------- configuration

@dataclass
class Config:
    """Hyperparameters of one run. ``Config.for_scenario(name, **overrides)`` starts from the
    scenario's defaults (``DEFAULTS``)."""

    scenario: str = "movement_micro"
    total_steps: int = 2_000_000       # env steps (all envs together)
    num_envs: int = 256
    num_steps: int = 32                # rollout length per env; batch = num_envs * num_steps
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    ent_coef_end: float | None = None  # if set: the entropy coefficient goes linearly from ent_coef to this
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple = (256, 256)         # actor and critic: separate MLPs of these widths
    seed: int = 0
    device: str = "auto"               # "auto": CUDA if torch sees it, else CPU
    torch_threads: int = 1             # torch intra-op threads; 0: torch's default (see docs/training.md)
    async_envs: bool = False
    env_kwargs: dict = field(default_factory=dict)   # scenario options, e.g. {"reward": "sparse"}

    @classmethod
    def for_scenario(cls, scenario: str, **overrides) -> Config:
        """The defaults tuned for ``scenario``, with ``overrides`` applied."""
        if scenario not in SCENARIOS:
            raise InvalidArgumentError(
                f"unknown scenario {scenario!r}; valid choices: {', '.join(SCENARIOS)}")
        kw = dict(DEFAULTS.get(scenario, {}))
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(scenario=scenario, **kw)

    @property
    def batch_size(self) -> int:
        """Env steps per iteration: ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        """Samples per gradient step: ``batch_size // num_minibatches``."""
        return self.batch_size // self.num_minibatches

    def to_dict(self) -> dict:
        """The config as a JSON-ready dict (logs, checkpoints)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d


# Per-scenario defaults, tuned on a 2-core machine for the budgets of docs/training.md: each
# reaches its goal there in that much process CPU time (movement_micro about 4 minutes,
# mining_micro about 2.5). A low entropy coefficient annealed to 0 matters most for mining_micro:
# an ore takes 13 consecutive steps of the same mining action, which a policy kept spread out
# by the entropy bonus rarely repeats (at ent_coef 0.01 its entropy stayed near uniform's).
DEFAULTS: dict[str, dict[str, Any]] = {
    "movement_micro": dict(total_steps=7_000_000, num_envs=512, num_steps=16, learning_rate=1e-3,
                           num_minibatches=2, update_epochs=2, ent_coef=0.005, ent_coef_end=0.0,
                           hidden=(96, 96)),
    "mining_micro": dict(total_steps=3_000_000, num_envs=256, num_steps=32, learning_rate=2e-3,
                         num_minibatches=2, update_epochs=4, ent_coef=0.001, ent_coef_end=0.0,
                         hidden=(128, 128)),
    # building_micro: the update is 80 % of a step's time, so a 128x128 MLP and 2 epochs (2.5
    # times the steps per CPU-minute of 256x256 and 3) with a higher learning rate learn more in
    # 30 CPU-minutes; the lower entropy coefficient, annealed, lets the dx, dy heads settle on
    # the layout tiles of the features (docs/training.md)
    "building_micro": dict(total_steps=8_000_000, num_envs=256, num_steps=64, learning_rate=1e-3,
                           num_minibatches=4, update_epochs=2, ent_coef=0.005, ent_coef_end=0.0005,
                           hidden=(128, 128)),
}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ------------------------------------------------------------------------------- the network

def _layer(i: int, o: int, std: float = math.sqrt(2)) -> nn.Linear:
    lin = nn.Linear(i, o)
    nn.init.orthogonal_(lin.weight, std)
    nn.init.zeros_(lin.bias)
    return lin


def _sigmoid_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x * 2.0).mul_(2.0).sub_(1.0)


class _TanhFn(torch.autograd.Function):
    """tanh as 2 sigmoid(2x) - 1, the same function: on large blocks torch's CPU sigmoid kernel is
    about twice as fast as its tanh (measured: 0.56 ms against 2.2 ms for 4096 x 128 floats, one
    thread), and the backward is torch's own fused tanh_backward of the output."""

    @staticmethod
    def forward(ctx, x):
        y = _sigmoid_tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


# Below this many elements torch.tanh is the faster one: a Python autograd Function's fixed cost
# (its forward and backward run through the interpreter) outweighs the kernel's; measured on one
# thread, forward and backward, 64 x 64: 140 us against 227 us; 4096 x 128: 3.2 ms against 2.4 ms.
_TANH_TRICK_MIN = 32_768


def _tanh(x: torch.Tensor) -> torch.Tensor:
    return _TanhFn.apply(x) if x.numel() >= _TANH_TRICK_MIN else torch.tanh(x)


def _tanh_nograd(x: torch.Tensor) -> torch.Tensor:
    """``_tanh`` without autograd (the update's own backward needs only the output)."""
    return _sigmoid_tanh(x) if x.numel() >= _TANH_TRICK_MIN else torch.tanh(x)


class Tanh(nn.Module):
    """``nn.Tanh`` computed by the faster kernel for the block's size (``_tanh``; no parameters:
    checkpoints are unchanged)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _tanh(x)


def _mlp(i: int, hidden, out: int, out_std: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [_layer(i, h), Tanh()]
        i = h
    layers.append(_layer(i, out, out_std))
    return nn.Sequential(*layers)


class Agent(nn.Module):
    """Separate actor and critic MLPs (tanh, orthogonal init, as CleanRL). ``nvec`` is the
    action space's sizes: one for ``Discrete(n)``, several for ``MultiDiscrete`` (one
    independent categorical per component, their logits side by side)."""

    def __init__(self, obs_dim: int, nvec, hidden=(256, 256)):
        super().__init__()
        self.obs_dim = int(obs_dim)
        self.nvec = [int(n) for n in nvec]
        self.hidden = tuple(int(h) for h in hidden)
        self.critic = _mlp(self.obs_dim, self.hidden, 1, 1.0)
        self.actor = _mlp(self.obs_dim, self.hidden, sum(self.nvec), 0.01)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """The critic's value of each observation."""
        return self.critic(obs).squeeze(-1)

    def _split(self, logits: torch.Tensor):
        return torch.split(logits, self.nvec, dim=-1) if len(self.nvec) > 1 else (logits,)

    def act(self, obs: torch.Tensor, greedy: bool = False, value: bool = True):
        """Sample actions: ``(actions (n, k) int64, logprob (n,), value (n,))`` (value None
        with ``value=False``: evaluation skips the critic)."""
        logits = self.actor(obs)
        acts, logp = [], 0
        for lg in self._split(logits):
            lsm = torch.log_softmax(lg, -1)
            if greedy:
                a = lg.argmax(-1)
            else:  # Gumbel-max: one fused op, cheaper than Categorical(...).sample()
                a = (lg - torch.log(-torch.log(torch.rand_like(lg)))).argmax(-1)
            acts.append(a)
            logp = logp + lsm.gather(-1, a.unsqueeze(-1)).squeeze(-1)
        return torch.stack(acts, -1), logp, self.value(obs) if value else None

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor):
        """``(logprob, entropy, value)`` of ``actions`` (n, k) under the current policy."""
        logits = self.actor(obs)
        logp, ent = 0, 0
        for j, lg in enumerate(self._split(logits)):
            lsm = torch.log_softmax(lg, -1)
            logp = logp + lsm.gather(-1, actions[:, j:j + 1]).squeeze(-1)
            ent = ent - (lsm.exp() * lsm).sum(-1)
        return logp, ent, self.value(obs)


def _env_actions(actions: torch.Tensor, discrete: bool) -> np.ndarray:
    a = actions.cpu().numpy()
    return a[:, 0] if discrete else a


# ------------------------------------------------------------------------------- task metrics

# episode_metrics' keys by scenario
METRICS = {"movement_micro": ["success"], "mining_micro": ["success", "ore"],
           "building_micro": ["success", "crafted_drill", "drill_on_ore", "furnace_placed", "fuelled",
                              "drill_fed_furnace",
                              "first_plate", "plates"]}


def episode_metrics(scenario: str, final_obs: np.ndarray, terminated: np.ndarray) -> dict[str, np.ndarray]:
    """What each ended episode achieved, from its last observation's features (one row per
    episode) and its ``terminated`` flag: ``success`` for every scenario, ``ore`` (ores in the
    inventory) for mining_micro, and building_micro's sub-goals (``crafted_drill``,
    ``drill_on_ore``, ``furnace_placed``, ``fuelled``, ``drill_fed_furnace``, ``first_plate``,
    ``plates``). Columns are those of
    docs/scenarios.md ("Features")."""
    out = {"success": terminated.astype(np.float64)}
    f = final_obs
    if scenario == "mining_micro":
        out["ore"] = np.rint(f[:, 1374] * 50.0)
    elif scenario == "building_micro":
        drills = np.rint(f[:, 2268 + 8] * 50.0)      # inventory column of item 8 (burner drill)
        placed_ent = f[:, 2318:2398].reshape(len(f), 8, 10)
        from factorio_fast import codec
        drill_id = codec.ENTITY_NAMES.index("burner-mining-drill")
        any_drill = placed_ent[:, :, drill_id].max(1) > 0.5
        out["crafted_drill"] = ((drills > 0) | any_drill).astype(np.float64)
        out["drill_on_ore"] = (f[:, 2314] > 0.5).astype(np.float64)
        fed = f[:, 2315] > 0.5
        # plan_bits (2800..2806): 2804 a furnace covers a drill's drop tile, 2805 a drill has
        # fuel, 2806 that furnace has fuel; states at the episode's end, or reached if a drill fed
        # a furnace (which needs a furnace on its drop tile and a fuelled drill)
        on = (f[:, 2804] > 0.5) | fed
        out["furnace_placed"] = on.astype(np.float64)
        out["fuelled"] = ((f[:, 2805] > 0.5) & (f[:, 2806] > 0.5)).astype(np.float64)
        out["drill_fed_furnace"] = fed.astype(np.float64)
        plates = np.rint(f[:, 2316] * 10.0)
        out["first_plate"] = (plates >= 1).astype(np.float64)
        out["plates"] = plates
    return out


# ------------------------------------------------------------------------------- training

@dataclass
class Result:
    """What ``train`` returns: the trained agent, its config and the run's figures."""

    agent: Agent
    config: Config
    history: list = field(default_factory=list)     # one dict per update (see train())
    timing: dict = field(default_factory=dict)      # seconds: env, inference, update, total
    steps: int = 0


class _EpisodeLog:
    """Running means over the last ``window`` episodes that ended."""

    def __init__(self, window: int = 256):
        self.window = window
        self.cols: dict[str, list] = {}

    def add(self, values: dict[str, np.ndarray]) -> None:
        for k, v in values.items():
            col = self.cols.setdefault(k, [])
            col.extend(np.asarray(v, np.float64).tolist())
            del col[:-self.window]

    def means(self) -> dict[str, float]:
        return {k: float(np.mean(v)) for k, v in self.cols.items() if v}


def train(cfg: Config, *, callback: Callable[[dict], Any] | None = None,
          checkpoint: Callable[[Agent, dict], Any] | None = None) -> Result:
    """Run PPO for ``cfg.total_steps`` env steps. ``callback(row)`` gets one dict per update
    (``step``, ``sps``, episode means ``return``/``length``/``success``/..., losses, the time
    split); return True from it to stop early. ``checkpoint(agent, row)`` is called after each
    update too (save when you like)."""
    if cfg.scenario not in SCENARIOS:
        raise InvalidArgumentError(f"unknown scenario {cfg.scenario!r}")
    if cfg.batch_size % cfg.num_minibatches:
        raise InvalidArgumentError("num_envs * num_steps must be a multiple of num_minibatches")
    if cfg.async_envs and cfg.num_envs % 2:
        raise InvalidArgumentError("async_envs needs an even num_envs")
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)

    n, T = cfg.num_envs, cfg.num_steps
    venv_kw = dict(obs="features", copy=False, infos=("episode",), autoreset_mode="next_step",
                   **cfg.env_kwargs)
    if cfg.async_envs:
        venv = make_vec(cfg.scenario, n, num_workers=2, batch_size=n // 2, **venv_kw)
    else:
        venv = make_vec(cfg.scenario, n, **venv_kw)
    obs_dim = venv.single_observation_space.shape[0]
    space = venv.single_action_space
    discrete = not hasattr(space, "nvec")
    nvec = [int(space.n)] if discrete else [int(x) for x in space.nvec]
    agent = Agent(obs_dim, nvec, cfg.hidden).to(device)
    packed = _Packed(agent)
    optim = _FlatAdam(packed.flat, cfg.learning_rate)

    # rollout storage: step t holds the obs the action was taken from and what that step returned
    obs_buf = torch.zeros((T + 1, n, obs_dim), device=device)   # T + 1: the bootstrap obs
    act_buf = torch.zeros((T, n, len(nvec)), dtype=torch.long, device=device)
    logp_buf = torch.zeros((T, n), device=device)
    val_buf = torch.zeros((T + 1, n), device=device)
    rew_buf = torch.zeros((T, n), device=device)
    term_buf = torch.zeros((T, n), device=device)   # this step ended the episode by success
    done_buf = torch.zeros((T, n), device=device)   # this step ended the episode (either way)
    valid_buf = torch.ones((T, n), device=device)   # 0: a reset step (its action was ignored)
    prev_done = torch.zeros(n, device=device)

    log = _EpisodeLog()
    timing = {"env": 0.0, "inference": 0.0, "update": 0.0}
    history: list[dict] = []
    num_updates = max(1, cfg.total_steps // cfg.batch_size)
    global_step = 0
    t_start = time.perf_counter()
    cpu_start = time.process_time()   # this process's CPU time: what the run costs on a busy machine

    def record(next_obs_np, rew_np, term_np, trunc_np, infos, ids):
        """Store one env step's results of envs ``ids`` (a slice) at the next time index."""
        done_np = term_np | trunc_np
        if done_np.any():
            idx = np.flatnonzero(done_np)
            m = episode_metrics(cfg.scenario, next_obs_np[idx], term_np[idx])
            ep = infos["episode"]
            m["return"], m["length"] = ep["r"][idx], ep["l"][idx]
            log.add(m)
        return (torch.from_numpy(next_obs_np), torch.from_numpy(rew_np),
                torch.from_numpy(term_np), torch.from_numpy(done_np))

    obs_np, _ = venv.reset(seed=cfg.seed)
    obs_buf[0].copy_(torch.from_numpy(obs_np))
    stopped = False
    try:
        for update in range(num_updates):
            if cfg.anneal_lr:
                optim.param_groups[0]["lr"] = cfg.learning_rate * (1.0 - update / num_updates)
            ent_coef = cfg.ent_coef if cfg.ent_coef_end is None else \
                cfg.ent_coef + (cfg.ent_coef_end - cfg.ent_coef) * update / num_updates
            # ---- rollout
            with torch.inference_mode():
                if cfg.async_envs:
                    _rollout_async(venv, agent, cfg, discrete, record, timing, obs_buf, act_buf,
                                   logp_buf, val_buf, rew_buf, term_buf, done_buf, valid_buf, prev_done)
                else:
                    for t in range(T):
                        t0 = time.perf_counter()
                        a, logp, v = agent.act(obs_buf[t])
                        act_buf[t], logp_buf[t], val_buf[t] = a, logp, v
                        valid_buf[t] = 1.0 - prev_done
                        a_np = _env_actions(a, discrete)
                        t1 = time.perf_counter()
                        o, r, te, tr, infos = venv.step(a_np)
                        t2 = time.perf_counter()
                        o_t, r_t, te_t, d_t = record(o, r, te, tr, infos, slice(None))
                        obs_buf[t + 1].copy_(o_t)
                        rew_buf[t].copy_(r_t)
                        term_buf[t].copy_(te_t)
                        done_buf[t].copy_(d_t)
                        prev_done.copy_(d_t)
                        timing["inference"] += t1 - t0 + time.perf_counter() - t2
                        timing["env"] += t2 - t1
                t0 = time.perf_counter()
                val_buf[T] = agent.value(obs_buf[T])
                adv = _gae(cfg, rew_buf, val_buf, term_buf, done_buf)
                ret = adv + val_buf[:T]
                timing["inference"] += time.perf_counter() - t0
            global_step += n * T
            # ---- update
            t0 = time.perf_counter()
            stats = _update(cfg, packed, optim, obs_buf[:T], act_buf, logp_buf, val_buf[:T], adv, ret,
                            valid_buf, ent_coef)
            timing["update"] += time.perf_counter() - t0
            obs_buf[0].copy_(obs_buf[T])
            elapsed = time.perf_counter() - t_start
            row = {"step": global_step, "update": update + 1, "time": round(elapsed, 3),
                   "sps": round(global_step / elapsed, 1), **log.means(), **stats,
                   "lr": optim.param_groups[0]["lr"], "ent_coef": ent_coef,
                   "cpu_time": round(time.process_time() - cpu_start, 3),
                   **{f"time_{k}": round(v, 3) for k, v in timing.items()}}
            history.append(row)
            if checkpoint is not None:
                checkpoint(agent, row)
            if callback is not None and callback(row):
                stopped = True
                break
    except KeyboardInterrupt:  # Ctrl-C: keep what was learnt up to the last update
        stopped = True
    finally:
        venv.close()
        packed.unpack()
    timing["total"] = time.perf_counter() - t_start
    timing["cpu"] = time.process_time() - cpu_start
    res = Result(agent=agent, config=cfg, history=history, timing=timing, steps=global_step)
    res.stopped = stopped
    return res


def _rollout_async(venv, agent, cfg, discrete, record, timing, obs_buf, act_buf, logp_buf, val_buf,
                   rew_buf, term_buf, done_buf, valid_buf, prev_done):
    """One rollout with the two halves of the batch in flight in turn: while the workers step
    one half, this process runs the policy on the other. Each half has its own time index."""
    n, T = cfg.num_envs, cfg.num_steps
    halves = [slice(0, n // 2), slice(n // 2, n)]
    # both halves start at time 0 of this rollout; send the first half's actions right away
    for h in halves:
        t0 = time.perf_counter()
        _async_act(venv, agent, discrete, h, 0, obs_buf, act_buf, logp_buf, val_buf, valid_buf, prev_done)
        timing["inference"] += time.perf_counter() - t0
    t_of = {0: 0, 1: 0}
    while min(t_of.values()) < T:
        t0 = time.perf_counter()
        o, r, te, tr, infos = venv.recv()
        t1 = time.perf_counter()
        timing["env"] += t1 - t0
        ids = infos["env_id"]
        hi = 0 if ids[0] < n // 2 else 1
        h, t = halves[hi], t_of[hi]
        o_t, r_t, te_t, d_t = record(o, r, te, tr, infos, h)
        obs_buf[t + 1, h].copy_(o_t)
        rew_buf[t, h].copy_(r_t)
        term_buf[t, h].copy_(te_t)
        done_buf[t, h].copy_(d_t)
        prev_done[h].copy_(d_t)
        t_of[hi] = t + 1
        if t + 1 < T:
            _async_act(venv, agent, discrete, h, t + 1, obs_buf, act_buf, logp_buf, val_buf, valid_buf,
                       prev_done)
        timing["inference"] += time.perf_counter() - t1
    # the next rollout starts from obs_buf[T] with both halves received and none in flight


def _async_act(venv, agent, discrete, h, t, obs_buf, act_buf, logp_buf, val_buf, valid_buf, prev_done):
    a, logp, v = agent.act(obs_buf[t, h])
    act_buf[t, h], logp_buf[t, h], val_buf[t, h] = a, logp, v
    valid_buf[t, h] = 1.0 - prev_done[h]
    venv.send(_env_actions(a, discrete), np.arange(h.start, h.stop))


class _Packed:
    """The agent's parameters in one flat tensor, laid out for the update's few, larger ops, and
    the gradient of PPO's loss computed by hand into one flat tensor of the same layout.

    At minibatches of 64 rows the update's cost is the number of torch calls, not arithmetic: a
    minibatch of MLP 64x64 on movement_micro's 274 features is about 12 MFLOP, a quarter of a
    millisecond on one core, while each torch call costs 5 to 20 us and each autograd node more
    (measured: 3.8 to 4.3 ms a minibatch through autograd and torch.optim). So the update runs on
    views of one flat tensor, each weight stored transposed (``in x out``) and, per layer, the
    actor's block by the critic's:

    * the first layers of both nets, which read the same observations, are one ``(d, 2h)``
      matrix: one ``addmm`` and one tanh for both (the same products as two separate layers);
    * the later hidden layers are one ``(2, h, h')`` block: one ``baddbmm`` and one tanh for both;
    * the output layers stay separate (the logits, the value);
    * ``loss_grad`` is the backward of this forward and of the loss written out (the chain rule
      of the same loss as autograd's, ties of ``max`` and edges of ``clamp`` resolved as torch
      resolves them; ``tests/test_train.py`` compares it with autograd), each block's gradient
      written in place into ``grad`` (``out=``): no autograd graph, no ``cat``; gradient
      clipping is one norm and Adam one fused kernel on one tensor (``_FlatAdam``).

    The agent's own ``nn.Linear`` parameters become views of the same storage (``p.data``), so the
    rollouts, ``state_dict`` and checkpoints see every update; nothing else about them changes."""

    def __init__(self, agent: Agent):
        lin_a = [m for m in agent.actor if isinstance(m, nn.Linear)]
        lin_c = [m for m in agent.critic if isinstance(m, nn.Linear)]
        self.nvec = agent.nvec
        self.depth = len(lin_a) - 1   # hidden layers
        self.h0 = lin_a[0].out_features
        # per block: its value now, and how each module tensor is a view of it
        blocks: list[tuple[torch.Tensor, list]] = []
        with torch.no_grad():
            for i, (la, lc) in enumerate(zip(lin_a, lin_c)):
                wa, wc, ba, bc = la.weight, lc.weight, la.bias, lc.bias
                h = la.out_features
                if i == self.depth:   # the output layers
                    blocks += [(wa.t(), [(wa, lambda x: x.t())]), (ba, [(ba, lambda x: x)]),
                               (wc.t(), [(wc, lambda x: x.t())]), (bc, [(bc, lambda x: x)])]
                elif i == 0:
                    blocks += [(torch.cat([wa.t(), wc.t()], 1),
                                [(wa, lambda x, h=h: x[:, :h].t()), (wc, lambda x, h=h: x[:, h:].t())]),
                               (torch.cat([ba, bc]),
                                [(ba, lambda x, h=h: x[:h]), (bc, lambda x, h=h: x[h:])])]
                else:
                    blocks += [(torch.stack([wa.t(), wc.t()]),
                                [(wa, lambda x: x[0].t()), (wc, lambda x: x[1].t())]),
                               (torch.stack([ba, bc]).unsqueeze(1),
                                [(ba, lambda x: x[0, 0]), (bc, lambda x: x[1, 0])])]
            self.flat = torch.cat([v.reshape(-1) for v, _ in blocks])
        self.grad = torch.zeros_like(self.flat)
        self.blocks, self.grads, self._views = [], [], []
        off = 0
        for v, views in blocks:
            self.blocks.append(self.flat[off:off + v.numel()].view(v.shape))
            self.grads.append(self.grad[off:off + v.numel()].view(v.shape))
            off += v.numel()
            for param, view in views:
                param.data = view(self.blocks[-1])
                self._views.append((param, len(self.blocks) - 1, view))

    def unpack(self) -> None:
        """Give each module parameter its own contiguous copy again (the agent ``train`` returns
        is laid out as any other ``Agent``); ``flat`` no longer moves them."""
        with torch.no_grad():
            for p, _, _ in self._views:
                p.data = p.data.clone(memory_format=torch.contiguous_format)

    def param_grads(self) -> list[tuple[nn.Parameter, torch.Tensor]]:
        """Each module parameter with its gradient's view of ``grad``."""
        return [(p, view(self.grads[i])) for p, i, view in self._views]

    def forward(self, obs: torch.Tensor):
        """(logits, value, hidden activations) of ``obs``, no autograd."""
        L, hs = self.blocks, []
        ha = hc = obs
        if self.depth:
            h = _tanh_nograd(torch.addmm(L[1], obs, L[0]))
            hs.append(h)
            if self.depth > 1:   # (2, rows, h): the actor's rows, then the critic's
                h = h.view(-1, 2, self.h0).transpose(0, 1)
                hs[0] = h
                for k in range(1, self.depth):
                    h = _tanh_nograd(torch.baddbmm(L[2 * k + 1], h, L[2 * k]))
                    hs.append(h)
                ha, hc = h[0], h[1]
            else:
                ha, hc = h[:, :self.h0], h[:, self.h0:]
        k = 2 * self.depth
        return torch.addmm(L[k + 1], ha, L[k]), torch.addmm(L[k + 3], hc, L[k + 2]).squeeze(-1), hs, ha, hc

    def loss_grad(self, cfg: Config, ent_coef: float, obs, act, old_logp, old_val, ret, neg_adv):
        """Write into ``grad`` the gradient of the PPO loss of one minibatch (``neg_adv``: minus its
        normalised advantages) and return what the statistics need: ``(ratio, log_ratio, lsm,
        new_val)``. The loss (CleanRL's, as ``Agent.evaluate`` and the code this replaced):
        ``mean(max(-A r, -A clamp(r, 1-c, 1+c))) - ent_coef mean(H) + vf_coef v_loss``, ``v_loss``
        ``0.5 mean((v - R)^2)`` or, with value clipping, ``0.5 mean(max((v - R)^2, (v_c - R)^2))``,
        ``v_c = v_old + clamp(v - v_old, -c, c)``."""
        logits, new_val, hs, ha, hc = self.forward(obs)
        B = obs.shape[0]
        multi = len(self.nvec) > 1
        parts = torch.split(logits, self.nvec, dim=-1) if multi else (logits,)
        lsm = [torch.log_softmax(lg, -1) for lg in parts]
        logp = None
        for j, x in enumerate(lsm):
            lp = x.gather(-1, act[:, j:j + 1]).squeeze(-1)
            logp = lp if logp is None else logp + lp
        log_ratio = logp - old_logp
        ratio = log_ratio.exp()
        # d/d ratio of mean(max(u1, u2)), u1 = -A r, u2 = -A clamp(r): -A/B where u1 wins, and on a
        # tie half through each branch, whose clamp passes it inside [1-c, 1+c]: a tie outside it
        # needs A = 0. So d/d logp = d/d ratio * ratio = u1 / B where u1 >= u2, else 0.
        u1 = neg_adv * ratio
        d_logp = torch.where(u1 >= neg_adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef), u1, 0.0)
        d_logp.mul_(1.0 / B)
        d_logits = []
        for j, x in enumerate(lsm):
            p = x.exp()
            d = p * d_logp.neg().unsqueeze(1)           # d logp / d logits = onehot(a) - softmax
            d.scatter_add_(1, act[:, j:j + 1], d_logp.unsqueeze(1))
            if ent_coef != 0.0:   # d H / d logits = -p (log p + H), H = -sum p log p
                plogp = p * x
                d.add_(plogp - p * plogp.sum(-1, keepdim=True), alpha=ent_coef / B)
            d_logits.append(d)
        d_lg = torch.cat(d_logits, 1) if multi else d_logits[0]
        e1 = new_val - ret
        if cfg.clip_vloss:
            dv = new_val - old_val
            dvc = dv.clamp(-cfg.clip_coef, cfg.clip_coef)
            e2 = old_val + dvc - ret
            s1, s2 = e1 * e1, e2 * e2
            # max: all to the larger square, half each on a tie; clamp passes d/dv inside [-c, c]
            w1 = torch.where(s1 > s2, 1.0, torch.where(s1 == s2, 0.5, 0.0))
            d_v = e1 * w1 + e2 * (dvc == dv) * (1.0 - w1)
            d_v.mul_(cfg.vf_coef / B)
        else:
            d_v = e1 * (cfg.vf_coef / B)
        d_v = d_v.unsqueeze(1)
        L, G = self.blocks, self.grads
        k = 2 * self.depth
        torch.mm(ha.t(), d_lg, out=G[k])
        torch.sum(d_lg, 0, out=G[k + 1])
        torch.mm(hc.t(), d_v, out=G[k + 2])
        torch.sum(d_v, 0, out=G[k + 3])
        if self.depth:
            d_ha, d_hc = torch.mm(d_lg, L[k].t()), d_v * L[k + 2].t()
            if self.depth > 1:
                dh = torch.stack([d_ha, d_hc])
                for k in range(self.depth - 1, 0, -1):
                    dz = torch.ops.aten.tanh_backward(dh, hs[k])
                    torch.bmm(hs[k - 1].transpose(1, 2), dz, out=G[2 * k])
                    torch.sum(dz, 1, keepdim=True, out=G[2 * k + 1])
                    dh = torch.bmm(dz, L[2 * k].transpose(1, 2))
                dh = dh.transpose(0, 1).reshape(B, -1)
                h0 = hs[0].transpose(0, 1).reshape(B, -1)
            else:
                dh, h0 = torch.cat([d_ha, d_hc], 1), hs[0]
            dz = torch.ops.aten.tanh_backward(dh, h0)
            torch.mm(obs.t(), dz, out=G[0])
            torch.sum(dz, 0, out=G[1])
        return ratio, log_ratio, lsm, new_val


class _FlatAdam:
    """``torch.optim.Adam(fused=True)`` (eps 1e-5) for one tensor, without the optimizer's
    per-call Python bookkeeping (about 0.4 ms a step, measured, more than the kernel): the same
    kernel with the same arguments, so the same update. Where the fused kernel is missing, the
    standard multi-tensor Adam does the step. ``param_groups[0]["lr"]`` is read at each step (the
    annealing writes it there)."""

    def __init__(self, param: torch.Tensor, lr: float, eps: float = 1e-5, betas=(0.9, 0.999)):
        self.param, self.eps, self.betas = param, eps, betas
        self.param_groups = [{"lr": lr}]
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.state_step = torch.zeros((), dtype=torch.float32, device=param.device)
        self._fallback = None if hasattr(torch, "_fused_adam_") else self._make_fallback()

    def _make_fallback(self):
        return torch.optim.Adam([self.param], lr=self.param_groups[0]["lr"], eps=self.eps,
                                betas=self.betas, foreach=True)

    def step(self, grad: torch.Tensor) -> None:
        lr = self.param_groups[0]["lr"]
        if self._fallback is None:
            self.state_step.add_(1.0)
            try:
                torch._fused_adam_([self.param], [grad], [self.exp_avg], [self.exp_avg_sq], [],
                                   [self.state_step], amsgrad=False, lr=lr, beta1=self.betas[0],
                                   beta2=self.betas[1], weight_decay=0.0, eps=self.eps, maximize=False,
                                   grad_scale=None, found_inf=None)
                return
            except (RuntimeError, NotImplementedError):   # no fused kernel for this device
                if self.state_step.item() > 1.0:
                    raise
                self.state_step.zero_()
                self._fallback = self._make_fallback()
        self._fallback.param_groups[0]["lr"] = lr
        self.param.grad = grad
        self._fallback.step()
        self.param.grad = None


def _gae(cfg: Config, rew, val, term, done) -> torch.Tensor:
    """Generalised advantage estimation. Step t's successor value is ``val[t + 1]``: the next
    step's observation, which after a done step is the episode's final observation (next_step
    autoreset), so a truncation bootstraps from V(final_obs) and a success from 0. The chain of
    advantages is cut after every done step (the next step belongs to no episode)."""
    T = rew.shape[0]
    adv = torch.zeros_like(rew)
    last = torch.zeros_like(rew[0])
    for t in reversed(range(T)):
        delta = rew[t] + cfg.gamma * val[t + 1] * (1.0 - term[t]) - val[t]
        last = delta + cfg.gamma * cfg.gae_lambda * (1.0 - done[t]) * last
        adv[t] = last
    return adv


@torch.no_grad()
def _update(cfg: Config, packed: _Packed, optim, obs, act, logp, val, adv, ret, valid, ent_coef) -> dict:
    """``update_epochs`` passes of minibatch gradient steps over the rollout (reset steps left
    out), CleanRL's loss (``_Packed.loss_grad``). Each epoch gathers the rollout once in a random
    order (one ``index_select`` per tensor) and takes its minibatches as consecutive slices of it:
    the same samples as indexing each minibatch by its slice of the permutation, with fewer calls.
    The per-minibatch advantage normalisation is done for all minibatches of an epoch at once; the
    statistics are kept as tensors and read once at the end."""
    b_obs = obs.reshape(-1, obs.shape[-1])
    b_act = act.reshape(-1, act.shape[-1])
    b_logp, b_val, b_adv, b_ret = logp.reshape(-1), val.reshape(-1), adv.reshape(-1), ret.reshape(-1)
    keep = valid.reshape(-1) > 0.5
    if not bool(keep.all()):  # drop the reset steps (their actions did nothing)
        b_obs, b_act, b_logp, b_val, b_adv, b_ret = (x[keep] for x in (b_obs, b_act, b_logp, b_val,
                                                                        b_adv, b_ret))
    size = b_obs.shape[0]
    mb = max(1, size // cfg.num_minibatches)
    nmb = size // mb   # whole minibatches per epoch (a remainder of the permutation is left out)
    grad, ratios, last = packed.grad, [], None
    for _ in range(cfg.update_epochs):
        perm = torch.randperm(size, device=b_obs.device)[:nmb * mb]
        e_obs, e_act, e_logp, e_val, e_ret = (x.index_select(0, perm) for x in (b_obs, b_act, b_logp,
                                                                                b_val, b_ret))
        a = b_adv.index_select(0, perm).view(nmb, mb)
        neg_adv = ((a - a.mean(1, keepdim=True)) / (a.std(1, keepdim=True) + 1e-8)).neg_()
        for k in range(nmb):
            s = slice(k * mb, (k + 1) * mb)
            out = packed.loss_grad(cfg, ent_coef, e_obs[s], e_act[s], e_logp[s], e_val[s], e_ret[s],
                                   neg_adv[k])
            ratios.append(out[0])
            last = (out, neg_adv[k], e_val[s], e_ret[s])
            # nn.utils.clip_grad_norm_'s arithmetic, on the one flat gradient
            grad.mul_((cfg.max_grad_norm / (torch.linalg.vector_norm(grad) + 1e-6)).clamp_(max=1.0))
            optim.step(grad)
    if last is None:
        return {"pg_loss": 0.0, "v_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "clipfrac": 0.0}
    # what is reported: the last minibatch's losses and approx_kl, clipfrac over all minibatches
    (ratio, log_ratio, lsm, new_val), na, old_val, ret_ = last
    pg_loss = torch.max(na * ratio, na * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
    if cfg.clip_vloss:
        v_clipped = old_val + (new_val - old_val).clamp(-cfg.clip_coef, cfg.clip_coef)
        v_loss = 0.5 * torch.max((new_val - ret_) ** 2, (v_clipped - ret_) ** 2).mean()
    else:
        v_loss = 0.5 * ((new_val - ret_) ** 2).mean()
    ent = -sum((x.exp() * x).sum(-1) for x in lsm).mean()
    approx_kl = ((ratio - 1) - log_ratio).mean()
    clipfrac = ((torch.stack(ratios) - 1.0).abs() > cfg.clip_coef).float().mean(1).mean()
    return {"pg_loss": round(float(pg_loss), 5), "v_loss": round(float(v_loss), 5),
            "entropy": round(float(ent), 4), "approx_kl": round(float(approx_kl), 5),
            "clipfrac": round(float(clipfrac), 4)}


# ------------------------------------------------------------------------------- evaluation

@torch.inference_mode()
def evaluate(scenario: str, agent: Agent | None = None, *, episodes: int = 256, greedy: bool = True,
             seed: int = 10_000, device: str = "cpu", env_kwargs: dict | None = None) -> dict:
    """Play ``episodes`` episodes (one per env, all started together) with ``agent`` (greedy
    by default) or, with ``agent=None``, uniformly random actions. Returns the means of
    ``episode_metrics`` plus ``return`` and ``length``, and ``episodes``."""
    steps = SCENARIOS[scenario].episode_steps
    venv = make_vec(scenario, episodes, obs="features", copy=False, infos=("episode",),
                    autoreset_mode="next_step", **(env_kwargs or {}))
    rng = np.random.default_rng(seed)
    space = venv.single_action_space
    discrete = not hasattr(space, "nvec")
    nvec = np.array([space.n] if discrete else space.nvec)
    dev = torch.device(device)
    if agent is not None:
        agent = agent.to(dev)
    cols: dict[str, np.ndarray] = {}
    seen = np.zeros(episodes, np.bool_)
    try:
        obs, _ = venv.reset(seed=seed)
        for _ in range(steps):
            if agent is None:
                a = rng.integers(0, nvec, size=(episodes, len(nvec)))
                a = a[:, 0] if discrete else a
            else:
                acts, _, _ = agent.act(torch.from_numpy(obs).to(dev), greedy=greedy, value=False)
                a = _env_actions(acts, discrete)
            obs, _, te, tr, infos = venv.step(a)
            first = (te | tr) & ~seen
            if first.any():
                idx = np.flatnonzero(first)
                m = episode_metrics(scenario, obs[idx], te[idx])
                m["return"], m["length"] = infos["episode"]["r"][idx], infos["episode"]["l"][idx]
                for k, v in m.items():
                    cols.setdefault(k, np.zeros(episodes))[idx] = v
                seen |= first
            if seen.all():
                break
    finally:
        venv.close()
    out = {k: float(v.mean()) for k, v in cols.items()}
    out["episodes"] = int(seen.sum())
    return out


# ------------------------------------------------------------------------------- files

def save_checkpoint(path: str, agent: Agent, cfg: Config, extra: dict | None = None) -> None:
    """Write the agent and its config to ``path`` (atomically, through a temporary file)."""
    tmp = path + ".tmp"
    torch.save({"state_dict": agent.state_dict(), "obs_dim": agent.obs_dim, "nvec": agent.nvec,
                "hidden": list(agent.hidden), "config": cfg.to_dict(), "extra": extra or {}}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str, device: str = "cpu") -> tuple[Agent, dict]:
    """The agent saved at ``path`` and the rest of the checkpoint (config, extras)."""
    ck = torch.load(path, map_location=device, weights_only=False)
    agent = Agent(ck["obs_dim"], ck["nvec"], ck["hidden"])
    agent.load_state_dict(ck["state_dict"])
    return agent, ck["config"]


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def plot_curve(history: list[dict], path: str, scenario: str, random_level: dict | None = None,
               title: str | None = None) -> bool:
    """Learning curve PNG: episodic return and success (and the scenario's task measure) against
    env steps, with the random policy's level as dashed lines. False if matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    keys = ["return", "success"] + {"mining_micro": ["ore"],
                                    "building_micro": ["crafted_drill", "drill_on_ore", "furnace_placed",
                                                       "fuelled", "drill_fed_furnace",
                                                       "first_plate"]}.get(scenario, [])
    # a run too short for any episode to end still gets its axes (and the random level)
    keys = [k for k in keys if k in ("return", "success") or any(k in r for r in history)]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, k in zip(axes[0], keys):
        xs = [r["step"] for r in history if k in r]
        ax.plot(xs, [r[k] for r in history if k in r], label="PPO")
        if random_level and k in random_level:
            ax.axhline(random_level[k], ls="--", color="grey", label="random")
        ax.set_xlabel("env steps")
        ax.set_title(k)
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="best")
    fig.suptitle(title or scenario)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


@torch.inference_mode()
def render_strip(scenario: str, agent: Agent, path: str, *, frames: int = 8, seed: int = 10_000,
                 env_kwargs: dict | None = None) -> int:
    """PNG strip of ``frames`` frames (evenly spaced) of one greedy episode from ``render()``.
    Returns the episode's length."""
    venv = make_vec(scenario, 1, obs="features", copy=True, autoreset_mode="next_step",
                    **(env_kwargs or {}))
    space = venv.single_action_space
    discrete = not hasattr(space, "nvec")
    shots = []
    try:
        obs, _ = venv.reset(seed=seed)
        shots.append(venv.render(0))
        for _ in range(SCENARIOS[scenario].episode_steps):
            acts, _, _ = agent.act(torch.from_numpy(obs), greedy=True, value=False)
            obs, _, te, tr, _ = venv.step(_env_actions(acts, discrete))
            shots.append(venv.render(0))  # next_step autoreset: the end state is still shown
            if te[0] or tr[0]:
                break
    finally:
        venv.close()
    pick = np.unique(np.linspace(0, len(shots) - 1, min(frames, len(shots))).round().astype(int))
    zoom = max(1, 256 // shots[0].shape[0])  # small maps: nearest-neighbour upscale to see the character
    shots = [s.repeat(zoom, 0).repeat(zoom, 1) if zoom > 1 else s for s in shots]
    gap = np.full((shots[0].shape[0], 4, 3), 255, np.uint8)
    strip = np.concatenate([x for i in pick for x in (shots[i], gap)][:-1], axis=1)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.imsave(path, strip)
    return len(shots)


# ------------------------------------------------------------------------------- the whole run

def run(cfg: Config, out_dir: str, *, eval_episodes: int = 256, progress: bool = True,
        checkpoint_every: int = 20, strip_frames: int = 8, max_seconds: float = 0.0,
        max_cpu_seconds: float = 0.0, print_fn=print) -> dict:
    """What ``factorio-fast train`` does: the random policy's level, training with a progress bar
    (SPS, return, success), ``progress.csv``/``progress.jsonl`` (and TensorBoard if importable),
    checkpoints, then the learning curve ``curve.png``, the evaluation of the greedy policy vs
    random over ``eval_episodes`` episodes (``eval.json``) and ``episode.png``, a strip of one
    greedy episode. ``max_seconds`` / ``max_cpu_seconds`` (if > 0) stop training early after that
    much wall-clock / process CPU time. Returns the summary written to ``summary.json``."""
    import csv

    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "config.json"), cfg.to_dict())
    env_kw = cfg.env_kwargs
    rand = evaluate(cfg.scenario, None, episodes=eval_episodes, seed=cfg.seed + 1_000_003, env_kwargs=env_kw)
    print_fn(f"random policy over {rand['episodes']} episodes: " + _fmt(rand))

    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=cfg.total_steps, unit="step", unit_scale=True, dynamic_ncols=True)
        except ImportError:
            bar = None
    tb = None
    try:
        from torch.utils.tensorboard import SummaryWriter
        tb = SummaryWriter(os.path.join(out_dir, "tb"))
    except Exception:  # tensorboard not installed: CSV and JSON only
        tb = None
    csv_f = open(os.path.join(out_dir, "progress.csv"), "w", newline="")
    jsonl_f = open(os.path.join(out_dir, "progress.jsonl"), "w")
    writer = None
    ck_path = os.path.join(out_dir, "checkpoint.pt")
    last = {"step": 0}

    def callback(row: dict) -> bool:
        nonlocal writer
        if writer is None:  # episode columns are missing until episodes end: name them all now
            names = list(row)
            extra = [k for k in ["return", "length"] + METRICS[cfg.scenario] if k not in names]
            writer = csv.DictWriter(csv_f, fieldnames=names[:4] + extra + names[4:],
                                    extrasaction="ignore", restval="")
            writer.writeheader()
        writer.writerow(row)
        jsonl_f.write(json.dumps(row) + "\n")
        if row["update"] % 10 == 0:
            csv_f.flush()
            jsonl_f.flush()
        if tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "step":
                    tb.add_scalar(k, v, row["step"])
        if bar is not None:
            bar.update(row["step"] - last["step"])
            post = {"sps": f"{row['sps']:.0f}"}
            for k in ("return", "success", "ore", "first_plate"):
                if k in row:
                    post[k[:6]] = f"{row[k]:.3g}"
            bar.set_postfix(post, refresh=False)
        last["step"] = row["step"]
        return bool((max_seconds and row["time"] >= max_seconds) or
                    (max_cpu_seconds and row["cpu_time"] >= max_cpu_seconds))

    def checkpoint(agent: Agent, row: dict) -> None:
        if row["update"] % checkpoint_every == 0:
            save_checkpoint(ck_path, agent, cfg, {"step": row["step"]})

    try:
        res = train(cfg, callback=callback, checkpoint=checkpoint)
    finally:
        if bar is not None:
            bar.close()
        csv_f.close()
        jsonl_f.close()
        if tb is not None:
            tb.close()
    save_checkpoint(ck_path, res.agent, cfg, {"step": res.steps})
    t = res.timing
    split = {k: round(t[k], 2) for k in ("env", "inference", "update", "total", "cpu")}
    print_fn(f"trained {res.steps} steps in {t['total']:.1f} s ({res.steps / t['total']:.0f} steps/s, "
             f"{t['cpu']:.1f} s of CPU); "
             f"time split: env {t['env']:.1f} s ({100 * t['env'] / t['total']:.0f} %), inference "
             f"{t['inference']:.1f} s ({100 * t['inference'] / t['total']:.0f} %), update "
             f"{t['update']:.1f} s ({100 * t['update'] / t['total']:.0f} %)")
    agent = res.agent.to("cpu")
    greedy = evaluate(cfg.scenario, agent, episodes=eval_episodes, seed=cfg.seed + 2_000_003,
                      env_kwargs=env_kw)
    sampled = evaluate(cfg.scenario, agent, episodes=eval_episodes, greedy=False, seed=cfg.seed + 2_000_003,
                       env_kwargs=env_kw)
    print_fn(f"PPO greedy over {greedy['episodes']} episodes: " + _fmt(greedy))
    print_fn(f"PPO sampled over {sampled['episodes']} episodes: " + _fmt(sampled))
    files = {"checkpoint": ck_path}
    curve = os.path.join(out_dir, "curve.png")
    if plot_curve(res.history, curve, cfg.scenario, rand,
                  title=f"{cfg.scenario}: PPO, {res.steps} steps in {t['total']:.0f} s "
                        f"({t['cpu']:.0f} s of CPU)"):
        files["curve"] = curve
    try:
        strip = os.path.join(out_dir, "episode.png")
        render_strip(cfg.scenario, agent, strip, frames=strip_frames, seed=cfg.seed + 3_000_003,
                     env_kwargs=env_kw)
        files["episode"] = strip
    except ImportError:
        pass
    summary = {"scenario": cfg.scenario, "steps": res.steps, "seconds": round(t["total"], 2),
               "cpu_seconds": round(t["cpu"], 2),
               "sps": round(res.steps / t["total"], 1), "time_split": split, "random": rand,
               "greedy": greedy, "sampled": sampled, "files": files}
    write_json(os.path.join(out_dir, "eval.json"), {"random": rand, "greedy": greedy, "sampled": sampled})
    write_json(os.path.join(out_dir, "summary.json"), summary)
    return summary


def _fmt(m: dict) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in m.items() if k != "episodes")
