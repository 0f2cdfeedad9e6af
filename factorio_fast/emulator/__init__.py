"""The emulator of a Factorio server for the mod in ``lua/`` (docs/design.md §8, docs/mod.md).

The mod's own files run in a real Lua 5.2 (lupa) inside a sandbox shaped like Factorio's
(``sandbox``), against a shim of the Factorio runtime API (``shim``, ``game``, ``world``) whose
world is the native simulator's ``World`` (one per surface). The shim offers only API that exists
in Factorio 2.0.45 (``runtime-api-2.0.45.json``, checked by ``tests/test_emulator_api.py``).
"""
