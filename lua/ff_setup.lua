-- on_init: the training optimisations, with Factorio 2.0's API.
local M = {}

function M.on_init()
  -- No pollution, no evolution, no expansion (API LuaGameScript::map_settings: the returned
  -- MapSettings' members are writable; docs/factorio-facts.md §5).
  local ms = game.map_settings
  ms.pollution.enabled = false
  ms.enemy_evolution.enabled = false
  ms.enemy_expansion.enabled = false
  -- No enemies on the default surface (the envs' surfaces are created with no_enemies_mode).
  local nauvis = game.get_surface("nauvis")
  if nauvis ~= nil then
    nauvis.peaceful_mode = true
    nauvis.no_enemies_mode = true
  end
  -- Autosave off where the API allows it (LuaGameScript::autosave_enabled). The server flag must
  -- do the rest: server-settings.json with "autosave_interval" set high (minutes) and
  -- "auto_pause": false, or a player-less server never ticks; the headless server still saves
  -- on exit (docs/factorio-facts.md §3.3).
  game.autosave_enabled = false
  -- Lockstep: the game runs only the ticks a step asks for (game.ticks_to_run, ff_rpc.lua), and
  -- runs them as fast as the CPU allows (the server aims at 60 x speed updates a second; a high
  -- speed lets ticks_to_run steps run unthrottled: docs/factorio-facts.md §3.1, inferred).
  game.tick_paused = true
  game.speed = 1000
end

return M
