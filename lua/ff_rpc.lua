-- The mod's one command, /ff <frame as text>: one request carries the batch for all envs, one
-- reply the batch of answers (docs/mod.md).
--
--   WORLD (6)    reset the listed envs to the worlds given     -> RAW: their states
--   ACTIONS (1)  one action per env; starts the step's ticks    -> RAW, status "accepted"
--   RAW (7)      (empty) collect the states after the step      -> RAW: every env's state, or
--                                                                   status "pending" while the
--                                                                   step's ticks still run
--   UDP (8)      subscribe to the UDP push of each step's states -> RAW, status "accepted"
--                (ff_udp.lua; Factorio >= 2.0.59 with --enable-lua-udp)
-- Anything malformed (bad text or base64, frame magic, version or length, wrong env count, an
-- action out of range, a request at the wrong time) answers an ERROR frame and changes nothing.
--
-- Stepping is lockstep: the ACTIONS command applies the actions and sets game.ticks_to_run to the
-- ticks per step while the game stays paused (game.tick_paused), so every surface runs exactly
-- that many ticks; the states are collected by a later command, never by the one that set
-- ticks_to_run, since that command runs before the ticks do (docs/factorio-facts.md §3.1).
local wire = require("ff_wire")
local world = require("ff_world")
local act = require("ff_act")
local obs = require("ff_obs")
local udp = require("ff_udp")

local M = {}

local STATES, ACCEPTED, PENDING = 0, 1, 2

local function decode_text(text)
  if type(text) ~= "string" or #text < 2 then return nil, nil, "empty request" end
  local how, body = text:sub(1, 1), text:sub(2)
  if how == "B" then
    local s, err = wire.b64decode(body)
    return s, how, err
  elseif how == "Z" then
    local s = helpers.decode_string(body)
    if s == nil then return nil, how, "helpers.decode_string refused the request" end
    return s, how
  end
  return nil, nil, "a request starts with B (base64) or Z (deflate + base64)"
end

local function encode_text(how, frame)
  if how == "Z" then return "Z" .. helpers.encode_string(frame) end
  return "B" .. wire.b64encode(frame)
end

local function stepping(st)
  return st ~= nil and st.step_end ~= nil and (game.ticks_to_run > 0 or game.tick < st.step_end)
end

local function all_envs(st)
  local list = {}
  for i = 0, st.n - 1 do list[#list + 1] = i end
  return list
end

local function on_world(payload)
  udp.cancel()
  local cfg, recs = world.parse(payload)
  if cfg == nil then return nil, recs end
  local st = storage.ff
  if st ~= nil and stepping(st) then return nil, "a step is still running" end
  if st ~= nil and (st.scenario ~= cfg.scenario or st.n ~= cfg.n or st.w ~= cfg.w or st.h ~= cfg.h) then
    return nil, "the server holds " .. st.n .. " envs of scenario " .. st.scenario .. " (" .. st.w
      .. "x" .. st.h .. "); this request is for " .. cfg.n .. " of scenario " .. cfg.scenario
  end
  if st == nil then
    st = world.configure(cfg)
    storage.ff = st
  end
  st.tps = cfg.tps
  local envs = {}
  for _, r in ipairs(recs) do
    world.build(st, st.envs[r.env], r)
    envs[#envs + 1] = r.env
  end
  return obs.payload(st, STATES, envs, st.step_end)
end

local function on_actions(payload, how, seq)
  local st = storage.ff
  if st == nil then return nil, "no envs yet: send a WORLD request first" end
  if stepping(st) then return nil, "a step is still running" end
  for i = 0, st.n - 1 do
    if not st.envs[i].built then return nil, "env " .. i .. " has no world yet" end
  end
  local actions, err = act.parse(payload, st.n)
  if actions == nil then return nil, err end
  for i = 0, st.n - 1 do act.apply(st, st.envs[i], actions[i]) end
  st.step_end = game.tick + st.tps
  game.ticks_to_run = st.tps
  udp.start(how, seq)  -- with a UDP subscription: the states follow as datagrams (ff_udp.lua)
  return obs.payload(st, ACCEPTED, nil, st.step_end)
end

local function on_poll(payload)
  local st = storage.ff
  if #payload ~= 0 then return nil, "a RAW request has an empty payload" end
  if st == nil then return nil, "no envs yet: send a WORLD request first" end
  if stepping(st) then return obs.payload(st, PENDING, nil, st.step_end) end
  for i = 0, st.n - 1 do
    if not st.envs[i].built then return nil, "env " .. i .. " has no world yet" end
  end
  udp.cancel()  -- the client has the states: no datagrams for them
  return obs.payload(st, STATES, all_envs(st), st.step_end)
end

-- UDP (8): subscribe to (or stop) the UDP push of each step's states (docs/mod.md §7).
local function on_udp(payload)
  local err = udp.subscribe(payload)
  if err ~= nil then return nil, err end
  return obs.payload(storage.ff, ACCEPTED, nil, storage.ff and storage.ff.step_end)
end

local HANDLERS = {[wire.T_WORLD] = on_world, [wire.T_ACTIONS] = on_actions, [wire.T_RAW] = on_poll,
                  [udp.T_UDP] = on_udp}

-- The reply frame of handler(...) as text: an error kept from on_tick first, then the handler's
-- RAW reply, or an ERROR frame for what it refused or raised. Never raises.
local function answer(how, seq, handler, ...)
  if storage.tick_error ~= nil then
    local e = storage.tick_error
    storage.tick_error = nil
    return encode_text(how, wire.frame(wire.T_ERROR, "on_tick failed: " .. e, seq))
  end
  local ok, reply, why = pcall(handler, ...)
  if not ok then
    return encode_text(how, wire.frame(wire.T_ERROR, "internal error: " .. tostring(reply), seq))
  end
  if reply == nil then return encode_text(how, wire.frame(wire.T_ERROR, why, seq)) end
  return encode_text(how, wire.frame(wire.T_RAW, reply, seq))
end

-- The reply text for one request text. Never raises.
function M.handle(text)
  local frame, how, err = decode_text(text)
  how = how or "B"
  if frame == nil then return encode_text(how, wire.frame(wire.T_ERROR, err)) end
  local ftype, payload, seq = wire.unframe(frame)
  if ftype == nil then return encode_text(how, wire.frame(wire.T_ERROR, payload)) end
  local handler = HANDLERS[ftype]
  if handler == nil then
    return encode_text(how, wire.frame(wire.T_ERROR, "frame type " .. ftype .. " is not a request", seq))
  end
  return answer(how, seq, handler, payload, how, seq)
end

function M.command(cmd)
  rcon.print(M.handle(cmd.parameter))
end

-- The reply a RAW poll gets now, for the request with sequence seq (the UDP push sends it).
local function poll_reply(how, seq)
  return answer(how, seq, on_poll, "")
end
udp.set_reply_builder(poll_reply)

M.stepping = stepping

-- on_udp_packet_received (Factorio >= 2.0.59): the UDP push's trigger (ff_udp.lua).
function M.on_udp_packet(event)
  udp.on_packet(event, stepping)
end

-- on_tick: re-apply walking (one-shot in the game). Never raises inside a tick: a failure is
-- kept and reported as an ERROR frame to the next request.
function M.on_tick()
  local st = storage.ff
  if st == nil then return end
  local ok, err = pcall(act.tick, st)
  if not ok and storage.tick_error == nil then storage.tick_error = tostring(err) end
end

return M
