-- Writes tests/golden/pregenerate/: a small fortunes corpus (40 documents), a WordPiece
-- vocabulary learned on it, and retort/epoch_{0,1}.json (+ metrics) from
-- rt.pretrain.pregenerate; then run scripts/make_golden.py --only pregenerate, which reads
-- those files with TinyBERT's PregeneratedDataset logic and writes the upstream-side files.
--   build/retort scripts/pregen/make_fixture.lua && /usr/bin/python3 scripts/make_golden.py --only pregenerate
local out = "tests/golden/pregenerate"
local src = "/usr/share/games/fortunes/computers"
local f = assert(io.open(src, "rb"), "needs Debian's fortunes package (" .. src .. ")")
local text = f:read("a"); f:close()
local docs = {}
for entry in (text .. "\n%\n"):gmatch("(.-)\n%%\n") do
  local lines = {}
  for l in entry:gmatch("[^\n]+") do
    l = l:gsub("^%s+", ""):gsub("%s+$", "")
    if l ~= "" then lines[#lines + 1] = l end
  end
  if #lines >= 1 and #docs < 40 then docs[#docs + 1] = table.concat(lines, "\n") end
end
rt.sys.mkdir(out .. "/retort")
local corpus = out .. "/corpus.txt"
rt.sys.atomic_write(corpus, table.concat(docs, "\n\n") .. "\n")
rt.vocab.build_wordpiece(corpus, { size = 600, lower = true, min_frequency = 1, out = out .. "/vocab.txt" })
local s = rt.pretrain.pregenerate { train_corpus = corpus, output_dir = out .. "/retort", vocab_file = out .. "/vocab.txt",
  do_lower_case = true, epochs_to_generate = 2, max_seq_len = 64, masked_lm_prob = 0.15, do_whole_word_mask = true,
  seed = 11, quiet = true }
print(string.format("fixture: %d documents, %d + %d instances", s.documents, s.epochs[1].instances, s.epochs[2].instances))
