-- The emulator's object bridge: makes the shim's Python objects look like Factorio's LuaObjects.
--
-- Each object the shim hands to the mod is a Lua proxy table with a per-class metatable; the
-- Python object stays in Python and is named by an integer id. Reading an attribute calls
-- py_get(id, key), writing one py_set(id, key, value), and a method is a closure calling
-- py_call(id, key, ...) (Factorio's methods are called with a dot: surface.create_entity{...}).
-- Keys are checked here against the class's spec before Python is asked, with the game's own
-- messages (each seen in a real Factorio error report):
--   reading or writing a key the class lacks   "LuaEntity doesn't contain key foo."
--                                               (issue renoth/factorio-alien-module#69)
--   writing a read-only attribute (or a method) "LuaEntity::minable is read only."
--                                               (issue GregorSamsanite/nullius#149)
-- and Python reports an invalid object as "LuaEntity API call when LuaEntity was invalid."
-- (issue nihilistzsche/LtnManager#171). Errors carry no position prefix (level 0): in the game
-- they come from C++ code.
--
-- Python answers with a tag and values (few crossings, no Python objects in Lua):
--   0 v            a scalar (nil, boolean, number, string)
--   1 id cls       an object (its proxy)
--   2 x y          a MapPosition {x = x, y = y}
--   3 n id cls ... an array of n objects
--   4 t            a Lua table built by Python
--   6 k f1..fk n v11..v1k ...   an array of n records with the k field names f1..fk
--   9 msg          raise msg in the caller
local setmetatable, error, tostring, select, type = setmetatable, error, tostring, select, type

-- Search filters (the API's EntitySearchFilters / TileSearchFilters, one table argument of
-- find_entities_filtered and friends) are flattened here into scalars, one crossing instead of
-- one per key: area x1 y1 x2 y2, position x y, radius, name, type (arrays joined by "\n"),
-- force, limit, invert, and the keys the flattening does not know (for Python to refuse).
local FILTER_KEYS = {area = true, position = true, radius = true, name = true, type = true,
                     force = true, limit = true, invert = true}

local function join(v)
  if type(v) == "table" then return table.concat(v, "\n") end
  return v
end

local function xy(p)
  if type(p) ~= "table" then return nil, nil end
  local x, y = p.x, p.y
  if x == nil and y == nil then x, y = p[1], p[2] end
  return x, y
end

local function flat_filter(f)
  if type(f) ~= "table" then return false end
  local unknown = {}
  for k in pairs(f) do
    if not FILTER_KEYS[k] then unknown[#unknown + 1] = tostring(k) end
  end
  local x1, y1, x2, y2
  local area = f.area
  if area ~= nil then
    if type(area) ~= "table" then return false end
    local lt, rb = area.left_top, area.right_bottom
    if lt == nil and rb == nil then lt, rb = area[1], area[2] end
    x1, y1 = xy(lt)
    x2, y2 = xy(rb)
    if x1 == nil or y1 == nil or x2 == nil or y2 == nil then return false end
  end
  local px, py = xy(f.position)
  return true, x1, y1, x2, y2, px, py, f.radius, join(f.name), join(f.type), f.force, f.limit,
    f.invert, table.concat(unknown, ",")
end

return function(py_get, py_set, py_call, specs, py_filter)
  local ids = setmetatable({}, {__mode = "k"})      -- proxy -> id
  local proxies = setmetatable({}, {__mode = "v"})  -- id -> proxy (one proxy per object)
  local bound = setmetatable({}, {__mode = "k"})    -- proxy -> {method name -> closure}
  local metas = {}

  local function proxy(id, cls)
    local p = proxies[id]
    if p == nil then
      local mt = metas[cls]
      if mt == nil then error("emulator: no class " .. tostring(cls), 0) end
      p = setmetatable({}, mt)
      proxies[id] = p
      ids[p] = id
    end
    return p
  end

  local function decode(tag, a, b, ...)
    if tag == 0 then return a end
    if tag == 1 then return proxy(a, b) end
    if tag == 2 then return {x = a, y = b} end
    if tag == 3 then
      local t, args = {}, {b, ...}
      for i = 1, a do t[i] = proxy(args[2 * i - 1], args[2 * i]) end
      return t
    end
    if tag == 4 then return a end
    if tag == 6 then
      local args = {b, ...}
      local k = a
      local n = args[k + 1]
      local t = {}
      local pos = k + 2
      for i = 1, n do
        local r = {}
        for j = 1, k do r[args[j]] = args[pos]; pos = pos + 1 end
        t[i] = r
      end
      return t
    end
    if tag == 9 then error(a, 0) end
    error("emulator: bad bridge tag " .. tostring(tag), 0)
  end

  for cls, spec in pairs(specs) do
    local attrs, methods = spec.attrs, spec.methods
    local mt = {}
    mt.__index = function(self, key)
      local mode = attrs[key]
      if mode ~= nil then
        if mode == 2 then error(cls .. "::" .. tostring(key) .. " is write only.", 0) end
        local v = decode(py_get(ids[self], key))
        return v
      end
      local m = methods[key]
      if m then
        local b = bound[self]
        if b == nil then b = {}; bound[self] = b end
        local f = b[key]
        if f == nil then
          local id = ids[self]
          if m == 2 then
            f = function(filter)
              local v = decode(py_filter(id, key, flat_filter(filter)))
              return v
            end
          else
            f = function(...)
              local v = decode(py_call(id, key, select("#", ...), ...))
              return v
            end
          end
          b[key] = f
        end
        return f
      end
      error(cls .. " doesn't contain key " .. tostring(key) .. ".", 0)
    end
    mt.__newindex = function(self, key, value)
      local mode = attrs[key]
      if mode == 1 or (mode == nil and methods[key]) then
        error(cls .. "::" .. tostring(key) .. " is read only.", 0)
      end
      if mode == nil then error(cls .. " doesn't contain key " .. tostring(key) .. ".", 0) end
      decode(py_set(ids[self], key, value))
    end
    mt.__tostring = function(self) return "[LuaObject " .. cls .. " " .. tostring(ids[self]) .. "]" end
    mt.__metatable = "private"  -- as the game's userdata: getmetatable cannot reach the bridge
    metas[cls] = mt
  end

  local api = {}
  api.proxy = proxy
  function api.id_of(v)
    if type(v) ~= "table" then return nil end
    return ids[v]
  end
  -- set_tiles' argument flattened in Lua to "name,x,y;name,x,y;..." (one crossing for any
  -- number of tiles). Positions may be {x=, y=} or {x, y}.
  function api.flatten_tiles(tiles)
    local parts = {}
    for i = 1, #tiles do
      local t = tiles[i]
      local p = t.position
      local x, y
      if p ~= nil then x = p.x or p[1]; y = p.y or p[2] end
      parts[i] = tostring(t.name) .. "," .. tostring(x) .. "," .. tostring(y)
    end
    return table.concat(parts, ";"), #tiles
  end
  return api
end
