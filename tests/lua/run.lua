-- Runs one Lua test file: build/retort tests/lua/run.lua tests/lua/test_x.lua
-- A test file returns nothing; it calls T.test(name, fn) from retort.test.
local T = require "retort.test"
local file = assert(arg[1], "usage: retort tests/lua/run.lua FILE")
T.current_file = file
local chunk, err = loadfile(file)
if not chunk then io.stderr:write(err, "\n"); os.exit(1) end
local ok, e = xpcall(chunk, function(x) if T.is_skip(x) then return x end return debug.traceback(x, 2) end)
if not ok then
  if T.is_skip(e) then T.record_skip("<load " .. file .. ">", T.is_skip(e))   -- top-level seed data missing
  else T.record_failure("<load " .. file .. ">", e) end
end
os.exit(T.summary())
