"""The shim offers only Factorio 2.0.45 API (runtime-api-2.0.45.json), with the game's modes,
parameter names and error messages."""

import pytest

pytest.importorskip("lupa.lua52")

from factorio_fast.emulator.api import api_spec  # noqa: E402
from factorio_fast.emulator.game import SHIM_CLASSES, Emulator  # noqa: E402
from factorio_fast.emulator.shim import members  # noqa: E402

SPEC = api_spec()

# Type-specific parameters of LuaSurface::create_entity for resources, documented on the API page
# (https://lua-api.factorio.com/2.0.45/classes/LuaSurface.html#create_entity, "Additional
# type-specific parameters") but not in the extracted parameter list.
VARIANT_PARAMS = {("LuaSurface", "create_entity"): {"amount", "enable_tree_removal",
                                                    "enable_cliff_removal",
                                                    "snap_to_tile_center"}}


def test_api_spec_is_factorio_2_0_45():
    assert SPEC.version == "2.0.45"
    assert "LuaEntity" in SPEC.classes and SPEC.classes["LuaEntity"]["parent"] == "LuaControl"
    assert SPEC.define_values("defines.direction")[4] == "east"


@pytest.mark.parametrize("cls", SHIM_CLASSES, ids=lambda c: c.__name__)
def test_api_every_shim_member_exists_with_the_games_mode_and_parameters(cls):
    name = cls.API_CLASS
    assert cls.__name__ == name, "a shim class is named after its API class"
    assert name in SPEC.classes, f"{name} is not a Factorio 2.0.45 class"
    attrs, meths = members(cls)
    assert attrs or meths
    for key, a in attrs.items():
        spec = SPEC.attribute(name, key)
        assert spec is not None, f"{name}::{key} is not in the API"
        assert (bool(a.fget), bool(a.fset)) == (spec["read"], spec["write"]), \
            f"{name}::{key}: the shim's read/write mode differs from the API's"
    for key, m in meths.items():
        spec = SPEC.method(name, key)
        assert spec is not None, f"{name}::{key}() is not in the API"
        api_params = [p["name"] for p in spec["params"]]
        optional = {p["name"] for p in spec["params"] if p["optional"]}
        assert spec["takes_table"] == (m.table is not None), f"{name}::{key}: table call style"
        if m.table is not None:
            extra = set(m.table) - set(api_params) - VARIANT_PARAMS.get((name, key), set())
            assert not extra, f"{name}::{key} takes parameters the API lacks: {extra}"
            # the shim's one argument is the table itself
            assert len(m.params) == 1
        else:
            assert list(m.params) == api_params, \
                f"{name}::{key}: parameters {m.params} are not the API's {api_params}"
            shim_optional = set(m.params[m.required:])
            assert shim_optional <= optional, \
                f"{name}::{key}: the shim makes a required parameter optional"
            if m.filter:
                assert api_params == ["filter"]


def test_api_variant_parameters_are_on_the_documented_method():
    for (cls, meth), keys in VARIANT_PARAMS.items():
        assert SPEC.method(cls, meth)["takes_table"]
        assert not keys & {p["name"] for p in SPEC.method(cls, meth)["params"]}


@pytest.fixture(scope="module")
def emu():
    return Emulator()


def test_api_globals_are_the_games(emu):
    env = emu.sandbox.env
    offered = {k for k in ("game", "script", "commands", "rcon", "helpers", "prototypes",
                           "remote", "rendering", "settings") if env[k] is not None}
    assert offered <= set(SPEC.global_objects)
    for k in offered:
        assert env[k].object_name == SPEC.global_objects[k]
    for fn in SPEC.global_functions:  # log, table_size, localised_print
        assert env[fn] is not None


def test_api_every_define_offered_exists(emu):
    lua = emu.lua
    walk = lua.eval("""function(t)
      local out = {}
      local function rec(prefix, node)
        for k, v in pairs(node) do
          if type(v) == "table" then rec(prefix .. "." .. k, v) else out[#out + 1] = prefix .. "\\t" .. k end
        end
      end
      rec("defines", t)
      return table.concat(out, "\\n")
    end""")
    pairs_ = [ln.split("\t") for ln in walk(emu.sandbox.env.defines).splitlines()]
    assert len(pairs_) > 1000
    for group, name in pairs_:
        assert group in SPEC.defines, group
        assert name in SPEC.defines[group], f"{group}.{name}"
    d = emu.sandbox.env.defines
    assert [d.direction[n] for n in ("north", "east", "south", "west")] == [0, 4, 8, 12]
    assert d.events.on_tick == 0


def lua_error(emu, src):
    ok, err = emu.sandbox.run(src)
    assert not ok, f"{src!r} did not raise"
    return err


def test_api_unknown_keys_and_read_only_attributes_raise_as_the_game(emu):
    assert lua_error(emu, "return game.foo") == "LuaGameScript doesn't contain key foo."
    assert lua_error(emu, "game.foo = 1") == "LuaGameScript doesn't contain key foo."
    assert lua_error(emu, "game.tick = 5") == "LuaGameScript::tick is read only."
    assert lua_error(emu, "game.create_surface = 5") == "LuaGameScript::create_surface is read only."
    assert lua_error(emu, "return helpers.write_file") == "LuaHelpers doesn't contain key write_file."
    # 1.1 names are gone in 2.0
    assert lua_error(emu, "return game.write_file") == "LuaGameScript doesn't contain key write_file."
    assert lua_error(emu, "return game.entity_prototypes") == \
        "LuaGameScript doesn't contain key entity_prototypes."
    s = "local s = game.create_surface('api_t', {width = 8, height = 8}) "
    assert lua_error(emu, s + "return s.nope") == "LuaSurface doesn't contain key nope."
    assert emu.sandbox.run("return game.get_surface('api_t').name") == (True, "api_t")
    # the metatable is not reachable
    assert emu.sandbox.run("return getmetatable(game)") == (True, "private")


def test_api_invalid_entities_raise_as_the_game(emu):
    src = """
      local s = game.create_surface('api_inv', {width = 16, height = 16})
      local e = s.create_entity{name = 'iron-ore', position = {0.5, 0.5}, amount = 5}
      assert(e.valid and e.amount == 5 and e.name == 'iron-ore' and e.type == 'resource')
      e.destroy()
      assert(e.valid == false and e.object_name == 'LuaEntity')
      return e.amount
    """
    assert lua_error(emu, src) == "LuaEntity API call when LuaEntity was invalid."


def test_api_what_the_shim_cannot_do_says_so(emu):
    # an infinite map is the stand-in generator's (full_game); infinite on one axis is not
    err = lua_error(emu, "game.create_surface('inf', {width = 0, height = 8})")
    assert err.startswith("emulator: not emulated:")
    err = lua_error(emu, "local s = game.create_surface('inf2') "
                         "s.find_non_colliding_position('wooden-chest', {0, 0}, 4, 0.5)")
    assert err.startswith("emulator: not emulated:")
    err = lua_error(emu, "local s = game.create_surface('api_nx', {width = 8, height = 8}) "
                         "s.find_entities_filtered{area = {{0, 0}, {1, 1}}, collision_mask = 'x'}")
    assert err.startswith("emulator: not emulated:") and "collision_mask" in err
