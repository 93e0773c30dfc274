-- Golden parity: rt.augment candidate lists vs a PyTorch re-implementation of TinyBERT's
-- data_augmentation.py (scripts/golden/augment.py): a random-init BERT-MLM, a synthetic
-- GloVe file, sentences with single-piece (MLM) and multi-piece (GloVe) words and a
-- sentence longer than the 512-token pair. Lists must be equal, position by position,
-- batched (many masked copies per forward) and one forward per word.
local T = require "retort.test"
local rt = require "retort"

local function fixture()
  local tok = rt.tokenizer.load(T.golden("augment/vocab.txt"), { lower = true })
  local sents = {}
  for line in io.lines(T.golden("augment/sentences.txt")) do sents[#sents + 1] = line end
  local want = {}
  for line in io.lines(T.golden("augment/candidates.tsv")) do
    local s, i, w, c = line:match("^(%d+)\t(%d+)\t([^\t]*)\t(.*)$")
    local list = {}
    for x in c:gmatch("%S+") do list[#list + 1] = x end
    want[#want + 1] = { s = tonumber(s), i = tonumber(i), w = w, c = list }
  end
  return tok, sents, want
end

local function check(aug, sents, want, label)
  local words = {}
  for k, s in ipairs(sents) do words[k] = aug:words(s) end
  local got = aug:candidates_batch(words)
  local n, seen = 0, {}
  for _, e in ipairs(want) do
    T.eq(words[e.s][e.i], e.w, label .. ": word " .. e.s .. ":" .. e.i)
    local g = got[e.s][e.i]
    T.ok(g, label .. ": no candidates for " .. e.s .. ":" .. e.i)
    T.eq(table.concat(g, " "), table.concat(e.c, " "), label .. ": candidates of " .. e.w .. " at " .. e.s .. ":" .. e.i)
    seen[e.s .. ":" .. e.i] = true
    n = n + 1
  end
  for s, t in pairs(got) do
    for i in pairs(t) do T.ok(seen[s .. ":" .. i], label .. ": extra position " .. s .. ":" .. i) end
  end
  return n
end

T.test("golden augment: candidates equal the PyTorch reference (batched and per word)", function()
  local tok, sents, want = fixture()
  local aug = rt.augment.new{ mlm = T.golden("augment/mlm"), tokenizer = tok, glove = T.golden("augment/glove.txt"), M = 15, lang = "en" }
  local n = check(aug, sents, want, "batched")
  T.ok(aug.stats.forwards < n / 2, "batched forwards: " .. aug.stats.forwards)
  local one = rt.augment.new{ mlm = aug.model, tokenizer = tok, glove = aug.glove, M = 15, lang = "en", batched = false }
  check(one, sents, want, "one forward per word")
  -- candidates(words, i) for single words
  local w = aug:words(sents[1])
  T.eq(table.concat(aug:candidates(w, want[1].i), " "), table.concat(want[1].c, " "))
  print(("golden augment: %d positions in %d sentences, all equal (%d batched forwards)"):format(n, #sents, aug.stats.forwards))
end)
