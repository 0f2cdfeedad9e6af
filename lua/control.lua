-- factorio_fast's mod: the real game plays the project's scenarios in lockstep with the trainer.
-- docs/mod.md describes the requests, the replies and the raw-state record; docs/scenarios.md the
-- scenarios. Factorio 2.0 API only (storage, helpers, 16-valued defines.direction); a headless
-- server has no player, so the mod creates and drives a character entity per env.
local setup = require("ff_setup")
local rpc = require("ff_rpc")

script.on_init(setup.on_init)
script.on_event(defines.events.on_tick, rpc.on_tick)
-- Lua UDP exists from Factorio 2.0.59 on; older servers have no such event (RCON only).
if defines.events.on_udp_packet_received ~= nil then
  script.on_event(defines.events.on_udp_packet_received, rpc.on_udp_packet)
end
-- Registered at the top level: command registrations do not persist through save/load, and
-- this file runs on every load (API LuaCommandProcessor::add_command).
commands.add_command("ff", "factorio_fast: one request frame as text (B<base64> or Z<helpers."
  .. "encode_string>); prints one reply frame the same way", rpc.command)
