-- Task readers (seed data + small files written here), features and the batch loader.
local T = require "retort.test"
local rt = require "retort"

local function write(dir, name, text)
  local f = assert(io.open(dir .. "/" .. name, "wb")); f:write(text); f:close()
  return dir .. "/" .. name
end

local function rmdir(dir, names)
  for _, n in ipairs(names) do os.remove(dir .. "/" .. n) end
  os.remove(dir)
end

T.test("read_task: seed ChnSentiCorp (label<TAB>text, no header)", function()
  local ex, labels, info = rt.data.read_task("chnsenti", T.seed("chnsenti"), "train")
  T.eq(#ex, 109); T.eq(info.n, 109)
  T.eq(table.concat(labels, ","), "0,1")
  local zeros = 0
  for _, e in ipairs(ex) do if e.label == "0" then zeros = zeros + 1 end end
  T.eq(zeros, 53)
  T.ok(ex[1].text_a:find("^是一个朋友送给我的"), "first text")
  T.eq(ex[1].text_b, nil)
  local dev = rt.data.read_task("chnsenti", T.seed("chnsenti"), "dev")
  T.eq(#dev, 113)
end)

T.test("read_task: seed MRPC (BOM, header)", function()
  local ex, labels = rt.data.read_task("mrpc", T.seed("mrpc"), "train")
  T.eq(#ex, 99)
  T.eq(table.concat(labels, ","), "0,1")
  local ones = 0
  for _, e in ipairs(ex) do if e.label == "1" then ones = ones + 1 end end
  T.eq(ones, 64)
  T.ok(ex[1].text_a:find("^Amrozi accused his brother"), ex[1].text_a)
  T.ok(ex[1].text_b ~= nil)
  T.eq(ex[1].guid, "train-1")
  local dev = rt.data.read_task("mrpc", T.seed("mrpc"), "dev")
  T.eq(#dev, 99)
  T.raises(function() rt.data.read_task("mrpc", T.seed("mrpc"), "test") end, "test.tsv")
  T.raises(function() rt.data.read_task("nope", T.seed("mrpc"), "train") end, "unknown task")
end)

T.test("read_task: every GLUE/CLUE layout from small files", function()
  local dir = T.tmpdir()
  local files = {}
  local function w(name, text) files[#files + 1] = name; write(dir, name, text) end
  local cases = {
    { "cola", "train.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n", 2, "Our friends won't buy this analysis.", nil, "1" },
    { "sst-2", "train.tsv", "sentence\tlabel\nit 's a charming journey \t1\n", 1, "it 's a charming journey ", nil, "1" },
    { "sts-b", "train.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air plane is taking off.\t5.000\n", 1, "A plane is taking off.", "An air plane is taking off.", 5.0 },
    { "qqp", "train.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t1\t2\tWhy?\tHow?\t0\n2\t3\t4\tbroken\n", 1, "Why?", "How?", "0" },
    { "mnli", "train.tsv", "index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label\n0\t1\t2\tg\ta\tb\tc\td\tP \"q\"\tH\tneutral\tneutral\n", 1, "P \"q\"", "H", "neutral" },
    { "mnli-mm", "dev_mismatched.tsv", "index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tl2\tl3\tl4\tl5\tgold_label\n0\t1\t2\tg\ta\tb\tc\td\tP\tH\te\te\te\te\te\tentailment\n", 1, "P", "H", "entailment" },
    { "qnli", "train.tsv", "index\tquestion\tsentence\tlabel\n0\tWhat?\tThis.\tnot_entailment\n", 1, "What?", "This.", "not_entailment" },
    { "rte", "train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA\tB\tentailment\n", 1, "A", "B", "entailment" },
    { "wnli", "train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA\tB\t1\n", 1, "A", "B", "1" },
    { "lcqmc", "train.tsv", "text_a\ttext_b\tlabel\r\n喜欢打篮球的男生喜欢什么样的女生\t爱打篮球的男生喜欢什么样的女生\t1\r\n", 1, "喜欢打篮球的男生喜欢什么样的女生", "爱打篮球的男生喜欢什么样的女生", "1" },
    { "xnli", "train.tsv", "premise\thypo\tlabel\n他说\t她说\tcontradictory\n", 1, "他说", "她说", "contradiction" },
  }
  for _, c in ipairs(cases) do
    local sub = c[1]
    os.execute("mkdir -p '" .. dir .. "/" .. sub .. "'")
    w(sub .. "/" .. c[2], c[3])
    local split = c[2]:find("^dev") and "dev" or "train"
    local ex, labels, info = rt.data.read_task(c[1], dir .. "/" .. sub, split)
    T.eq(#ex, c[4], c[1] .. " count")
    T.eq(ex[1].text_a, c[5], c[1] .. " text_a")
    T.eq(ex[1].text_b, c[6], c[1] .. " text_b")
    T.eq(ex[1].label, c[7], c[1] .. " label")
    if c[1] == "qqp" then T.eq(info.skipped, 1) end
    if c[1] == "sts-b" then T.eq(#labels, 0); T.eq(info.regression, true) end
    os.remove(dir .. "/" .. sub .. "/" .. c[2]); os.remove(dir .. "/" .. sub)
  end
  -- malformed: ragged row and unknown label name file:line
  os.execute("mkdir -p '" .. dir .. "/bad'")
  write(dir, "bad/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA\tB\tentailment\n1\tonly one\n")
  T.raises(function() rt.data.read_task("rte", dir .. "/bad", "train") end, "bad/train.tsv:3")
  write(dir, "bad/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA\tB\tyes\n")
  T.raises(function() rt.data.read_task("rte", dir .. "/bad", "train") end, "bad/train.tsv:2")
  os.remove(dir .. "/bad/train.tsv"); os.remove(dir .. "/bad")
  os.remove(dir)
end)

T.test("read_tsv, read_ner, read_squad", function()
  local dir = T.tmpdir()
  local p = write(dir, "g.tsv", "\xEF\xBB\xBFa\tb\r\n1\t2\r\n3\t4")
  local rows, header = rt.data.read_tsv(p, { header = true })
  T.eq(#rows, 2); T.eq(header[1], "a"); T.eq(rows[2][2], "4")
  write(dir, "g.tsv", "a\tb\n1\n")
  T.raises(function() rt.data.read_tsv(p) end, "g.tsv:2")
  local n = write(dir, "ner.txt", "中 B-LOC\n国 I-LOC\n人 O\n\n我 O\n。 O\n\n")
  local sents, labels = rt.data.read_ner(n)
  T.eq(#sents, 2); T.eq(table.concat(sents[1].words), "中国人"); T.eq(sents[1].labels[2], "I-LOC")
  T.eq(#labels, 10); T.eq(labels[1], "O"); T.eq(labels[10], "[SEP]")
  local up = rt.data.read_ner(n, { upstream = true })
  T.eq(#up, 1); T.eq(#up[1].words, 5)
  write(dir, "ner.txt", "中 B-LOC\n国\n")
  T.raises(function() rt.data.read_ner(n) end, "ner.txt:2")
  local s = write(dir, "cmrc.json", [[{"version": "v1.0", "data": [{"title": "t", "id": "a", "paragraphs": [
    {"id": "p", "context": "《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三续作。",
     "qas": [{"question": "《战国无双3》是由哪两个公司合作开发的？", "id": "DEV_0_QUERY_0",
              "answers": [{"text": "光荣和ω-force", "answer_start": 11}, {"text": "光荣和ω-force", "answer_start": 11}]}]}]}]}]])
  local qas = rt.data.read_squad(s)
  T.eq(#qas, 1); T.eq(qas[1].id, "DEV_0_QUERY_0"); T.eq(#qas[1].answers, 2)
  T.eq(qas[1].answers[1].start, 11); T.eq(qas[1].answers[1].text, "光荣和ω-force")
  write(dir, "cmrc.json", '{"data": [{"paragraphs": [{"context": 3}]}]}')
  T.raises(function() rt.data.read_squad(s) end, "context")
  write(dir, "cmrc.json", '{"data": [\n\n oops')
  T.raises(function() rt.data.read_squad(s) end, "cmrc.json:3")
  rmdir(dir, { "g.tsv", "ner.txt", "cmrc.json" })
end)

local tok = rt.tokenizer.load(T.seed("nezha-cn-base/vocab.txt"))

T.test("dataset + collate: classification features", function()
  local ex, labels = rt.data.read_task("mrpc", T.seed("mrpc"), "train")
  local ds = rt.data.dataset(ex, tok, { labels = labels, max_len = 32 })
  T.eq(#ds, 99)
  for _, it in ipairs(ds) do T.ok(#it.ids <= 32 and #it.ids == #it.seg) end
  -- same layout as tok:encode
  local e = tok:encode(ex[1].text_a, ex[1].text_b, { max_len = 32 })
  local enc = e.input_ids:totable()
  for i = 1, #ds[1].ids do T.eq(ds[1].ids[i], enc[i]) end
  local b = rt.data.collate({ ds[1], ds[2], ds[3] })
  local w = math.max(#ds[1].ids, #ds[2].ids, #ds[3].ids)
  T.eq(table.concat(b.input_ids:shape(), "x"), "3x" .. w)
  T.eq(b.labels:dtype(), "i64"); T.eq(b.labels:totable()[1], ds[1].label)
  b = rt.data.collate({ ds[1] }, { pad_to = 40 })
  T.eq(b.input_ids:shape()[2], 40)
  -- regression labels give f32
  local rb = rt.data.collate({ { ids = { 101, 102 }, label = 3.8 }, { ids = { 101, 102 }, label = 1 } })
  T.eq(rb.labels:dtype(), "f32")
  rb = rt.data.collate({ { ids = { 101, 102 }, label = 5.0 } })
  T.eq(rb.labels:dtype(), "f32", "a float label stays f32 even when integral")
end)

T.test("ner_dataset: first piece keeps the label, the rest X, [CLS]/[SEP]", function()
  local sents = { { words = { "我", "在", "hello", "北", "京" }, labels = { "O", "O", "B-ORG", "B-LOC", "I-LOC" } } }
  local ds = rt.data.ner_dataset(sents, tok, { max_len = 16 })
  -- hello -> hello (one piece in this vocab?) ; check alignment against tokenization
  local pieces = #tok:tokenize("hello")
  T.eq(#ds[1].ids, 2 + 4 + pieces)
  T.eq(ds[1].labels[1], 9); T.eq(ds[1].labels[#ds[1].labels], 10)
  T.eq(ds[1].labels[4], 4)                -- B-ORG
  if pieces > 1 then T.eq(ds[1].labels[5], 8) end
  local short = rt.data.ner_dataset(sents, tok, { max_len = 4 })
  T.eq(#short[1].ids, 4)
  local b = rt.data.collate(ds)
  T.eq(table.concat(b.labels:shape(), "x"), "1x" .. #ds[1].ids)
end)

T.test("loader: batches, shuffle by seed, drop_last, bucket, #loader", function()
  local items = {}
  for i = 1, 103 do
    local ids = { 101 }
    for _ = 1, (i * 7) % 23 + 1 do ids[#ids + 1] = 5 end
    ids[#ids + 1] = 102
    items[i] = { ids = ids, label = i % 2, guid = i }
  end
  local L = rt.data.loader(items, { batch_size = 10 })
  T.eq(#L, 11)
  local seen, nb = {}, 0
  for batch in L:iter() do
    nb = nb + 1
    T.ok(batch.input_ids:shape()[1] <= 10)
    for _, l in ipairs(batch.labels:totable()) do seen[#seen + 1] = l end
  end
  T.eq(nb, 11); T.eq(#seen, 103)
  local D = rt.data.loader(items, { batch_size = 10, drop_last = true })
  T.eq(#D, 10)
  local count = 0
  for _ in D:iter() do count = count + 1 end
  T.eq(count, 10)
  -- seeded shuffle: same seed, same order; epochs differ; different seeds differ
  local function order(l)
    local o = {}
    for _, b in ipairs(l:batches()) do for _, i in ipairs(b) do o[#o + 1] = i end end
    return table.concat(o, ",")
  end
  local A, B = rt.data.loader(items, { batch_size = 10, shuffle = true, seed = 7 }), rt.data.loader(items, { batch_size = 10, shuffle = true, seed = 7 })
  local a1, b1 = order(A), order(B)
  T.eq(a1, b1)
  T.ok(order(A) ~= a1, "a new epoch reshuffles")
  T.ok(order(rt.data.loader(items, { batch_size = 10, shuffle = true, seed = 8 })) ~= a1)
  local sorted = {}
  for i = 1, 103 do sorted[i] = i end
  T.ok(a1 ~= table.concat(sorted, ","))
  -- bucketing: within a batch lengths are close; all items appear once
  local Bk = rt.data.loader(items, { batch_size = 10, shuffle = true, seed = 1, bucket = true })
  local all, pad_b, pad_p = {}, 0, 0
  for _, idx in ipairs(Bk:batches()) do
    local mx, sum = 0, 0
    for _, i in ipairs(idx) do all[#all + 1] = i; mx = math.max(mx, #items[i].ids); sum = sum + #items[i].ids end
    pad_b = pad_b + mx * #idx - sum
  end
  for _, idx in ipairs(A:batches()) do
    local mx, sum = 0, 0
    for _, i in ipairs(idx) do mx = math.max(mx, #items[i].ids); sum = sum + #items[i].ids end
    pad_p = pad_p + mx * #idx - sum
  end
  table.sort(all)
  T.eq(table.concat(all, ","), table.concat(sorted, ","))
  T.ok(pad_b < pad_p, ("bucketing pads less (%d vs %d)"):format(pad_b, pad_p))
  -- custom collate
  local C = rt.data.loader(items, { batch_size = 50, collate = function(its) return #its end })
  local sizes = {}
  for n in C:iter() do sizes[#sizes + 1] = n end
  T.eq(table.concat(sizes, ","), "50,50,3")
  T.ok(tostring(C):find("DataLoader"))
end)

T.test("squad/CMRC features: windows, max context, answer span", function()
  local ctx = "《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三续作。本作以三大故事为主轴，分别是以武田信玄等人为主的《关东三国志》，织田信长等人为主的《战国三杰》，石田三成等人为主的《关原的年轻武者》。"
  local qas = { { id = "q1", question = "《战国无双3》是由哪两个公司合作开发的？", context = ctx,
                  answers = { { text = "光荣和ω-force", start = 11 } } },
                { id = "q2", question = "不存在", context = ctx, answers = { { text = "不在文中", start = 0 } } } }
  local ex, skipped = rt.tasks.squad_examples(qas)
  T.eq(#ex, 1); T.eq(skipped, 1)
  T.eq(table.concat(ex[1].doc_tokens, "", ex[1].start, ex[1].end_), "光荣和ω-force")
  local feats = rt.tasks.squad_features(qas, tok, { max_len = 48, doc_stride = 16, max_query = 10 })
  T.ok(#feats >= 3, "several windows: " .. #feats)
  local q = math.min(#tok:encode_ids(qas[1].question), 10)
  local hits = 0
  for i, f in ipairs(feats) do
    T.eq(#f.ids, #f.seg); T.ok(#f.ids <= 48)
    T.eq(f.unique_id, 1000000000 + i - 1)
    T.eq(f.span_mask[1], 1); T.eq(f.span_mask[2], 0); T.eq(f.span_mask[#f.span_mask], 0)
    if f.start_position > 0 then
      hits = hits + 1
      local ans = {}
      for k = f.start_position + 1, f.end_position + 1 do ans[#ans + 1] = f.ids[k] end
      T.eq(tok:decode(ans):gsub(" ", ""), "光荣和ω-force")
      T.ok(f.start_position >= q + 2)
    else
      T.eq(f.end_position, 0)
    end
  end
  T.ok(hits >= 1, "the answer lies inside some window")
  -- every document token is max-context in exactly one window
  local owners = {}
  for _, f in ipairs(feats) do
    for pos, flag in pairs(f.max_context) do
      if flag then
        local key = f.doc_span_index .. ":" .. pos
        owners[key] = true
      end
    end
  end
  local count = 0
  for _ in pairs(owners) do count = count + 1 end
  T.eq(count, #tok:encode_ids(table.concat(ex[1].doc_tokens, " ")))
  local b = rt.tasks.squad_collate({ feats[1], feats[2] })
  T.eq(b.span_mask:shape()[1], 2); T.eq(b.start_positions:dtype(), "i64")
  T.eq(rt.tasks.info("mrpc").num_labels, 2)
  local items, labels = rt.tasks.load("chnsenti", T.seed("chnsenti"), "dev", tok, { max_len = 64 })
  T.eq(#items, 113); T.eq(#labels, 2)
end)

T.test("word_groups: whole-word groups from the segmenter", function()
  local seg = rt.segment.load({ ["北京"] = 100, ["天安门"] = 50, ["我"] = 10, ["爱"] = 10 })
  local toks, ids, groups = rt.data.word_groups(tok, seg, "我爱北京天安门 unaffable")
  T.eq(table.concat(toks, " "), "我 爱 北 京 天 安 门 u ##na ##ff ##able")
  T.eq(table.concat(groups, " "), "1 2 3 3 4 4 4 5 5 5 5")
  T.eq(ids[1], tok.vocab["我"])
end)
