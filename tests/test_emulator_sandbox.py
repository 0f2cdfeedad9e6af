"""The emulator's Lua sandbox is shaped like Factorio's (docs/factorio-facts.md §1)."""

import pytest

pytest.importorskip("lupa.lua52")

from factorio_fast.emulator.sandbox import LuaError, Sandbox  # noqa: E402


@pytest.fixture
def mod(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.lua").write_text("LOADS = (LOADS or 0) + 1\nreturn {v = 41}\n")
    (tmp_path / "control.lua").write_text(
        'local a = require("lib.a")\n'
        'local b = require("lib/a")\n'
        'local c = require("__factorio_fast__/lib/a")\n'
        "SAME = (a == b and b == c)\n"
        "V = a.v + 1\n")
    return tmp_path


@pytest.fixture
def box(mod):
    s = Sandbox(mod)
    s.load_main()
    return s


def run(box, src):
    ok, res = box.run(src)
    return ok, res


@pytest.mark.parametrize("name", ["io", "os", "loadfile", "dofile", "coroutine", "package",
                                  "python", "collectgarbage", "module"])
def test_sandbox_has_no_unsafe_globals(box, name):
    assert run(box, f"return {name} == nil") == (True, True)


def test_sandbox_refuses_io_and_os_calls(box):
    ok, err = run(box, 'return io.open("/etc/passwd")')
    assert not ok and "attempt to index" in err and "io" in err
    ok, err = run(box, 'return os.execute("true")')
    assert not ok and "attempt to index" in err and "os" in err


@pytest.mark.parametrize("expr", ["1 | 2", "1 & 2", "1 << 2", "8 >> 1", "7 // 2", "~1"])
def test_sandbox_refuses_bitwise_operator_syntax(box, expr):
    # Lua 5.2 (like Factorio's lexer) has no bitwise operators: the chunk does not even load.
    ok, err = run(box, f"return {expr}")
    assert not ok
    assert "expected" in err or "unexpected symbol" in err


def test_sandbox_offers_bit32_and_factorio_globals(box):
    assert run(box, "return bit32.bor(1, 2) + bit32.lshift(1, 4)") == (True, 19)
    assert run(box, "return table_size({a = 1, b = 2, 3})") == (True, 3)
    assert run(box, "return serpent.line({1, 2, a = {b = 3}})") == (True, "{1, 2, a = {b = 3}}")
    assert run(box, 'return serpent.block({x = "y"})') == (True, '{\n  x = "y"\n}')
    ok, res = run(box, "local ok, t = serpent.load(serpent.line({1, {2}, k = 'v'})) return t[2][1]")
    assert (ok, res) == (True, 2)
    run(box, 'print("a", 1) log("b") localised_print("c")')
    assert box.stdout == ["a\t1", "c"]
    assert box.log_lines == ["b"]


def test_sandbox_load_takes_text_chunks_only(box):
    ok, res = run(box, "local f, err = load(string.dump(function() end)) return err")
    assert ok and "binary" in res
    ok, res = run(box, 'local f = load("return 7") return f()')
    assert (ok, res) == (True, 7)
    # a loaded chunk sees the mod's globals, not the emulator's
    assert run(box, 'return load("return io")()') == (True, None)


def test_sandbox_math_random_is_deterministic_and_randomseed_does_nothing(mod):
    a, b = Sandbox(mod), Sandbox(mod)
    seq = "local t = {} for i = 1, 5 do t[i] = math.random(100) end return table.concat(t, ',')"
    ra = a.run("math.randomseed(os and 1 or 2) " + seq)
    rb = b.run(seq)
    assert ra == rb and ra[0]


def test_sandbox_require_loads_mod_files_once_during_main_chunk(box):
    assert box.env.V == 42
    assert box.env.SAME is True
    assert box.env.LOADS == 1
    # outside control.lua's main chunk, require refuses (Factorio: not in event handlers)
    ok, err = run(box, 'return require("lib.a")')
    assert not ok and "outside of control.lua parsing" in err


@pytest.mark.parametrize("target", ["../escape", "lib/../lib/a", "socket.core", "__base__/x",
                                    "missing"])
def test_sandbox_require_refuses_anything_but_the_mods_files(tmp_path, target):
    (tmp_path / "control.lua").write_text(f'require("{target}")\n')
    s = Sandbox(tmp_path)
    with pytest.raises(LuaError, match="not found"):
        s.load_main()


def test_sandbox_main_chunk_errors_surface(tmp_path):
    (tmp_path / "control.lua").write_text("local x = 1 | 2\n")
    with pytest.raises(LuaError, match="expected"):
        Sandbox(tmp_path).load_main()
