-- Help and printing as the REPL shows them (issue 9, item 8): help() lists every
-- public module; no help entry is a row of dashes; no file in the repository cites
-- a document that is not in it; long 1-D tensors wrap at the line width; a list of
-- tensors prints one per line; m:save(dir) returns nothing for the REPL to print.
-- (Completion, exit/quit, pasted prompts and Ctrl-C: tests/unit/test_pty.c.)
local T = require "retort.test"
local H = require "retort.help"

local BIN = os.getenv("RETORT_BIN") or "build/retort"
local function sh(cmd)
  local f = io.popen("(" .. cmd .. ") 2>&1; echo \"::rc=$?\"")
  local out = f:read("a")
  f:close()
  local body, rc = out:match("^(.-)::rc=(%d+)%s*$")
  return body, tonumber(rc)
end

T.test("help() lists every public module", function()
  local out, rc = sh(BIN .. " -e 'help()'")
  T.eq(rc, 0, out)
  for _, m in ipairs({ "rt.trainer", "rt.optim", "rt.plot", "rt.metrics", "rt.io", "rt.data", "rt.tasks",
                       "rt.vocab", "rt.segment", "rt.progress", "rt.flags", "rt.log", "rt.model", "rt.tokenizer",
                       "rt.distill", "rt.F", "rt.pretty" }) do
    T.ok(out:find("\n  " .. m:gsub("%p", "%%%0") .. "%s"), m .. " missing from help():\n" .. out)
  end
end)

T.test("no help entry is a row of dashes", function()
  for _, m in ipairs(H.modules()) do T.ok(m.text ~= nil, m.name) end       -- loads every module
  local bad = {}
  for _, name in ipairs(rt.doc_names()) do
    local first = tostring(rt.doc(name)):match("^[^\n]*")
    if first:match("^%s*[-=]+%s*$") or first:match("^%s*$") then bad[#bad + 1] = name end
  end
  T.eq(#bad, 0, "entries starting with a rule or blank: " .. table.concat(bad, ", "))
end)

T.test("no file cites a document outside the repository", function()
  local pattern = "DESIGN[ .]|UPSTREAM[ .]|design guide|shared/(DESIGN|UPSTREAM)"
  local out = sh("grep -rlE '" .. pattern .. "' src lua scripts tests notebooks README.md Makefile 2>/dev/null"
    .. " | grep -v '^tests/lua/test_repl_help.lua$'")
  T.eq(out, "", "files citing DESIGN/UPSTREAM:\n" .. out)
end)

T.test("long 1-D tensors wrap at the line width", function()
  for _, cols in ipairs({ 50, 80 }) do
    local env = cols == 80 and "env -u COLUMNS " or ("COLUMNS=" .. cols .. " ")
    local out, rc = sh(env .. BIN .. " -e 'print(rt.arange(200)); print(rt.randn(300) * 1000)'")
    T.eq(rc, 0, out)
    local n = 0
    for line in out:gmatch("[^\n]+") do
      T.ok(#line <= cols, string.format("line of %d > %d columns: %s", #line, cols, line)); n = n + 1
    end
    T.ok(n > 6, "wrapped into lines: " .. n)
  end
  T.ok(tostring(rt.arange(200)):find("199]", 1, true), "every value printed")
end)

T.test("a list of tensors prints one per line", function()
  T.eq(rt.pretty({ rt.ones(2), rt.zeros(3, 4) }), "{\n  [Tensor f32 2],\n  [Tensor f32 3x4]\n}")
  T.eq(rt.pretty({ 1, 2, 3 }), "{1, 2, 3}")
end)

T.test("m:save(dir) returns nothing", function()
  local m = rt.model.new{ hidden_size = 8, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 8,
                          vocab_size = 10 }
  local dir = T.tmpdir()
  T.eq(select("#", m:save(dir .. "/m")), 0)
  T.ok(io.open(dir .. "/m/config.json") ~= nil)
  rt.trainer.remove_tree(dir)
end)
