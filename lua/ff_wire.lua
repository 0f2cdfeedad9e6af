-- Bytes on the wire, built and read with arithmetic only: Factorio's Lua 5.2.1 has no bitwise
-- operators (a `|` is a syntax error, docs/factorio-facts.md §1), and the mod does not use
-- string.pack (2.0 only) so that every byte's arithmetic is visible here.
--
-- The frame (docs/design.md §8): a 16-byte little-endian header `magic u16 0xFA57, version u8 1,
-- type u8, payload length u32, sequence u64`, then the payload. Over RCON a frame travels as text
-- (a NUL byte would cut rcon.print's output, docs/factorio-facts.md §2.1): "B" + base64, or "Z" +
-- helpers.encode_string's deflate + base64 (done natively by the game).
local M = {}

local floor = math.floor
local char, byte = string.char, string.byte
local concat = table.concat
local unpack = table.unpack

M.MAGIC = 0xFA57
M.VERSION = 1
M.HEADER = 16
M.T_ACTIONS = 1
M.T_ERROR = 5
M.T_WORLD = 6
M.T_RAW = 7

-- ---- writers: append bytes to an array of numbers ----

function M.u8(t, v)
  t[#t + 1] = v % 256
end

function M.u16(t, v)
  if v < 0 then v = v + 65536 end
  local n = #t
  t[n + 1] = v % 256
  t[n + 2] = floor(v / 256) % 256
end

function M.u32(t, v)
  if v < 0 then v = v + 4294967296 end
  local n = #t
  t[n + 1] = v % 256
  t[n + 2] = floor(v / 256) % 256
  t[n + 3] = floor(v / 65536) % 256
  t[n + 4] = floor(v / 16777216) % 256
end

-- An array of byte values as a string (in slices: unpack's stack is bounded).
function M.bytes(t)
  local parts = {}
  local n = #t
  for i = 1, n, 4000 do
    parts[#parts + 1] = char(unpack(t, i, math.min(i + 3999, n)))
  end
  return concat(parts)
end

-- 4 bytes of a u32 cell, memoised: most cells of a window repeat (grass, the map edge).
local cell4 = {}
function M.u32s(v)
  local s = cell4[v]
  if s == nil then
    s = char(v % 256, floor(v / 256) % 256, floor(v / 65536) % 256, floor(v / 16777216) % 256)
    cell4[v] = s
  end
  return s
end

-- ---- readers: little-endian at a 1-based offset ----

function M.rd_u8(s, i)
  return byte(s, i)
end

function M.rd_u16(s, i)
  local a, b = byte(s, i, i + 1)
  return a + b * 256
end

function M.rd_i16(s, i)
  local v = M.rd_u16(s, i)
  if v >= 32768 then v = v - 65536 end
  return v
end

function M.rd_u32(s, i)
  local a, b, c, d = byte(s, i, i + 3)
  return a + b * 256 + c * 65536 + d * 16777216
end

function M.rd_i32(s, i)
  local v = M.rd_u32(s, i)
  if v >= 2147483648 then v = v - 4294967296 end
  return v
end

-- IEEE-754 binary32, exactly, as a Lua number; nil for infinities and NaN.
function M.rd_f32(s, i)
  local bits = M.rd_u32(s, i)
  local sign = 1
  if bits >= 2147483648 then
    sign = -1
    bits = bits - 2147483648
  end
  local exp = floor(bits / 8388608)
  local mant = bits % 8388608
  if exp == 255 then return nil end
  if exp == 0 then return sign * mant * 2 ^ -149 end
  return sign * (8388608 + mant) * 2 ^ (exp - 150)
end

-- ---- base64 (RFC 4648, with padding) ----

local ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local enc1, dec1 = {}, {}
for i = 1, 64 do
  local c = ALPHA:sub(i, i)
  enc1[i - 1] = c
  dec1[byte(c)] = i - 1
end
-- 12 bits -> 2 characters: one table read per half of a 3-byte group
local enc2 = {}
for i = 0, 4095 do enc2[i] = enc1[floor(i / 64)] .. enc1[i % 64] end

function M.b64encode(s)
  local out = {}
  local n = #s
  local full = n - n % 3
  for i = 1, full, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = a * 65536 + b * 256 + c
    out[#out + 1] = enc2[floor(v / 4096)]
    out[#out + 1] = enc2[v % 4096]
  end
  local rest = n - full
  if rest == 1 then
    local a = byte(s, n)
    out[#out + 1] = enc1[floor(a / 4)] .. enc1[(a % 4) * 16] .. "=="
  elseif rest == 2 then
    local a, b = byte(s, n - 1, n)
    local v = a * 256 + b
    out[#out + 1] = enc1[floor(v / 1024)] .. enc1[floor(v / 16) % 64] .. enc1[(v % 16) * 4] .. "="
  end
  return concat(out)
end

-- The decoded string, or nil and a reason (bad length, a character outside the alphabet,
-- misplaced padding).
function M.b64decode(s)
  local n = #s
  if n % 4 ~= 0 then return nil, "base64 length is not a multiple of 4" end
  local pad = 0
  if n > 0 and s:sub(n) == "=" then
    pad = 1
    if s:sub(n - 1, n - 1) == "=" then pad = 2 end
  end
  local out = {}
  local bytes = {}
  for i = 1, n, 4 do
    local c1, c2, c3, c4 = byte(s, i, i + 3)
    local last = i + 3 == n
    local v1, v2 = dec1[c1], dec1[c2]
    local v3 = dec1[c3]
    local v4 = dec1[c4]
    if last and pad >= 1 then v4 = 0 end
    if last and pad == 2 then v3 = 0 end
    if v1 == nil or v2 == nil or v3 == nil or v4 == nil then
      return nil, "a character outside the base64 alphabet"
    end
    local v = ((v1 * 64 + v2) * 64 + v3) * 64 + v4
    local k = #bytes
    bytes[k + 1] = floor(v / 65536)
    bytes[k + 2] = floor(v / 256) % 256
    bytes[k + 3] = v % 256
    if #bytes >= 3000 then
      out[#out + 1] = char(unpack(bytes))
      bytes = {}
    end
  end
  if #bytes > 0 then out[#out + 1] = char(unpack(bytes)) end
  local r = concat(out)
  if pad > 0 then r = r:sub(1, #r - pad) end
  return r
end

-- ---- frames ----

-- A frame's bytes. seq is the request's raw 8-byte sequence (echoed), or nil for zeros.
function M.frame(ftype, payload, seq)
  local h = {}
  M.u16(h, M.MAGIC)
  M.u8(h, M.VERSION)
  M.u8(h, ftype)
  M.u32(h, #payload)
  return M.bytes(h) .. (seq or "\0\0\0\0\0\0\0\0") .. payload
end

-- Parse a frame: type, payload, raw sequence; or nil and the reason.
function M.unframe(s)
  if #s < M.HEADER then return nil, "frame shorter than its 16-byte header" end
  if M.rd_u16(s, 1) ~= M.MAGIC then return nil, "bad frame magic" end
  local version = byte(s, 3)
  if version ~= M.VERSION then
    return nil, "unsupported frame version " .. version .. " (this mod speaks " .. M.VERSION .. ")"
  end
  local length = M.rd_u32(s, 5)
  if length ~= #s - M.HEADER then
    return nil, "frame length " .. length .. " does not match the " .. (#s - M.HEADER) .. " bytes sent"
  end
  return byte(s, 4), s:sub(M.HEADER + 1), s:sub(9, 16)
end

return M
