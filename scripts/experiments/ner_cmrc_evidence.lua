-- ner_cmrc_evidence.lua — "it learns" evidence for ner.lua and cmrc.lua on the
-- sets the project generates (scripts/data/synth_ner.lua, synth_cmrc.lua):
--   1. a teacher fine-tuned from scratch fits its training set and beats trivial
--      baselines on dev (NER: all "O" and the per-character majority tag of train;
--      CMRC: the first 4 context characters, and the whole context);
--   2. a 2-layer student distilled from it (stage 1 att + rep, then stage 2 soft
--      cross-entropy; and stage 2 alone) against the same student fine-tuned without
--      a teacher for the same number of epochs in total.
--   retort scripts/experiments/ner_cmrc_evidence.lua OUT_DIR [ner|cmrc|both] [quick]
-- Single-threaded; a few minutes on one core. Prints one line per run.
local rt = require "retort"
local out, which, quick = arg[1] or "/tmp/ner_cmrc_evidence", arg[2] or "both", arg[3] == "quick"
-- quick: tiny sets and one epoch per run, to check that the script works
local function E(n) return quick and "1" or n end
os.execute("mkdir -p '" .. out .. "'")

-- each recipe run is its own process (none runs for long); results are read back
-- from its output folder: eval_results.txt (NER), dev_predictions.json (CMRC)
local BIN = os.getenv("RETORT_BIN") or (arg and arg[-1]) or "build/retort"
local function q(x) return "'" .. tostring(x):gsub("'", "'\\''") .. "'" end
local function run(recipe, args)
  local parts = { BIN, "lua/recipes/" .. recipe .. ".lua" }
  local outdir, predict
  for k, a in ipairs(args) do
    parts[#parts + 1] = q(a)
    if a == "--output_dir" then outdir = args[k + 1] end
    if a == "--predict_file" then predict = args[k + 1] end
  end
  local t0 = rt.sys.now()
  local ok = os.execute(table.concat(parts, " ") .. " > " .. q(outdir .. ".log") .. " 2>&1")
  if not ok then error(recipe .. " failed, see " .. outdir .. ".log", 0) end
  local dt = rt.sys.now() - t0
  if recipe == "cmrc" then
    local preds = rt.log.read_json(outdir .. "/dev_predictions.json")
    return rt.metrics.cmrc(rt.log.read_json(predict), preds), dt
  end
  local r = {}
  for line in io.lines(outdir .. "/eval_results.txt") do
    local k, v = line:match("^(%S+) = (.*)$")
    if k then r[k] = tonumber(v) or v end
  end
  local labels = {}
  for l in io.lines(outdir .. "/label_list.txt") do labels[#labels + 1] = l end
  r.labels = labels
  return r, dt
end

local function cat(a, b) local t = { table.unpack(a) } for _, x in ipairs(b) do t[#t + 1] = x end return t end

local function vocab(S, path)
  local f = assert(io.open(path, "w")); f:write(table.concat(S.vocab(), "\n"), "\n"); f:close()
  return path
end

if which == "ner" or which == "both" then
  local S = dofile("scripts/data/synth_ner.lua")
  local data = out .. "/ner_data"
  S.write(data, { n_train = quick and 40 or 400, n_dev = quick and 10 or 100, n_test = 10, seed = 7 })
  local v = vocab(S, out .. "/ner_vocab.txt")
  local N = rt.tasks.ner
  -- baselines
  local train, dev = N.read(data .. "/train.txt"), N.read(data .. "/dev.txt")
  local counts = {}
  for _, s in ipairs(train) do
    for i, w in ipairs(s.words) do
      counts[w] = counts[w] or {}
      counts[w][s.labels[i]] = (counts[w][s.labels[i]] or 0) + 1
    end
  end
  local P0, P1, G = {}, {}, {}
  for k, s in ipairs(dev) do
    P0[k], P1[k], G[k] = {}, {}, s.labels
    for i, w in ipairs(s.words) do
      P0[k][i] = "O"
      local best, bn = "O", -1
      for l, n in pairs(counts[w] or {}) do if n > bn or (n == bn and l < best) then best, bn = l, n end end
      P1[k][i] = best
    end
  end
  print(string.format("ner baseline all-O: dev entity F1 %.4f", rt.metrics.ner_entity(P0, G).f1))
  print(string.format("ner baseline per-character majority tag: dev entity F1 %.4f", rt.metrics.ner_entity(P1, G).f1))
  local common = { "--vocab_file", v, "--data_dir", data, "--max_seq_length", "64", "--train_batch_size", "16",
    "--progress", "false", "--threads", "1", "--do_train", "--do_eval", "--save_checkpoints_steps", "50" }
  local t = out .. "/ner_teacher"
  local r, s = run("ner", cat(common, { "--output_dir", t, "--from_scratch", "--hidden_size", "128",
    "--num_hidden_layers", "4", "--num_attention_heads", "4", "--learning_rate", "1e-3", "--num_train_epochs", E("10") }))
  -- fit on train: evaluate the best teacher on train.txt
  local m = rt.model.load(t .. "/best", { quiet = true }); m:eval()
  local tok = rt.tokenizer.load(v, { lower = true })
  local items = N.dataset(train, tok, r.labels, { max_len = 64 })
  local tr = N.evaluate(m, items, r.labels, { batch_size = 32 })
  print(string.format("ner teacher (4 layers, H 128): train entity F1 %.4f, dev entity F1 %.4f, dev token F %.4f  [%.0f s]",
    tr.f1, r.entity_f1, r.eval_f, s))
  -- the 2-layer student: fine-tuned alone for 12 epochs at three learning rates, and
  -- distilled for 12 epochs in total (6 att+rep + 6 pred; and 12 pred only)
  local student = { "--from_scratch", "--hidden_size", "32", "--num_hidden_layers", "2", "--num_attention_heads", "4" }
  for _, lr in ipairs({ "1e-3", "3e-3", "5e-3" }) do
    local b, sb = run("ner", cat(cat(common, student), { "--output_dir", out .. "/ner_student_ft_" .. lr,
      "--num_train_epochs", E("12"), "--learning_rate", lr }))
    print(string.format("ner student (2 layers, H 32) fine-tuned 12 epochs lr %s, no teacher: dev entity F1 %.4f token F %.4f  [%.0f s]",
      lr, b.entity_f1, b.eval_f, sb))
  end
  local _, s1 = run("ner", cat(cat(common, student), { "--output_dir", out .. "/ner_student_s1", "--num_train_epochs", E("6"),
    "--learning_rate", "1e-3", "--teacher_model", t .. "/best" }))
  for _, lr in ipairs({ "1e-3", "3e-3" }) do
    local d, s2 = run("ner", cat(common, { "--output_dir", out .. "/ner_student_s2_" .. lr, "--num_train_epochs", E("6"),
      "--init_checkpoint", out .. "/ner_student_s1/best", "--teacher_model", t .. "/best", "--pred_distill",
      "--learning_rate", lr }))
    print(string.format("ner student distilled (6 epochs att+rep lr 1e-3, 6 epochs pred lr %s): dev entity F1 %.4f token F %.4f  [%.0f s]",
      lr, d.entity_f1, d.eval_f, s1 + s2))
  end
  local p, sp = run("ner", cat(cat(common, student), { "--output_dir", out .. "/ner_student_pred", "--num_train_epochs", E("12"),
    "--learning_rate", "3e-3", "--teacher_model", t .. "/best", "--pred_distill" }))
  print(string.format("ner student distilled (12 epochs pred only, lr 3e-3): dev entity F1 %.4f token F %.4f  [%.0f s]",
    p.entity_f1, p.eval_f, sp))
end

if which == "cmrc" or which == "both" then
  local S = dofile("scripts/data/synth_cmrc.lua")
  local data = out .. "/cmrc_data"
  S.write(data, { n_train = quick and 10 or 300, n_dev = quick and 4 or 60, seed = 7 })
  local v = vocab(S, out .. "/cmrc_vocab.txt")
  local gold = rt.log.read_json(data .. "/dev.json")
  local pre = {}
  for _, para in ipairs(gold.data[1].paragraphs) do
    local c = {}
    for _, ch in utf8.codes(para.context) do c[#c + 1] = utf8.char(ch) end
    for _, q in ipairs(para.qas) do pre[q.id] = table.concat(c, "", 1, 4) end
  end
  local b0 = rt.metrics.cmrc(gold, pre)
  print(string.format("cmrc baseline first 4 characters: dev EM %.3f F1 %.3f", b0.EM, b0.F1))
  for _, para in ipairs(gold.data[1].paragraphs) do for _, q in ipairs(para.qas) do pre[q.id] = para.context end end
  local b1 = rt.metrics.cmrc(gold, pre)
  print(string.format("cmrc baseline whole context: dev EM %.3f F1 %.3f", b1.EM, b1.F1))
  local common = { "--vocab_file", v, "--train_file", data .. "/train.json", "--predict_file", data .. "/dev.json",
    "--max_seq_length", "128", "--train_batch_size", "16", "--progress", "false", "--threads", "1", "--do_train",
    "--do_predict", "--save_checkpoints_steps", "1000" }
  local t = out .. "/cmrc_teacher"
  local r, s = run("cmrc", cat(common, { "--output_dir", t, "--from_scratch", "--hidden_size", "128",
    "--num_hidden_layers", "4", "--num_attention_heads", "4", "--learning_rate", "5e-4", "--num_train_epochs", E("4"),
    "--eval_steps", "100" }))
  local tr = run("cmrc", { "--vocab_file", v, "--predict_file", data .. "/train.json", "--init_checkpoint", t .. "/best",
    "--output_dir", out .. "/cmrc_teacher_on_train", "--do_predict", "--max_seq_length", "128", "--progress", "false",
    "--threads", "1" })
  print(string.format("cmrc teacher (4 layers, H 128): train EM %.3f F1 %.3f, dev EM %.3f F1 %.3f  [%.0f s]",
    tr.EM, tr.F1, r.EM, r.F1, s))
  local student = { "--from_scratch", "--hidden_size", "32", "--num_hidden_layers", "2", "--num_attention_heads", "4",
    "--learning_rate", "1e-3" }
  for _, lr in ipairs({ "1e-3", "3e-3" }) do
    local b, sb = run("cmrc", cat(cat(common, student), { "--output_dir", out .. "/cmrc_student_ft_" .. lr,
      "--num_train_epochs", E("4"), "--learning_rate", lr }))
    print(string.format("cmrc student (2 layers, H 32) fine-tuned 4 epochs lr %s, no teacher: dev EM %.3f F1 %.3f  [%.0f s]",
      lr, b.EM, b.F1, sb))
  end
  local _, s1 = run("cmrc", cat(cat(common, student), { "--output_dir", out .. "/cmrc_student_s1", "--num_train_epochs", E("2"),
    "--teacher_model", t .. "/best" }))
  local d, s2 = run("cmrc", cat(common, { "--output_dir", out .. "/cmrc_student_s2", "--num_train_epochs", E("2"),
    "--init_checkpoint", out .. "/cmrc_student_s1/best", "--teacher_model", t .. "/best", "--pred_distill",
    "--learning_rate", "1e-3" }))
  print(string.format("cmrc student distilled (2 epochs att+rep, 2 epochs pred): dev EM %.3f F1 %.3f  [%.0f s]",
    d.EM, d.F1, s1 + s2))
end
