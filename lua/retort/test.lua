-- retort.test: a tiny test harness for Lua tests (tests/lua/*.lua) and notebooks.
--   local T = require "retort.test"
--   T.test("name", function() T.eq(1+1, 2); T.near(x, y, 1e-5) end)
-- Each test prints "ok <name>", "FAIL <name>: message" or "skip <name> (skipped: why)";
-- T.summary() prints "N passed, N failed" (then ", N skipped" when some were) and
-- returns the exit status. T.seed(rel) is the path of shared seed data, or skips the
-- calling test with "skipped: seed data not found at <path>" when it is absent.
local T = { passed = 0, failed = 0, skipped = 0, failures = {} }

local Skip = {}
Skip.__index = Skip
Skip.__tostring = function(e) return "skipped: " .. e.reason end

--- T.skip(reason): stop the current test and count it as skipped (not failed).
function T.skip(reason) error(setmetatable({ reason = tostring(reason) }, Skip), 0) end

--- T.is_skip(err) -> the reason when err was raised by T.skip, else nil.
function T.is_skip(err) return getmetatable(err) == Skip and err.reason or nil end

--- T.record_skip(name, reason): count and print a skipped test.
function T.record_skip(name, reason)
  T.skipped = T.skipped + 1
  io.stdout:write("skip ", name, " (skipped: ", tostring(reason), ")\n")
end

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.record_failure(name, msg)
  T.failed = T.failed + 1
  T.failures[#T.failures + 1] = name
  io.stdout:write("FAIL ", name, ": ", tostring(msg), "\n")
end

--- T.test(name, fn): run fn, count pass/fail; errors are failures with a traceback.
function T.test(name, fn)
  if T.filter and not name:find(T.filter, 1, true) then return end
  local ok, err = xpcall(fn, function(e) if T.is_skip(e) then return e end return debug.traceback(e, 2) end)
  if ok then
    T.passed = T.passed + 1
    io.stdout:write("ok ", name, "\n")
  elseif T.is_skip(err) then
    T.record_skip(name, T.is_skip(err))
  else
    T.record_failure(name, err)
  end
end

function T.ok(cond, msg) if not cond then error(msg or "assertion failed", 2) end end

function T.eq(a, b, msg)
  if a ~= b then error((msg and msg .. ": " or "") .. "expected " .. fmt(b) .. ", got " .. fmt(a), 2) end
end

--- T.near(a, b, tol): numbers, or tensors/tables elementwise; tol is absolute
--- and relative to max(1, |b|).
function T.near(a, b, tol, msg)
  tol = tol or 1e-5
  local function flat(x, out)
    out = out or {}
    if type(x) == "number" then out[#out + 1] = x
    elseif type(x) == "table" then for _, v in ipairs(x) do flat(v, out) end
    elseif type(x) == "userdata" and x.totable then flat(x:totable(), out)
    else error("T.near: cannot compare " .. type(x), 3) end
    return out
  end
  local fa, fb = flat(a), flat(b)
  if #fa ~= #fb then error((msg or "near") .. ": sizes differ " .. #fa .. " vs " .. #fb, 2) end
  for i = 1, #fa do
    local d = math.abs(fa[i] - fb[i])
    if not (d <= tol * math.max(1, math.abs(fb[i]))) then
      error(string.format("%s: element %d: %.9g vs %.9g (diff %.3g > tol %.3g)",
        msg or "near", i, fa[i], fb[i], d, tol), 2)
    end
  end
end

--- T.raises(fn, pattern): fn must raise an error whose message contains pattern (plain).
function T.raises(fn, pattern, msg)
  local ok, err = pcall(fn)
  if ok then error((msg or "expected an error") .. (pattern and (" matching '" .. pattern .. "'") or ""), 2) end
  if pattern and not tostring(err):find(pattern, 1, true) then
    error("error message '" .. tostring(err) .. "' does not contain '" .. pattern .. "'", 2)
  end
  return err
end

--- T.seed(rel) -> path of the shared seed data (../shared/seed from the repo root,
--- or $RETORT_SEED) joined with rel. When that path does not exist (a clone outside
--- the workspace) the calling test is skipped: "skipped: seed data not found at <path>".
function T.seed(rel)
  local base = os.getenv("RETORT_SEED") or "../shared/seed"
  local path = rel and (base .. "/" .. rel) or base
  local f = io.open(path, "r")
  if not f then T.skip("seed data not found at " .. path) end
  f:close()
  return path
end

--- Path of the golden fixtures ($RETORT_GOLDEN for `make parity`, else tests/golden).
function T.golden(rel)
  local base = os.getenv("RETORT_GOLDEN") or "tests/golden"
  return rel and (base .. "/" .. rel) or base
end

function T.tmpdir()
  local p = os.tmpname(); os.remove(p); os.execute("mkdir -p '" .. p .. "'")
  return p
end

--- T.summary() -> true when nothing failed and something ran or was skipped; prints
--- "N passed, N failed" (", N skipped" appended when tests were skipped).
function T.summary()
  local skipped = T.skipped > 0 and string.format(", %d skipped", T.skipped) or ""
  io.stdout:write(string.format("%d passed, %d failed%s\n", T.passed, T.failed, skipped))
  return T.failed == 0 and (T.passed > 0 or T.skipped > 0)
end

pcall(function() require("retort.log").autodoc(T, "rt.test") end)
return T
