-- rt.pretrain.pregenerate (TinyBERT pregenerate_training_data): the sampler and
-- masking rules on synthetic corpora whose tokens name their document and
-- sentence, the exact JSON layout, reproducibility across thread counts, errors.
local T = require "retort.test"

local SPECIAL = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "." }

-- corpus of documents; sentence s of document d = k copies of "dDsS" (k = 1 + (d+s) % 4)
local function synth(dir, sizes, extra_vocab)
  local vocab, lines = {}, {}
  for _, t in ipairs(SPECIAL) do vocab[#vocab + 1] = t end
  for d, ns in ipairs(sizes) do
    for s = 1, ns do
      local w = string.format("d%ds%d", d - 1, s - 1)
      vocab[#vocab + 1] = w
      local k = 1 + (d + s) % 4
      lines[#lines + 1] = (w .. " "):rep(k):sub(1, -2)
    end
    lines[#lines + 1] = ""
  end
  for _, t in ipairs(extra_vocab or {}) do vocab[#vocab + 1] = t end
  local f = assert(io.open(dir .. "/vocab.txt", "w")); f:write(table.concat(vocab, "\n"), "\n"); f:close()
  f = assert(io.open(dir .. "/corpus.txt", "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
  return dir .. "/corpus.txt", dir .. "/vocab.txt", vocab
end

local function records(path)
  local out = {}
  for r in rt.io.pregenerated(path) do out[#out + 1] = r end
  return out
end

local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end

local function run(o)
  o.quiet = true
  return rt.pretrain.pregenerate(o)
end

local function docsent(tok)
  local d, s = tok:match("^d(%d+)s(%d+)$")
  return tonumber(d), tonumber(s)
end

T.test("instances: [CLS] A [SEP] B [SEP], segments, lengths, actual next vs random next", function()
  local dir = T.tmpdir()
  local sizes = {}
  for d = 1, 30 do sizes[d] = 1 + (d * 7) % 11 end
  local corpus, vocab = synth(dir, sizes)
  local s = run { train_corpus = corpus, output_dir = dir .. "/out", vocab_file = vocab, epochs_to_generate = 2,
                  max_seq_len = 24, seed = 7 }
  T.eq(s.documents, 30)
  T.eq(#s.epochs, 2)
  T.eq(slurp(dir .. "/out/epoch_1_metrics.json"), string.format('{"num_training_examples": %d, "max_seq_len": 24}',
                                                                 s.epochs[2].instances))
  local recs = records(dir .. "/out/epoch_0.json")
  T.eq(#recs, s.epochs[1].instances)
  local nrandom = 0
  for i, r in ipairs(recs) do
    local t, g = r.tokens, r.segment_ids:totable()
    T.ok(#t <= 24, "record " .. i .. " longer than max_seq_len")
    T.eq(t[1], "[CLS]"); T.eq(t[#t], "[SEP]")
    local sep
    for j = 2, #t - 1 do if t[j] == "[SEP]" then sep = j end end
    T.ok(sep and sep > 2 and sep < #t - 0, "one middle [SEP]")
    for j = 1, #t do T.eq(g[j], j <= sep and 0 or 1, "segment id " .. j) end
    -- the original tokens (masked positions restored)
    local orig = {}
    for j = 1, #t do orig[j] = t[j] end
    local pos = r.masked_lm_positions:totable()
    for k, p in ipairs(pos) do orig[p + 1] = r.masked_lm_labels[k] end
    local da, db = {}, {}
    local last_a, first_b
    for j = 2, sep - 1 do local d, ss = docsent(orig[j]); if d then da[d] = true; last_a = ss end end
    for j = sep + 1, #t - 1 do local d, ss = docsent(orig[j]); if d then db[d] = true; first_b = first_b or ss end end
    local na, nb = 0, 0
    for _ in pairs(da) do na = na + 1 end
    for _ in pairs(db) do nb = nb + 1 end
    T.eq(na, 1, "A comes from one document"); T.eq(nb, 1, "B comes from one document")
    local a_doc, b_doc = next(da), next(db)
    if r.is_random_next then
      nrandom = nrandom + 1
      T.ok(a_doc ~= b_doc, "random next B must come from another document (record " .. i .. ")")
    else
      T.eq(a_doc, b_doc, "actual next B continues A's document")
      T.ok(first_b >= last_a, "actual next B follows A")
    end
  end
  T.eq(nrandom, s.epochs[1].stats.random_next)
  -- random next: forced for single-sentence chunks, else a fair coin
  local st = s.epochs[1].stats
  local expect = st.forced_random + 0.5 * (st.instances - st.forced_random)
  local sd = math.sqrt(0.25 * (st.instances - st.forced_random))
  T.ok(math.abs(st.random_next - expect) <= 4 * sd + 1, string.format("random next %d vs %.1f", st.random_next, expect))
end)

T.test("sample_doc is sentence-weighted and never the current document", function()
  local dir = T.tmpdir()
  local sizes = { 40, 2, 2, 2, 10, 2, 2, 20 }
  local corpus, vocab = synth(dir, sizes)
  -- single-sentence chunks (max_seq_len small) force many random-next draws
  local s = run { train_corpus = corpus, output_dir = dir .. "/out", vocab_file = vocab, epochs_to_generate = 12,
                  max_seq_len = 8, seed = 3 }
  local counts, total = {}, 0
  local cnt = {}
  for d = 0, #sizes - 1 do cnt[d] = {} end
  for e = 0, 11 do
    for _, r in ipairs(records(string.format("%s/out/epoch_%d.json", dir, e))) do
      if r.is_random_next then
        local orig = {}
        for j = 1, #r.tokens do orig[j] = r.tokens[j] end
        for k, p in ipairs(r.masked_lm_positions:totable()) do orig[p + 1] = r.masked_lm_labels[k] end
        local a, b
        local sep = false
        for j = 2, #orig - 1 do
          if orig[j] == "[SEP]" then sep = true
          else
            local d = docsent(orig[j])
            if d then if sep then b = b or d else a = a or d end end
          end
        end
        if a and b then
          T.ok(a ~= b, "sampled the current document")
          if a == 0 then counts[b] = (counts[b] or 0) + 1; total = total + 1 end
        end
      end
    end
  end
  -- from document 0, P(b) = sentences(b) / (all sentences - sentences(0))
  local rest = 0
  for d = 2, #sizes do rest = rest + sizes[d] end
  T.ok(total > 150, "enough random-next draws from document 0: " .. total)
  for d = 2, #sizes do
    local p = sizes[d] / rest
    local got = (counts[d - 1] or 0) / total
    local sd = math.sqrt(p * (1 - p) / total)
    T.ok(math.abs(got - p) <= 4 * sd + 0.01, string.format("doc %d share %.3f vs %.3f", d - 1, got, p))
  end
  local _ = s
end)

T.test("num_to_mask: masked_lm_prob 0.0 still masks one; banker's rounding; max_predictions cap; 80/10/10", function()
  local dir = T.tmpdir()
  local sizes = {}
  for d = 1, 60 do sizes[d] = 3 + d % 9 end
  local corpus, vocab = synth(dir, sizes)
  local s = run { train_corpus = corpus, output_dir = dir .. "/p0", vocab_file = vocab, epochs_to_generate = 1, max_seq_len = 40 }
  for _, r in ipairs(records(dir .. "/p0/epoch_0.json")) do T.eq(#r.masked_lm_positions:totable(), 1) end
  T.eq(s.epochs[1].stats.masked, s.epochs[1].instances)
  local function py_round(x)   -- Python 3 round(): half to even
    local f = math.floor(x)
    local d = x - f
    if d > 0.5 then return f + 1 elseif d < 0.5 then return f end
    return (f % 2 == 0) and f or f + 1
  end
  s = run { train_corpus = corpus, output_dir = dir .. "/p5", vocab_file = vocab, epochs_to_generate = 8, max_seq_len = 40,
            masked_lm_prob = 0.25, max_predictions_per_seq = 7 }
  local seen_half = false
  for e = 0, 7 do
    for _, r in ipairs(records(string.format("%s/p5/epoch_%d.json", dir, e))) do
      local n = #r.tokens
      if (n * 0.25) % 1 == 0.5 then seen_half = true end
      local want = math.min(7, math.max(1, py_round(n * 0.25)))
      local pos = r.masked_lm_positions:totable()
      T.eq(#pos, want, "masked count for length " .. n)
      for k = 2, #pos do T.ok(pos[k] > pos[k - 1], "positions sorted") end
      for k, p in ipairs(pos) do
        T.ok(r.masked_lm_labels[k] ~= "[CLS]" and r.masked_lm_labels[k] ~= "[SEP]", "[CLS]/[SEP] are never masked")
        T.ok(p > 0 and p < n - 1)
      end
    end
  end
  T.ok(seen_half, "a length with n * p = x.5 occurred (banker's rounding exercised)")
  local st = { mask_token = 0, kept = 0, random_token = 0, masked = 0 }
  for _, e in ipairs(s.epochs) do for k in pairs(st) do st[k] = st[k] + e.stats[k] end end
  T.ok(st.masked > 2000, "enough masked positions")
  T.eq(st.mask_token + st.kept + st.random_token, st.masked)
  local function within(x, p, what)
    local sd = math.sqrt(p * (1 - p) / st.masked)
    T.ok(math.abs(x / st.masked - p) <= 4 * sd, string.format("%s share %.4f vs %.2f", what, x / st.masked, p))
  end
  within(st.mask_token, 0.8, "[MASK]"); within(st.kept, 0.1, "kept"); within(st.random_token, 0.1, "random")
end)

T.test("--do_whole_word_mask keeps ## pieces together; --one_seq never samples another document", function()
  local dir = T.tmpdir()
  local lines, vocab = {}, {}
  for _, t in ipairs(SPECIAL) do vocab[#vocab + 1] = t end
  for _, t in ipairs { "un", "##want", "##ed", "run", "##ning", "go", "stop" } do vocab[#vocab + 1] = t end
  for d = 1, 40 do
    lines[#lines + 1] = "unwanted running go"
    lines[#lines + 1] = "stop unwanted"
    lines[#lines + 1] = ""
  end
  local f = assert(io.open(dir .. "/vocab.txt", "w")); f:write(table.concat(vocab, "\n"), "\n"); f:close()
  f = assert(io.open(dir .. "/c.txt", "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
  run { train_corpus = dir .. "/c.txt", output_dir = dir .. "/w", vocab_file = dir .. "/vocab.txt", epochs_to_generate = 4,
        do_whole_word_mask = true, masked_lm_prob = 0.3, max_seq_len = 16 }
  local groups = 0
  for e = 0, 3 do
    for _, r in ipairs(records(string.format("%s/w/epoch_%d.json", dir, e))) do
      local set = {}
      for k, p in ipairs(r.masked_lm_positions:totable()) do set[p] = r.masked_lm_labels[k] end
      local orig = {}                 -- tokens before masking (a random replacement may be "[SEP]")
      for j, t in ipairs(r.tokens) do orig[j] = set[j - 1] or t end
      for p, lab in pairs(set) do
        if lab:sub(1, 2) == "##" then
          -- the previous candidate (upstream skips [CLS]/[SEP]; a B that starts with a ## piece
          -- joins A's last word) is masked too, unless the piece opens the sequence
          local q = p - 1
          if orig[q + 1] == "[SEP]" then q = q - 1 end
          if orig[q + 1] ~= "[CLS]" then
            T.ok(set[q] ~= nil, "a masked ## piece has its word's previous piece masked too: " .. table.concat(r.tokens, " ") .. " @" .. p)
            groups = groups + 1
          end
        end
        -- the next piece of the word is masked too
        local nxt = orig[p + 2]
        if nxt and nxt:sub(1, 2) == "##" and not set[p + 1] then error("piece after a masked piece left unmasked") end
      end
    end
  end
  T.ok(groups > 10, "whole words were masked")
  local s = run { train_corpus = dir .. "/c.txt", output_dir = dir .. "/o", vocab_file = dir .. "/vocab.txt",
                  epochs_to_generate = 1, one_seq = true }
  T.eq(s.epochs[1].stats.random_next, 0)
  for _, r in ipairs(records(dir .. "/o/epoch_0.json")) do T.eq(r.is_random_next, false) end
end)

T.test("Chinese whole words through rt.segment (--segment_dict)", function()
  local dir = T.tmpdir()
  local vocab = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "我", "爱", "北", "京", "天", "安", "门" }
  local f = assert(io.open(dir .. "/vocab.txt", "w")); f:write(table.concat(vocab, "\n"), "\n"); f:close()
  f = assert(io.open(dir .. "/dict.txt", "w")); f:write("北京 1000\n天安门 1000\n我 10\n爱 10\n"); f:close()
  local lines = {}
  for _ = 1, 30 do lines[#lines + 1] = "我爱北京天安门"; lines[#lines + 1] = "" end
  f = assert(io.open(dir .. "/c.txt", "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
  run { train_corpus = dir .. "/c.txt", output_dir = dir .. "/z", vocab_file = dir .. "/vocab.txt", epochs_to_generate = 3,
        do_whole_word_mask = true, masked_lm_prob = 0.3, segment_dict = dir .. "/dict.txt", one_seq = true }
  local whole = 0
  for e = 0, 2 do
    for _, r in ipairs(records(string.format("%s/z/epoch_%d.json", dir, e))) do
      local m = {}
      for _, lab in ipairs(r.masked_lm_labels) do m[lab] = (m[lab] or 0) + 1 end
      T.eq(m["北"], m["京"], "北京 masked as one word")
      T.eq(m["天"], m["安"], "天安门 masked as one word"); T.eq(m["安"], m["门"])
      if m["北"] then whole = whole + 1 end
    end
  end
  T.ok(whole > 0, "北京 was masked at least once")
end)

T.test("JSON layout as json.dumps, reproducible for any thread count, seeds differ", function()
  local dir = T.tmpdir()
  local lines = {}
  for d = 1, 20 do lines[#lines + 1] = "café naïve 中文 😀 \"quote\" back\\slash"; lines[#lines + 1] = "" end
  local vocab = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "café", "naïve", "中", "文", "😀", "\"", "quote",
                  "back", "\\", "slash" }
  local f = assert(io.open(dir .. "/vocab.txt", "w")); f:write(table.concat(vocab, "\n"), "\n"); f:close()
  f = assert(io.open(dir .. "/c.txt", "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
  local base = { train_corpus = dir .. "/c.txt", vocab_file = dir .. "/vocab.txt", epochs_to_generate = 1, seed = 5 }
  local function with(t) local o = {}; for k, v in pairs(base) do o[k] = v end; for k, v in pairs(t) do o[k] = v end; return o end
  run(with { output_dir = dir .. "/t1", threads = 1 })
  run(with { output_dir = dir .. "/t2", threads = 2 })
  local a, b = slurp(dir .. "/t1/epoch_0.json"), slurp(dir .. "/t2/epoch_0.json")
  T.eq(a, b, "same bytes with 1 and 2 threads")
  run(with { output_dir = dir .. "/s6", seed = 6 })
  T.ok(slurp(dir .. "/s6/epoch_0.json") ~= a, "another seed gives other instances")
  local line = a:match("^[^\n]+")
  T.ok(line:match('^{"tokens": %[.-%], "segment_ids": %[[01, ]+%], "is_random_next": [truefals]+, ' ..
                  '"masked_lm_positions": %[[%d, ]*%], "masked_lm_labels": %[.-%]}$'), line)
  T.ok(a:find('"caf\\u00e9"', 1, true), "non-ASCII escaped as \\uXXXX")
  T.ok(a:find('"\\u4e2d"', 1, true), "CJK escaped")
  T.ok(a:find('"\\ud83d\\ude00"', 1, true), "astral characters as surrogate pairs")
  T.ok(a:find('"\\""', 1, true) and a:find('"\\\\"', 1, true), "quote and backslash escaped")
end)

T.test("errors: fewer than two documents, missing vocabulary", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/one.txt", "w")); f:write("a b\nc d\n"); f:close()
  f = assert(io.open(dir .. "/vocab.txt", "w")); f:write("[PAD]\n[UNK]\na\nb\n"); f:close()
  T.raises(function() run { train_corpus = dir .. "/one.txt", output_dir = dir .. "/o", vocab_file = dir .. "/vocab.txt" } end,
           "has 1 document(s) but at least 2 are needed")
  T.raises(function() run { train_corpus = dir .. "/one.txt", output_dir = dir .. "/o", vocab_file = dir .. "/nope.txt" } end,
           "cannot read the vocabulary")
  T.raises(function() run { train_corpus = dir .. "/nope.txt", output_dir = dir .. "/o", vocab_file = dir .. "/vocab.txt" } end,
           "cannot read the corpus")
end)

T.test("pregenerate.lua takes upstream's command line (--flag v and --flag=v)", function()
  local dir = T.tmpdir()
  local sizes = { 3, 4, 5 }
  local corpus = synth(dir, sizes)
  local s = loadfile("lua/recipes/pregenerate.lua")("--train_corpus", corpus, "--bert_model", dir, "--reduce_memory",
    "--output_dir", dir .. "/o",
    "--epochs_to_generate=2", "--max_seq_len", "32", "--num_workers", "1", "--quiet")
  T.eq(s.documents, 3); T.eq(#s.epochs, 2)
  local m = slurp(s.epochs[2].metrics)
  T.eq(m, string.format('{"num_training_examples": %d, "max_seq_len": 32}', s.epochs[2].instances))
end)
