"""Adapters for RL libraries that need more than Gymnasium's API.

Each submodule imports its library; this package imports none, so the core never depends on
them. ``factorio_fast.integrations.sb3``: a native Stable-Baselines3 ``VecEnv`` over one
``make_vec`` batch (``pip install factorio_fast[sb3]``).

torchrl, CleanRL-style loops and Gymnasium's wrappers need no adapter: see the README's "Use
it with ..." section.
"""
