-- retort.log (rt.log): JSON encoding/decoding, JSONL/CSV training logs, and
-- atomic text-file writes.
--   local L = rt.log
--   L.json_encode{a = 1, b = {1, 2}} --> '{"a":1,"b":[1,2]}'
--   L.json_decode('{"a":[1,2]}')     --> {a = {1, 2}}
--   local w = L.jsonl("run/log.jsonl"); w:write{step = 1, loss = 0.5}; w:close()
--   L.read_jsonl("run/log.jsonl")     --> {{step = 1, loss = 0.5}, ...}
--
-- Why Lua keeps its own JSON codec although the C side links cJSON: cJSON holds
-- every number as a double, and the files written here (trainer_state.json with
-- RNG seeds and counters, checkpoint metadata) carry 64-bit integers that must
-- round-trip exactly; the encoder also sorts keys (stable files to diff) and
-- tells {} from [] via rt.log.object_mt. cJSON still reads and writes the C
-- side's configs and notebooks.
local log = {}

---------------------------------------------------------------------------
-- JSON
---------------------------------------------------------------------------
local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function esc_str(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function num(x)
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  if math.type(x) == "integer" then return tostring(x) end
  if x == math.floor(x) and math.abs(x) < 1e15 then return string.format("%d", x) end
  return string.format("%.9g", x)
end

local function is_array(t)
  local n = #t
  if n == 0 then return next(t) == nil and "empty" or false end
  local c = 0
  for _ in pairs(t) do c = c + 1 end
  return c == n
end

local encode
encode = function(v, out, sortkeys)
  local tv = type(v)
  if tv == "nil" then out[#out + 1] = "null"
  elseif tv == "boolean" then out[#out + 1] = tostring(v)
  elseif tv == "number" then out[#out + 1] = num(v)
  elseif tv == "string" then out[#out + 1] = esc_str(v)
  elseif tv == "table" then
    local arr = is_array(v)
    if arr == "empty" then out[#out + 1] = (getmetatable(v) == log.object_mt) and "{}" or "[]"
    elseif arr then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, sortkeys)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      if sortkeys ~= false then table.sort(keys, function(a, b) return tostring(a) < tostring(b) end) end
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = esc_str(tostring(k))
        out[#out + 1] = ":"
        encode(v[k], out, sortkeys)
      end
      out[#out + 1] = "}"
    end
  elseif tv == "userdata" and v.item and v.numel and v:numel() == 1 then
    out[#out + 1] = num(v:item())
  else
    out[#out + 1] = esc_str(tostring(v))
  end
end

log.object_mt = {}   -- setmetatable({}, rt.log.object_mt) encodes as {} rather than []

--- rt.log.json_encode(value) -> string (keys sorted; NaN/Inf -> null).
function log.json_encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

local function utf8_char(cp) return utf8.char(cp) end

--- rt.log.json_decode(string) -> value (null -> nil inside tables: missing key).
function log.json_decode(s)
  local pos = 1
  local function err(msg) error(string.format("json: %s at byte %d", msg, pos), 0) end
  local function ws() pos = s:find("[^ \t\r\n]", pos) or (#s + 1) end
  local value
  local function str()
    pos = pos + 1
    local parts = {}
    while true do
      local a, b = s:find('["\\]', pos)
      if not a then err("unterminated string") end
      parts[#parts + 1] = s:sub(pos, a - 1)
      if s:sub(a, a) == '"' then pos = a + 1; break end
      local c = s:sub(a + 1, a + 1)
      if c == "u" then
        local cp = tonumber(s:sub(a + 2, a + 5), 16) or err("bad \\u escape")
        pos = a + 6
        if cp >= 0xD800 and cp < 0xDC00 and s:sub(pos, pos + 1) == "\\u" then
          local lo = tonumber(s:sub(pos + 2, pos + 5), 16)
          if lo and lo >= 0xDC00 and lo < 0xE000 then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            pos = pos + 6
          end
        end
        parts[#parts + 1] = utf8_char(cp)
      else
        local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
        parts[#parts + 1] = map[c] or err("bad escape")
        pos = a + 2
      end
    end
    return table.concat(parts)
  end
  value = function()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      pos = pos + 1
      local t = {}
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return setmetatable(t, log.object_mt) end
      while true do
        ws()
        if s:sub(pos, pos) ~= '"' then err("expected a key") end
        local k = str()
        ws()
        if s:sub(pos, pos) ~= ":" then err("expected ':'") end
        pos = pos + 1
        t[k] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then err("expected ',' or '}'") end
      end
    elseif c == "[" then
      pos = pos + 1
      local t, n = {}, 0
      ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        n = n + 1
        t[n] = value()
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then err("expected ',' or ']'") end
      end
    elseif c == '"' then return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil
    else
      local a, b = s:find("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not a then err("unexpected character '" .. c .. "'") end
      local tok = s:sub(a, b)
      pos = b + 1
      return math.tointeger(tonumber(tok)) or tonumber(tok) or err("bad number")
    end
  end
  local v = value()
  ws()
  if pos <= #s then err("trailing characters") end
  return v
end

--- rt.log.read_json(path) -> value
function log.read_json(path)
  local f, e = io.open(path, "rb")
  if not f then error("read_json: " .. tostring(e), 2) end
  local s = f:read("a")
  f:close()
  local ok, v = pcall(log.json_decode, s)
  if not ok then error(path .. ": " .. tostring(v), 2) end
  return v
end

--- rt.log.write_atomic(path, text): replace path atomically (rt.sys.atomic_write:
--- temp file in the same directory, fsync, rename, fsync the directory).
function log.write_atomic(path, text)
  local ok, e = pcall(require("retort.core").sys.atomic_write, path, text)
  if not ok then error("write_atomic: " .. tostring(e), 2) end
end

--- rt.log.write_json(path, value): atomic JSON write.
function log.write_json(path, v) log.write_atomic(path, log.json_encode(v) .. "\n") end

---------------------------------------------------------------------------
-- JSONL / CSV writers
---------------------------------------------------------------------------
local Writer = {}
Writer.__index = Writer

--- rt.log.jsonl(path, {append = false}) -> writer with :write(tbl), :flush(), :close()
function log.jsonl(path, o)
  local f, e = io.open(path, (o and o.append) and "ab" or "wb")
  if not f then error("rt.log.jsonl: " .. tostring(e), 2) end
  f:setvbuf("full")
  return setmetatable({ f = f, path = path, kind = "jsonl" }, Writer)
end

--- rt.log.csv(path, columns) -> writer (columns fixed by the first record if nil)
function log.csv(path, cols, o)
  local f, e = io.open(path, (o and o.append) and "ab" or "wb")
  if not f then error("rt.log.csv: " .. tostring(e), 2) end
  return setmetatable({ f = f, path = path, kind = "csv", cols = cols }, Writer)
end

function Writer:write(rec)
  if self.kind == "jsonl" then
    self.f:write(log.json_encode(rec), "\n")
  else
    if not self.cols then
      self.cols = {}
      for k in pairs(rec) do self.cols[#self.cols + 1] = k end
      table.sort(self.cols)
    end
    if not self.header_done then self.f:write(table.concat(self.cols, ","), "\n"); self.header_done = true end
    local row = {}
    for i, c in ipairs(self.cols) do
      local v = rec[c]
      row[i] = v == nil and "" or (type(v) == "number" and num(v) or tostring(v))
    end
    self.f:write(table.concat(row, ","), "\n")
  end
end

function Writer:flush() self.f:flush() end
function Writer:close() if self.f then self.f:close(); self.f = nil end end

--- rt.log.read_jsonl(path) -> array of records
function log.read_jsonl(path)
  local out = {}
  local f, e = io.open(path, "rb")
  if not f then error("read_jsonl: " .. tostring(e), 2) end
  local n = 0
  for line in f:lines() do
    n = n + 1
    if line:find("%S") then
      local ok, v = pcall(log.json_decode, line)
      if not ok then f:close(); error(path .. ":" .. n .. ": " .. v, 2) end
      out[#out + 1] = v
    end
  end
  f:close()
  return out
end

--- rt.log.autodoc(module, prefix, methods): register help text for a Lua module's
--- functions from its "--- " comment lines (the block right above each
--- `function X.name(` / `function X:name(`), under prefix .. name. Called at the end
--- of the module files (optim, metrics, trainer, progress, log).
function log.autodoc(mod, prefix, methods)
  local rt = package.loaded["retort.core"]
  if not (rt and rt.doc) then return end
  local src = debug.getinfo(2, "S").source
  if src:sub(1, 1) ~= "@" then return end
  local f = io.open(src:sub(2), "r")
  if not f then return end
  local block = {}
  local header = {}
  local in_header = true
  for line in f:lines() do
    local d = line:match("^%-%-%- ?(.*)$")
    if d and d:match("^%-*$") then d = nil end      -- a row of dashes is a separator, not help text
    if d then block[#block + 1] = d
    else
      local c = line:match("^%-%- ?(.*)$")
      if in_header and c then header[#header + 1] = c end
      if not c then in_header = false end
      local obj, sep, name = line:match("^function ([%w_]+)([%.:])([%w_]+)%(")
      if name and #block > 0 then
        local target = (sep == ":" and methods) and methods[name] or mod[name]
        if type(target) == "function" then
          pcall(rt.doc, target, table.concat(block, "\n"), prefix .. (sep == ":" and ":" or ".") .. name)
        end
      end
      block = {}
    end
  end
  f:close()
  if #header > 0 then pcall(rt.doc, mod, table.concat(header, "\n"), prefix) end
end

log.autodoc(log, "rt.log")
return log
