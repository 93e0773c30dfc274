-- Golden parity: rt.segment (DAG + max-probability route) vs jieba's cut(HMM=False) with
-- the same dictionary (scripts/golden/tokenizer_segment.py), on the seed ChnSentiCorp dev
-- texts and mixed cases. Words must be equal.
local T = require "retort.test"
local rt = require "retort"

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

T.test("golden segmentation: jieba HMM=False with the same dictionary", function()
  local seg = rt.segment.load(T.golden("tokenizer_segment/dict.txt"))
  T.ok(seg:size() > 1000, "dictionary size " .. seg:size())
  local n, words = 0, 0
  for line in io.lines(T.golden("tokenizer_segment/cases.tsv")) do
    n = n + 1
    local h, ws = line:match("^(%x*)\t?(.*)$")
    local want = {}
    for w in ws:gmatch("%x+") do want[#want + 1] = unhex(w) end
    local got = seg:cut(unhex(h))
    T.eq(table.concat(got, "|"), table.concat(want, "|"), "line " .. n)
    words = words + #want
  end
  T.ok(n > 100)
  print(("golden segmentation: %d texts, %d words, all equal"):format(n, words))
end)
