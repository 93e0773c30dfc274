-- retort.help: help(x) and the REPL's `?name`, from the doc registry (rt.doc)
-- that C bindings (rtl_register) and Lua modules (rt.doc(fn, text, name)) fill.
--   help()            an overview
--   help(rt.tensor)   the text for a value (functions, tables, tensors via their metatable)
--   help("rt.tensor") / ?rt.tensor / ?tensor   the text for a name; tables list members
local rt = require "retort"
local H = {}

local function out(s) io.stdout:write(s, "\n") end

local function first_line(s) return (tostring(s):match("^[^\n]*")) end

-- Where v's methods live (read only): __index when a table; for a C function
-- __index its first table upvalue (bindings keep methods there); else the metatable.
local function mt_index(v)
  local mt = debug.getmetatable(v)
  if type(mt) ~= "table" then return nil end
  local idx = rawget(mt, "__index")
  if type(idx) == "table" then return idx end
  if type(idx) == "function" then
    if debug.getinfo(idx, "S").what == "C" then
      for i = 1, 255 do
        local name, up = debug.getupvalue(idx, i)
        if name == nil then break end
        if type(up) == "table" then return up end
      end
    end
    return mt ~= v and mt or nil
  end
  return nil
end

-- Raw lookup of a field along __index tables (never runs metamethods).
local function lookup(v, k)
  for _ = 1, 16 do
    if type(v) == "table" then
      local x = rawget(v, k)
      if x ~= nil then return x end
    end
    v = mt_index(v)
    if v == nil then return nil end
  end
end

--- H.resolve(name): the value a dotted name ("rt.F.gelu", "x:sum") refers to, or nil.
function H.resolve(name)
  local v = _G
  for _, part in ("." .. name):gmatch("([%.:])([%a_][%w_]*)") do
    if v == nil then return nil end
    local nv = lookup(v, part)
    if nv == nil and rawequal(v, rt) then        -- lazy modules (rt.trainer): load them
      local ok, m = pcall(function() return rt[part] end)
      if ok then nv = m end
    end
    v = nv
  end
  return v
end

-- Documented members of a table (or a userdata's methods): sorted "name  first line".
local function members(v, prefix)
  local list, seen = {}, {}
  local t = v
  for _ = 1, 16 do
    if type(t) == "table" then
      for k, x in next, t do
        if type(k) == "string" and not k:match("^__") and not seen[k] then
          seen[k] = true
          local d = rt.doc(x)
          if d then list[#list + 1] = { k, first_line(d) } end
        end
      end
    end
    t = mt_index(t)
    if t == nil then break end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  local lines = {}
  for _, e in ipairs(list) do
    lines[#lines + 1] = string.format("  %-22s %s", (prefix or "") .. e[1], e[2])
  end
  return lines
end

local function suggestions(name)
  local names, hits = rt.doc_names(), {}
  local needle = name:lower():match("[%w_]+$") or name:lower()
  for _, n in ipairs(names) do
    if n:lower():find(needle, 1, true) then hits[#hits + 1] = n end
  end
  table.sort(hits)
  return hits
end

local OVERVIEW = [[
retort — NEZHA / TinyBERT in C with a Lua front end. `rt` is the library.
  ?name or help(x)     help for a function, module or object (?rt.tensor, help(rt.F))
  rt.<TAB>             explore with tab completion (x:<TAB> lists methods)
  rt.pretty(x)         readable text for a value; `_` holds the last result
  Trailing ';' hides a result. Ctrl-C stops a running command, Ctrl-D exits.
Recipes (complete training/distillation scripts): lua/recipes/. Lessons: notebooks/.]]

-- Library files that are not modules of rt (the loader, this file).
local NOT_MODULES = { init = true, help = true }

--- H.modules() -> sorted list of {name = "rt.x", text = first help line} for every
--- public module: the C tables in rt and every lua/retort/<name>.lua (loaded here).
function H.modules()
  local names, seen = {}, {}
  local function add(k) if not seen[k] then seen[k] = true; names[#names + 1] = k end end
  for k, v in next, rt do
    if type(k) == "string" and type(v) == "table" and not k:match("^_") then add(k) end
  end
  local dir = debug.getregistry()["rt.lua_dir"]
  local K = rawget(rt, "sys") or rawget(rt, "_optim")
  for _, f in ipairs(dir and K and K.listdir(dir .. "/retort") or {}) do
    local k = f:match("^([%a_][%w_]*)%.lua$")
    if k and not NOT_MODULES[k] then add(k) end
  end
  table.sort(names)
  local list = {}
  for _, k in ipairs(names) do
    local ok, m = pcall(function() return rt[k] end)
    if ok and m ~= nil then
      local text = rt.doc(m) or rt.doc("rt." .. k)
      if text then
        text = first_line(text)
      elseif type(m) == "table" then     -- undocumented table: name what it holds
        local fns = {}
        for name, v in next, m do
          if type(name) == "string" and not name:match("^_") and type(v) == "function" then fns[#fns + 1] = name end
        end
        table.sort(fns)
        text = #fns > 0 and ("functions: " .. table.concat(fns, ", ", 1, math.min(#fns, 8)) ..
          (#fns > 8 and ", ..." or "")) or ""
      end
      list[#list + 1] = { name = "rt." .. k, text = text or "" }
    end
  end
  return list
end

--- H.help(x): print the help for a value or a name.
function H.help(x, ...)
  if select("#", ...) == 0 and x == nil then
    out(OVERVIEW)
    local mods = H.modules()
    if #mods > 0 then
      out("Modules (help(rt.name) or ?rt.name for each):")
      for _, m in ipairs(mods) do out(string.format("  %-22s %s", m.name, m.text)) end
    end
    local fns = {}
    for _, line in ipairs(members(rt, "rt.")) do
      local name = line:match("^%s*(%S+)")
      local v = name and H.resolve(name)
      if type(v) ~= "table" then fns[#fns + 1] = line end
    end
    if #fns > 0 then out("Functions in rt:"); out(table.concat(fns, "\n")) end
    return
  end
  local name, text, v
  if type(x) == "string" then
    name = x:match("^%s*(.-)%s*$")
    text = rt.doc(name) or rt.doc("rt." .. name)
    v = H.resolve(name)
    if v == nil and not name:match("^rt[%.:]") then v = H.resolve("rt." .. name) end
    if not text and v ~= nil and type(v) ~= "string" then text = rt.doc(v) end
  else
    v = x
    text = rt.doc(x)
  end
  if text then out(text) end
  local shown = text ~= nil
  if type(v) == "table" or type(v) == "userdata" then
    local prefix = name and (name .. (type(v) == "userdata" and ":" or ".")) or ""
    local lines = members(v, prefix)
    if #lines > 0 then
      if shown then out("") end
      out("Members:")
      out(table.concat(lines, "\n"))
      shown = true
    end
  end
  if not shown then
    local what = name and ("'" .. name .. "'") or type(x)
    if v ~= nil and name then what = what .. " (" .. type(v) .. ")" end
    local msg = "no help for " .. what
    local hits = name and suggestions(name) or {}
    if #hits > 0 then
      msg = msg .. "; related: " .. table.concat(hits, ", ", 1, math.min(#hits, 12))
    end
    out(msg)
  end
end

-- One-line help for the Lua standard functions people reach for first
-- (the full reference: https://www.lua.org/manual/5.4/manual.html#6).
local STD = {
  print = "print(...): write the values, tab-separated, and a newline to stdout",
  type = "type(v) -> \"nil\" | \"number\" | \"string\" | \"boolean\" | \"table\" | \"function\" | \"userdata\" | \"thread\"",
  tostring = "tostring(v) -> string (uses __tostring)",
  tonumber = "tonumber(s [, base]) -> number or nil",
  pairs = "pairs(t): iterate all key, value pairs (order unspecified): for k, v in pairs(t) do ... end",
  ipairs = "ipairs(t): iterate t[1], t[2], ... until the first nil: for i, v in ipairs(t) do ... end",
  select = "select(n, ...) -> the arguments from the n-th; select('#', ...) -> their count",
  pcall = "pcall(f, ...) -> true, results | false, error: call f catching errors",
  error = "error(msg [, level]): raise an error (level 2 blames the caller)",
  assert = "assert(v [, msg]) -> v, or raise msg when v is false or nil",
  require = "require(name): load a module once (lua/?.lua and lua/?/init.lua are on package.path)",
  setmetatable = "setmetatable(t, mt) -> t: give t a metatable (__index for classes and defaults)",
  getmetatable = "getmetatable(v) -> its metatable (or its __metatable field)",
  ["string.format"] = "string.format(fmt, ...) -> string, printf-style (%d %5.2f %s %q %x)",
  ["string.rep"] = "string.rep(s, n [, sep]) -> s repeated n times",
  ["string.sub"] = "string.sub(s, i [, j]) / s:sub(i, j) -> substring (1-based, negatives from the end)",
  ["string.find"] = "s:find(pattern [, init [, plain]]) -> start, end (and captures) or nil",
  ["string.match"] = "s:match(pattern) -> the captures (or the whole match) or nil",
  ["string.gmatch"] = "s:gmatch(pattern): iterator over matches: for w in s:gmatch(\"%a+\") do ... end",
  ["string.gsub"] = "s:gsub(pattern, repl [, n]) -> new string, number of replacements",
  ["string.upper"] = "s:upper() -> upper-case copy",
  ["string.lower"] = "s:lower() -> lower-case copy",
  ["string.len"] = "s:len() / #s -> length in bytes (utf8.len for characters)",
  ["table.insert"] = "table.insert(t, [pos,] v): append v (or insert at pos)",
  ["table.remove"] = "table.remove(t [, pos]) -> the removed element (the last by default)",
  ["table.concat"] = "table.concat(t [, sep [, i [, j]]]) -> the strings/numbers of t joined",
  ["table.sort"] = "table.sort(t [, less]): sort in place (less(a, b) -> true when a before b)",
  ["table.unpack"] = "table.unpack(t [, i [, j]]) -> t[i], ..., t[j]",
  ["math.floor"] = "math.floor(x) -> largest integer <= x",
  ["math.random"] = "math.random([m [, n]]): uniform float in [0,1) or integer in [m, n]",
  ["math.sqrt"] = "math.sqrt(x)", ["math.exp"] = "math.exp(x)", ["math.log"] = "math.log(x [, base])",
  ["math.max"] = "math.max(x, ...) -> the largest", ["math.min"] = "math.min(x, ...) -> the smallest",
  ["os.time"] = "os.time() -> seconds since the epoch", ["os.clock"] = "os.clock() -> CPU seconds used",
  ["os.getenv"] = "os.getenv(name) -> value or nil", ["os.exit"] = "os.exit([code]): end the program",
  ["io.open"] = "io.open(path [, mode]) -> file or nil, message; f:read(\"a\"), f:lines(), f:write(...), f:close()",
  ["io.write"] = "io.write(...): write strings/numbers to stdout without a newline",
  ["io.lines"] = "io.lines(path): iterate the lines of a file: for line in io.lines(p) do ... end",
}
for name, text in pairs(STD) do
  local v = H.resolve(name)
  if v ~= nil and rt.doc(v) == nil then rt.doc(v, text, name) end
end

rt.doc(H.help, [[help(x) / ?name: show the help text of a value or a name, and the documented
members of a table or object. help() alone gives an overview.]], "help")

return setmetatable(H, { __call = function(_, ...) return H.help(...) end })
