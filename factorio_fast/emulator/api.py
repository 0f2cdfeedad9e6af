"""Factorio 2.0.45's runtime API surface, as data (``runtime-api-2.0.45.json``, next to this file).

The shim offers a subset of it, plus the few newer names in :data:`NEWER_API` (Lua UDP), which
the spec adds; ``tests/test_emulator_api.py`` walks every class, method, attribute and define
the shim offers and checks each against this spec, so a mod that runs on the emulator uses only
API that exists in the real game, with the same read/write modes and parameter names.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

__all__ = ["ApiSpec", "api_spec", "NEWER_API"]

_FILE = "runtime-api-2.0.45.json"

# API newer than the JSON, and only these names: Lua UDP, added in 2.0.59 (changelog 2.0.59;
# https://lua-api.factorio.com/latest/classes/LuaHelpers.html#send_udp, #recv_udp and
# https://lua-api.factorio.com/latest/events.html#on_udp_packet_received; docs/factorio-facts.md
# §2.2). The emulator offers them when it reports a version >= 2.0.59 (docs/emulator.md).
NEWER_API = {
    "version": "2.0.59",
    "methods": {
        "LuaHelpers": {
            "send_udp": {"params": [{"name": "port", "optional": False, "type": "uint16"},
                                    {"name": "data", "optional": False, "type": "LocalisedString"},
                                    {"name": "for_player", "optional": True,
                                     "type": "PlayerIdentification"}],
                         "returns": [], "takes_table": False},
            "recv_udp": {"params": [{"name": "for_player", "optional": True,
                                     "type": "PlayerIdentification"}],
                         "returns": [], "takes_table": False},
        },
    },
    "events": ["on_udp_packet_received"],
}


class ApiSpec:
    """Lookups into the API description (classes with their parents, defines, events, globals)."""

    def __init__(self, data: dict):
        self.version = data["application_version"]
        self.classes = data["classes"]
        self.global_objects = dict(data["global_objects"])
        self.global_functions = list(data["global_functions"])
        self.events = list(data["events"])
        # "defines.direction" -> ["north", ...]; define groups can nest ("defines.prototypes.item")
        self.defines = {k: list(v) for k, v in data["defines"].items()}
        for cls, methods in NEWER_API["methods"].items():
            self.classes[cls]["methods"].update(methods)
        for ev in NEWER_API["events"]:
            self.events.append(ev)
            self.defines["defines.events"].append(ev)

    def chain(self, cls: str) -> list[str]:
        """The class and its ancestors, nearest first (LuaEntity -> [LuaEntity, LuaControl])."""
        out = []
        while cls is not None:
            out.append(cls)
            cls = self.classes[cls]["parent"]
        return out

    def attribute(self, cls: str, name: str) -> dict | None:
        """The attribute's description ({'read', 'write', 'type'}) on cls or a parent, or None."""
        for c in self.chain(cls):
            a = self.classes[c]["attributes"].get(name)
            if a is not None:
                return a
        return None

    def method(self, cls: str, name: str) -> dict | None:
        """The method's description ({'params', 'takes_table', 'returns'}) on cls or a parent."""
        for c in self.chain(cls):
            m = self.classes[c]["methods"].get(name)
            if m is not None:
                return m
        return None

    def define_values(self, group: str) -> list[str]:
        """The names of one define group, in the spec's order ("defines.direction")."""
        return self.defines[group]


@functools.lru_cache(maxsize=1)
def api_spec() -> ApiSpec:
    """The packaged spec (parsed once)."""
    text = resources.files("factorio_fast.emulator").joinpath(_FILE).read_text(encoding="utf-8")
    return ApiSpec(json.loads(text))
