-- The README's REPL tour runs as printed (issue 9, item 7): every ```lua block is cut
-- into its `rt> ` commands (with `..> ` continuation lines), run in one Lua state by
-- the notebook runner (the REPL's rule: expressions print their value, `_` is the
-- last one, a trailing `;` hides it, `?name` is help), and each command's printed
-- output must equal the lines under it in the README. Two placeholders stand for
-- files a reader brings: "vocab.txt" (NEZHA's English vocabulary from the seed data)
-- and "path/to/TinyBERT_General_4L_312D" (a random 4-layer, 312-wide model saved
-- here). `<TAB>` lines show completion and are not run.
local T = require "retort.test"
local L = rt.log

local BIN = os.getenv("RETORT_BIN") or "build/retort"
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end

-- blocks -> list of {code = "...", expect = {lines}, block = i, line = n}
local function commands(text)
  local cmds, block, lineno, inside = {}, 0, 0, false
  for line in (text .. "\n"):gmatch("(.-)\n") do
    lineno = lineno + 1
    if line:match("^```lua") then inside = true; block = block + 1
    elseif inside and line:match("^```") then inside = false
    elseif inside then
      local c = line:match("^rt> (.*)$")
      local cont = line:match("^%.%.> (.*)$")
      if c then cmds[#cmds + 1] = { code = c, expect = {}, block = block, line = lineno }
      elseif cont and #cmds > 0 then cmds[#cmds].code = cmds[#cmds].code .. "\n" .. cont
      elseif #cmds > 0 then table.insert(cmds[#cmds].expect, line) end
    end
  end
  return cmds
end

T.test("README tour blocks run as printed", function()
  local vocab = T.seed("nezha-en-base/vocab.txt")
  local tmp = T.tmpdir()
  local tok = rt.tokenizer.load(vocab, { lower = true })
  local m = rt.model.new({ hidden_size = 312, num_hidden_layers = 4, num_attention_heads = 12,
    intermediate_size = 1200, vocab_size = tok:vocab_size(), max_position_embeddings = 512 }, { seed = 1 })
  m:save(tmp .. "/TinyBERT_General_4L_312D")
  local cmds = commands(read("README.md"))
  T.ok(#cmds >= 20, "commands found: " .. #cmds)
  local cells = {}
  local run = {}
  for _, c in ipairs(cmds) do
    if not c.code:find("<TAB>", 1, true) then
      local code = c.code:gsub('"vocab%.txt"', string.format("%q", vocab))
                         :gsub('"path/to/TinyBERT_General_4L_312D"', string.format("%q", tmp .. "/TinyBERT_General_4L_312D"))
      run[#run + 1] = c
      cells[#cells + 1] = { cell_type = "code", metadata = {}, source = code, outputs = {}, execution_count = L.null }
    end
  end
  local nb = tmp .. "/tour.ipynb"
  L.write_json(nb, { cells = cells, metadata = { kernelspec = { name = "retort", display_name = "retort",
    language = "lua" } }, nbformat = 4, nbformat_minor = 5 })
  local p = io.popen(q(BIN) .. " --notebook run " .. q(nb) .. " 2>&1; echo ::rc=$?")
  local log = p:read("a"); p:close()
  local done = L.read_json(nb)
  for i, c in ipairs(run) do
    local text = {}
    for _, o in ipairs(done.cells[i].outputs or {}) do
      if o.output_type == "error" then
        error(string.format("README.md:%d: `%s` failed: %s %s", c.line, c.code, tostring(o.ename), tostring(o.evalue)))
      end
      local t = o.text or (o.data and o.data["text/plain"])
      if type(t) == "table" then t = table.concat(t) end
      if t then text[#text + 1] = t end
    end
    local got = table.concat(text, "\n"):gsub("\n+$", "")
    if #c.expect > 0 then
      T.eq(got, table.concat(c.expect, "\n"), string.format("README.md:%d: output of `%s`", c.line, c.code))
    end
  end
  T.ok(log:find("::rc=0", 1, true), log)
  rt.trainer.remove_tree(tmp)
end)
