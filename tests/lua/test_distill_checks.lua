-- retort.distill_checks: vocabulary, layer, head and fit_dense checks and the layer maps.
local T = require "retort.test"
local DC = require "retort.distill_checks"

local function L(t) return table.concat(t, ",") end

local function cfg(t)
  local c = { vocab_size = 40, hidden_size = 16, num_hidden_layers = 4, num_attention_heads = 2,
              intermediate_size = 32, max_position_embeddings = 64 }
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

local function vocab_file(dir, name, toks)
  local p = dir .. "/" .. name
  local f = assert(io.open(p, "w"))
  f:write(table.concat(toks, "\n"), "\n")
  f:close()
  return p
end

T.test("uniform layer map is upstream's (12 -> 4: att 2,5,8,11; rep 0,3,6,9,12)", function()
  local m = DC.layer_map(4, 12)
  T.eq(L(m.att0), "2,5,8,11")
  T.eq(L(m.rep0), "0,3,6,9,12")
  T.eq(L(m.att_map), "3,6,9,12")
  T.eq(L(m.hidden_map), "1,4,7,10,13")
  -- the same as the C map rt.distill.losses uses by default
  local c = rt.distill.layer_map(4, 12)
  T.eq(L(c.att_map), L(m.att_map)); T.eq(L(c.hidden_map), L(m.hidden_map))
  T.eq(DC.describe_map(DC.layer_map(2, 4)), "att 1,3 rep 0,2,4")
  T.raises(function() DC.layer_map(4, 6, nil, { teacher_name = "T6", student_name = "S4" }) end,
           "teacher T6 has 6 layers, not a multiple of the 4 layers of student S4")
end)

T.test("explicit --layer_map strings", function()
  local m = DC.layer_map(4, 6, "att=1,2,4,5;rep=0,2,3,5,6")
  T.eq(L(m.att0), "1,2,4,5"); T.eq(L(m.rep0), "0,2,3,5,6")
  m = DC.layer_map(2, 6, "1,5")                 -- att only: rep follows
  T.eq(L(m.att0), "1,5"); T.eq(L(m.rep0), "0,2,6")
  m = DC.layer_map(2, 6, "rep=0,3,6")           -- rep only: att follows
  T.eq(L(m.att0), "2,5"); T.eq(L(m.rep0), "0,3,6")
  m = DC.layer_map(2, 4, { att = { 0, 3 } })
  T.eq(L(m.rep0), "0,1,4")
  T.raises(function() DC.layer_map(2, 6, "att=1,2,3") end, "att has 3 entries but student has 2 layers")
  T.raises(function() DC.layer_map(2, 6, "att=1,6") end, "teacher layer 6, but teacher has layers 0..5")
  T.raises(function() DC.layer_map(2, 6, "rep=0,3,7") end, "teacher state 7")
  T.raises(function() DC.layer_map(2, 6, "att=1,x") end, "'x' is not an integer")
  T.raises(function() DC.layer_map(2, 6, "foo=1,2") end, "unknown part 'foo'")
end)

T.test("vocabularies must be identical (size and tokens), both models named", function()
  local d = T.tmpdir()
  local a = vocab_file(d, "a.txt", { "[PAD]", "[UNK]", "x", "y" })
  local b = vocab_file(d, "b.txt", { "[PAD]", "[UNK]", "x", "z" })
  local c = vocab_file(d, "c.txt", { "[PAD]", "[UNK]", "x" })
  T.eq(DC.vocab(a, a), 4)
  T.raises(function() DC.vocab(a, b, { teacher_name = "TDIR", student_name = "SDIR" }) end,
           "line 4: teacher TDIR has 'y'")
  local e = T.raises(function() DC.vocab(a, c, { teacher_name = "TDIR", student_name = "SDIR" }) end,
                     "teacher TDIR has 4 tokens")
  T.ok(tostring(e):find("student SDIR has 3", 1, true), e)
end)

T.test("check: vocab_size, heads, fit_dense shape, sequence length", function()
  local n = { teacher_name = "T", student_name = "S" }
  local function chk(tc, sc, extra)
    local o = { teacher_config = cfg(tc), student_config = cfg(sc), teacher_name = "T", student_name = "S" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return DC.check(o)
  end
  local maps = chk({ num_hidden_layers = 4 }, { num_hidden_layers = 2 })
  T.eq(L(maps.att0), "1,3")
  T.raises(function() chk({}, { vocab_size = 41 }) end, "vocab_size differs: teacher T has 40, student S has 41")
  T.raises(function() chk({}, { num_attention_heads = 4 }) end, "teacher T has 2 heads, student S has 4")
  chk({}, { num_attention_heads = 4 }, { att = false })          -- fine without the attention loss
  T.raises(function() chk({}, {}, { max_seq_len = 128 }) end, "max_seq_len 128 is longer than the 64 positions")
  T.raises(function() chk({}, {}, { att = false, rep = false }) end, "nothing to learn")
  T.raises(function() chk({ hidden_size = 32 }, { fit_size = 24 }) end, "student S fit_size 24 does not match")
  -- real models: fit_dense present with the right shape, missing, or wrong
  local t = rt.model.new(cfg { hidden_size = 32, num_hidden_layers = 4 })
  local s = rt.model.new(cfg { hidden_size = 16, num_hidden_layers = 2, fit_size = 32 })
  local m, w = DC.check { teacher = t, student = s, teacher_name = "T", student_name = "S" }
  T.eq(L(m.rep0), "0,2,4"); T.eq(#w, 0)
  local bad = rt.model.new(cfg { hidden_size = 16, num_hidden_layers = 2, fit_size = 24 })
  T.raises(function() DC.check { teacher = t, student = bad, teacher_name = "T", student_name = "S" } end,
           "student S fit_dense.weight is [24, 16] but must be [32, 16]")
  local nofit = rt.model.new(cfg { hidden_size = 16, num_hidden_layers = 2 })
  T.raises(function() DC.check { teacher = t, student = nofit, teacher_name = "T", student_name = "S" } end,
           "student S has no fit_dense but its hidden size 16 differs from the 32 of teacher T")
  local same = rt.model.new(cfg { hidden_size = 32, num_hidden_layers = 2 })
  local _, w2 = DC.check { teacher = t, student = same, teacher_name = "T", student_name = "S" }
  T.eq(#w2, 1)
  -- vocabulary files compared when both are given
  local d = T.tmpdir()
  local toks = {}
  for i = 1, 40 do toks[i] = "t" .. i end
  local a = vocab_file(d, "a.txt", toks)
  toks[7] = "other"
  local b = vocab_file(d, "b.txt", toks)
  T.raises(function() DC.check { teacher = t, student = s, teacher_vocab = a, student_vocab = b,
                                 teacher_name = "T", student_name = "S" } end, "line 7")
  local _ = n
end)

T.test("corpus: epoch files agree with max_seq_len and the vocabulary", function()
  local d = T.tmpdir()
  local rec = { tokens = { "[CLS]", "a", "[SEP]", "b", "[SEP]" }, segment_ids = { 0, 0, 0, 1, 1 },
                is_random_next = false, masked_lm_positions = { 1 }, masked_lm_labels = { "a" } }
  rt.io.write_pregenerated(d .. "/epoch_0.json", { rec, rec }, { metrics = d .. "/epoch_0_metrics.json", max_seq_len = 8 })
  local voc = { "[PAD]", "[CLS]", "[SEP]", "a", "b" }
  local n, ex = DC.corpus(d, { max_seq_len = 8, vocab = voc })
  T.eq(n, 1); T.eq(ex[1], 2)
  T.raises(function() DC.corpus(d, { max_seq_len = 4 }) end, "generated with max_seq_len 8, longer than --max_seq_length 4")
  T.raises(function() DC.corpus(d, { vocab = { "[CLS]", "[SEP]", "a" }, teacher_name = "TT" }) end,
           "record 1 token 4 'b' is not in the vocabulary of teacher TT")
  T.raises(function() DC.corpus(d .. "/nope") end, "no epoch_0_metrics.json")
end)
