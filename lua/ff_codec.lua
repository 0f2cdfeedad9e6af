-- The 32-bit map cell, as the Factorio mod computes it (mirrors csrc/ff_codec.h bit for bit).
--
-- Factorio runs Lua 5.2.1, which has no bitwise operators (`|`, `<<`, `&` are syntax errors;
-- docs/factorio-facts.md §1), so the seed's `value | (id << 28)` cannot load. Numbers are doubles, exact
-- for integers below 2^53, so plain arithmetic packs the fields without a C call:
--   cell = tile * 2^28 + min(amount, 4095) * 2^16 + entity * 2^12 + blocked
-- The seed also wrote `amount & 0xFFF`, which wraps 4096 to 0; we saturate at 4095.
local M = {}

local TILE = 268435456   -- 2^28
local AMOUNT = 65536     -- 2^16
local ENTITY = 4096      -- 2^12
M.AMOUNT_MAX = 4095

--- Pack one cell. tile and entity are ids 0..15, amount >= 0, blocked a boolean.
-- Returns nil and a message for out-of-range input instead of raising inside a game tick.
function M.encode_cell(tile, amount, entity, blocked)
  if type(tile) ~= "number" or tile < 0 or tile > 15 or tile % 1 ~= 0 then
    return nil, "tile id must be an integer in 0..15"
  end
  if type(entity) ~= "number" or entity < 0 or entity > 15 or entity % 1 ~= 0 then
    return nil, "entity id must be an integer in 0..15"
  end
  if type(amount) ~= "number" or amount < 0 then
    return nil, "resource amount must be >= 0"
  end
  amount = math.floor(amount)
  if amount > M.AMOUNT_MAX then amount = M.AMOUNT_MAX end
  return tile * TILE + amount * AMOUNT + entity * ENTITY + (blocked and 1 or 0)
end

--- Unpack one cell into tile, amount, entity, blocked (reserved bits must be zero).
function M.decode_cell(cell)
  if type(cell) ~= "number" or cell < 0 or cell > 4294967295 or cell % 1 ~= 0 then
    return nil, "a cell is an unsigned 32-bit integer"
  end
  if math.floor(cell / 2) % 2048 ~= 0 then
    return nil, "reserved bits 11..1 are set"
  end
  local tile = math.floor(cell / TILE)
  local amount = math.floor(cell / AMOUNT) % 4096
  local entity = math.floor(cell / ENTITY) % 16
  return tile, amount, entity, cell % 2 == 1
end

return M
