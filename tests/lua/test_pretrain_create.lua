-- create_pretraining_data: the toy records re-encoded byte for byte, the TFRecord/Example
-- format through an independent Python reader, statistics, whole-word masking, streaming,
-- errors, flags. (The parity with the CPython re-implementation is in test_golden_pretrain.lua.)
local T = require "retort.test"

local function seed_or_skip(rel)
  local p = T.seed(rel)
  local f = io.open(p, "rb")
  if not f then print("skipped: seed data not found at " .. p); return nil end
  f:close()
  return p
end

local function slurp(p)
  local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s
end

local function write(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end

local function create(o)
  local opts = { progress = false }
  for k, v in pairs(o) do opts[k] = v end
  return rt.pretrain.create(opts)
end

T.test("the 60 toy records re-encode and re-write byte-identically (CRCs included)", function()
  local toy = seed_or_skip "pretrain-toy/tf_examples_00.tfrecord"
  if not toy then return end
  local raws = {}
  for r in rt.io.tfrecord(toy, { raw = true }) do raws[#raws + 1] = r end
  T.eq(#raws, 60)
  local k, recs = 0, {}
  for ex in rt.io.tfrecord(toy) do
    k = k + 1
    local n = ex.input_mask:sum():item()
    local np = math.tointeger(ex.masked_lm_weights:sum():item())
    local ids, seg, pos, lab = {}, {}, {}, {}
    for i = 1, n do ids[i] = ex.input_ids[i]:item(); seg[i] = ex.segment_ids[i]:item() end
    for i = 1, np do pos[i] = ex.masked_lm_positions[i]:item(); lab[i] = ex.masked_lm_ids[i]:item() end
    -- the map's first key (the protobuf runtime starts its iteration anywhere in the cycle)
    local names = { "masked_lm_positions", "masked_lm_ids", "masked_lm_weights", "segment_ids", "input_mask",
                    "input_ids", "next_sentence_labels" }
    local rot, first, at = nil, nil, math.huge
    for r, nm in ipairs(names) do
      local i = raws[k]:find("\n" .. string.char(#nm) .. nm .. "\18", 1, true)
      if i and i < at then at, rot, first = i, r - 1, nm end
    end
    T.ok(rot, "record " .. k .. ": first feature " .. tostring(first))
    local enc = rt._data.encode_pretraining_example(ids, seg, pos, lab, ex.next_sentence_labels[1]:item(), 128, 20, rot)
    T.ok(enc == raws[k], "record " .. k .. " re-encodes differently")
    recs[k] = enc
  end
  local dir = T.tmpdir()
  T.eq(rt.io.write_tfrecord(dir .. "/re.tfrecord", recs), 60)
  T.ok(slurp(dir .. "/re.tfrecord") == slurp(toy), "the re-written file differs")
  os.execute("rm -rf '" .. dir .. "'")
end)

-- a small self-contained corpus: English with ## pieces, and Chinese words
local VOCAB = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "un", "##believ", "##able",
  "dog", "ran", "far", "play", "##ing", "we", "like", ".", "我", "们", "喜", "欢", "北", "京", "大", "学", "天", "安", "门", "很", "好" }
local TEXT = {
  "the cat sat on the mat .", "unbelievable , the dog ran far .", "we like playing .", "",
  "我们喜欢北京大学。", "天安门很好。", "我们喜欢天安门。", "",
  "the dog sat on the mat . we like the cat .", "playing unbelievable playing", "北京大学很好", "",
  "我们 like 北京 .", "天安门 playing far", "",
}
local DICT = "我们 100\n喜欢 80\n北京 90\n大学 70\n北京大学 60\n天安门 50\n很好 40\n"

local function corpus(dir, copies)
  local lines = {}
  for _ = 1, copies or 1 do for _, l in ipairs(TEXT) do lines[#lines + 1] = l end end
  write(dir .. "/corpus.txt", table.concat(lines, "\n") .. "\n")
  write(dir .. "/vocab.txt", table.concat(VOCAB, "\n") .. "\n")
  write(dir .. "/dict.txt", DICT)
  return dir .. "/corpus.txt", dir .. "/vocab.txt", dir .. "/dict.txt"
end

local function have_python()
  local p = io.popen("/usr/bin/python3 -c 'print(1)' 2>/dev/null")
  local ok = p and p:read("a"):match("1")
  if p then p:close() end
  return ok
end

T.test("records decode with the independent Python reader: names, dtypes, lengths, padding", function()
  if not have_python() then print("skipped: /usr/bin/python3 not found"); return end
  local dir = T.tmpdir()
  local text, vocab = corpus(dir, 3)
  local s = create{ input_file = text, vocab_file = vocab, output_file = dir .. "/a.tfrecord," .. dir .. "/b.tfrecord",
                    max_seq_length = 24, max_predictions_per_seq = 5, dupe_factor = 2 }
  local script = [[
import json, sys
sys.path.insert(0, "scripts/golden")
from create_pretraining_data import read_records
out = []
for p in sys.argv[1:]:
    for r in read_records(p):
        out.append({k: [v[0], len(v[1]), sum(v[1])] for k, v in r.items()} | {"_n": sum(r["input_mask"][1]),
                    "_pad": all(x == 0 for x, m in zip(r["input_ids"][1], r["input_mask"][1]) if m == 0),
                    "_mask_prefix": r["input_mask"][1] == sorted(r["input_mask"][1], reverse=True),
                    "_w": r["masked_lm_weights"][1]})
print(json.dumps(out))
]]
  write(dir .. "/check.py", script)
  local p = io.popen("/usr/bin/python3 " .. dir .. "/check.py " .. dir .. "/a.tfrecord " .. dir .. "/b.tfrecord")
  local js = p:read("a"); p:close()
  local recs = rt.json and rt.json.decode and rt.json.decode(js)
  -- count records and check fields by pattern when no JSON decoder is around
  local n = 0
  for rec in js:gmatch("%b{}") do
    n = n + 1
    for _, f in ipairs { "input_ids", "input_mask", "segment_ids" } do
      T.ok(rec:find('"' .. f .. '": %["int64", 24,'), f .. " is an int64 list of 24: " .. rec)
    end
    for _, f in ipairs { "masked_lm_positions", "masked_lm_ids" } do
      T.ok(rec:find('"' .. f .. '": %["int64", 5,'), f .. " is an int64 list of 5")
    end
    T.ok(rec:find('"masked_lm_weights": %["float", 5,'), "weights are a float list of 5")
    T.ok(rec:find('"next_sentence_labels": %["int64", 1,'), "next_sentence_labels has one value")
    T.ok(rec:find('"_pad": true') and rec:find('"_mask_prefix": true'), "zero padding after the real tokens")
  end
  T.eq(n, s.instances)
  local _ = recs
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("statistics: 80/10/10, num_to_predict, NSP, length histogram", function()
  local dir = T.tmpdir()
  local text, vocab = corpus(dir, 20)
  local s = create{ input_file = text, vocab_file = vocab, output_file = dir .. "/a.tfrecord", max_seq_length = 32,
                    max_predictions_per_seq = 6, dupe_factor = 10, masked_lm_prob = 0.15 }
  T.ok(s.instances > 500, "instances " .. s.instances)
  T.near(s.frac_mask, 0.8, 0.03); T.near(s.frac_keep, 0.1, 0.03); T.near(s.frac_random, 0.1, 0.03)
  local hist_total, want_pred = 0, 0
  for L = 0, 32 do
    local c = s.len_hist[L + 1]
    hist_total = hist_total + c
    if c > 0 then
      T.ok(L >= 5 and L <= 32, "length " .. L)
      local r = L * 0.15
      local f = math.floor(r)
      local rr = (r - f > 0.5 or (r - f == 0.5 and f % 2 == 1)) and f + 1 or f   -- round half to even
      want_pred = want_pred + c * math.min(6, math.max(1, rr))
    end
  end
  T.eq(hist_total, s.instances)
  -- every instance has enough candidates here, so masked = sum of num_to_predict
  T.eq(s.masked, want_pred)
  T.ok(s.random_next_rate > 0.4 and s.random_next_rate < 0.75, "NSP balance " .. s.random_next_rate)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("whole-word masking: ## pieces and segmented Chinese words are masked whole", function()
  local dir = T.tmpdir()
  local text, vocab, dict = corpus(dir, 20)
  local base = { input_file = text, vocab_file = vocab, max_seq_length = 32, max_predictions_per_seq = 8,
                 dupe_factor = 5, segmenter_dict = dict }
  local o1 = {}; for k, v in pairs(base) do o1[k] = v end
  o1.output_file = dir .. "/w.tfrecord"; o1.do_whole_word_mask = true
  local w = create(o1)
  T.eq(w.whole_word_share, 1.0)
  local o2 = {}; for k, v in pairs(base) do o2[k] = v end
  o2.output_file = dir .. "/n.tfrecord"
  local n = create(o2)
  T.ok(n.whole_word_share < 0.9, "per-token masking splits words: " .. n.whole_word_share)
  -- independent check on the records: a masked Chinese character of a dictionary word has its partner masked
  local tok = rt.tokenizer.load(vocab)
  local pairs_ok, seen = true, 0
  local partner = { ["北"] = "京", ["天"] = "安", ["喜"] = "欢", ["我"] = "们" }
  for ex in rt.io.tfrecord(dir .. "/w.tfrecord") do
    local masked = {}
    for i = 1, 8 do
      if ex.masked_lm_weights[i]:item() > 0 then masked[ex.masked_lm_positions[i]:item()] = ex.masked_lm_ids[i]:item() end
    end
    for p, id in pairs(masked) do
      local ch = tok.vocab[id]
      if partner[ch] and p + 1 < 32 then
        local nxt = masked[p + 1]
        if nxt == nil and ex.input_mask[p + 2]:item() == 1 and tok.vocab[ex.input_ids[p + 2]:item()] == partner[ch] then
          pairs_ok = false
        end
        seen = seen + 1
      end
    end
  end
  T.ok(seen > 20, "masked word starts seen " .. seen)
  T.ok(pairs_ok, "a segmented word was masked in part")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("--rng fast is deterministic for a seed; streaming blocks; round-robin outputs", function()
  local dir = T.tmpdir()
  local text, vocab = corpus(dir, 30)
  local function run(name, extra)
    local o = { input_file = text, vocab_file = vocab, output_file = dir .. "/" .. name .. "_0," .. dir .. "/" .. name .. "_1",
                max_seq_length = 32, dupe_factor = 3, rng = "fast" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return create(o)
  end
  local a, b = run("a"), run("b")
  T.ok(slurp(dir .. "/a_0") == slurp(dir .. "/b_0") and slurp(dir .. "/a_1") == slurp(dir .. "/b_1"), "fast rng not deterministic")
  local p = run("p", { rng = "python" })
  T.ok(slurp(dir .. "/a_0") ~= slurp(dir .. "/p_0"), "fast and python generators gave the same file")
  T.eq(a.instances, b.instances)
  local n0, n1 = 0, 0
  for _ in rt.io.tfrecord(dir .. "/a_0") do n0 = n0 + 1 end
  for _ in rt.io.tfrecord(dir .. "/a_1") do n1 = n1 + 1 end
  T.eq(n0 + n1, a.instances); T.ok(n0 - n1 == 0 or n0 - n1 == 1, "round-robin")
  local s = run("s", { shuffle_buffer_mb = 0.0005 })
  T.ok(s.blocks > 3, "blocks " .. s.blocks)
  T.ok(s.instances > 0.8 * p.instances, "streaming keeps the instances")
  T.eq(p.blocks, 1)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("--format shards: the same instances as the TFRecords, as mapped safetensors columns", function()
  local P = require "retort.pretrain.mlm"
  local dir = T.tmpdir()
  local text, vocab = corpus(dir, 5)
  local base = { input_file = text, vocab_file = vocab, max_seq_length = 32, max_predictions_per_seq = 5, dupe_factor = 3 }
  local o1, o2 = {}, {}
  for k, v in pairs(base) do o1[k] = v; o2[k] = v end
  o1.output_file = dir .. "/a.tfrecord," .. dir .. "/b.tfrecord"
  o2.output_file = dir .. "/a.shard," .. dir .. "/b.shard"; o2.format = "shards"
  local s1, s2 = create(o1), create(o2)
  T.eq(s1.instances, s2.instances)
  local t = rt.load(dir .. "/a.shard")
  T.eq(t.input_ids:dtype(), "i32"); T.eq(t.masked_lm_weights:dtype(), "f32")
  T.eq(t.input_ids:shape()[2], 32); T.eq(t.masked_lm_positions:shape()[2], 5)
  local a = P.load_tfrecords({ dir .. "/a.tfrecord", dir .. "/b.tfrecord" }, 32, 5)
  local b = P.load_tfrecords({ dir .. "/a.shard", dir .. "/b.shard" }, 32, 5)
  T.eq(a.n, b.n)
  for _, k in ipairs { "input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids",
                       "masked_lm_weights", "next_sentence_labels" } do
    T.near(b[k], a[k], 0, k)
  end
  T.raises(function() P.load_tfrecords({ dir .. "/a.shard" }, 64, 5) end, "expected [N, 64]")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("errors: empty corpus, vocabulary without [MASK], no input file; no file left behind", function()
  local dir = T.tmpdir()
  local text, vocab = corpus(dir, 1)
  write(dir .. "/empty.txt", "\n  \n\n")
  T.raises(function() create{ input_file = dir .. "/empty.txt", vocab_file = vocab, output_file = dir .. "/o.tfrecord" } end,
    "empty corpus")
  write(dir .. "/bad_vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n")
  T.raises(function() create{ input_file = text, vocab_file = dir .. "/bad_vocab.txt", output_file = dir .. "/o.tfrecord" } end,
    "the vocabulary has no [MASK] token")
  T.raises(function() create{ input_file = dir .. "/nothing*.txt", vocab_file = vocab, output_file = dir .. "/o.tfrecord" } end,
    "no input file matches")
  local p = io.popen("ls '" .. dir .. "'"); local ls = p:read("a"); p:close()
  T.ok(not ls:find("o.tfrecord", 1, true), "left behind: " .. ls)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("the recipe takes upstream's flag spellings (--flag=value, --flag value, --do_lower_case=True)", function()
  local dir = T.tmpdir()
  local text, vocab = corpus(dir, 2)
  local recipe = assert(loadfile("lua/recipes/create_pretraining_data.lua"))
  local s = recipe("--input_file=" .. text, "--output_file", dir .. "/r.tfrecord", "--vocab_file=" .. vocab,
    "--do_lower_case=True", "--max_seq_length", "32", "--dupe_factor=2", "--quiet")
  T.ok(s.instances > 0)
  T.raises(function() recipe("--input_file=" .. text, "--output_file=x", "--vocab_file=" .. vocab, "--do_lower_case=maybe") end,
    "do_lower_case")
  os.execute("rm -rf '" .. dir .. "'")
end)

os.exit(T.summary() and 0 or 1)
