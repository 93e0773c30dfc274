-- The README's Layout section matches the tree: every path it names exists, and
-- every directory under src/, lua/, scripts/ and tests/ is named.
local T = require "retort.test"

T.test("README Layout names exactly the tree's directories", function()
  local f = assert(io.open("README.md", "rb")); local s = f:read("a"); f:close()
  local block = s:match("## Layout.-```\n(.-)```")
  T.ok(block, "no Layout block in README.md")
  local named = {}
  for line in block:gmatch("[^\n]+") do
    local p = line:match("^(%S+)")
    T.ok(rt.sys.exists(p), "README Layout names " .. p .. ", which does not exist")
    named[p] = true
  end
  for _, top in ipairs{"src", "lua", "scripts", "tests"} do
    for _, e in ipairs(rt.sys.listdir(top)) do
      local p = top .. "/" .. e
      if rt.sys.isdir(p) then
        T.ok(named[p], "README Layout does not name " .. p)
      end
    end
  end
end)
