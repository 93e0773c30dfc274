-- Golden parity: retort's tokenizer vs the reference re-implementation of the upstream
-- tokenizer (scripts/ref_tokenizer.py via scripts/golden/tokenizer.py) on every text line
-- of the seed ChnSentiCorp / MRPC / sample_text files plus hard cases, with both seed
-- vocabularies (nezha-cn-base lower-cased, nezha-en-base cased). Tokens and ids must be equal.
local T = require "retort.test"
local rt = require "retort"

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

local function split(s, sep)
  local out = {}
  if s == "" then return out end
  for piece in (s .. sep):gmatch("(.-)" .. sep) do out[#out + 1] = piece end
  return out
end

local toks = {
  rt.tokenizer.load(T.seed("nezha-cn-base/vocab.txt"), { lower = true }),
  rt.tokenizer.load(T.seed("nezha-en-base/vocab.txt"), { lower = false }),
}

T.test("golden tokenizer: every line, both vocabularies", function()
  local n, lines = 0, 0
  for line in io.lines(T.golden("tokenizer/cases.tsv")) do
    lines = lines + 1
    local f = split(line, "\t")
    local text = unhex(f[1])
    for v = 1, 2 do
      local exp_tokens, exp_ids = f[2 * v] or "", f[2 * v + 1] or ""
      local got = toks[v]:tokenize(text)
      local ids = toks[v]:convert_tokens_to_ids(got)
      local got_ids = {}
      for i, id in ipairs(ids) do got_ids[i] = tostring(id) end
      T.eq(table.concat(got, " "), exp_tokens, ("line %d vocab %d tokens (text %q)"):format(lines, v, text))
      T.eq(table.concat(got_ids, " "), exp_ids, ("line %d vocab %d ids"):format(lines, v))
      -- the fast id path agrees with the token path
      T.eq(table.concat(toks[v]:encode_ids(text), " "), exp_ids, ("line %d vocab %d encode_ids"):format(lines, v))
      n = n + 1
    end
  end
  T.ok(lines > 500, "expected > 500 golden lines, got " .. lines)
  print(("golden tokenizer: %d lines x 2 vocabularies = %d exact matches"):format(lines, n))
end)
