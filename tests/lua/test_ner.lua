-- Sequence labelling (rt.tasks.ner, lua/recipes/ner.lua): the BIO
-- reader's errors, label lists, first-piece alignment, the upstream summed loss
-- and the mean loss, the prediction files, and the recipe end to end on a
-- generated set (scripts/data/synth_ner.lua): fine-tuning, resume, distillation
-- stages and the teacher pre-checks.
local T = require "retort.test"
local N = rt.tasks.ner
local Trainer = require "retort.trainer"
local S = dofile("scripts/data/synth_ner.lua")

local function write(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

T.test("ner reader: sentence rules, BIO errors name file:line", function()
  local dir = T.tmpdir()
  local p = dir .. "/train.txt"
  write(p, "中 B-LOC\n国 I-LOC\n\n人 O\n。 O\n\n我 O\n")
  T.eq(#N.read(p, { sentence_rule = "blank" }), 3)
  local up = N.read(p)                              -- upstream: joined until "。" + blank
  T.eq(#up, 1)
  T.eq(table.concat(up[1].words), "中国人。")
  write(p, "中 B-LOC\n国 I-LOC\n\n人 O\n我 Z-PER\n。 O\n\n")
  T.raises(function() N.read(p, { sentence_rule = "blank" }) end, "train.txt:5: label 'Z-PER'")
  T.raises(function() N.read(p) end, "train.txt:5")
  write(p, "中 B-LOC\n国\n")
  T.raises(function() N.read(p) end, "train.txt:2")
  T.raises(function() N.read(p, { sentence_rule = "x" }) end, "sentence_rule")
  Trainer.remove_tree(dir)
end)

T.test("ner labels: upstream list, derived list, --labels", function()
  local a = { { words = { "a", "b" }, labels = { "B-PER", "O" } } }
  T.eq(table.concat(N.labels({ a }), ","), table.concat(N.UPSTREAM_LABELS, ","))
  local b = { { words = { "a", "b", "c" }, labels = { "B-TIME", "I-TIME", "B-PER" }, line = 7 } }
  T.eq(table.concat(N.labels({ b }), ","), "O,B-PER,I-PER,B-TIME,I-TIME,X,[CLS],[SEP]")
  T.eq(table.concat(N.labels({ b }, "O,B-TIME,I-TIME,B-PER,I-PER"), ","), "O,B-TIME,I-TIME,B-PER,I-PER,X,[CLS],[SEP]")
  T.raises(function() N.labels({ b }, "O,B-PER,I-PER") end, "label 'B-TIME'")
  T.eq(table.concat(N.positive_ids(N.UPSTREAM_LABELS), ","), "2,3,4,5,6,7")
end)

local VOCAB = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "中", "国", "人", "ab", "##cd", "。" }

T.test("ner dataset: first piece labelled, X on the others, truncation", function()
  local tok = rt.tokenizer.load(VOCAB, { lower = true })
  local sent = { words = { "中", "abcd", " ", "国" }, labels = { "B-LOC", "B-PER", "O", "I-LOC" }, line = 1 }
  local it = N.dataset({ sent }, tok, N.UPSTREAM_LABELS, { max_len = 16 })[1]
  -- [CLS] 中 ab ##cd 国 [SEP]; " " gives no piece
  T.eq(table.concat(it.labels, ","), "9,6,2,8,7,10")
  T.eq(it.first[1], 2); T.eq(it.first[2], 3); T.eq(it.first[3], nil); T.eq(it.first[4], 5)
  local cut = N.dataset({ sent }, tok, N.UPSTREAM_LABELS, { max_len = 4 })[1]
  T.eq(table.concat(cut.labels, ","), "9,6,2,10")
  T.eq(cut.first[4], nil)
  local tags = N.char_tags(it, { 9, 6, 2, 8, 7, 10 }, N.UPSTREAM_LABELS)
  T.eq(table.concat(tags, ","), "B-LOC,B-PER,O,I-LOC")
end)

T.test("ner losses: upstream sum over all positions, mean over first pieces", function()
  local tok = rt.tokenizer.load(VOCAB, { lower = true })
  local items = N.dataset({ { words = { "中", "abcd" }, labels = { "B-LOC", "O" } },
                            { words = { "人" }, labels = { "O" } } }, tok, N.UPSTREAM_LABELS, { max_len = 16 })
  local b = N.collate(items)
  T.eq(table.concat(b.input_ids:shape(), "x"), "2x5")
  rt.manual_seed(1)
  local logits = rt.randn(2, 5, 11)
  local flat, y = logits:reshape(10, 11), b.labels:reshape(10)
  T.near(N.loss(logits, b, "sum"):item(), rt.F.cross_entropy(flat, y):item() * 10, 1e-5, "sum = 10 x mean")
  -- mean: positions 2 (中), 3 (ab) in row 1 and 2 (人) in row 2
  local idx = rt.tensor({ 1, 2, 6 }, "i64")
  local want = rt.F.cross_entropy(flat:index_select(1, idx), y:index_select(1, idx)):item()
  T.near(N.loss(logits, b, "mean"):item(), want, 1e-6, "mean over first pieces")
  local bp = N.collate(items, { pad_to = 8 })
  T.eq(table.concat(bp.input_ids:shape(), "x"), "2x8", "--pad_to_max_length pads to max_seq_length")
  local lp = rt.randn(2, 8, 11)
  T.near(N.loss(lp, bp, "sum"):item(), rt.F.cross_entropy(lp:reshape(16, 11), bp.labels:reshape(16)):item() * 16, 1e-4,
    "padding positions (label 0) are in the summed loss")
end)

T.test("ner distillation loss: soft CE at T over positions that are not padding or X", function()
  local tok = rt.tokenizer.load(VOCAB, { lower = true })
  local items = N.dataset({ { words = { "中", "abcd" }, labels = { "B-LOC", "O" } },
                            { words = { "人" }, labels = { "O" } } }, tok, N.UPSTREAM_LABELS, { max_len = 16 })
  local b = N.collate(items)
  b.x_id = 8
  rt.manual_seed(2)
  local s, t = rt.randn(2, 5, 11), rt.randn(2, 5, 11)
  -- row 1: [CLS] 中 ab ##cd [SEP] -> ##cd (X) dropped; row 2: [CLS] 人 [SEP] pad pad -> pads dropped
  local keep = rt.tensor({ 0, 1, 2, 4, 5, 6, 7 }, "i64")
  local want = rt.F.soft_cross_entropy(s:reshape(10, 11):index_select(1, keep), t:reshape(10, 11):index_select(1, keep), 2)
  T.near(N.distill_pred_loss(s, t, b, 2):item(), want:item(), 1e-6)
end)

T.test("ner prediction files: label_test.txt layout and conlleval lines", function()
  local tok = rt.tokenizer.load(VOCAB, { lower = true })
  local items = N.dataset({ { words = { "中", "国" }, labels = { "B-LOC", "I-LOC" } } }, tok, N.UPSTREAM_LABELS, {})
  local dir = T.tmpdir()
  N.write_predictions(dir, "test", items, { { 9, 6, 1, 10 } }, N.UPSTREAM_LABELS)
  T.eq(slurp(dir .. "/label_test.txt"), "[CLS]\nB-LOC\nO\n[SEP]\n")
  T.eq(slurp(dir .. "/test_predictions.txt"), "中 B-LOC B-LOC\n国 I-LOC O\n\n")
  Trainer.remove_tree(dir)
end)

local function recipe(args)
  local chunk = assert(loadfile("lua/recipes/ner.lua"))
  return chunk(table.unpack(args))
end

T.test("ner recipe: fine-tune, resume, distil (stage 1 and 2), teacher checks", function()
  local dir = T.tmpdir()
  S.write(dir .. "/data", { n_train = 200, n_dev = 30, n_test = 20, seed = 3 })
  write(dir .. "/vocab.txt", table.concat(S.vocab(), "\n") .. "\n")
  local common = { "--vocab_file", dir .. "/vocab.txt", "--data_dir", dir .. "/data", "--max_seq_length", "48",
    "--train_batch_size", "16", "--learning_rate", "3e-3", "--from_scratch", "--hidden_size", "32",
    "--num_attention_heads", "2", "--progress", "false", "--threads", "1", "--save_checkpoints_steps", "20" }
  local function args(extra)
    local a = {}
    for _, x in ipairs(common) do a[#a + 1] = x end
    for _, x in ipairs(extra) do a[#a + 1] = x end
    return a
  end
  local t = dir .. "/teacher"
  local res = recipe(args({ "--output_dir", t, "--do_train", "--do_eval", "--do_predict", "--num_train_epochs", "10",
    "--num_hidden_layers", "2" }))
  T.ok(res.entity_f1 > 0.5, "teacher dev entity F1 " .. res.entity_f1)
  T.ok(res.eval_f > 0.5, "teacher dev token F " .. res.eval_f)
  for _, f in ipairs({ "eval_results.txt", "label_list.txt", "label2id.json", "label_test.txt", "test_predictions.txt",
                       "dev_predictions.txt", "log.jsonl", "best/config.json", "best/vocab.txt", "best/label_list.txt" }) do
    T.ok(io.open(t .. "/" .. f) ~= nil, "written: " .. f)
  end
  T.ok(slurp(t .. "/eval_results.txt"):find("eval_f = ", 1, true), "eval_results.txt has eval_f")
  -- resume: drop the last checkpoint, continue from checkpoint-5: step 10 is the same again
  local r = dir .. "/r"
  local ra = args({ "--output_dir", r, "--do_train", "--num_train_epochs", "2", "--max_steps", "10",
    "--num_hidden_layers", "1", "--save_checkpoints_steps", "5" })
  local function loss_at(step)
    local v
    for _, rec in ipairs(rt.log.read_jsonl(r .. "/log.jsonl")) do if rec.step == step and rec.loss then v = rec.loss end end
    return v
  end
  recipe(ra)
  local before = loss_at(10)
  Trainer.remove_tree(r .. "/checkpoint-10")
  ra[#ra + 1] = "--resume"
  recipe(ra)
  local after = loss_at(10)
  T.ok(before and after, "step 10 logged by both runs")
  T.near(after, before, 1e-6, "resumed loss at step 10")
  -- distillation: stage 1 (att + rep) into a 1-layer student, then stage 2 (pred)
  local s1, s2 = dir .. "/s1", dir .. "/s2"
  local d1 = recipe(args({ "--output_dir", s1, "--do_train", "--num_train_epochs", "1", "--num_hidden_layers", "1",
    "--hidden_size", "16", "--teacher_model", t .. "/best" }))
  T.ok(d1.global_step > 0, "stage 1 ran")
  local log1 = rt.log.read_jsonl(s1 .. "/log.jsonl")
  T.ok(log1[1].att_loss and log1[1].rep_loss, "stage 1 logs att_loss and rep_loss")
  local d2 = recipe({ "--vocab_file", dir .. "/vocab.txt", "--data_dir", dir .. "/data", "--max_seq_length", "48",
    "--init_checkpoint", s1 .. "/best", "--output_dir", s2, "--do_train", "--do_eval", "--num_train_epochs", "1",
    "--teacher_model", t .. "/best", "--pred_distill", "--temperature", "2", "--learning_rate", "3e-3",
    "--progress", "false", "--save_checkpoints_steps", "20" })
  T.ok(d2.entity_f1 ~= nil, "stage 2 evaluated")
  T.ok(rt.log.read_jsonl(s2 .. "/log.jsonl")[1].pred_loss, "stage 2 logs pred_loss")
  -- pre-checks
  local v2 = dir .. "/vocab2.txt"
  local v = S.vocab(); v[#v + 1] = "extra"
  write(v2, table.concat(v, "\n") .. "\n")
  T.raises(function() recipe({ "--vocab_file", v2, "--data_dir", dir .. "/data", "--from_scratch", "--output_dir",
    dir .. "/x", "--do_train", "--teacher_model", t .. "/best", "--progress", "false" }) end, "vocabularies differ")
  T.raises(function() recipe(args({ "--output_dir", dir .. "/y", "--do_train", "--teacher_model", t .. "/best",
    "--labels", "O,B-LOC,I-LOC,B-PER,I-PER,B-ORG,I-ORG" })) end, "label order differs")
  T.raises(function() recipe(args({ "--output_dir", dir .. "/h", "--do_train", "--teacher_model", t .. "/best",
    "--num_hidden_layers", "1", "--num_attention_heads", "4" })) end, "equal head counts")
  local pre = dir .. "/pretrained"
  rt.model.new({ vocab_size = #S.vocab(), hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 2,
                 intermediate_size = 64, heads = { "mlm", "nsp" } }):save(pre)
  write(pre .. "/vocab.txt", table.concat(S.vocab(), "\n") .. "\n")
  T.raises(function() recipe(args({ "--output_dir", dir .. "/z", "--do_train", "--teacher_model", pre })) end,
    "not fine-tuned")
  Trainer.remove_tree(dir)
end)
