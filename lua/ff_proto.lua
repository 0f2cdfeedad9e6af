-- What the mod knows about the scenarios and the game's prototypes it uses.
local ids = require("ff_ids")

local M = {}

-- Scenario ids are the simulator's (docs/scenarios.md): the cell window's side around the
-- character (its tile at index side/2 of each axis) and the number of coarse resource blocks a
-- side (the map in 8 x 8 blocks).
-- What each scenario's observation and reward read beyond the position and the cells (the raw
-- record keeps its layout; fields a scenario does not read stay zero): the inventory and
-- hand-mining progress, the coarse resource map, the crafting queue, the buildings and counters.
M.SCENARIOS = {
  [0] = {name = "movement_micro", side = 16},
  [1] = {name = "mining_micro", side = 7, inventory = true, blocks = true},
  [2] = {name = "building_micro", side = 9, inventory = true, blocks = true, crafting = true,
         buildings = true},
  -- the real game only: an ordinary generated map, building_micro's actions (ff_world.lua)
  [3] = {name = "full_game", side = 21, inventory = true, crafting = true, buildings = true,
         ordinary_map = true},
}
M.FULL_GAME = 3
-- full_game: chunks generated around the spawn at reset (radius in chunks of 32 tiles: the
-- spawn's 9 x 9 chunks, 288 x 288 tiles), and the tiles the cells report by name: the others of
-- an ordinary map (grass-2, dirt-3, ...) are walkable land, reported as grass-1.
M.FULL_CHUNKS = 4
M.FULL_TILE_NAMES = {}
for _, name in ipairs(ids.tile_names) do
  if name ~= "grass-1" then M.FULL_TILE_NAMES[#M.FULL_TILE_NAMES + 1] = name end
end
M.BLOCKS = 8

-- FactorioAction.action_type (docs/scenarios.md "Mapping onto the seed's FactorioAction")
M.A_STAND, M.A_WALK, M.A_MINE, M.A_CRAFT, M.A_PLACE, M.A_INSERT, M.A_TAKE = 0, 1, 2, 3, 4, 5, 6

-- Craft action recipe index -> recipe name (0 gear, 1 stone furnace, 2 burner drill, 3 belt).
M.RECIPES = {[0] = "iron-gear-wheel", [1] = "stone-furnace", [2] = "burner-mining-drill",
             [3] = "transport-belt"}
M.RECIPE_INDEX = {}
for i, name in pairs(M.RECIPES) do M.RECIPE_INDEX[name] = i end

-- Items a place action may build (its entity has the item's name).
M.PLACEABLE = {["stone-furnace"] = true, ["burner-mining-drill"] = true,
               ["transport-belt"] = true, ["wooden-chest"] = true}
-- Building prototype types the insert / take actions look for on a tile.
M.BUILDING_TYPES = {"furnace", "mining-drill", "container", "transport-belt"}

-- Resource names -> the bit of a coarse resource block (iron 1, coal 2, stone 4, other 8).
M.RESOURCE_BIT = {["iron-ore"] = 1, coal = 2, stone = 4}
M.OTHER_RESOURCE_BIT = 8

-- Ticks of a progress fraction: hand mining 120 per ore (mining_time 1, character mining_speed
-- 0.5), a burner drill 240 per ore (mining speed 0.25), smelting a plate 192 (3.2 s at crafting
-- speed 1): docs/factorio-facts.md §4.3, §4.4.
M.HAND_MINING_TICKS = 120
M.DRILL_TICKS = 240
M.SMELT_TICKS = 192

-- Recipe facts read from the game once (prototypes are the same for the whole game).
local recipe_cache = {}
function M.recipe(name)
  local r = recipe_cache[name]
  if r == nil then
    local p = prototypes.recipe[name]
    local ingredients = {}
    for i, ing in ipairs(p.ingredients) do ingredients[i] = {name = ing.name, amount = ing.amount} end
    local products = p.products
    r = {
      ingredients = ingredients,
      product_amount = products[1].amount,
      ticks = math.floor(p.energy * 60 + 0.5),
    }
    recipe_cache[name] = r
  end
  return r
end

local size_cache = {}
function M.footprint(name)
  local s = size_cache[name]
  if s == nil then
    s = prototypes.entity[name].tile_width
    size_cache[name] = s
  end
  return s
end

M.ids = ids
return M
