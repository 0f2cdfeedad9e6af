-- The raw state of an env, read from the game (docs/mod.md has the record's byte layout).
--
-- Everything here is what the game reports now: the character's position, its inventory and
-- progress, the tiles and entities of the window around it, the buildings' contents, which
-- resource entities still exist. The observation bytes, rewards and flags are built from this
-- record on the C side (csrc/ff_rawobs.c), the same code the simulator's observations are held
-- to, so each scenario's observation is encoded once.
local wire = require("ff_wire")
local codec = require("ff_codec")
local proto = require("ff_proto")
local ids = proto.ids

local M = {}

local floor = math.floor
local u8, u16, u32 = wire.u8, wire.u16, wire.u32

M.FIXED = 212
-- minable.mining_time of the buildings the character can pick up, over an ore's 1 (Factorio
-- 2.0.77 base/prototypes/entity/entities.lua:1535 wooden-chest 0.1, :1021 stone-furnace 0.2,
-- mining-drill.lua:1574 burner-mining-drill 0.3, transport-belts.lua:154 transport-belt 0.1)
M.MINING_TIME = {["wooden-chest"] = 0.1, ["stone-furnace"] = 0.2, ["burner-mining-drill"] = 0.3,
                 ["transport-belt"] = 0.1}
M.BUILDINGS = 8
local ZERO32 = string.rep("\0", 32)
local ZERO14 = string.rep("\0", 14)

local function ticks(fraction, total)
  return floor(fraction * total + 0.5)
end

local WAITING -- defines.entity_status.waiting_for_space_in_destination, read once

-- A furnace's lifetime counters: plates finished, and ores it received (those in the source
-- slot, the one being smelted, which left the slot when its craft started, and the smelted).
function M.furnace_counts(e)
  local smelting = e.is_crafting() and 1 or 0
  local src = e.get_inventory(defines.inventory.furnace_source).get_item_count("iron-ore")
  local smelted = e.products_finished
  return src, smelting, smelted, src + smelting + smelted
end

-- Keep the counters of the building the character is mining up to date (on_tick and each
-- record): once picked up it is gone, and its plates and ores still count (the simulator's
-- totals are lifetime counts). What it does in the very tick it is picked up is not seen.
function M.note_counts(env, e)
  if e.valid and e.type == "furnace" then
    local _, _, sm, rc = M.furnace_counts(e)
    local c = env.counts[e.unit_number]
    if c == nil then
      c = {0, 0}
      env.counts[e.unit_number] = c
    end
    c[1], c[2] = sm, rc
  end
end

-- Drop the buildings that are gone (picked up by mining) from the env's list, keeping the
-- order of the others (the simulator closes the gap the same way), and add their last counts.
local function prune(env)
  local list, keep = env.buildings, {}
  for _, e in ipairs(list) do
    if e.valid then
      keep[#keep + 1] = e
    end
  end
  if #keep == #list then return end
  local alive = {}
  for _, e in ipairs(keep) do alive[e.unit_number] = true end
  for u, c in pairs(env.counts) do
    if not alive[u] then
      env.gone_smelted = env.gone_smelted + c[1]
      env.gone_received = env.gone_received + c[2]
      env.counts[u] = nil
    end
  end
  env.buildings = keep
end

-- One building's record fields and its contribution to the counters.
local function building(st, e)
  local name = e.name
  local fp = proto.footprint(name)
  local pos = e.position
  local tx, ty = floor(pos.x - fp / 2 + st.ox + 0.5), floor(pos.y - fp / 2 + st.oy + 0.5)
  local fuel, src, out, progress, flags, smelted, received = 0, 0, 0, 0, 0, 0, 0
  local btype = e.type
  if btype == "furnace" or btype == "mining-drill" then
    fuel = e.get_fuel_inventory().get_item_count("coal")
    if e.burner.remaining_burning_fuel > 0 then flags = 1 end
  end
  if btype == "furnace" then
    -- src: the source slot as the game shows it (the ore being smelted is out of it)
    local _
    src, _, smelted, received = M.furnace_counts(e)
    out = e.get_output_inventory().get_item_count("iron-plate")
    progress = ticks(e.crafting_progress, proto.SMELT_TICKS)
  elseif btype == "mining-drill" then
    progress = ticks(e.mining_progress, proto.DRILL_TICKS)
    -- the stack lying at its drop point (centre + vector_to_place_result {-0.5, -1.3}, facing
    -- north: the tile above the top-left one), its item id in flag bits 4..7
    local dx, dy = tx - st.ox, ty - 1 - st.oy
    local g = e.surface.find_entities_filtered{
      area = {{dx, dy}, {dx + 1, dy + 1}}, name = "item-on-ground", limit = 1}[1]
    if g ~= nil then flags = flags + 16 * (ids.item_id[g.stack.name] or 0) end
    if WAITING == nil then WAITING = defines.entity_status.waiting_for_space_in_destination end
    if e.status == WAITING then
      flags = flags + 2
      local target = e.mining_target
      src = target and (ids.item_id[target.name] or 0) or 0
    end
  end
  return ids.entity_id[name], flags, tx, ty, fuel, src, out, progress, smelted, received
end

-- The cells of the side x side window from (x0, y0) (map coordinates): tiles the game reports
-- as not grass-1, resources and buildings found in the window; tiles outside the map are
-- out-of-map (the surface is created W x H: the game has no tiles there). Cells nothing was
-- found on are the grass or out-of-map cell, encoded once; the others go through the codec.
local GRASS_CELL, OOM_CELL
local function cells(st, env, x0, y0, side)
  local s = env.surface
  local grass_id, oom_id = ids.tile_id["grass-1"], ids.tile_id["out-of-map"]
  if GRASS_CELL == nil then
    GRASS_CELL = wire.u32s(codec.encode_cell(grass_id, 0, 0, ids.tile_blocks[grass_id + 1]))
    OOM_CELL = wire.u32s(codec.encode_cell(oom_id, 0, 0, ids.tile_blocks[oom_id + 1]))
  end
  -- cells something was found on: k -> {tile, amount, entity}
  local found_at = {}
  local function at(kk)
    local f = found_at[kk]
    if f == nil then
      f = {grass_id, 0, 0}
      found_at[kk] = f
    end
    return f
  end
  local ox, oy = st.ox, st.oy
  local full = st.ordinary_map
  if full then
    -- an ordinary map: no edge of our own; the tiles with an id of their own other than grass-1
    -- (water, paths, out-of-map where no chunk was generated ...), the rest is land (grass-1)
    local found = s.find_tiles_filtered{area = {{x0, y0}, {x0 + side, y0 + side}},
                                        name = proto.FULL_TILE_NAMES}
    for _, t in ipairs(found) do
      local p = t.position
      at((p.y - y0) * side + (p.x - x0) + 1)[1] = ids.tile_id[t.name]
    end
  end
  local cx0, cy0 = math.max(x0, 0), math.max(y0, 0)
  local cx1, cy1 = math.min(x0 + side, st.w), math.min(y0 + side, st.h)
  if not full and cx1 > cx0 and cy1 > cy0 then
    local found = s.find_tiles_filtered{area = {{cx0 - ox, cy0 - oy}, {cx1 - ox, cy1 - oy}},
                                        name = "grass-1", invert = true}
    for _, t in ipairs(found) do
      local p = t.position
      at((p.y + oy - y0) * side + (p.x + ox - x0) + 1)[1] = ids.tile_id[t.name] or oom_id
    end
  end
  local area = {{x0 - ox, y0 - oy}, {x0 + side - ox, y0 + side - oy}}
  for _, e in ipairs(s.find_entities_filtered{area = area, type = "resource"}) do
    local p = e.position
    local c, r = floor(p.x) + ox - x0, floor(p.y) + oy - y0
    if c >= 0 and r >= 0 and c < side and r < side then
      local f = at(r * side + c + 1)
      f[2] = e.amount
      f[3] = ids.entity_id[e.name] or 0
    end
  end
  -- a building over a resource wins the cell's entity field (the amount stays the resource's)
  for _, e in ipairs(s.find_entities_filtered{area = area, type = proto.BUILDING_TYPES}) do
    local name = e.name
    local id = ids.entity_id[name] or 0
    local fp = proto.footprint(name)
    local p = e.position
    local bx, by = floor(p.x - fp / 2 + ox + 0.5) - x0, floor(p.y - fp / 2 + oy + 0.5) - y0
    for r = by, by + fp - 1 do
      for c = bx, bx + fp - 1 do
        if c >= 0 and r >= 0 and c < side and r < side then at(r * side + c + 1)[3] = id end
      end
    end
  end
  -- rows: those with nothing found are runs of out-of-map / grass / out-of-map cells (one
  -- string each, memoised); the others cell by cell
  local blocks = ids.tile_blocks
  local lo, hi = math.max(-x0, 0), math.min(st.w - x0, side)
  if full then lo, hi = 0, side end
  if hi < lo then hi = lo end
  local rows = {}
  for r = 0, side - 1 do
    local y = y0 + r
    local row_in = full or (y >= 0 and y < st.h)
    local base = r * side
    local any = false
    if row_in then
      for c = lo, hi - 1 do
        if found_at[base + c + 1] ~= nil then any = true; break end
      end
    end
    if not any then
      rows[r + 1] = row_in and M.row(lo, hi - lo, side - hi) or M.row(side, 0, 0)
    else
      local cs = {}
      for c = 0, side - 1 do
        local f = found_at[base + c + 1]
        if f ~= nil then
          cs[c + 1] = wire.u32s(codec.encode_cell(f[1], f[2], f[3], blocks[f[1] + 1]))
        elseif c >= lo and c < hi then
          cs[c + 1] = GRASS_CELL
        else
          cs[c + 1] = OOM_CELL
        end
      end
      rows[r + 1] = table.concat(cs)
    end
  end
  return table.concat(rows)
end

local row_cache = {}
-- a row of `left` out-of-map cells, `mid` grass cells, `right` out-of-map cells
function M.row(left, mid, right)
  local key = left * 65536 + mid * 256 + right
  local s = row_cache[key]
  if s == nil then
    s = OOM_CELL:rep(left) .. GRASS_CELL:rep(mid) .. OOM_CELL:rep(right)
    row_cache[key] = s
  end
  return s
end

-- The coarse resource map: for each 8x8 block and each kind, whether one of the resource
-- entities created there still exists (lists keep only entries that were valid when last seen).
local function res_blocks(env)
  local bytes = {}
  for k = 0, 31 do bytes[k + 1] = 0 end
  for b, kinds in pairs(env.blocks) do
    local nib = 0
    for bit, list in pairs(kinds) do
      local n = #list
      while n > 0 and not list[n].valid do
        list[n] = nil
        n = n - 1
      end
      if n > 0 then nib = nib + bit end
    end
    local i = floor(b / 2) + 1
    if b % 2 == 1 then nib = nib * 16 end
    bytes[i] = bytes[i] + nib
  end
  return bytes
end

-- One env's record (a string of FIXED + 4 * side^2 bytes).
function M.record(st, env)
  local c = env.character
  local needs = proto.SCENARIOS[st.scenario]
  local t = {}
  local pos = c.position
  local px, py = floor((pos.x + st.ox) * 256 + 0.5), floor((pos.y + st.oy) * 256 + 0.5)
  u16(t, env.index)
  u8(t, st.scenario)
  u8(t, st.side)
  u32(t, px)
  u32(t, py)
  u32(t, game.tick % 4294967296)
  local inv = {}
  for i = 0, 15 do inv[i] = 0 end
  local mine = 0
  if needs.inventory then
    for _, it in ipairs(c.get_main_inventory().get_contents()) do
      local id = ids.item_id[it.name]
      if id ~= nil and id < 16 then inv[id] = inv[id] + it.count end
    end
    -- the fraction is of the target's mining time: a building's is shorter than an ore's
    local b = env.mine_building
    local scale = (b ~= nil and b.valid) and M.MINING_TIME[b.name] or 1
    mine = ticks(c.character_mining_progress, proto.HAND_MINING_TICKS * scale)
  end
  for i = 0, 15 do u16(t, math.min(inv[i], 65535)) end
  u16(t, mine)
  local head, entries, cticks, queued = 0, 0, 0, 0
  if needs.crafting then entries = c.crafting_queue_size end
  if entries > 0 then
    local q = c.crafting_queue
    local r = proto.recipe(q[1].recipe)
    head = proto.RECIPE_INDEX[q[1].recipe] + 1
    cticks = ticks(c.crafting_queue_progress, r.ticks)
    for _, item in ipairs(q) do queued = queued + item.count * proto.recipe(item.recipe).product_amount end
  end
  u8(t, head)
  u8(t, math.min(entries, 255))
  u16(t, cticks)
  u8(t, env.events)
  local recs, smelted, received, count = {}, 0, 0, 0
  if needs.buildings then
    prune(env)
    local b = env.mine_building
    if b ~= nil and b.valid then M.note_counts(env, b) end
    smelted, received = env.gone_smelted, env.gone_received
  end
  for _, e in ipairs(needs.buildings and env.buildings or {}) do
    if e.valid then
      count = count + 1
      local id, flags, tx, ty, fuel, src, out, progress, sm, rc = building(st, e)
      smelted = smelted + sm
      received = received + rc
      if count <= M.BUILDINGS then
        recs[#recs + 1] = {id, flags, tx, ty, fuel, src, out, progress}
      end
    end
  end
  u8(t, math.min(count, 255))
  u32(t, env.crafted_started - queued)
  u32(t, smelted)
  u32(t, received - env.hand_ore) -- ores the drills dropped into furnaces
  local parts = {wire.bytes(t)}
  parts[2] = needs.blocks and wire.bytes(res_blocks(env)) or ZERO32
  for k = 1, M.BUILDINGS do
    local b = recs[k]
    if b == nil then
      parts[#parts + 1] = ZERO14
    else
      local bt = {}
      u8(bt, b[1]); u8(bt, b[2]); u16(bt, b[3]); u16(bt, b[4])
      u16(bt, math.min(b[5], 65535)); u16(bt, math.min(b[6], 65535))
      u16(bt, math.min(b[7], 65535)); u16(bt, math.min(b[8], 65535))
      parts[#parts + 1] = wire.bytes(bt)
    end
  end
  local side = st.side
  local half = floor(side / 2)
  parts[#parts + 1] = cells(st, env, floor(px / 256) - half, floor(py / 256) - half, side)
  return table.concat(parts)
end

-- A RAW payload: the 16-byte header, then the records of the given env indices (nil: none).
function M.payload(st, status, envs, end_tick)
  local h = {}
  local n = envs and #envs or 0
  u8(h, status)
  u8(h, st and st.scenario or 0)
  u16(h, n)
  u16(h, n > 0 and (M.FIXED + 4 * st.side * st.side) or 0)
  u16(h, 0)
  u32(h, game.tick % 4294967296)
  u32(h, (end_tick or 0) % 4294967296)
  local parts = {wire.bytes(h)}
  for i = 1, n do parts[#parts + 1] = M.record(st, st.envs[envs[i]]) end
  return table.concat(parts)
end

return M
