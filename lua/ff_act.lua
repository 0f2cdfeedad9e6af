-- Step: apply each env's FactorioAction as docs/scenarios.md maps the scenario actions onto it.
--
--   0 stand   1 walk (p0 = 2.0 direction)   2 mine (p0, p1 = tile)   3 craft (p0 = recipe index,
--   p1 = count)   4 place (p0 = item id, p1, p2 = footprint top-left tile, p3 = direction)
--   5 insert (p0 = item id, p1, p2 = tile of the building, p3 = count)   6 take (p1, p2 = tile)
--
-- Walking is one-shot in the game (walking_state "will only make the player walk for one tick",
-- docs/factorio-facts.md §3.1): it is set here and re-applied in every on_tick of the step.
-- Mining is held (mining_state persists). Walking releases the mining target; anything but walk
-- stops walking; anything but mine releases the target. The checks the game does not make for
-- a script (the item in hand, build distance, a drill's resources) are made here, as the
-- simulator makes them (docs/scenarios.md). Crafting chain-crafts a missing gear or stone
-- furnace, as the game does for begin_crafting.
local wire = require("ff_wire")
local proto = require("ff_proto")
local obs = require("ff_obs")
local ids = proto.ids

local M = {}

local floor = math.floor

local function integral(v, lo, hi)
  return v ~= nil and v == floor(v) and v >= lo and v <= hi
end

-- Parse and check an ACTIONS payload for n envs. Returns an array of {t, p} (0-based env
-- index -> action) or nil and the reason. Nothing is applied unless every record is valid.
function M.parse(payload, n)
  if #payload ~= 48 * n then
    return nil, "ACTIONS payload holds " .. (#payload / 48) .. " actions, the server has " .. n .. " envs"
  end
  local out = {}
  local big = 1048576
  for i = 0, n - 1 do
    local o = 48 * i + 1
    local t = wire.rd_u8(payload, o)
    local p = {}
    for j = 0, 7 do
      p[j] = wire.rd_f32(payload, o + 4 + 4 * j)
      if p[j] == nil then return nil, "env " .. i .. ": a parameter is not finite" end
    end
    local ok
    if t == proto.A_STAND then
      ok = true
    elseif t == proto.A_WALK then
      ok = integral(p[0], 0, 14) and p[0] % 2 == 0
    elseif t == proto.A_MINE or t == proto.A_TAKE then
      local a, b = p[0], p[1]
      if t == proto.A_TAKE then a, b = p[1], p[2] end
      ok = integral(a, -big, big) and integral(b, -big, big)
    elseif t == proto.A_CRAFT then
      ok = integral(p[0], 0, 3) and integral(p[1], 1, 1000)
    elseif t == proto.A_PLACE then
      local name = integral(p[0], 0, 15) and ids.item_names[p[0] + 1]
      ok = name and proto.PLACEABLE[name] and integral(p[1], -big, big) and integral(p[2], -big, big)
        and integral(p[3], 0, 14) and p[3] % 2 == 0
      if ok and name == "transport-belt" then ok = p[3] % 4 == 0 end
    elseif t == proto.A_INSERT then
      ok = (p[0] == ids.item_id["coal"] or p[0] == ids.item_id["iron-ore"]) and
        integral(p[1], -big, big) and integral(p[2], -big, big) and integral(p[3], 0, big)
    else
      return nil, "env " .. i .. ": unknown action type " .. t
    end
    if not ok then return nil, "env " .. i .. ": parameters out of range for action type " .. t end
    out[i] = {t = t, p = p}
  end
  return out
end

-- The building covering tile (x, y) of the map (a small area inside the tile: a building's
-- collision box overlaps it exactly when its footprint covers the tile).
local function building_at(st, env, x, y)
  local sx, sy = x - st.ox, y - st.oy
  local found = env.surface.find_entities_filtered{
    area = {{sx + 0.1, sy + 0.1}, {sx + 0.9, sy + 0.9}}, type = proto.BUILDING_TYPES, limit = 1}
  return found[1]
end

-- Items the crafting queue will still make (its entries' crafts times their products).
local function queued(c)
  local n = 0
  if c.crafting_queue_size == 0 then return 0 end
  for _, item in ipairs(c.crafting_queue) do
    n = n + item.count * proto.recipe(item.recipe).product_amount
  end
  return n
end

local function craft(env, c, p)
  local name = proto.RECIPES[p[0]]
  -- as many as the inventory allows, chain crafting included (the simulator's rule)
  local n = math.min(p[1], c.get_craftable_count(name))
  if n <= 0 then return end
  local before = queued(c)
  local started = c.begin_crafting{count = n, recipe = name, silent = true}
  -- every product queued counts, the intermediates of chain crafting too (as the simulator's
  -- crafted total does)
  if started > 0 then env.crafted_started = env.crafted_started + queued(c) - before end
end

local function place(st, env, c, p)
  local item = ids.item_names[p[0] + 1]
  if c.get_item_count(item) < 1 then return end
  local fp = proto.footprint(item)
  local cx, cy = p[1] + fp / 2 - st.ox, p[2] + fp / 2 - st.oy
  local pos = c.position
  local dx, dy = cx - pos.x, cy - pos.y
  local reach = c.build_distance
  if dx * dx + dy * dy > reach * reach then return end
  local s = env.surface
  if not s.can_place_entity{name = item, position = {cx, cy}, direction = p[3], force = "player"} then
    return
  end
  local on_iron = false
  if item == "burner-mining-drill" then
    local area = {{cx - fp / 2 + 0.05, cy - fp / 2 + 0.05}, {cx + fp / 2 - 0.05, cy + fp / 2 - 0.05}}
    if s.count_entities_filtered{area = area, type = "resource"} == 0 then return end
    on_iron = s.count_entities_filtered{area = area, name = "iron-ore"} > 0
  end
  local e
  local grounds = s.find_entities_filtered{
    area = {{cx - fp / 2, cy - fp / 2}, {cx + fp / 2, cy + fp / 2}}, name = "item-on-ground"}
  if #grounds > 0 then
    -- Building over items on the ground collects them (changelog 0.8.1), all or none as the
    -- simulator does, the placed item having left the inventory first. A script's
    -- create_entity does not collect them itself, so the mod does.
    c.remove_item{name = item, count = 1}
    local got, ok = {}, true
    for i, g in ipairs(grounds) do
      local stack = g.stack
      local n = c.insert{name = stack.name, count = stack.count}
      got[i] = {stack.name, n}
      if n < stack.count then
        ok = false
        break
      end
    end
    if not ok then
      for _, t in ipairs(got) do
        if t[2] > 0 then c.remove_item{name = t[1], count = t[2]} end
      end
      c.insert{name = item, count = 1}
      return
    end
    for _, g in ipairs(grounds) do g.destroy() end
    e = s.create_entity{name = item, position = {cx, cy}, direction = p[3], force = "player"}
    if e == nil then
      c.insert{name = item, count = 1}
      return
    end
  else
    e = s.create_entity{name = item, position = {cx, cy}, direction = p[3], force = "player"}
    if e == nil then return end
    c.remove_item{name = item, count = 1}
  end
  env.buildings[#env.buildings + 1] = e
  if on_iron then env.events = 1 end
end

local function insert(st, env, c, p)
  local item = ids.item_names[p[0] + 1]
  local b = building_at(st, env, p[1], p[2])
  if b == nil or not c.can_reach_entity(b) then return end
  local inv
  local btype = b.type
  if item == "coal" and (btype == "furnace" or btype == "mining-drill") then
    inv = b.get_fuel_inventory()
  elseif item == "iron-ore" and btype == "furnace" then
    inv = b.get_inventory(defines.inventory.furnace_source)
  end
  if inv == nil then return end
  local n = math.min(p[3], c.get_item_count(item))
  if n <= 0 then return end
  local moved = inv.insert{name = item, count = n}
  if moved > 0 then
    c.remove_item{name = item, count = moved}
    if item == "iron-ore" then env.hand_ore = env.hand_ore + moved end
  end
end

local function take(st, env, c, p)
  local b = building_at(st, env, p[1], p[2])
  if b == nil then
    -- No building: the stack lying on the tile, if any, is picked up as the game's cursor
    -- mining of an item-on-ground does (mine_entity: into the inventory, whole here as in
    -- the simulator), within reach of it.
    local sx, sy = p[1] - st.ox, p[2] - st.oy
    local g = env.surface.find_entities_filtered{
      area = {{sx, sy}, {sx + 1, sy + 1}}, name = "item-on-ground", limit = 1}[1]
    if g == nil or not c.can_reach_entity(g) then return end
    local stack = g.stack
    if c.get_main_inventory().get_insertable_count(stack.name) < stack.count then return end
    c.mine_entity(g)
    return
  end
  if b.type ~= "furnace" or not c.can_reach_entity(b) then return end
  local result = b.get_output_inventory()
  local have = result.get_item_count("iron-plate")
  if have == 0 then return end
  local room = c.get_main_inventory().get_insertable_count("iron-plate")
  local k = math.min(have, room)
  if k <= 0 then return end
  local removed = result.remove{name = "iron-plate", count = k}
  if removed > 0 then c.insert{name = "iron-plate", count = removed} end
end

function M.apply(st, env, a)
  local c = env.character
  local t, p = a.t, a.p
  env.events = 0
  if t == proto.A_WALK then
    env.mine_building = nil
    env.walk = p[0]
    c.mining_state = {mining = false}
    c.walking_state = {walking = true, direction = p[0]}
    return
  end
  env.walk = nil
  c.walking_state = {walking = false, direction = defines.direction.north}
  if t == proto.A_MINE then
    -- The game mines the selected entity (API LuaControl::mining_state): what the cursor picks
    -- on the tile, a building over the resource under it (picked up with its contents), as
    -- the simulator does (docs/scenarios.md).
    local sx, sy = p[0] - st.ox, p[1] - st.oy
    local b = proto.SCENARIOS[st.scenario].buildings and building_at(st, env, p[0], p[1]) or nil
    local target = b or env.surface.find_entities_filtered{
      area = {{sx + 0.1, sy + 0.1}, {sx + 0.9, sy + 0.9}}, type = "resource", limit = 1}[1]
    if target ~= nil then c.selected = target else c.clear_selected_entity() end
    env.mine_building = b
    c.mining_state = {mining = true, position = {x = sx + 0.5, y = sy + 0.5}}
    return
  end
  env.mine_building = nil
  c.mining_state = {mining = false}
  if t == proto.A_CRAFT then
    craft(env, c, p)
  elseif t == proto.A_PLACE then
    place(st, env, c, p)
  elseif t == proto.A_INSERT then
    insert(st, env, c, p)
  elseif t == proto.A_TAKE then
    take(st, env, c, p)
  end
end

-- Re-apply walking for the tick (on_tick).
-- Re-apply walking for the tick (on_tick), and read the counters of a building being mined
-- (it may be picked up in this tick: ff_obs.note_counts).
function M.tick(st)
  for i = 0, st.n - 1 do
    local env = st.envs[i]
    local d = env.walk
    if d ~= nil then env.character.walking_state = {walking = true, direction = d} end
    local b = env.mine_building
    if b ~= nil then obs.note_counts(env, b) end
  end
end

return M
