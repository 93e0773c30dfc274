-- retort: the Lua library. `require "retort"` returns the `rt` table: the C
-- runtime (retort.core) plus Lua modules loaded on first use (rt.trainer,
-- rt.metrics, rt.progress, ...: any lua/retort/<name>.lua).
local rt = require "retort.core"

rt.VERSION = rt.VERSION or "retort 0.1.0"

setmetatable(rt, {
  __index = function(t, k)
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then return nil end
    local ok, mod = pcall(require, "retort." .. k)
    if ok then rawset(t, k, mod); return mod end
    if not tostring(mod):find("module 'retort." .. k .. "' not found", 1, true) then
      error(mod, 2)          -- the module exists but failed to load: say why
    end
    return nil
  end,
})

return rt
