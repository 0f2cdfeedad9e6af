"""The scenario registry: the seed's three templates, as the embedded simulator defines them.

The numbers come from the C table (``csrc/ff_sim.c``, ``ff_scenario_info``) so Python and C cannot
drift apart; the byte-for-byte observation layouts, action meanings, rewards and randomisation
are documented in ``docs/scenarios.md``.

>>> from factorio_fast import SCENARIOS
>>> SCENARIOS["movement_micro"].obs_bytes
64
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Scenario", "SCENARIOS", "get"]

_DESCRIPTIONS = {
    "movement_micro": "walk to a target tile around water and wooden chests (Discrete(9): stay, N..NW)",
    "mining_micro": "find, walk to and hand-mine iron ore until the goal count is mined",
    "building_micro": "mine, craft and place a burner drill on ore feeding a stone furnace; "
                      "smelt the goal number of iron plates",
}


@dataclass(frozen=True)
class Scenario:
    """One scenario template (defaults; ``make``/``make_vec`` keyword arguments override some).

    Attributes
    ----------
    name : str
        Registry key.
    map_size : tuple[int, int]
        Map width and height in tiles.
    obs_bytes : int
        Observation size in bytes (the seed's budget: 64 / 256 / 512).
    episode_steps : int
        Steps before truncation.
    nvec : tuple[int, ...]
        Action sizes: one entry is ``Discrete(n)``, more is ``MultiDiscrete(nvec)``.
    ticks_per_step : int
        Game ticks (1/60 s) simulated per env step.
    obstacles, max_obstacles : int
        Random obstacles per episode (default, upper bound).
    goal : int
        Ores to mine / plates to smelt (0 if the scenario has no count goal).
    target_sps : int
        The seed's target steps per second for this scenario.
    has_inventory : bool
        Whether the character's inventory matters (reported in ``info``).
    description : str
        One line on the task.
    """

    name: str
    map_size: tuple
    obs_bytes: int
    episode_steps: int
    nvec: tuple
    ticks_per_step: int
    obstacles: int
    max_obstacles: int
    goal: int
    target_sps: int
    has_inventory: bool
    description: str


def _load() -> Mapping[str, Scenario]:
    from factorio_fast._sim import SCENARIO_NAMES, scenario_info

    out = {}
    for name in SCENARIO_NAMES:
        info = scenario_info(name)
        out[name] = Scenario(
            name=name, map_size=tuple(info["map_size"]), obs_bytes=int(info["obs_bytes"]),
            episode_steps=int(info["episode_steps"]), nvec=tuple(info["nvec"]),
            ticks_per_step=int(info["ticks_per_step"]), obstacles=int(info["obstacles"]),
            max_obstacles=int(info["max_obstacles"]), goal=int(info["goal"]),
            target_sps=int(info["target_sps"]), has_inventory=name != "movement_micro",
            description=_DESCRIPTIONS.get(name, ""))
    return MappingProxyType(out)


SCENARIOS: Mapping[str, Scenario] = _load()


def get(name: str) -> Scenario:
    """The template called ``name``; ``InvalidArgumentError`` listing the valid names otherwise."""
    from factorio_fast.errors import InvalidArgumentError

    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f"unknown scenario {name!r}; valid choices: {', '.join(SCENARIOS)}") from None
