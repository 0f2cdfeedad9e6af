-- The emulator's sandbox: builds the global environment a mod's files run in, shaped like
-- Factorio's (docs/factorio-facts.md §1, from https://lua-api.factorio.com/latest/auxiliary/libraries.html):
-- Lua 5.2 with bit32; no io, os, loadfile, dofile, coroutine, package.loadlib or C modules; load()
-- of text chunks only; require() of the mod's own .lua files, only while control.lua's main chunk
-- runs; serpent, log, table_size, localised_print and print present; math.randomseed a no-op.
--
-- This file runs with the real Lua globals (it is the emulator, not the mod); the table it
-- returns is the only thing the mod's code can reach.
local real_load = load
local real_string = string
local real_table = table
local real_math = math
local real_debug = debug

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- A minimal serializer with serpent's entry points (Factorio ships serpent as a global; the
-- emulator carries this small stand-in). Keys are sorted (numbers, then strings) so output is
-- stable; a table met again is written as a nil with a comment (no cycles, no sharing).
local function make_serpent(env)
  local S = {}
  local keywords = {}
  for w in ("and break do else elseif end false for function goto if in local nil not or repeat "
            .. "return then true until while"):gmatch("%S+") do keywords[w] = true end

  local function key_order(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta == "number" end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end

  local function scalar(v)
    local t = type(v)
    if t == "string" then return real_string.format("%q", v) end
    if t == "number" then
      if v ~= v then return "0/0" end
      if v == math.huge then return "math.huge" end
      if v == -math.huge then return "-math.huge" end
      if v == real_math.floor(v) and v > -2^53 and v < 2^53 then
        return real_string.format("%d", v)
      end
      return real_string.format("%.17g", v)
    end
    if t == "boolean" or t == "nil" then return tostring(v) end
    return "nil --[[" .. t .. "]]"
  end

  local function ser(v, indent, seen, multiline, depth)
    if type(v) ~= "table" then return scalar(v) end
    if seen[v] then return "nil --[[ref]]" end
    seen[v] = true
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    real_table.sort(keys, key_order)
    local n = #v
    local parts = {}
    for _, k in ipairs(keys) do
      local ks
      if type(k) == "number" and k >= 1 and k <= n and k == real_math.floor(k) then
        ks = ""
      elseif type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k] then
        ks = k .. (multiline and " = " or " = ")
      else
        ks = "[" .. scalar(k) .. "] = "
      end
      parts[#parts + 1] = ks .. ser(v[k], indent .. "  ", seen, multiline, depth + 1)
    end
    seen[v] = nil
    if #parts == 0 then return "{}" end
    if multiline then
      return "{\n" .. indent .. "  " .. real_table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
    end
    return "{" .. real_table.concat(parts, ", ") .. "}"
  end

  function S.line(v) return ser(v, "", {}, false, 0) end
  function S.block(v) return ser(v, "", {}, true, 0) end
  function S.dump(v) return "do local _ = " .. ser(v, "", {}, false, 0) .. "; return _; end" end
  function S.load(s)
    if type(s) ~= "string" then return false, "serpent.load expects a string" end
    local f, err = real_load("return " .. s, "=serpent", "t", {math = env.math})
    if not f then
      f, err = real_load(s, "=serpent", "t", {math = env.math})
      if not f then return false, err end
    end
    local ok, res = pcall(f)
    if not ok then return false, res end
    return true, res
  end
  return S
end

-- A deterministic math.random: Factorio's is seeded from the map and math.randomseed does
-- nothing (docs/factorio-facts.md §1). A 31-bit Park-Miller generator in doubles (exact).
local function make_random()
  local state = 20240611
  return function(m, n)
    state = (state * 16807) % 2147483647
    local r = (state - 1) / 2147483646
    if m == nil then return r end
    if n == nil then m, n = 1, m end
    if m > n then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return m + real_math.floor(r * (n - m + 1))
  end
end

-- hooks: print(text), log(text), localised_print(value), read(path) -> source or nil
return function(hooks)
  local env = {}
  local loaded = {}
  local loading = false

  for _, name in ipairs({"assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
                         "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable",
                         "tonumber", "tostring", "type", "xpcall", "_VERSION"}) do
    env[name] = _G[name]
  end
  env.unpack = real_table.unpack
  env.string = real_string
  env.table = copy(real_table)
  env.bit32 = copy(bit32)
  env.math = copy(real_math)
  env.math.random = make_random()
  env.math.randomseed = function() end
  env.debug = {getinfo = real_debug.getinfo, traceback = real_debug.traceback}
  env._G = env

  -- load: text chunks only, and a chunk without an explicit environment gets the mod's.
  env.load = function(chunk, name, mode, chunk_env)
    if mode ~= nil and mode ~= "t" then
      return nil, "attempt to load a binary chunk (mode is '" .. tostring(mode) .. "')"
    end
    if type(chunk) == "string" and chunk:byte(1) == 27 then
      return nil, "attempt to load a binary chunk"
    end
    return real_load(chunk, name, "t", chunk_env or env)
  end
  env.loadstring = function(s, name) return env.load(s, name) end

  env.print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    hooks.print(real_table.concat(parts, "\t"))
  end
  env.log = function(msg) hooks.log(tostring(msg)) end
  env.localised_print = function(msg) hooks.localised_print(msg) end
  env.table_size = function(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n
  end
  env.serpent = make_serpent(env)

  -- require: the mod's own files only; "a.b" and "a/b" name a/b.lua from the mod root,
  -- "__mod-name__/x" names x in the mod itself. ".." is refused, as in Factorio.
  local function resolve(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 3) end
    local path = name
    local mod = path:match("^__([%w_%-]+)__/")
    if mod then
      if mod ~= hooks.mod_name then
        error("module " .. name .. " not found; the emulator loads only the mod's own files", 3)
      end
      path = path:sub(#mod + 6)
    end
    if path:find("%.%.") then error("module " .. name .. " not found; '..' is disabled", 3) end
    path = path:gsub("%.lua$", "")
    if not path:find("/") then path = path:gsub("%.", "/") end
    return path .. ".lua"
  end
  env.require = function(name)
    if not loading then
      error("Require can't be used outside of control.lua parsing.", 2)
    end
    local path = resolve(name)
    if loaded[path] ~= nil then return loaded[path] end
    local src = hooks.read(path)
    if src == nil then error("module " .. name .. " not found", 2) end
    local f, err = real_load(src, "@__" .. hooks.mod_name .. "__/" .. path, "t", env)
    if not f then error(err, 0) end
    local result = f()
    if result == nil then result = true end
    loaded[path] = result
    return result
  end

  local api = {env = env}
  -- Run the mod's main file (control.lua) with require enabled, as Factorio does.
  function api.load_main(path)
    local src = hooks.read(path)
    if src == nil then error("the mod has no " .. path, 0) end
    local f, err = real_load(src, "@__" .. hooks.mod_name .. "__/" .. path, "t", env)
    if not f then error(err, 0) end
    loading = true
    local ok, res = pcall(f)
    loading = false
    if not ok then error(res, 0) end
    loaded[path] = res == nil and true or res
    return res
  end
  -- Compile and run text in the mod's environment (tests, and the console of a future shim).
  function api.run(src, chunkname)
    local f, err = real_load(src, chunkname or "=(command)", "t", env)
    if not f then return false, err end
    return pcall(f)
  end
  return api
end
