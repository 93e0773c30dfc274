-- retort.pretty: readable text for any Lua value (REPL auto-print, notebooks).
--   rt.pretty(x [, opts]) / rt.pretty.format(x [, opts]) -> string
-- Tables: array items first, then the other keys sorted; nested up to opts.depth
-- (default 3, deeper tables show as {...}); cycles show as <cycle>; short tables
-- stay on one line (opts.width, default 80); at most opts.max_items (100) items;
-- strings inside tables are cut at opts.max_string (200) bytes.
-- Userdata and tables with __tostring use it (inside a table only its last line:
-- a tensor shows as its one-line summary); a table holding two or more such objects
-- (a list of tensors) prints one per line.
local P = {}

P.defaults = { depth = 3, width = 80, max_items = 100, max_string = 200, indent = "  " }

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local ESC = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r" }

--- P.quote(s): s as a Lua string literal with readable escapes.
function P.quote(s)
  return '"' .. s:gsub('[\\"\n\t\r%c]', function(c)
    return ESC[c] or string.format("\\%d", c:byte())
  end) .. '"'
end

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not KEYWORDS[k]
end

local TYPE_ORDER = { number = 1, string = 2, boolean = 3 }
local function keycmp(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return (TYPE_ORDER[ta] or 9) < (TYPE_ORDER[tb] or 9) or
      ((TYPE_ORDER[ta] or 9) == (TYPE_ORDER[tb] or 9) and ta < tb)
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function has_tostring(v)
  local mt = debug.getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed>"
end

-- Inside a table, an object whose __tostring spans lines (a tensor with its data)
-- shows only its last line, the one-line summary.
local function object_text(v, depth)
  local s = safe_tostring(v)
  if depth > 0 and s:find("\n", 1, true) then
    s = s:gsub("%s+$", ""):match("([^\n]*)$")
  end
  return s
end

local function render(v, depth, seen, indent, o)
  local t = type(v)
  if t == "string" then
    if #v > o.max_string then
      return P.quote(v:sub(1, o.max_string)) .. "... (" .. #v .. " bytes)"
    end
    return P.quote(v)
  end
  if t ~= "table" or has_tostring(v) then return object_text(v, depth) end
  if seen[v] then return "<cycle>" end
  if depth >= o.depth then return next(v) == nil and "{}" or "{...}" end
  seen[v] = true
  local n = 0
  while rawget(v, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, v do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, keycmp)
  local inner = indent .. o.indent
  local items, shown, total = {}, 0, n + #keys
  local objects = 0
  local function count(x) if type(x) ~= "string" and type(x) ~= "table" and has_tostring(x) then objects = objects + 1 end end
  for i = 1, n do count(rawget(v, i)) end
  for _, k in ipairs(keys) do count(rawget(v, k)) end
  for i = 1, n do
    if shown >= o.max_items then break end
    items[#items + 1] = render(rawget(v, i), depth + 1, seen, inner, o)
    shown = shown + 1
  end
  for _, k in ipairs(keys) do
    if shown >= o.max_items then break end
    local ks = is_ident(k) and k or ("[" .. render(k, o.depth, seen, inner, o) .. "]")
    items[#items + 1] = ks .. " = " .. render(rawget(v, k), depth + 1, seen, inner, o)
    shown = shown + 1
  end
  if total > shown then items[#items + 1] = "... (" .. (total - shown) .. " more)" end
  seen[v] = nil
  if #items == 0 then return "{}" end
  local one = "{" .. table.concat(items, ", ") .. "}"
  if #one + #indent <= o.width and not one:find("\n", 1, true) and objects < 2 then return one end
  return "{\n" .. inner .. table.concat(items, ",\n" .. inner) .. "\n" .. indent .. "}"
end

--- P.format(x [, opts]): the pretty text of x (strings are quoted).
function P.format(x, opts)
  local o = P.defaults
  if opts then
    o = setmetatable({}, { __index = P.defaults })
    for k, v in pairs(opts) do o[k] = v end
  end
  return render(x, 0, {}, "", o)
end

local ok, rt = pcall(require, "retort")
if ok and type(rt) == "table" and rt.doc then
  rt.doc(P, [[rt.pretty(x [, opts]) -> string: readable text for any value (what the REPL
and notebooks print). Tables: array items first, then sorted keys; nested up to
opts.depth (3); cycles show as <cycle>; short tables on one line (opts.width 80);
at most opts.max_items (100) items. Userdata use __tostring.]], "rt.pretty")
  rt.doc(P.format, "rt.pretty.format(x [, opts]): same as rt.pretty(x, opts).", "rt.pretty.format")
end

return setmetatable(P, { __call = function(_, x, opts) return P.format(x, opts) end })
