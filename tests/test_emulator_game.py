"""The emulated server's lifecycle and clock, as docs/factorio-facts.md §2.2 and §3.1 describe the
game's: on_init once, on_tick every tick, commands between ticks, tick_paused + ticks_to_run."""

import pytest

pytest.importorskip("lupa.lua52")

from factorio_fast.emulator.game import Emulator, ModError  # noqa: E402
from factorio_fast.errors import InvalidArgumentError  # noqa: E402

CONTROL = """
MAIN_GAME = game
storage.log = storage.log or {}
local function note(s) local l = storage.log; l[#l + 1] = s end
script.on_init(function()
  INIT = (INIT or 0) + 1
  note("init@" .. game.tick)
  game.tick_paused = true
end)
script.on_event(defines.events.on_tick, function(e)
  note("tick" .. e.tick .. "/" .. game.tick .. "/" .. game.ticks_to_run)
  rcon.print("from on_tick")  -- a no-op: not an RCON command
  if storage.walker then
    storage.walker.walking_state = {walking = true, direction = defines.direction.east}
  end
  if storage.boom then error("boom") end
end)
commands.add_command("run", "run n ticks", function(cmd)
  note("cmd@" .. game.tick .. ":" .. tostring(cmd.parameter))
  game.ticks_to_run = tonumber(cmd.parameter)
  rcon.print("ok " .. cmd.name .. " " .. cmd.tick)
  rcon.print(tostring(cmd.player_index))
end)
commands.add_command("say", "", function(cmd) rcon.print(cmd.parameter == nil and "nil" or cmd.parameter) end)
commands.add_command("walker", "", function()
  local s = game.create_surface("w", {width = 16, height = 16})
  local tiles = {}
  for y = -8, 7 do for x = -8, 7 do tiles[#tiles + 1] = {name = "grass-1", position = {x, y}} end end
  s.set_tiles(tiles, false)
  storage.c = s.create_entity{name = "character", position = {0.5, 0.5}, force = "player"}
  rcon.print(serpent.line(storage.c.position))
end)
commands.add_command("pos", "", function() local p = storage.c.position rcon.print(p.x .. "," .. p.y) end)
commands.add_command("walk1", "", function()
  storage.c.walking_state = {walking = true, direction = defines.direction.east}
end)
commands.add_command("keepwalking", "", function() storage.walker = storage.c end)
commands.add_command("boom", "", function() storage.boom = true end)
"""


@pytest.fixture
def emu(tmp_path):
    (tmp_path / "control.lua").write_text(CONTROL)
    (tmp_path / "info.json").write_text('{"name": "factorio_fast", "version": "0.0.1"}')
    return Emulator(tmp_path)


def log(emu):
    return list(emu.storage.log.values())


def test_game_on_init_runs_once_after_the_main_chunk_without_game(emu):
    env = emu.sandbox.env
    assert env.MAIN_GAME is None  # no game object while control.lua's main chunk runs
    assert env.INIT == 1
    assert log(emu) == ["init@0"]
    assert env.game.tick_paused is True


def test_game_ticks_to_run_runs_exactly_that_many_ticks_then_pauses(emu):
    assert emu.run() == 0  # paused, nothing to run
    out = emu.command("/run 3")
    assert out == "ok run 0\nnil\n"  # the command ran between ticks; no player over RCON
    assert emu.game.tick == 0  # the command itself runs before the ticks
    assert emu.run() == 3
    assert emu.game.tick == 3 and emu.sandbox.env.game.ticks_to_run == 0
    assert emu.run() == 0  # paused again
    assert log(emu) == ["init@0", "cmd@0:3", "tick1/1/2", "tick2/2/1", "tick3/3/0"]


def test_game_unpaused_runs_every_tick_and_needs_a_bound(emu):
    emu.sandbox.run("game.tick_paused = false")
    with pytest.raises(InvalidArgumentError):
        emu.run()
    assert emu.run(max_ticks=5) == 5 and emu.game.tick == 5


def test_game_command_parameters_and_unknown_commands(emu):
    assert emu.command("/say hello world") == "hello world\n"
    assert emu.command("/say") == "nil\n"
    assert emu.command("/nope x").startswith("Unknown command")
    with pytest.raises(InvalidArgumentError):
        emu.command("no slash")


def test_game_walking_state_lasts_one_tick_unless_reapplied(emu):
    assert emu.command("/walker") == "{x = 0.5, y = 0.5}\n"
    emu.command("/walk1")
    emu.command("/run 5")
    emu.run()
    # one tick of walking east at 38/256 tile (docs/factorio-facts.md §4.2), then standing
    assert emu.command("/pos") == f"{0.5 + 38 / 256},0.5\n"
    emu.command("/keepwalking")
    emu.command("/run 4")
    emu.run()
    assert emu.command("/pos") == f"{0.5 + 5 * 38 / 256},0.5\n"


def test_game_an_error_in_on_tick_is_the_mods_crash(emu):
    emu.command("/boom")
    emu.command("/run 1")
    with pytest.raises(ModError, match="boom"):
        emu.run()


def test_game_commands_must_not_be_registered_twice(tmp_path):
    (tmp_path / "control.lua").write_text(
        'commands.add_command("a", "", function() end)\ncommands.add_command("a", "", function() end)\n')
    with pytest.raises(ModError, match="already exists"):
        Emulator(tmp_path)
