"""The mod's files: stock Lua 5.2 loads them, luacheck with Factorio's globals is clean, the wire
helpers are exact, and bad requests answer an ERROR frame without changing anything."""

import base64
import json
import math
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

from factorio_fast.emulator.modfiles import mod_dir

lupa = pytest.importorskip("lupa.lua52")

MOD = mod_dir()
LUA_FILES = sorted(MOD.glob("*.lua"))


def test_mod_is_the_repositorys_lua_folder(repo_root):
    assert MOD == (repo_root / "lua").resolve() or MOD == repo_root / "lua"
    assert {p.name for p in LUA_FILES} >= {"control.lua", "ff_codec.lua", "ff_ids.lua"}


def test_mod_info_json(repo_root):
    info = json.loads((MOD / "info.json").read_text())
    assert info["name"] == "factorio_fast"
    assert info["factorio_version"] == "2.0"
    assert any(d.split()[0] == "base" for d in info["dependencies"])
    pyproject = (repo_root / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert info["version"] == version


@pytest.mark.skipif(shutil.which("luac5.2") is None or shutil.which("lua5.2") is None,
                    reason="stock Lua 5.2 is not installed (apt-get install lua5.2)")
def test_mod_every_file_loads_in_stock_lua52():
    for p in LUA_FILES:
        subprocess.run(["luac5.2", "-p", str(p)], check=True)
    # the modules run in stock Lua 5.2; control.lua with stand-ins for Factorio's globals
    script = f"""
      package.path = "{MOD}/?.lua;" .. package.path
      for _, m in ipairs({{"ff_ids", "ff_codec", "ff_wire", "ff_proto", "ff_world", "ff_act",
                          "ff_obs", "ff_rpc", "ff_setup"}}) do assert(require(m)) end
      local seen = {{}}
      script = {{on_init = function(f) seen.init = f end,
                 on_event = function(e, f) seen[e] = f end}}
      commands = {{add_command = function(n, h, f) seen[n] = f end}}
      defines = {{events = {{on_tick = 0}}}}
      dofile("{MOD}/control.lua")
      assert(seen.init and seen[0] and seen.ff)
      print("ok")
    """
    out = subprocess.run(["lua5.2", "-e", script], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "ok"


@pytest.mark.skipif(shutil.which("luacheck") is None, reason="luacheck is not installed")
def test_mod_luacheck_is_clean(repo_root):
    r = subprocess.run(["luacheck", "lua", "--formatter", "plain", "--no-color"],
                       cwd=repo_root, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _code_lines(path):
    out = []
    for ln in path.read_text().splitlines():
        code = ln.split("--", 1)[0]
        # drop string literals, whose text is not code
        for q in ('"', "'"):
            parts = code.split(q)
            code = "".join(parts[::2])
        out.append(code)
    return out


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_mod_uses_factorio_2_lua_only(path):
    for ln in _code_lines(path):
        for op in ("|", "&", "<<", ">>", "//"):
            assert op not in ln, f"{path.name}: bitwise operator {op!r} (Lua 5.2 cannot parse it)"
        for banned in (r"\bstring\.pack", r"\bstring\.unpack", r"\bglobal\.",
                       r"\bgame\.write_file", r"\bgame\.table_to_json", r"\bgame\.encode_string",
                       r"\bgame\.players?\b", r"\bio\.", r"\bos\.", r"\bcoroutine\."):
            assert not re.search(banned, ln), f"{path.name}: {banned} (not in Factorio 2.0)"


# ---- the wire helpers in Lua ----

@pytest.fixture(scope="module")
def wire():
    lua = lupa.LuaRuntime(unpack_returned_tuples=True, encoding="latin-1")
    return lua.execute((MOD / "ff_wire.lua").read_text())


def test_mod_base64_equals_pythons(wire):
    rng = np.random.default_rng(0)
    for n in list(range(0, 20)) + [2999, 3000, 3001, 9001]:
        data = rng.integers(0, 256, n, np.uint8).tobytes()
        text = base64.b64encode(data).decode()
        assert wire.b64encode(data.decode("latin-1")) == text
        assert wire.b64decode(text) == data.decode("latin-1")


@pytest.mark.parametrize("bad", ["abc", "ab=c", "a===", "ab!d", "====", "ab\ncd"])
def test_mod_base64_refuses_garbage(wire, bad):
    assert wire.b64decode(bad)[0] is None


def test_mod_f32_reads_exactly(wire):
    rng = np.random.default_rng(1)
    vals = np.concatenate([rng.normal(0, 1e3, 500), rng.integers(-2**20, 2**20, 500),
                           [0.0, -0.0, 1e-45, 3.4e38, -1.5, 0.1]]).astype(np.float32)
    for v in vals:
        assert wire.rd_f32(v.tobytes().decode("latin-1"), 1) == float(v)
    for special in (np.inf, -np.inf, np.nan):
        assert wire.rd_f32(np.float32(special).tobytes().decode("latin-1"), 1) is None


def test_mod_frame_header_equals_the_c_codec(wire):
    from factorio_fast import codec
    payload = bytes(48)
    lua_frame = wire.frame(1, payload.decode("latin-1"), (7).to_bytes(8, "little")
                           .decode("latin-1")).encode("latin-1")
    assert lua_frame == codec.encode_frame(codec.FrameType.ACTIONS, payload, 7)
    ftype, body, seq = wire.unframe(lua_frame.decode("latin-1"))
    assert (ftype, body.encode("latin-1"), seq.encode("latin-1")) == \
        (1, payload, (7).to_bytes(8, "little"))


# ---- bad requests ----

from factorio_fast.emulator import wire as pywire  # noqa: E402
from factorio_fast.emulator.batch import EmulatorLink, ModBatch  # noqa: E402
from factorio_fast.emulator.game import Emulator  # noqa: E402

N = 3


@pytest.fixture
def server():
    emu = Emulator()
    mb = ModBatch("building_micro", N, EmulatorLink(emu))
    obs = np.zeros((N, 512), np.uint8)
    mb.reset(np.arange(N, dtype=np.uint64) + 5, obs=obs)
    # a step with crafting and walking, so there is state to keep
    mb.step(np.array([[10, 4, 4], [3, 4, 4], [11, 4, 4]]), obs=obs,
            rewards=np.zeros(N, np.float32), terminated=np.zeros(N, bool),
            truncated=np.zeros(N, bool))
    return emu, mb


def snapshot(emu):
    poll = pywire.to_text(pywire.frame(pywire.T_RAW, b"", 99), "B")
    raw = emu.command("/ff " + poll)
    worlds = []
    for s in emu.game._surfaces.values():
        if s.map is not None:
            w = s.map.live()
            worlds.append((w.cells().tobytes(), w.resources(), w.buildings(), w.position,
                           w.inventory().tolist(), w.mining_progress, w.craft_queue_length,
                           s.map.walk, w.craft_queue(), w.craft_progress))
    return raw, worlds, emu.game._tick, emu.game._to_run


def reply(emu, text):
    out = emu.command("/ff " + text)
    assert out.endswith("\n") and out.count("\n") == 1
    return pywire.unframe(pywire.from_text(out))


def frame_text(ftype, payload, how="B", seq=42, version=1, magic=0xFA57, length=None):
    head = struct.pack("<HBBIQ", magic, version, ftype,
                       len(payload) if length is None else length, seq)
    data = head + payload
    if how == "Z":
        return "Z" + base64.b64encode(zlib.compress(data)).decode()
    return "B" + base64.b64encode(data).decode()


def actions(rows):
    """FactorioAction records: rows of (action_type, p0, p1, ...)."""
    out = b""
    for t, *p in rows:
        params = (list(p) + [0.0] * 8)[:8]
        out += struct.pack("<B3x8f4xQ", t, *params, 0)  # FactorioAction: 48 bytes
    return out


def stand():
    return [(0,)] * N


def test_mod_action_records_are_48_bytes():
    from factorio_fast import ACTION_DTYPE
    assert len(actions([(0,)])) == ACTION_DTYPE.itemsize == 48


BAD_TEXTS = {
    "empty": "",
    "no prefix": "Qxyz",
    "garbage base64": "B!!!not base64!!!",
    "base64 of too few bytes": "B" + base64.b64encode(b"\x57\xfa\x01").decode(),
    "garbage deflate": "Z" + base64.b64encode(b"not deflate at all").decode(),
    "bad magic": frame_text(7, b"", magic=0x1234),
    "wrong version": frame_text(7, b"", version=2),
    "length says more": frame_text(7, b"", length=4),
    "length says less": frame_text(1, actions(stand()), length=10),
    "not a request type": frame_text(3, b""),
    "unknown type": frame_text(99, b""),
    "poll with a payload": frame_text(7, b"x"),
    "too few actions": frame_text(1, actions(stand()[:-1])),
    "too many actions": frame_text(1, actions(stand() + [(0,)])),
    "unknown action type": frame_text(1, actions([(7,)] + stand()[1:])),
    "odd walk direction": frame_text(1, actions([(1, 3.0)] + stand()[1:])),
    "walk direction 16": frame_text(1, actions([(1, 16.0)] + stand()[1:])),
    "NaN target": frame_text(1, actions([(2, math.nan, 1.0)] + stand()[1:])),
    "fractional target": frame_text(1, actions([(2, 1.5, 1.0)] + stand()[1:])),
    "recipe 4": frame_text(1, actions([(3, 4.0, 1.0)] + stand()[1:])),
    "craft count 0": frame_text(1, actions([(3, 0.0, 0.0)] + stand()[1:])),
    "place a plate": frame_text(1, actions([(4, 5.0, 60.0, 60.0, 0.0)] + stand()[1:])),
    "diagonal belt": frame_text(1, actions([(4, 9.0, 60.0, 60.0, 2.0)] + stand()[1:])),
    "insert gears": frame_text(1, actions([(5, 6.0, 60.0, 60.0, 5.0)] + stand()[1:])),
    "insert -1": frame_text(1, actions([(5, 3.0, 60.0, 60.0, -1.0)] + stand()[1:])),
    # a valid action for env 0 does not run when env 2's is bad
    "last env bad": frame_text(1, actions([(3, 0.0, 1.0), (1, 4.0), (6, 0.0, 0.5, 1.0)])),
}


REASONS = {"garbage base64": "base64", "bad magic": "magic", "wrong version": "version",
           "length says more": "length", "too few actions": "envs", "too many actions": "envs",
           "unknown action type": "unknown action type", "odd walk direction": "out of range",
           "NaN target": "not finite", "last env bad": "env 2", "not a request type": "type 3",
           "garbage deflate": "decode_string"}


@pytest.mark.parametrize("name", list(BAD_TEXTS))
def test_mod_bad_request_answers_an_error_frame_and_changes_nothing(server, name):
    emu, _ = server
    before = snapshot(emu)
    ftype, seq, body = reply(emu, BAD_TEXTS[name])
    assert ftype == pywire.T_ERROR, body
    assert body and body.decode("utf-8")
    if name in REASONS:
        assert REASONS[name] in body.decode(), body
    emu.run()  # no ticks were started
    assert snapshot(emu) == before


def world_text(mb, mutate):
    w = mb.source.describe(0)
    rec = pywire.world_record(0, w["tiles"], w["resources"], w["buildings"], w["position"],
                              w["inventory"], w["target"])
    fields = dict(scenario=2, n=N, count=1, tps=10, w=128, h=128, rec=rec)
    mutate(fields)
    head = struct.pack("<BBHHHHHI", fields["scenario"], 0, fields["n"], fields["count"],
                       fields["tps"], fields["w"], fields["h"], 0)
    return frame_text(pywire.T_WORLD, head + fields["rec"])


BAD_WORLDS = {
    "other scenario": lambda f: f.update(scenario=1, w=64, h=64),
    "other env count": lambda f: f.update(n=N + 1),
    "unknown scenario": lambda f: f.update(scenario=9),
    "more records than sent": lambda f: f.update(count=2),
    "ticks per step 0": lambda f: f.update(tps=0),
    "env index out of range": lambda f: f.update(rec=struct.pack("<H", N) + f["rec"][2:]),
    "tile runs short": lambda f: f.update(rec=f["rec"][:2] + struct.pack("<H", 1) + f["rec"][4:]),
    "truncated": lambda f: f.update(rec=f["rec"][:-3]),
    "extra bytes": lambda f: f.update(rec=f["rec"] + b"\0"),
    "start off the map": lambda f: f.update(rec=f["rec"][:8] + struct.pack("<i", 128 * 256)
                                            + f["rec"][12:]),
}


@pytest.mark.parametrize("name", list(BAD_WORLDS))
def test_mod_bad_world_request_answers_an_error_frame_and_changes_nothing(server, name):
    emu, mb = server
    before = snapshot(emu)
    ftype, _, body = reply(emu, world_text(mb, BAD_WORLDS[name]))
    assert ftype == pywire.T_ERROR, body
    assert snapshot(emu) == before


def test_mod_a_step_cannot_start_while_one_runs_and_its_states_are_pending(server):
    emu, _ = server
    ftype, seq, body = reply(emu, frame_text(1, actions(stand()), seq=5))
    assert ftype == pywire.T_RAW and seq == 5 and body[0] == 1, body  # accepted
    before = snapshot(emu)
    ftype, _, body = reply(emu, frame_text(1, actions(stand())))
    assert ftype == pywire.T_ERROR and b"still running" in body
    ftype, _, body = reply(emu, frame_text(7, b"", how="Z"))
    assert ftype == pywire.T_RAW and body[0] == 2  # pending: the ticks have not run yet
    assert snapshot(emu) == before
    assert emu.run() == 10
    ftype, _, body = reply(emu, frame_text(7, b""))
    assert ftype == pywire.T_RAW and body[0] == 0 and struct.unpack_from("<H", body, 2)[0] == N


def test_mod_before_any_world_it_refuses_steps_and_polls():
    emu = Emulator()
    for text in (frame_text(1, actions(stand())), frame_text(7, b"")):
        ftype, _, body = reply(emu, text)
        assert ftype == pywire.T_ERROR and b"WORLD" in body


def test_mod_never_raises_inside_a_tick(server):
    emu, _ = server
    ok, err = emu.sandbox.run("storage.ff.envs[1].walk = 4; storage.ff.envs[1].character = 5")
    assert ok, err
    reply(emu, frame_text(7, b""))  # a request before the tick: fine
    emu.game._to_run = 2
    assert emu.run() == 2  # on_tick failed inside, but nothing was raised out of the tick
    ftype, _, body = reply(emu, frame_text(7, b""))
    assert ftype == pywire.T_ERROR and b"on_tick failed" in body


def test_mod_on_init_training_settings():
    emu = Emulator()
    env = emu.sandbox.env
    ms = env.game.map_settings
    assert not ms.pollution.enabled and not ms.enemy_evolution.enabled
    assert not ms.enemy_expansion.enabled
    assert env.game.autosave_enabled is False
    assert env.game.tick_paused is True
    nauvis = env.game.get_surface("nauvis")
    assert nauvis.peaceful_mode and nauvis.no_enemies_mode


def test_mod_every_env_has_its_own_surface_and_character(server):
    emu, mb = server
    names = [s._name for s in emu.game._surfaces.values() if s.map is not None]
    assert names == [f"ff_env_{i}" for i in range(N)]
    chars = [s.map.character for s in emu.game._surfaces.values() if s.map is not None]
    assert all(c is not None and c._surface.map.character is c for c in chars)
    assert len({id(c) for c in chars}) == N
    assert mb.requests == 3  # reset: 1 WORLD; a step: ACTIONS + poll; one hand-off per batch
