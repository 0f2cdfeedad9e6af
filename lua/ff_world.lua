-- Reset: build on each env's surface exactly the world the simulator generated.
--
-- World generation lives in one place, the C simulator: a WORLD request carries each env's
-- tiles, resources with amounts, buildings, the character's start and inventory, and the target
-- (docs/mod.md has the byte layout); the mod builds it with one set_tiles per surface and
-- create_entity calls. No RNG here.
--
-- Coordinates: a scenario map is W x H tiles, 0..W-1 in the simulator. Each env's surface is
-- created W x H (MapGenSettings width/height: everything outside is out-of-map, so the game itself
-- keeps the character on the map), which Factorio centres on the origin: simulator tile (x, y)
-- is surface tile (x - W/2, y - H/2).
local wire = require("ff_wire")
local proto = require("ff_proto")
local ids = proto.ids

local M = {}

local ENV_FIXED = 52
local FULL_FIXED = 40

-- full_game's WORLD payload: the header with map size 0 x 0 (an ordinary map has no size), then
-- per env `u16 env, u16 0, u32 map seed, u16 inventory[16]` (docs/mod.md §3.1).
local function parse_full(p, cfg)
  if cfg.w ~= 0 or cfg.h ~= 0 then return nil, "full_game's map size is 0 x 0 (an ordinary map)" end
  if #p ~= 16 + FULL_FIXED * cfg.count then
    return nil, "full_game WORLD payload must be 16 + 40 bytes an env"
  end
  local recs, seen = {}, {}
  for k = 0, cfg.count - 1 do
    local pos = 17 + FULL_FIXED * k
    local r = {env = wire.rd_u16(p, pos), seed = wire.rd_u32(p, pos + 4), inv = {}, tx = -1, ty = -1}
    if wire.rd_u16(p, pos + 2) ~= 0 then return nil, "full_game env record: bytes 2..3 must be 0" end
    if r.env >= cfg.n then return nil, "env index " .. r.env .. " out of range" end
    if seen[r.env] then return nil, "env " .. r.env .. " appears twice" end
    seen[r.env] = true
    for i = 0, 15 do r.inv[i] = wire.rd_u16(p, pos + 8 + 2 * i) end
    recs[#recs + 1] = r
  end
  return cfg, recs
end

-- Parse a WORLD payload fully (nothing is changed before it all checks out). Returns the config
-- and the env records, or nil and the reason.
function M.parse(p)
  if #p < 16 then return nil, "WORLD payload shorter than its 16-byte header" end
  local cfg = {
    scenario = wire.rd_u8(p, 1),
    n = wire.rd_u16(p, 3),
    count = wire.rd_u16(p, 5),
    tps = wire.rd_u16(p, 7),
    w = wire.rd_u16(p, 9),
    h = wire.rd_u16(p, 11),
  }
  local sc = proto.SCENARIOS[cfg.scenario]
  if sc == nil then return nil, "unknown scenario id " .. cfg.scenario end
  cfg.side = sc.side
  if cfg.n < 1 or cfg.count < 1 or cfg.count > cfg.n then
    return nil, "bad env counts (" .. cfg.count .. " of " .. cfg.n .. ")"
  end
  if cfg.tps < 1 or cfg.tps > 600 then return nil, "ticks per step must be 1..600" end
  if sc.ordinary_map then return parse_full(p, cfg) end
  if cfg.w < 8 or cfg.h < 8 or cfg.w > 128 or cfg.h > 128 or cfg.w % 8 ~= 0 or cfg.h % 8 ~= 0 then
    return nil, "map size must be a multiple of 8 in 8..128"
  end
  local recs, seen = {}, {}
  local pos = 17
  for _ = 1, cfg.count do
    if pos + ENV_FIXED - 1 > #p then return nil, "WORLD payload ends inside an env record" end
    local r = {
      env = wire.rd_u16(p, pos),
      px = wire.rd_i32(p, pos + 8),
      py = wire.rd_i32(p, pos + 12),
      tx = wire.rd_i16(p, pos + 16),
      ty = wire.rd_i16(p, pos + 18),
      inv = {},
      runs = {}, res = {}, bld = {},
    }
    local n_runs, n_res, n_bld = wire.rd_u16(p, pos + 2), wire.rd_u16(p, pos + 4), wire.rd_u16(p, pos + 6)
    if r.env >= cfg.n then return nil, "env index " .. r.env .. " out of range" end
    if seen[r.env] then return nil, "env " .. r.env .. " appears twice" end
    seen[r.env] = true
    if r.px < 0 or r.py < 0 or r.px >= cfg.w * 256 or r.py >= cfg.h * 256 then
      return nil, "character start outside the map"
    end
    for i = 0, 15 do r.inv[i] = wire.rd_u16(p, pos + 20 + 2 * i) end
    pos = pos + ENV_FIXED
    if pos + 3 * n_runs + 8 * n_res + 6 * n_bld - 1 > #p then
      return nil, "WORLD payload ends inside env " .. r.env
    end
    local total = 0
    for i = 1, n_runs do
      local tile, len = wire.rd_u8(p, pos), wire.rd_u16(p, pos + 1)
      if ids.tile_names[tile + 1] == nil or tile == 0 then return nil, "bad tile id " .. tile end
      if len < 1 then return nil, "empty tile run" end
      r.runs[i] = {tile, len}
      total = total + len
      pos = pos + 3
    end
    if total ~= cfg.w * cfg.h then
      return nil, "tile runs cover " .. total .. " tiles, the map has " .. cfg.w * cfg.h
    end
    for i = 1, n_res do
      local e, x, y, a = wire.rd_u8(p, pos), wire.rd_u16(p, pos + 2), wire.rd_u16(p, pos + 4), wire.rd_u16(p, pos + 6)
      if e < 1 or e > 4 then return nil, "bad resource entity id " .. e end
      if x >= cfg.w or y >= cfg.h or a < 1 then return nil, "bad resource" end
      r.res[i] = {e, x, y, a}
      pos = pos + 8
    end
    for i = 1, n_bld do
      local e, d, x, y = wire.rd_u8(p, pos), wire.rd_u8(p, pos + 1), wire.rd_u16(p, pos + 2), wire.rd_u16(p, pos + 4)
      local name = ids.entity_names[e + 1]
      if name == nil or not proto.PLACEABLE[name] then return nil, "bad building entity id " .. e end
      if d % 2 ~= 0 or d > 14 then return nil, "bad building direction " .. d end
      if x >= cfg.w or y >= cfg.h then return nil, "building outside the map" end
      r.bld[i] = {e, d, x, y}
      pos = pos + 6
    end
    recs[#recs + 1] = r
  end
  if pos ~= #p + 1 then return nil, "WORLD payload has " .. (#p + 1 - pos) .. " extra bytes" end
  return cfg, recs
end

-- The surfaces: created once per env and reused (deleting a surface is deferred, and a new one
-- would have to generate its chunks again: docs/factorio-facts.md §5).
function M.configure(cfg)
  local st = {scenario = cfg.scenario, n = cfg.n, tps = cfg.tps, w = cfg.w, h = cfg.h,
              side = cfg.side, ox = cfg.w / 2, oy = cfg.h / 2, envs = {},
              ordinary_map = proto.SCENARIOS[cfg.scenario].ordinary_map}
  if st.ordinary_map then
    -- full_game: a surface per episode, made by build_full; tile (x, y) is the surface's own
    for i = 0, cfg.n - 1 do
      st.envs[i] = {index = i, surface = nil, episodes = 0, buildings = {}, blocks = {}, walk = nil,
                    events = 0, crafted_started = 0, hand_ore = 0, target = {-1, -1},
                    built = false, counts = {}, gone_smelted = 0, gone_received = 0,
                    mine_building = nil}
    end
    return st
  end
  for i = 0, cfg.n - 1 do
    local name = "ff_env_" .. i
    local s = game.get_surface(name)
    if s == nil then
      s = game.create_surface(name, {
        width = cfg.w, height = cfg.h, seed = 1,
        default_enable_all_autoplace_controls = false,
        autoplace_controls = {},
        autoplace_settings = {
          entity = {treat_missing_as_default = false, settings = {}},
          decorative = {treat_missing_as_default = false, settings = {}},
        },
        cliff_settings = {cliff_elevation_0 = 1024, richness = 0},
        no_enemies_mode = true, peaceful_mode = true,
      })
      s.generate_with_lab_tiles = true
      s.request_to_generate_chunks({0, 0}, math.ceil(math.max(cfg.w, cfg.h) / 64) + 1)
      s.force_generate_chunk_requests()
    end
    st.envs[i] = {index = i, surface = s, buildings = {}, blocks = {}, walk = nil, events = 0,
                  crafted_started = 0, hand_ore = 0, target = {-1, -1}, built = false,
                  counts = {}, gone_smelted = 0, gone_received = 0, mine_building = nil}
  end
  return st
end

local function block_of(st, x, y)
  local bw, bh = st.w / proto.BLOCKS, st.h / proto.BLOCKS
  return math.floor(y / bh) * proto.BLOCKS + math.floor(x / bw)
end

-- The env's bookkeeping of a new episode (the buildings and resource blocks are the caller's).
local function fresh(env, target)
  env.walk = nil
  env.events = 0
  env.crafted_started = 0
  env.hand_ore = 0
  env.counts = {}
  env.gone_smelted = 0
  env.gone_received = 0
  env.mine_building = nil
  env.target = target
  env.built = true
end

-- full_game: each episode on a new surface generated by the game's own map generator with
-- the default settings (LuaGameScript::default_map_gen_settings) and the episode's seed, no
-- enemies; the character where the game finds room for it nearest the origin (the spawn). The
-- previous episode's surface is deleted (deferred by the game: docs/factorio-facts.md §5), so
-- an episode starts on an untouched map, the same map for the same seed and game version.
local function build_full(env, r)
  local old = env.surface
  env.episodes = env.episodes + 1
  -- a table of our own (the API returns a MapGenSettings value; copying keeps that certain)
  local settings = {}
  for k, v in pairs(game.default_map_gen_settings) do settings[k] = v end
  settings.seed = r.seed
  settings.peaceful_mode = true
  settings.no_enemies_mode = true
  local s = game.create_surface("ff_full_" .. env.index .. "_" .. env.episodes, settings)
  s.request_to_generate_chunks({0, 0}, proto.FULL_CHUNKS)
  s.force_generate_chunk_requests()
  local start = s.find_non_colliding_position("character", {0.5, 0.5}, 64, 0.5) or {x = 0.5, y = 0.5}
  local c = s.create_entity{name = "character", position = start, force = "player"}
  if c == nil then error("full_game: no room for the character near the spawn") end
  for i = 1, 15 do
    if r.inv[i] > 0 then c.insert{name = ids.item_names[i + 1], count = r.inv[i]} end
  end
  env.surface = s
  env.character = c
  if old ~= nil and old.valid then game.delete_surface(old) end
  env.buildings = {}
  env.blocks = {}
  fresh(env, {-1, -1})
end

-- Build one env's world from its parsed record.
function M.build(st, env, r)
  if st.ordinary_map then return build_full(env, r) end
  local s = env.surface
  local c = env.character
  local ox, oy = st.ox, st.oy
  if c ~= nil then
    -- stop the character and empty its hands (cancelling refunds, then all items go)
    c.walking_state = {walking = false, direction = defines.direction.north}
    c.mining_state = {mining = false}
    for _ = 1, 64 do
      if c.crafting_queue_size == 0 then break end
      local q = c.crafting_queue
      c.cancel_crafting{index = 1, count = q[1].count}
    end
    c.clear_items_inside()
  end
  for _, e in pairs(s.find_entities_filtered{}) do
    if e.valid and e.type ~= "character" then e.destroy() end
  end
  -- one set_tiles for the whole map (correct_tiles = false: exactly these tiles, no transitions)
  local tiles, k = {}, 0
  local x, y = 0, 0
  local names = ids.tile_names
  for _, run in ipairs(r.runs) do
    local name = names[run[1] + 1]
    for _ = 1, run[2] do
      k = k + 1
      tiles[k] = {name = name, position = {x - ox, y - oy}}
      x = x + 1
      if x == st.w then x = 0; y = y + 1 end
    end
  end
  s.set_tiles(tiles, false)
  env.blocks = {}
  for _, res in ipairs(r.res) do
    local name = ids.entity_names[res[1] + 1]
    local e = s.create_entity{name = name, position = {res[2] + 0.5 - ox, res[3] + 0.5 - oy},
                              amount = res[4]}
    if e ~= nil then
      local b = block_of(st, res[2], res[3])
      local bit = proto.RESOURCE_BIT[name] or proto.OTHER_RESOURCE_BIT
      local blk = env.blocks[b]
      if blk == nil then blk = {}; env.blocks[b] = blk end
      local list = blk[bit]
      if list == nil then list = {}; blk[bit] = list end
      list[#list + 1] = e
    end
  end
  local buildings = {}
  for _, b in ipairs(r.bld) do
    local name = ids.entity_names[b[1] + 1]
    local fp = proto.footprint(name)
    local e = s.create_entity{name = name, position = {b[3] + fp / 2 - ox, b[4] + fp / 2 - oy},
                              direction = b[2], force = "player"}
    if e ~= nil then buildings[#buildings + 1] = e end
  end
  local start = {x = r.px / 256 - ox, y = r.py / 256 - oy}
  if c == nil then
    c = s.create_entity{name = "character", position = start, force = "player"}
    env.character = c
  else
    c.teleport(start)
  end
  for i = 1, 15 do
    if r.inv[i] > 0 then c.insert{name = ids.item_names[i + 1], count = r.inv[i]} end
  end
  env.buildings = buildings
  fresh(env, {r.tx, r.ty})
end

return M
