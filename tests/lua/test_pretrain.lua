-- pretrain.lua / retort.pretrain.mlm: the schedule and per-term log, exact resume,
-- accumulation, upstream's toy records, the saved model in three formats (safetensors,
-- pytorch_model.bin with the tied decoder, TF1 model.ckpt read back by retort's TF reader
-- and a TF-written checkpoint re-written byte for byte), errors. (Losses and LAMB against
-- PyTorch: test_golden_pretrain.lua.)
local T = require "retort.test"
local P = require "retort.pretrain.mlm"

local function write(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end
local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end

-- a tiny corpus, vocabulary and config for end-to-end runs
local WORDS = { "the", "cat", "sat", "on", "mat", "dog", "ran", "far", "we", "like", "play", "ing", "a", "big", "red", "ball" }
local function setup(dir)
  local vocab = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "." }
  for _, w in ipairs(WORDS) do vocab[#vocab + 1] = w end
  write(dir .. "/vocab.txt", table.concat(vocab, "\n") .. "\n")
  local lines, s = {}, 7
  for d = 1, 40 do
    for _ = 1, 4 do
      local words = {}
      for _ = 1, 6 do s = (s * 1103515245 + 12345) % 2147483648; words[#words + 1] = WORDS[(s >> 8) % #WORDS + 1] end
      lines[#lines + 1] = table.concat(words, " ") .. " ."
    end
    lines[#lines + 1] = ""
    local _ = d
  end
  write(dir .. "/corpus.txt", table.concat(lines, "\n"))
  rt.pretrain.create{ input_file = dir .. "/corpus.txt", vocab_file = dir .. "/vocab.txt", output_file = dir .. "/data.tfrecord",
                      max_seq_length = 24, max_predictions_per_seq = 4, dupe_factor = 2, progress = false }
  write(dir .. "/config.json", string.format([[{"vocab_size": %d, "hidden_size": 16, "num_hidden_layers": 2,
    "num_attention_heads": 2, "intermediate_size": 24, "hidden_act": "gelu", "use_relative_position": true,
    "max_relative_position": 8, "max_position_embeddings": 64, "type_vocab_size": 2}]], #vocab))
end

local recipe = assert(loadfile("lua/recipes/pretrain.lua"))
local function run(dir, out, extra)
  local args = { "--bert_config_file=" .. dir .. "/config.json", "--input_file=" .. dir .. "/data.tfrecord",
                 "--output_dir=" .. out, "--do_train=True", "--train_batch_size=8", "--max_seq_length=24",
                 "--max_predictions_per_seq=4", "--num_train_steps=6", "--num_warmup_steps=2", "--learning_rate=1e-3",
                 "--save_checkpoints_steps=3", "--progress=false", "--seed=3" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return recipe(table.unpack(args))
end

T.test("pretrain.lua: per-term JSONL, the warmup + polynomial schedule, eval_results.txt", function()
  local dir = T.tmpdir()
  setup(dir)
  local r = run(dir, dir .. "/a", { "--do_eval=True", "--eval_batch_size=4", "--max_eval_steps=5", "--save_formats=safetensors" })
  T.eq(r.step, 6)
  local recs = rt.log.read_jsonl(dir .. "/a/log.jsonl")
  T.eq(#recs, 6)
  for i, rec in ipairs(recs) do
    for _, k in ipairs { "mlm_loss", "nsp_loss", "mlm_acc", "nsp_acc", "lr", "tokens_per_s", "grad_norm" } do
      T.ok(rec[k] ~= nil, "log.jsonl step " .. i .. " lacks " .. k)
    end
    T.near(rec.loss, rec.mlm_loss + rec.nsp_loss, 1e-5)
    local s = i - 1      -- lr(t) = init * t / W for t < W, else init / (1 - W/T) * (1 - t/T)
    local want = s < 2 and 1e-3 * s / 2 or 1e-3 / (1 - 2 / 6) * (1 - s / 6)
    T.near(rec.lr, want, 1e-9)
  end
  T.eq(r.eval.eval_steps, 5)
  local txt = slurp(dir .. "/a/eval_results.txt")
  T.ok(txt:find("global_step = 6", 1, true) and txt:find("masked_lm_accuracy = ", 1, true) and
       txt:find("next_sentence_loss = ", 1, true), txt)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("pretrain.lua: resume from a checkpoint is bit-identical to an uninterrupted run", function()
  local dir = T.tmpdir()
  setup(dir)
  run(dir, dir .. "/full", { "--save_formats=safetensors" })
  run(dir, dir .. "/part", { "--save_formats=safetensors", "--num_train_steps=6" }) -- same run, then cut it back:
  os.execute("rm -rf '" .. dir .. "/part/checkpoint-6' '" .. dir .. "/part/model.safetensors'")
  local r = run(dir, dir .. "/part", { "--save_formats=safetensors", "--resume=True" })
  T.eq(r.step, 6)
  T.ok(slurp(dir .. "/full/model.safetensors") == slurp(dir .. "/part/model.safetensors"), "resumed weights differ")
  local a, b = rt.log.read_jsonl(dir .. "/full/log.jsonl"), rt.log.read_jsonl(dir .. "/part/log.jsonl")
  T.eq(a[6].loss, b[#b].loss)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("pretrain.lua: gradient accumulation (2 x 4) is close to the single batch of 8", function()
  local dir = T.tmpdir()
  setup(dir)
  local one = run(dir, dir .. "/one", { "--save_formats=safetensors", "--num_train_steps=1" })
  local two = run(dir, dir .. "/two", { "--save_formats=safetensors", "--num_train_steps=1", "--num_accumulation_steps=2" })
  -- not equal: each micro-batch's MLM mean has its own weight sum (as upstream's accumulation) and dropout
  -- masks differ with the shapes; the same data in the same order gives close values
  T.ok(two.step == 1 and one.step == 1)
  T.near(two.last.loss, one.last.loss, 0.05)
  T.near(two.last.mlm_loss, one.last.mlm_loss, 0.05)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("the final model: safetensors, pytorch_model.bin (tied decoder) and a TF1 checkpoint read back exactly", function()
  local dir = T.tmpdir()
  setup(dir)
  run(dir, dir .. "/o", { "--num_train_steps=2" })
  local st = rt.load(dir .. "/o/model.safetensors")
  local bin = rt.load(dir .. "/o/pytorch_model.bin")
  T.ok(bin["cls.predictions.decoder.weight"] ~= nil, "pytorch_model.bin has the tied decoder")
  T.near(bin["cls.predictions.decoder.weight"], st["bert.embeddings.word_embeddings.weight"], 0)
  local tf, skipped = rt.io.tf_checkpoint(dir .. "/o/model.ckpt-2")
  T.eq(table.concat(skipped, ","), "global_step")
  local n = 0
  for k, t in pairs(st) do
    T.ok(tf[k] ~= nil, "TF checkpoint lacks " .. k)
    T.near(tf[k], t, 0, k)
    n = n + 1
  end
  for k in pairs(tf) do T.ok(st[k] ~= nil, "TF checkpoint has an extra " .. k) end
  local names = {}
  for _, v in ipairs(rt.io.tf_list(dir .. "/o/model.ckpt-2")) do names[v.name] = v.shape end
  T.eq(table.concat(names["bert/encoder/layer_1/intermediate/dense/kernel"], "x"), "16x24", "kernels are [in, out]")
  T.eq(table.concat(names["cls/seq_relationship/output_weights"], "x"), "2x16", "output_weights stay [out, in]")
  T.ok(names["cls/predictions/output_bias"] and names["bert/embeddings/word_embeddings"] and names.global_step)
  T.ok(slurp(dir .. "/o/checkpoint"):find('model_checkpoint_path: "model.ckpt-2"', 1, true))
  -- pretraining can start from each of the three
  for _, init in ipairs { dir .. "/o/model.safetensors", dir .. "/o/pytorch_model.bin", dir .. "/o/model.ckpt-2" } do
    local m = rt.model.load(init, { heads = { "mlm", "nsp" }, quiet = true })
    local p = m:named_parameters()
    for k, t in pairs(st) do T.near(p[k], t, 0, init .. ": " .. k) end
  end
  local r = run(dir, dir .. "/o2", { "--init_checkpoint=" .. dir .. "/o/model.ckpt-2", "--num_train_steps=1",
                                     "--save_formats=safetensors" })
  T.eq(r.step, 1)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("pretrain.lua trains on upstream's toy TFRecords (English uncased ids, 128 / 20)", function()
  local toy = T.seed "pretrain-toy/tf_examples_00.tfrecord"
  local f = io.open(toy, "rb")
  if not f then print("skipped: seed data not found at " .. toy); return end
  f:close()
  local dir = T.tmpdir()
  write(dir .. "/config.json", [[{"vocab_size": 30522, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
    "intermediate_size": 24, "use_relative_position": true, "type_vocab_size": 2}]])
  local r = recipe("--bert_config_file=" .. dir .. "/config.json", "--input_file=" .. toy, "--output_dir=" .. dir .. "/o",
    "--do_train=True", "--do_eval=True", "--train_batch_size=16", "--num_train_steps=2", "--num_warmup_steps=1",
    "--save_formats=safetensors", "--progress=false")
  T.eq(r.records, 60); T.eq(r.step, 2)
  T.ok(r.eval.masked_lm_loss > 5 and r.eval.next_sentence_accuracy >= 0)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("the TF1 writer re-writes a TensorFlow-written checkpoint byte for byte (index and data)", function()
  local raw = rt.io.tf_checkpoint("tests/golden/tfckpt/many.ckpt", { tf_names = true })
  local dir = T.tmpdir()
  rt.io.save_tf_checkpoint(dir .. "/many.ckpt", raw, { tf_names = true })
  T.ok(slurp(dir .. "/many.ckpt.index") == slurp("tests/golden/tfckpt/many.ckpt.index"), "index differs from TF's")
  T.ok(slurp(dir .. "/many.ckpt.data-00000-of-00001") == slurp("tests/golden/tfckpt/many.ckpt.data-00000-of-00001"),
    "data shard differs from TF's")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("pretrain.lua: clear errors (data/flag mismatch, fp16/horovod, no config)", function()
  local dir = T.tmpdir()
  setup(dir)
  T.raises(function() run(dir, dir .. "/x", { "--max_seq_length=32" }) end, "expected 32")
  T.raises(function() run(dir, dir .. "/x", { "--use_fp16=True" }) end, "not supported")
  T.raises(function() recipe("--input_file=" .. dir .. "/data.tfrecord", "--output_dir=" .. dir .. "/x", "--do_train=True",
    "--max_seq_length=24", "--max_predictions_per_seq=4") end, "--bert_config_file or --init_checkpoint")
  T.raises(function() run(dir, dir .. "/x", { "--input_file=" .. dir .. "/none*.tfrecord" }) end, "no input file matches")
  os.execute("rm -rf '" .. dir .. "'")
end)

os.exit(T.summary() and 0 or 1)
