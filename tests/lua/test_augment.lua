-- rt.augment and lua/recipes/augment.lua: GloVe reading and its errors, top-k, the
-- generation loop, diffs, the train_aug.tsv layout of every task (synthetic task
-- folders made here; MRPC from the seed data), seeds, resuming, and Chinese mode
-- (outputs differ from the input only inside segmenter words). The MLM is the small
-- random-init BERT of tests/golden/augment (no pretrained model offline).
local T = require "retort.test"
local rt = require "retort"

local function write(path, text)
  local f = assert(io.open(path, "wb")); f:write(text); f:close()
end
local function read(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end
local function lines(path)
  local t = {}
  for l in (read(path)):gmatch("(.-)\n") do t[#t + 1] = l end
  return t
end
local function same(a, b, msg) T.eq(table.concat(a, ","), table.concat(b, ","), msg) end
local function split(line)
  local t = {}
  for c in (line .. "\t"):gmatch("(.-)\t") do t[#t + 1] = c end
  return t
end

-- A model folder the recipe can load: the golden MLM plus its vocabulary.
local MODEL
local function model_dir()
  if MODEL then return MODEL end
  MODEL = T.tmpdir()
  for _, f in ipairs({ "config.json", "model.safetensors" }) do write(MODEL .. "/" .. f, read(T.golden("augment/mlm/" .. f))) end
  write(MODEL .. "/vocab.txt", read(T.golden("augment/vocab.txt")))
  return MODEL
end

local RECIPE = "lua/recipes/augment.lua"
local function run(args) return loadfile(RECIPE)(table.unpack(args)) end

T.test("glove: normalised rows, <unk> / repeated / zero rows unmatched, errors name file:line", function()
  local d = T.tmpdir()
  write(d .. "/g.txt", "a 3 4\n<unk> 1 0\nb 0 2\nc 0 0\nb 1 0\ne -3 -4\n")
  local g = rt._augment.read_glove(d .. "/g.txt")
  T.eq(g:size(), 6); T.eq(g:dim(), 2)
  T.near(g:matrix():totable()[1][1], 0.6, 1e-6); T.near(g:matrix():totable()[1][2], 0.8, 1e-6)
  T.ok(g:is_zero(1) and g:is_zero(2) and g:is_zero(3), "<unk>, the first b, the zero vector")
  T.ok(not g:is_zero(4))
  local nb = g:neighbours({ 0, 4, 3 }, 3)
  same(nb[1], { 4, 5 })       -- b (last line, [1,0]) then e; zero rows never appear
  same(nb[2], { 0, 5 })
  same(nb[3], {})             -- a zero query matches nothing (upstream: NaN)
  T.eq(rt._augment.read_glove(d .. "/g.txt", 2):size(), 2)
  write(d .. "/r.txt", "a 1 2 3\nb 1 2\n")
  T.raises(function() rt._augment.read_glove(d .. "/r.txt") end, "r.txt:2: ragged line: 2 values, line 1 has 3")
  write(d .. "/n.txt", "a 1 2\nb 1 x2\n")
  T.raises(function() rt._augment.read_glove(d .. "/n.txt") end, "n.txt:2: value 2 ('x2') is not a number")
  write(d .. "/e.txt", "a 1 2\n\nb 1 2\n")
  T.raises(function() rt._augment.read_glove(d .. "/e.txt") end, "e.txt:2: empty line")
  T.raises(function() rt._augment.read_glove(d .. "/missing.txt") end, "missing.txt")
  write(d .. "/i.txt", "a 1 2\nb 1 1e60\n")
  T.raises(function() rt._augment.read_glove(d .. "/i.txt") end, "i.txt:2: value 2 is not finite")
end)

T.test("topk: best first, ties to the lower index", function()
  local t = rt.tensor{ { 1, 5, 3, 5 }, { -1, -2, -3, 0 } }
  local k3 = rt._augment.topk(t, 3)
  same(k3[1], { 1, 3, 2 }); same(k3[2], { 3, 0, 1 })
  same(rt._augment.topk(t, 9)[2], { 3, 0, 1, 2 })
end)

T.test("augment: stop words, [^a-z], title case, generation, seeds, diff", function()
  local aug = rt.augment.new{ mlm = model_dir(), glove = T.golden("augment/glove.txt"), M = 15 }
  T.eq(aug.lang, "en")
  T.eq(#rt.augment.STOP_WORDS, 173)
  T.ok(aug:is_candidate("witness") and not aug:is_candidate("the") and not aug:is_candidate("1998")
       and not aug:is_candidate("'s") and not aug:is_candidate("don't") and not aug:is_candidate("Fox"))
  T.ok(rt.augment._istitle("Fox") and not rt.augment._istitle("fox") and not rt.augment._istitle("FOX"))
  T.eq(rt.augment._title("they're"), "They'Re")
  local s = "The quick brown fox jumps over the lazy dog ."
  local a1 = aug:augment(s, { N = 8, p = 0.4, seed = 3 })
  local a2 = aug:augment(s, { N = 8, p = 0.4, seed = 3 })
  same(a1, a2, "same seed, same sentences")
  T.eq(a1[1], s)
  T.ok(#a1 >= 2 and #a1 <= 9, "original + up to N: " .. #a1)
  local seen = {}
  for _, x in ipairs(a1) do T.ok(not seen[x], "duplicate " .. x); seen[x] = true end
  local words = aug:words(s)
  local c = aug:candidates_batch({ words })[1]
  for k = 2, #a1 do
    local w = {}
    for x in a1[k]:gmatch("%S+") do w[#w + 1] = x end
    T.eq(#w, #words)
    for i = 1, #words do
      if w[i] ~= words[i] then
        local ok = false
        for _, cand in ipairs(c[i] or {}) do ok = ok or cand == w[i] end
        T.ok(ok, "word " .. i .. " replaced by a non-candidate " .. w[i])
      end
    end
  end
  -- repeated sentences are computed once, with the same candidates
  local f0, c0 = aug.stats.forwards, aug.stats.cached
  local r3 = aug:augment_batch({ s, "the judge said .", s }, { N = 4, seed = 1 })
  T.eq(aug.stats.cached - c0, 2, "two repeats served from the cache")
  T.eq(aug.stats.forwards - f0, 1)
  local nocache = rt.augment.new{ mlm = aug.model, tokenizer = aug.tok, glove = aug.glove, cache = 0 }
  same(nocache:augment_batch({ s, "the judge said .", s }, { N = 4, seed = 1 })[3], r3[3], "cache: same output")
  T.eq(#aug:augment(s, { N = 5, p = 0, seed = 1 }), 2)   -- p = 0: only the normalised copy is new
  local d, n = aug:diff("the quick fox", "the slow fox")
  T.eq(d, "the [quick→slow] fox"); T.eq(n, 1)
  T.eq(select(2, aug:diff("a b c", "a b c")), 0)
  T.raises(function() aug:candidates(words, 99) end, "out of range")
end)

-- Synthetic task folders: {task, header line or nil, rows}
local function cells(n, texts)
  local t = {}
  for i = 1, n do t[i] = "x" .. i end
  for c, s in pairs(texts) do t[c + 1] = s end
  return table.concat(t, "\t")
end
local S1, S2 = "the court judge said the police were told .", "a city market fell while the shares rose ."
local TASKS = {
  { "CoLA", nil, { cells(4, { [3] = S1 }), cells(4, { [3] = S2 }) }, { 3 }, 30 },
  { "SST-2", "sentence\tlabel", { S1 .. "\t1", S2 .. "\t0" }, { 0 }, 20 },
  { "MRPC", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", { cells(5, { [3] = S1, [4] = S2 }) }, { 3, 4 }, 30 },
  { "STS-B", "h", { cells(10, { [7] = S1, [8] = S2 }) }, { 7, 8 }, 30 },
  { "QQP", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", { cells(6, { [3] = S1, [4] = S2 }) }, { 3, 4 }, 10 },
  { "MNLI", "h", { cells(12, { [8] = S1, [9] = S2 }) }, { 8, 9 }, 10 },
  { "QNLI", "index\tquestion\tsentence\tlabel", { cells(4, { [1] = S1, [2] = S2 }) }, { 1, 2 }, 20 },
  { "RTE", "index\tsentence1\tsentence2\tlabel", { cells(4, { [1] = S1, [2] = S2 }) }, { 1, 2 }, 30 },
  { "chnsenti", nil, { "1\t" .. S1, "0\t" .. S2 }, { 1 }, 4 },
  { "lcqmc", "text_a\ttext_b\tlabel", { S1 .. "\t" .. S2 .. "\t1" }, { 0, 1 }, 4 },
  { "xnli", "premise\thypo\tlabel", { S1 .. "\t" .. S2 .. "\tneutral" }, { 0, 1 }, 4 },
}

T.test("recipe: train_aug.tsv layout for every task (header, columns, row order, pair quirk)", function()
  local glue = T.tmpdir()
  for _, t in ipairs(TASKS) do
    local name, header, rows, cols = t[1], t[2], t[3], t[4]
    os.execute("mkdir -p '" .. glue .. "/" .. name .. "'")
    write(glue .. "/" .. name .. "/train.tsv", (header and header .. "\n" or "") .. table.concat(rows, "\n") .. "\n")
    local N = name:match("^[a-z]") and 4 or nil       -- GLUE: the per-task table
    local args = { "--pretrained_bert_model", model_dir(), "--glove_embs", T.golden("augment/glove.txt"),
      "--glue_dir", glue, "--task_name", name, "--seed", "7", "--progress", "false" }
    if N then args[#args + 1] = "--N"; args[#args + 1] = tostring(N) end
    local res = run(args)
    local out = lines(glue .. "/" .. name .. "/train_aug.tsv")
    -- expected: per row, per column in order, the original then the augmentations,
    -- the row changed in place (the quirk); sentence seeds as the recipe's
    local aug = rt.augment.new{ mlm = model_dir(), glove = T.golden("augment/glove.txt") }
    local want = {}
    if header then want[1] = header end
    for r, row in ipairs(rows) do
      local line = split(row)
      for ci, c in ipairs(cols) do
        local a = aug:augment(line[c + 1], { N = N or t[5], p = 0.4, seed = 7 + (r - 1) * #cols + (ci - 1) })
        T.eq(a[1], split(row)[c + 1])
        T.ok(#a >= 2 and #a <= (N or t[5]) + 1, name .. ": " .. #a .. " sentences")
        for _, x in ipairs(a) do line[c + 1] = x; want[#want + 1] = table.concat(line, "\t") end
      end
    end
    T.eq(#out, #want, name .. ": rows")
    for k = 1, #want do T.eq(out[k], want[k], name .. ": line " .. k) end
    T.eq(res.written + (header and 1 or 0), #out)
    if #cols == 2 then   -- the quirk is visible: a second-column row carries an augmented first column
      local c1 = cols[1] + 1
      T.ok(split(out[#out])[c1] ~= split(rows[#rows])[c1] or #want < 4, name .. ": pair quirk")
    end
  end
  -- a missing column names file:line; an unknown task is a flag error
  os.execute("mkdir -p '" .. glue .. "/RTE2'")
  write(glue .. "/RTE2/train.tsv", "h\n0\ta\tb\tl\n1\tonly\n")
  T.raises(function() run{ "--pretrained_bert_model", model_dir(), "--glue_dir", glue, "--task_name", "RTE2" } end, "unknown task")
  os.execute("mkdir -p '" .. glue .. "/RTE/bad' && cp '" .. glue .. "/RTE2/train.tsv' '" .. glue .. "/RTE/train.tsv'")
  T.raises(function() run{ "--pretrained_bert_model", model_dir(), "--glue_dir", glue, "--task_name", "RTE", "--progress", "false" } end,
    "RTE/train.tsv:3: RTE augments column 2 but the row has 2 columns")
end)

T.test("recipe: --pair_original, seeds, resume after an interruption, --dry_run", function()
  local glue = T.tmpdir()
  os.execute("mkdir -p '" .. glue .. "/MRPC'")
  local rows = {}
  for i = 1, 5 do rows[i] = cells(5, { [3] = S1, [4] = S2 }) end
  write(glue .. "/MRPC/train.tsv", "h1\th2\th3\th4\th5\n" .. table.concat(rows, "\n") .. "\n")
  local base = { "--pretrained_bert_model", model_dir(), "--glove_embs", T.golden("augment/glove.txt"),
    "--glue_dir", glue, "--task_name", "MRPC", "--N", "4", "--seed", "11", "--progress", "false", "--batch_rows", "2" }
  local function with(extra)
    local a = table.move(base, 1, #base, 1, {})
    for _, x in ipairs(extra) do a[#a + 1] = x end
    return a
  end
  local f = glue .. "/MRPC/train_aug.tsv"
  run(base)
  local full = read(f)
  run(base)
  T.eq(read(f), full, "same seed, same file")
  run(with{ "--seed", "12" })
  T.ok(read(f) ~= full, "another seed, another file")
  os.remove(f)
  local r = run(with{ "--stop_after", "3" })
  T.ok(r.partial and not io.open(f), "a partial file, no output yet")
  write(r.partial, read(r.partial) .. "garbage from an interrupted write\n")   -- past the recorded bytes
  run(base)
  T.eq(read(f), full, "resumed output equals the uninterrupted one")
  T.ok(not io.open(f .. ".partial") and not io.open(f .. ".partial.state"), "partial files removed")
  run(with{ "--pair_original" })
  for _, l in ipairs(lines(f)) do
    local c = split(l)
    if c[5] ~= S2 and c[1] ~= "h1" then T.eq(c[4], S1, "--pair_original keeps column 3 original") end
  end
  os.remove(f)
  local d = run(with{ "--dry_run", "2" })
  T.eq(#d.dry_run, 2)
  T.ok(not io.open(f), "dry run writes nothing")
end)

T.test("recipe: seed MRPC (BOM header, 99 rows)", function()
  local src = T.seed("mrpc/train.tsv")
  if not io.open(src) then print("skipped: seed data not found at " .. src); return end
  local glue = T.tmpdir()
  os.execute("mkdir -p '" .. glue .. "/MRPC'")
  write(glue .. "/MRPC/train.tsv", read(src))
  local r = run{ "--pretrained_bert_model", model_dir(), "--glove_embs", T.golden("augment/glove.txt"),
    "--glue_dir", glue, "--task_name", "MRPC", "--N", "2", "--seed", "1", "--progress", "false" }
  local out = lines(glue .. "/MRPC/train_aug.tsv")
  T.eq(out[1], lines(src)[1]:gsub("\r$", ""), "header copied (BOM kept, as upstream)")
  T.eq(r.rows, 99)
  T.ok(#out >= 1 + 99 * 2 * 2 and #out <= 1 + 99 * 2 * 3, "rows: " .. #out)
  for i = 2, #out do T.eq(#split(out[i]), 5, "line " .. i) end
end)

T.test("chinese: segmenter words, whole-word masking, outputs differ only inside words", function()
  local vocab, data = T.seed("nezha-cn-base/vocab.txt"), T.seed("chnsenti/train.tsv")
  if not io.open(vocab) or not io.open(data) then print("skipped: seed data not found at " .. T.seed()); return end
  local tok = rt.tokenizer.load(vocab, { lower = true })
  local m = rt.model.new({ vocab_size = tok:vocab_size(), hidden_size = 16, num_hidden_layers = 1, num_attention_heads = 2,
    intermediate_size = 32, max_position_embeddings = 512, heads = { "mlm" } }, { seed = 5 })
  local seg = rt.segment.load(T.golden("tokenizer_segment/dict.txt"))
  local aug = rt.augment.new{ mlm = m, tokenizer = tok, segmenter = seg, M = 5 }
  T.eq(aug.lang, "zh", "detected from the vocabulary")
  T.ok(not aug:is_candidate("的") and not aug:is_candidate("，") and aug:is_candidate("酒店") and not aug:is_candidate("xp"))
  local sents = {}
  for l in io.lines(data) do
    local s = l:match("^%d+\t(.*)$")
    if s and utf8.len(s) and utf8.len(s) < 60 then sents[#sents + 1] = s end
    if #sents == 6 then break end
  end
  local res, cands, words = aug:augment_batch(sents, { N = 6, p = 0.5, seed = 2 })
  local multi, changed = 0, 0
  for k, s in ipairs(sents) do
    T.eq(table.concat(words[k]), s, "segmenter words cover the text")
    for i, c in pairs(cands[k]) do
      if utf8.len(words[k][i]) > 1 then multi = multi + 1 end
      for _, x in ipairs(c) do
        T.ok(rt.augment.is_cjk(x), "CJK candidate " .. x)
        if x ~= words[k][i] and utf8.len(words[k][i]) > 1 then T.eq(utf8.len(x), utf8.len(words[k][i]), "whole-word candidate length") end
      end
    end
    for j = 2, #res[k] do
      -- some split of the output into the words, each the word itself or one of its candidates
      local out, w = res[k][j], words[k]
      local memo = {}
      local function fits(pos, i)
        if i > #w then return pos == #out + 1 end
        local key = pos * 1000 + i
        if memo[key] ~= nil then return memo[key] end
        local opts = { w[i] }
        for _, x in ipairs(cands[k][i] or {}) do opts[#opts + 1] = x end
        local ok = false
        for _, x in ipairs(opts) do
          if not ok and out:sub(pos, pos + #x - 1) == x then ok = fits(pos + #x, i + 1) end
        end
        memo[key] = ok
        return ok
      end
      T.ok(fits(1, 1), "sentence " .. k .. " output " .. j .. " differs only at word boundaries: " .. out)
      if out ~= s then changed = changed + 1 end
    end
  end
  T.ok(multi > 0, "multi-character words were candidates")
  T.ok(changed > 0, "some outputs changed")
  local d, n = aug:diff(sents[1], res[1][2])
  T.ok(n >= 1 and d:find("→", 1, true), d)
  -- a word-vector file for multi-character words (GloVe format)
  local target
  for i, w in ipairs(words[1]) do if cands[1][i] and utf8.len(w) > 1 then target = i; break end end
  T.ok(target, "a multi-character candidate word in sentence 1")
  local dir = T.tmpdir()
  local vw = { words[1][target], "酒店", "房间", "服务", "不错", "xp", "环境" }
  local lines_ = {}
  for k, w in ipairs(vw) do lines_[k] = w .. " " .. (k * 0.3) .. " " .. (1 - k * 0.1) .. " 0.5" end
  write(dir .. "/vec.txt", table.concat(lines_, "\n") .. "\n")
  local aug2 = rt.augment.new{ mlm = m, tokenizer = tok, segmenter = seg, M = 3, word_vectors = dir .. "/vec.txt" }
  local c2 = aug2:candidates(words[1], target)
  T.eq(#c2, 3, table.concat(c2, ","))
  for _, x in ipairs(c2) do T.ok(x ~= words[1][target] and rt.augment.is_cjk(x) and x ~= "xp", x) end
end)

T.test("recipe: chnsenti in Chinese mode (detected from the vocabulary), label column kept", function()
  local vocab, data = T.seed("nezha-cn-base/vocab.txt"), T.seed("chnsenti/train.tsv")
  if not io.open(vocab) or not io.open(data) then print("skipped: seed data not found at " .. T.seed()); return end
  local tok = rt.tokenizer.load(vocab, { lower = true })
  local dir = T.tmpdir()
  rt.model.new({ vocab_size = tok:vocab_size(), hidden_size = 16, num_hidden_layers = 1, num_attention_heads = 2,
    intermediate_size = 32, max_position_embeddings = 512, heads = { "mlm" } }, { seed = 5 }):save(dir .. "/mlm")
  write(dir .. "/mlm/vocab.txt", read(vocab))
  os.execute("mkdir -p '" .. dir .. "/glue/chnsenti'")
  local rows = {}
  for l in io.lines(data) do
    if #rows < 4 and utf8.len(l) < 80 then rows[#rows + 1] = l end
  end
  write(dir .. "/glue/chnsenti/train.tsv", table.concat(rows, "\n") .. "\n")
  local r = run{ "--pretrained_bert_model", dir .. "/mlm", "--glue_dir", dir .. "/glue", "--task_name", "chnsenti",
    "--seg_dict", T.golden("tokenizer_segment/dict.txt"), "--N", "3", "--seed", "3", "--progress", "false" }
  local out = lines(dir .. "/glue/chnsenti/train_aug.tsv")
  T.eq(#out, r.written)
  local k = 1
  for ri, row in ipairs(rows) do
    local c = split(row)
    T.eq(out[k], row, "the original first")
    k = k + 1
    while out[k] and out[k] ~= rows[ri + 1] do
      local o = split(out[k])
      T.eq(o[1], c[1], "label kept")
      T.eq(utf8.len(o[2]), utf8.len(c[2]), "MLM candidates keep the word length")
      k = k + 1
    end
  end
  T.eq(k - 1, #out)
end)
