-- The mod's UDP path (Factorio >= 2.0.59 started with --enable-lua-udp PORT; docs/mod.md §7):
-- after a step's ACTIONS request (over RCON), the mod pushes the step's states to the client as
-- UDP datagrams as soon as the step's ticks are done, so a step costs one request instead of an
-- ACTIONS request and one or more RAW polls.
--
-- Why it works this way:
-- * While the game is paused between steps no mod code runs by itself: on_tick does not fire
--   (and is reported not to fire for the last of ticks_to_run ticks). The trigger is a packet
--   the mod sends to its own socket: helpers.recv_udp turns it into an input action, raised as
--   on_udp_packet_received at the next update, and updates (with their input actions) go on
--   while tick_paused is true, as RCON commands do.
-- * The handler runs at the same point of an update as an RCON command, so it makes the RAW
--   poll's own check ("is the step still running?") and, once the step is done, builds the very
--   reply a poll would get (the same bytes: docs/mod.md §4). While the step runs it re-arms.
-- * "Done" must be seen at two updates in a row before the states go out: where in an update
--   the input actions sit relative to game.tick advancing and ticks_to_run counting down is not
--   documented, and the update after the first sighting certainly follows the step's last entity
--   update (nothing ticks once ticks_to_run is 0 and the game is paused).
-- * recv_udp takes every packet on the socket; the handler ignores all but its own trigger (the
--   server's port as source and this step's token as payload).
-- The reply is the RCON text of the RAW frame (B or Z, as the ACTIONS request was sent), cut into
-- datagrams of at most max_datagram bytes: "U", the request's sequence as 16 hex digits (its 8
-- bytes in frame order), the part index and the part count as 2 hex digits each, then the text's
-- part. A reply of more than 255 parts is announced by one datagram with count 0: poll over RCON.
local wire = require("ff_wire")

local M = {}

M.T_UDP = 8
M.DEFAULT_DATAGRAM = 3800  -- under the ~3,900-byte frame cap reported (docs/factorio-facts.md §2.2)
M.MAX_PARTS = 255
local HEADER = 21  -- "U" + 16 + 2 + 2

local byte, format, concat = string.byte, string.format, table.concat

local reply_for = nil  -- function(how, seq) -> the poll's reply text (ff_rpc sets it)

function M.set_reply_builder(fn) reply_for = fn end

local function hex(s)
  local out = {}
  for i = 1, #s do out[i] = format("%02x", byte(s, i)) end
  return concat(out)
end

local function udp_available()
  return helpers ~= nil and defines.events.on_udp_packet_received ~= nil
end

-- Subscription (a UDP request, type 8): u16 client port (0: stop pushing), u16 the server's
-- --enable-lua-udp port, u16 max datagram bytes (0: the default), u16 0. Returns nil or why not.
function M.subscribe(payload)
  if #payload ~= 8 then return "a UDP request has an 8-byte payload" end
  local client, server, size = wire.rd_u16(payload, 1), wire.rd_u16(payload, 3), wire.rd_u16(payload, 5)
  if wire.rd_u16(payload, 7) ~= 0 then return "a UDP request's last field is 0" end
  if client == 0 then
    storage.ff_udp = nil
    return nil
  end
  if not udp_available() then
    return "this server has no Lua UDP (Factorio >= 2.0.59 started with --enable-lua-udp PORT)"
  end
  if server == 0 or server == client then return "the server's UDP port must be given and differ from the client's" end
  if size == 0 then size = M.DEFAULT_DATAGRAM end
  if size < 64 then return "max datagram below 64 bytes" end
  -- A send to its own socket proves the socket exists (send_udp raises when the game was started
  -- without it); the handler ignores the packet.
  local ok, err = pcall(helpers.send_udp, server, "ff_udp probe", 0)
  if not ok then return "helpers.send_udp failed: " .. tostring(err) end
  storage.ff_udp = {client = client, server = server, size = size, token = 0, armed = nil}
  return nil
end

function M.active() return storage.ff_udp ~= nil end

local function arm(u)
  u.token = (u.token + 1) % 1000000007
  u.armed = "ff_udp " .. u.token
  helpers.send_udp(u.server, u.armed, 0)
  helpers.recv_udp(0)
end

-- After an ACTIONS request started a step: push its states when done. how is B or Z, seq the
-- request's raw 8-byte sequence.
function M.start(how, seq)
  local u = storage.ff_udp
  if u == nil then return end
  u.how, u.seq, u.seen_done = how, seq, false
  arm(u)
end

-- Any other request cancels a push not yet sent (its token no longer matches).
function M.cancel()
  local u = storage.ff_udp
  if u ~= nil then u.armed = nil end
end

local function push(u, text)
  local body = u.size - HEADER
  local parts = math.ceil(#text / body)
  local head = "U" .. hex(u.seq)
  if parts > M.MAX_PARTS then
    helpers.send_udp(u.client, head .. "0000", 0)
    return
  end
  local count = format("%02x", parts)
  for i = 0, parts - 1 do
    helpers.send_udp(u.client, head .. format("%02x", i) .. count .. text:sub(i * body + 1, (i + 1) * body), 0)
  end
end

-- on_udp_packet_received. stepping(st) is ff_rpc's check. Never raises into the game: a failure
-- is kept for the next request, as on_tick's are.
function M.on_packet(event, stepping)
  local u = storage.ff_udp
  if u == nil or u.armed == nil or event.source_port ~= u.server or event.payload ~= u.armed then return end
  local ok, err = pcall(function()
    if stepping(storage.ff) then
      u.seen_done = false
      arm(u)
    elseif not u.seen_done then
      u.seen_done = true
      arm(u)
    else
      u.armed = nil
      push(u, reply_for(u.how, u.seq))
    end
  end)
  if not ok and storage.tick_error == nil then storage.tick_error = "UDP: " .. tostring(err) end
end

return M
