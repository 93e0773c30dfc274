-- retort.flags (rt.flags): command-line flags for the recipes, taken the way the
-- upstream scripts take them (Python argparse and TF/absl flags), so an upstream
-- command line works unchanged:
--   --name value   --name=value   --name (a boolean: true)   --noname (absl: false)
--   --name-with-dashes is the same flag as --name_with_dashes
-- Booleans accept true/false/1/0/yes/no/on/off in any case; anything else is an error
-- naming the flag. Integers and numbers are checked; a choice list is enforced.
--
--   local flags = require "retort.flags"
--   local SPEC = {
--     { "train_corpus", nil, "corpus: one sentence per line", required = true },
--     { "max_seq_len", 128, "maximum tokens per instance", type = "int" },
--     { "do_lower_case", false, "lower-case the text", type = "bool" },
--     { "kd_loss", "soft_ce", "soft_ce | kl | mse", choices = { "soft_ce", "kl", "mse" } },
--   }
--   local o = flags.parse(SPEC, args, { prog = "pregenerate.lua", about = "...",
--                                       departures = { "a --seed (upstream has none)" } })
--   if o.help then return end          -- --help printed the usage text
--
-- flags.script(prog, main) is the common tail of every recipe: it calls main(args)
-- with the command-line arguments (or the ones a chunk was called with), prints
-- an error as "prog: message" on stderr and exits 1 (2 for a flag error, 130 when
-- interrupted by Ctrl-C) when run as a script, and re-raises when loaded as a chunk.
--
-- Shared checks: flags.check_input_dir("model_dir", dir) (a clear error for a missing
-- folder), flags.check_output_dir(dir, {resume=, overwrite=}) (the HF Trainer's rule:
-- a non-empty output folder needs --resume or --overwrite_output_dir), and
-- flags.fail(msg, reported) (exit 1; reported = the message was already printed).
local flags = {}

local TRUE = { ["true"] = true, ["1"] = true, yes = true, on = true, y = true, t = true }
local FALSE = { ["false"] = true, ["0"] = true, no = true, off = true, n = true, f = true }

local FlagError = {}
FlagError.__index = FlagError
FlagError.__tostring = function(e) return e.msg end

--- flags.error(msg): raise a flag (usage) error; flags.script exits 2 for it.
function flags.error(msg) error(setmetatable({ msg = msg, usage = true }, FlagError), 0) end

--- flags.bool(v, name) -> true | false for a boolean word (any case), else a flag error.
function flags.bool(v, name)
  if type(v) == "boolean" then return v end
  if v == nil then return false end
  local s = tostring(v):lower()
  if TRUE[s] then return true end
  if FALSE[s] then return false end
  flags.error(string.format("--%s: expected true/false (or 1/0, yes/no), got '%s'", name or "?", tostring(v)))
end

local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.msg end

--- flags.fail(msg, reported): raise a run failure; flags.script exits 1 and prints
--- msg unless reported (the caller already printed it, e.g. the Trainer's NaN stop).
function flags.fail(msg, reported) error(setmetatable({ msg = msg, reported = reported }, Failure), 0) end

local function sys() local r = require("retort"); return r.sys or r._optim end

--- flags.check_input_dir(name, dir): a flag error unless dir is an existing folder
--- ("--model_dir /nope: no such directory").
function flags.check_input_dir(name, dir)
  if dir == nil then return end
  if not sys().isdir(dir) then
    local f = io.open(dir, "rb")
    if f then f:close(); flags.error(string.format("--%s %s: not a directory", name, dir)) end
    flags.error(string.format("--%s %s: no such directory", name, dir))
  end
end

--- flags.check_output_dir(dir, {resume=false, overwrite=false}): the HF Trainer's rule:
--- a flag error when dir exists and is not empty, unless resume or overwrite is set.
local function check_output_dir(dir, o)
  o = o or {}
  if dir == nil or o.resume or o.overwrite then return end
  local K = sys()
  if not K.isdir(dir) then
    local f = io.open(dir, "rb")
    if f then f:close(); flags.error(string.format("--output_dir %s: exists and is not a directory", dir)) end
    return
  end
  local list = K.listdir(dir) or {}
  if #list > 0 then
    flags.error(string.format("--output_dir %s already exists and is not empty; use --overwrite_output_dir "
      .. "to write into it or --resume to continue from its newest checkpoint", dir))
  end
end
function flags.check_output_dir(dir, o)
  check_output_dir(dir, o)
  -- under mpirun: no rank writes into dir before every rank has checked it
  local d = rawget(require("retort"), "dist")
  if d and d.size() > 1 then d.barrier() end
end

local function is_bool_word(s) local l = s:lower(); return TRUE[l] or FALSE[l] end

local function convert(d, v)
  local name, ty = d[1], d.type or "string"
  if v == nil then return nil end
  if ty == "bool" then return flags.bool(v, name) end
  if ty == "int" then
    local n = math.tointeger(tonumber(v))
    if not n then flags.error(string.format("--%s: expected an integer, got '%s'", name, tostring(v))) end
    return n
  end
  if ty == "float" or ty == "number" then
    local n = tonumber(v)
    if not n then flags.error(string.format("--%s: expected a number, got '%s'", name, tostring(v))) end
    return n
  end
  if ty == "list" then        -- comma-separated (TF's input_file=a,b,c)
    if type(v) == "table" then return v end
    local out = {}
    for part in tostring(v):gmatch("[^,]+") do out[#out + 1] = part end
    return out
  end
  v = tostring(v)
  if d.choices then
    local ok = false
    for _, c in ipairs(d.choices) do if c == v then ok = true end end
    if not ok then
      flags.error(string.format("--%s: '%s' is not one of %s", name, v, table.concat(d.choices, ", ")))
    end
  end
  return v
end

--- flags.usage(spec, meta) -> the --help text (options with defaults, then departures).
function flags.usage(spec, meta)
  meta = meta or {}
  local prog = meta.prog or "recipe.lua"
  local lines = { "usage: retort lua/recipes/" .. prog .. " [options]" }
  if meta.about then lines[#lines + 1] = ""; lines[#lines + 1] = meta.about end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options:"
  for _, d in ipairs(spec) do
    local ty = d.type or "string"
    local left = "--" .. d[1] .. (ty == "bool" and "" or (" " .. (d.metavar or ty:upper())))
    local def = ""
    if d.required then def = " (required)"
    elseif d[2] ~= nil then def = " [" .. tostring(d[2]) .. "]" end
    lines[#lines + 1] = string.format("  %-34s %s%s", left, d[3] or "", def)
  end
  lines[#lines + 1] = string.format("  %-34s %s", "--help", "this text")
  if meta.departures and #meta.departures > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "where retort departs from " .. (meta.upstream or "the upstream script") .. ":"
    for _, s in ipairs(meta.departures) do lines[#lines + 1] = "  - " .. s end
  end
  if meta.epilog then lines[#lines + 1] = ""; lines[#lines + 1] = meta.epilog end
  return table.concat(lines, "\n")
end

--- flags.parse(spec, args, meta) -> options table (typed values, defaults filled in).
--- spec rows: { name, default, help, type = "string"|"int"|"float"|"bool"|"list",
--- required = bool, choices = {...}, metavar = "DIR" }. With --help (or -h) the usage
--- text is printed and {help = true} returned. Unknown flags, missing values, bad
--- types and missing required flags are flag errors naming the flag.
function flags.parse(spec, args, meta)
  meta = meta or {}
  local by = {}
  for _, d in ipairs(spec) do by[d[1]] = d end
  local o, given = {}, {}
  local i = 1
  while i <= #args do
    local a = tostring(args[i])
    if a == "--help" or a == "-h" or a == "-help" then
      print(flags.usage(spec, meta))
      return { help = true }
    end
    local k, v = a:match("^%-%-?([%w_%-]+)=(.*)$")
    if not k then k = a:match("^%-%-?([%w_%-]+)$") end
    if not k or not a:match("^%-") then
      flags.error(string.format("unexpected argument '%s' (flags start with --; see --help)", a))
    end
    k = k:gsub("-", "_")
    local d = by[k]
    if not d and v == nil and k:sub(1, 2) == "no" and by[k:sub(3)] and by[k:sub(3)].type == "bool" then
      d, k, v = by[k:sub(3)], k:sub(3), "false"     -- absl's --noflag
    end
    if not d then flags.error("unknown option --" .. k .. " (see --help)") end
    if v == nil then
      local nxt = args[i + 1]
      if d.type == "bool" then
        if nxt ~= nil and is_bool_word(tostring(nxt)) then v = nxt; i = i + 1
        elseif nxt ~= nil and not tostring(nxt):match("^%-") then
          v = nxt; i = i + 1             -- "--resume maybe": an error naming the flag, not a stray argument
        else v = "true" end
      else
        if nxt == nil then flags.error("--" .. k .. " needs a value") end
        v = nxt; i = i + 1
      end
    end
    o[k] = convert(d, v)
    given[k] = true
    i = i + 1
  end
  for _, d in ipairs(spec) do
    local k = d[1]
    if not given[k] then
      if d.required then flags.error("--" .. k .. " is required (see --help)") end
      if d[2] ~= nil then o[k] = convert(d, d[2]) end
    end
  end
  o._given = given
  return o
end

--- flags.script(prog, main, ...) -> main's result. `...` are the arguments a chunk
--- was called with; when empty and the file runs as a script, the command line
--- (arg[1..n]) is used. As a script, errors exit the process (see the header).
function flags.script(prog, main, ...)
  local args = table.pack(...)
  local as_script = arg and arg[0] and tostring(arg[0]):find(prog, 1, true) ~= nil
  if args.n == 0 and as_script then
    args = {}
    for i = 1, #arg do args[i] = arg[i] end
  end
  local ok, res = xpcall(main, function(e)
    if type(e) == "table" or type(e) ~= "string" or tostring(e):find("interrupted", 1, true) then return e end
    if os.getenv("RETORT_TRACEBACK") then return debug.traceback(tostring(e), 2) end
    return e
  end, args)
  if ok then return res end
  if not as_script then error(res, 0) end
  -- under mpirun: print this rank's message and end every rank (MPI_Abort), not a hang
  local d = rawget(require("retort"), "dist")
  if d and d.size() > 1 then
    local m = getmetatable(res) == Failure and tostring(res.msg) or tostring(res)
    d.abort(m, getmetatable(res) == FlagError and 2 or 1)
  end
  if getmetatable(res) == Failure then
    if not res.reported then io.stderr:write(tostring(res.msg), "\n") end
    os.exit(1)
  end
  local msg = tostring(res)
  local name = prog:gsub("%.lua$", "")
  if msg:find("interrupted", 1, true) then
    io.stderr:write(name, ": interrupted\n")
    os.exit(130)
  end
  if msg:sub(1, #name + 1) ~= name .. ":" then msg = name .. ": " .. msg end
  io.stderr:write(msg, "\n")
  os.exit(getmetatable(res) == FlagError and 2 or 1)
end

require("retort.log").autodoc(flags, "rt.flags")
return flags
