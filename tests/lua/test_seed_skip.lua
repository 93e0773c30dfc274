-- Tests that read the shared seed data skip (and say so) when it is absent: a test
-- file run with RETORT_SEED pointing nowhere reports "skipped: seed data not found
-- at <path>", counts the test as skipped in its summary line and exits 0; a file
-- whose top level needs the seed data is skipped as a whole. (issue 9, item 10)
local T = require "retort.test"

local BIN = os.getenv("RETORT_BIN") or "build/retort"
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function sh(cmd)
  local f = io.popen("(" .. cmd .. ") 2>&1; echo \"::rc=$?\"")
  local out = f:read("a")
  f:close()
  local body, rc = out:match("^(.-)::rc=(%d+)%s*$")
  return body, tonumber(rc)
end
local function has(out, s) T.ok(out:find(s, 1, true), "expected '" .. s .. "' in:\n" .. out) end

local tmp = T.tmpdir()
local function write(name, text)
  local path = tmp .. "/" .. name
  local f = assert(io.open(path, "wb")); f:write(text); f:close()
  return path
end
local NOSEED = tmp .. "/no-seed-here"

T.test("a test needing absent seed data is skipped, not failed", function()
  local file = write("t1.lua", [[
local T = require "retort.test"
T.test("needs seed", function() local p = T.seed("chnsenti"); error("should not get here: " .. p) end)
T.test("plain", function() T.eq(1 + 1, 2) end)
]])
  local out, rc = sh("RETORT_SEED=" .. q(NOSEED) .. " " .. q(BIN) .. " tests/lua/run.lua " .. q(file))
  has(out, "skipped: seed data not found at " .. NOSEED .. "/chnsenti")
  has(out, "ok plain")
  T.eq(out:match("([^\n]+)\n$"), "1 passed, 0 failed, 1 skipped")
  T.eq(rc, 0, out)
end)

T.test("top-level seed use skips the whole file", function()
  local file = write("t2.lua", [[
local T = require "retort.test"
local vocab = T.seed("nezha-cn-base/vocab.txt")
T.test("never runs", function() error("ran") end)
]])
  local out, rc = sh("RETORT_SEED=" .. q(NOSEED) .. " " .. q(BIN) .. " tests/lua/run.lua " .. q(file))
  has(out, "skipped: seed data not found at " .. NOSEED .. "/nezha-cn-base/vocab.txt")
  T.eq(out:match("([^\n]+)\n$"), "0 passed, 0 failed, 1 skipped")
  T.eq(rc, 0, out)
end)

T.test("a real seed-reading test file skips cleanly without the seed data", function()
  local out, rc = sh("RETORT_SEED=" .. q(NOSEED) .. " " .. q(BIN) .. " tests/lua/run.lua tests/lua/test_data.lua")
  T.eq(rc, 0, out)
  T.ok(not out:find("FAIL", 1, true), out)
  T.ok(out:match("(%d+) skipped\n$"), out)
end)

T.test("with the seed data present, T.seed returns the path", function()
  local p = T.seed("chnsenti")
  T.ok(p:find("chnsenti$"), p)
end)

T.test("run-tests.sh sums skipped tests into its final line", function()
  -- a scratch tree with one Lua test file that skips and one that passes
  local root = tmp .. "/tree"
  os.execute("mkdir -p " .. q(root .. "/tests/lua") .. " " .. q(root .. "/scripts") .. " " .. q(root .. "/bin"))
  local bin = BIN:sub(1, 1) == "/" and BIN or (io.popen("pwd"):read("l") .. "/" .. BIN)
  os.execute("cp tests/lua/run.lua " .. q(root .. "/tests/lua/") .. " && cp scripts/run-tests.sh " .. q(root .. "/scripts/")
    .. " && ln -s " .. q(bin) .. " " .. q(root .. "/bin/retort"))
  local function put(name, text) local f = assert(io.open(root .. "/tests/lua/" .. name, "w")); f:write(text); f:close() end
  put("test_a.lua", 'local T = require "retort.test"\nT.test("s", function() T.seed("x") end)\nT.test("p", function() end)\n')
  put("test_b.lua", 'local T = require "retort.test"\nT.test("p", function() end)\n')
  local out, rc = sh("cd " .. q(root) .. " && RETORT_SEED=" .. q(NOSEED) .. " BUILD=bin bash scripts/run-tests.sh")
  T.eq(rc, 0, out)
  has(out, "test_a.lua: 1 passed, 0 failed, 1 skipped")
  T.eq(out:match("([^\n]+)\n$"), "suites: 2 passed, 0 failed, 1 skipped")
end)

rt.trainer.remove_tree(tmp)
