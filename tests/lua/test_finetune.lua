-- lua/recipes/finetune.lua end to end on the seed samples (../shared/seed): a
-- randomly initialised small model memorises ~100 ChnSentiCorp / MRPC examples
-- (training loss near zero), the JSONL loss curve goes down, eval_results.txt is
-- written with the task's metrics, and --help lists the options.
local T = require "retort.test"
local L = rt.log
local Trainer = require "retort.trainer"

local function run(args)
  local chunk = assert(loadfile("lua/recipes/finetune.lua"))
  return chunk(table.unpack(args))
end

local function mean(t, a, b)
  local s = 0
  for i = a, b do s = s + t[i] end
  return s / (b - a + 1)
end

local function check_run(task, data, vocab, extra)
  local dir = T.tmpdir()
  local args = { "--from_scratch", "--task", task, "--data_dir", T.seed(data), "--vocab_file", T.seed(vocab),
    "--output_dir", dir, "--max_seq_length", "64", "--train_batch_size", "16", "--num_train_epochs", "25",
    "--learning_rate", "2e-3", "--optimizer", "adamw", "--warmup_proportion", "0.05", "--hidden_size", "32",
    "--num_hidden_layers", "1", "--num_attention_heads", "2", "--dropout", "0", "--eval_train", "true",
    "--progress", "false", "--seed", "3" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local res = run(args)
  T.ok(res.train_loss < 0.05, task .. ": training loss " .. res.train_loss .. " is not near zero")
  T.eq(res.train_acc, 1.0)
  local losses = {}
  for _, r in ipairs(L.read_jsonl(dir .. "/log.jsonl")) do if r.loss then losses[#losses + 1] = r.loss end end
  T.ok(#losses >= 100, "steps logged: " .. #losses)
  T.ok(mean(losses, #losses - 9, #losses) < 0.2 * mean(losses, 1, 10), "loss curve decreases")
  local f = assert(io.open(dir .. "/eval_results.txt"))
  local txt = f:read("a"); f:close()
  T.ok(txt:find("acc = ", 1, true) and txt:find("eval_loss = ", 1, true), txt)
  T.ok(io.open(dir .. "/best/config.json") ~= nil, "best model saved")
  Trainer.remove_tree(dir)
  return res
end

T.test("finetune chnsenti from scratch memorises the training set", function()
  check_run("chnsenti", "chnsenti", "nezha-cn-base/vocab.txt")
end)

T.test("finetune mrpc from scratch memorises the training set", function()
  local res = check_run("mrpc", "mrpc", "nezha-en-base/vocab.txt", { "--do_lower_case", "false" })
  T.ok(res.f1 ~= nil and res.acc_and_f1 ~= nil, "mrpc reports acc and f1")
end)

T.test("finetune --help lists the options", function()
  local buf = {}
  local old = print
  print = function(s) buf[#buf + 1] = s end
  local ok, err = pcall(run, { "--help" })
  print = old
  T.ok(ok, err)
  local text = table.concat(buf, "\n")
  for _, k in ipairs({ "--model_dir", "--task", "--data_dir", "--max_seq_length", "--train_batch_size",
                       "--learning_rate", "--num_train_epochs", "--warmup_proportion", "--seed", "--output_dir" }) do
    T.ok(text:find(k, 1, true), k .. " missing from --help")
  end
  T.raises(function() run({ "--task", "mrpc" }) end, "--data_dir is required")
end)

T.test("finetune resumed from a mid-run checkpoint ends with bit-identical parameters", function()
  local full, part = T.tmpdir(), T.tmpdir()
  local base = { "--from_scratch", "--task", "chnsenti", "--data_dir", T.seed("chnsenti"),
    "--vocab_file", T.seed("nezha-cn-base/vocab.txt"), "--max_seq_length", "32", "--train_batch_size", "16",
    "--num_train_epochs", "2", "--learning_rate", "1e-3", "--hidden_size", "16", "--num_hidden_layers", "1",
    "--num_attention_heads", "2", "--dropout", "0.1", "--progress", "false", "--seed", "5",
    "--save_steps", "4", "--keep_checkpoints", "10" }
  local function with(dir, extra)
    local a = { table.unpack(base) }
    a[#a + 1] = "--output_dir"; a[#a + 1] = dir
    for _, x in ipairs(extra or {}) do a[#a + 1] = x end
    return a
  end
  local r1 = run(with(full))
  T.eq(r1.global_step, 14)
  -- a fresh output folder holding only checkpoint-4 of the first run
  rt.sys.mkdir(part .. "/checkpoint-4")
  for _, name in ipairs({ "model.safetensors", "optimizer.safetensors", "trainer_state.json" }) do
    local f = assert(io.open(full .. "/checkpoint-4/" .. name, "rb"))
    local data = f:read("a"); f:close()
    local g = assert(io.open(part .. "/checkpoint-4/" .. name, "wb")); g:write(data); g:close()
  end
  local r2 = run(with(part, { "--resume", "true" }))
  T.eq(r2.global_step, 14)
  local p1, p2 = r1.model:named_parameters(), r2.model:named_parameters()
  local n = 0
  for k, t in pairs(p1) do T.near(p2[k], t, 0, k); n = n + 1 end
  T.ok(n > 10)
  Trainer.remove_tree(full); Trainer.remove_tree(part)
end)

T.test("finetune regression (STS-B layout) reports pearson/spearman", function()
  local data, out = T.tmpdir(), T.tmpdir()
  local words = { "a man is playing", "a woman is cutting", "the cat sits", "a dog runs", "kids play football",
                  "someone is cooking", "a plane takes off", "the sun is bright" }
  for _, split in ipairs({ "train", "dev" }) do
    local f = assert(io.open(data .. "/" .. split .. ".tsv", "w"))
    f:write("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n")
    for i = 1, 24 do
      local a, b = words[(i - 1) % 8 + 1], words[(i * 3) % 8 + 1]
      f:write(string.format("%d\tmain\tx\t2012\t%d\tnone\tnone\t%s\t%s\t%.1f\n", i, i, a, b, ((i - 1) % 8) * 5 / 7))
    end
    f:close()
  end
  local res = run({ "--from_scratch", "--task", "sts-b", "--data_dir", data, "--vocab_file", T.seed("nezha-en-base/vocab.txt"),
    "--output_dir", out, "--max_seq_length", "16", "--train_batch_size", "8", "--num_train_epochs", "60",
    "--learning_rate", "1e-2", "--optimizer", "adamw", "--hidden_size", "16", "--num_hidden_layers", "1",
    "--num_attention_heads", "2", "--dropout", "0", "--eval_train", "true", "--progress", "false" })
  T.ok(res.pearson and res.spearman and res.corr, "sts-b metrics")
  T.ok(res.train_loss < 0.5, "regression training loss " .. res.train_loss)
  Trainer.remove_tree(data); Trainer.remove_tree(out)
end)
