"""One id table, three languages: C (compiled), Python and the mod's Lua agree."""

import json

import pytest

from factorio_fast import codec, ids

lupa = pytest.importorskip("lupa.lua52")


@pytest.fixture
def lua():
    return lupa.LuaRuntime(unpack_returned_tuples=True)


def load(lua, path):
    return lua.execute(path.read_text())


def test_ids_lua_file_is_generated_from_c_tables(repo_root):
    assert (repo_root / "lua" / "ff_ids.lua").read_text() == ids.lua_source(), (
        "lua/ff_ids.lua is stale: run `python -m factorio_fast.ids --lua > lua/ff_ids.lua`")


def test_ids_lua_tables_equal_c(lua, repo_root):
    m = load(lua, repo_root / "lua" / "ff_ids.lua")
    assert list(m.tile_names.values()) == list(codec.TILE_NAMES)
    assert list(m.tile_blocks.values()) == list(codec.TILE_BLOCKS)
    assert list(m.entity_names.values()) == list(codec.ENTITY_NAMES)
    assert list(m.item_names.values()) == list(codec.ITEM_NAMES)
    assert list(m.item_stack.values()) == list(codec.ITEM_STACK)
    assert dict(m.tile_id.items()) == codec.TILE_IDS
    assert dict(m.entity_id.items()) == codec.ENTITY_IDS


def test_ids_water_blocks_and_shallow_water_does_not():
    # docs/factorio-facts.md §4.6: water, deepwater, *-green and out-of-map collide with the character.
    blocking = {n for n, b in zip(codec.TILE_NAMES, codec.TILE_BLOCKS) if b}
    assert blocking == {"out-of-map", "water", "deepwater", "water-green", "deepwater-green"}
    assert codec.TILE_SPEED[codec.TILE_IDS["concrete"]] == 1.4


def test_ids_lua_codec_matches_golden_vectors(lua, repo_root, data_dir):
    m = load(lua, repo_root / "lua" / "ff_codec.lua")
    golden = json.loads((data_dir / "golden_cells.json").read_text())
    for t, a, e, b, cell in golden["rows"]:
        assert m.encode_cell(t, a, e, b) == cell
        assert m.decode_cell(cell) == (t, min(a, 4095), e, b)
    assert m.encode_cell(16, 0, 0, False)[0] is None
    assert m.decode_cell(0x10)[0] is None


def test_ids_lua_codec_loads_without_bitwise_operators(repo_root):
    # Factorio's Lua 5.2.1 has no `|`, `&`, `<<`: the file must not contain them outside comments.
    code = [ln.split("--")[0] for ln in (repo_root / "lua" / "ff_codec.lua").read_text().splitlines()]
    assert not any(op in ln for ln in code for op in ("|", "&", "<<", ">>", "//"))
