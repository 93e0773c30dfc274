-- Runs one Lua test file: build/retort tests/lua/run.lua tests/lua/test_x.lua
-- A test file returns nothing; it calls T.test(name, fn) from retort.test.
local T = require "retort.test"
local file = assert(arg[1], "usage: retort tests/lua/run.lua FILE")
T.current_file = file
local chunk, err = loadfile(file)
if not chunk then io.stderr:write(err, "\n"); os.exit(1) end
local ok, e = xpcall(chunk, debug.traceback)
if not ok then T.record_failure("<load " .. file .. ">", e) end
os.exit(T.summary())
