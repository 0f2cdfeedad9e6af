"""A minimal custom loop over a factorio_fast vector env: what your own training code needs.

    python examples/custom_loop.py

One ``make_vec`` batch, float32 features, results as views (``copy=False``) used before the
next step, next_step autoreset (the step after an episode ends resets that env: its action is
ignored, so a learner should drop that transition), episode statistics in ``info["episode"]``.
Replace the random policy by your network.
"""

import numpy as np

import factorio_fast

NUM_ENVS = 256
env = factorio_fast.make_vec("movement_micro", NUM_ENVS, obs="features", copy=False,
                             autoreset_mode="next_step", infos=("episode",))
obs, _ = env.reset(seed=0)
rng = np.random.default_rng(0)
was_done = np.zeros(NUM_ENVS, bool)       # envs whose next step is a reset step
returns, successes = [], []
kept = 0
for _ in range(1_000):
    actions = rng.integers(0, env.single_action_space.n, NUM_ENVS)   # your policy(obs) here
    obs, reward, terminated, truncated, info = env.step(actions)
    kept += int((~was_done).sum())          # transitions a learner keeps (not reset steps)
    done = terminated | truncated          # obs of these envs is their episode's last one
    if "episode" in info:
        ended = info["_episode"]
        returns.extend(info["episode"]["r"][ended].tolist())
        successes.extend(terminated[ended].tolist())
    was_done = done
env.close()
print(f"{kept} transitions kept, {len(returns)} episodes: mean return {np.mean(returns):.3f}, "
      f"success {np.mean(successes):.3f}")
