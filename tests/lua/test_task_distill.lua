-- lua/recipes/task_distill.lua end to end on a synthetic MNLI-format task (tests/lua/
-- td_fixture.lua: a cue word in the hypothesis decides the label; a teacher fine-tuned
-- from scratch): stage 1 writes the student and the per-layer JSONL log, stage 2 keeps
-- the best student and evaluates the mismatched dev set into <output_dir>-MM, --do_eval
-- writes both result files; the teacher-logit cache gives the same run as live teacher
-- forwards; --aug_train reads train_aug.tsv; the checks before training stop a run with
-- a message naming the model folders (exit status 1 from the command line).
local T = require "retort.test"
local L = rt.log
local F = dofile("tests/lua/td_fixture.lua")
local TD = rt.task_distill

local BIN = os.getenv("RETORT_BIN") or "build/retort"

local function recipe(...)
  local chunk = assert(loadfile("lua/recipes/task_distill.lua"))
  return chunk(...)
end

local function read(path)
  local f = assert(io.open(path, "rb"), path)
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function copy_dir(src, dst)
  rt.sys.mkdir(dst)
  for _, e in ipairs(rt.sys.listdir(src)) do
    if not rt.sys.isdir(src .. "/" .. e) then write(dst .. "/" .. e, read(src .. "/" .. e)) end
  end
  return dst
end

local fx = F.build()
local COMMON = { "--data_dir", fx.data, "--task_name", "mnli", "--max_seq_length", "16", "--train_batch_size", "16",
  "--do_lower_case", "--progress", "false", "--quiet" }

local function args(extra)
  local a = {}
  for _, x in ipairs(COMMON) do a[#a + 1] = x end
  for _, x in ipairs(extra) do a[#a + 1] = x end
  return table.unpack(a)
end

local S1 = fx.root .. "/s1"
local S2 = fx.root .. "/s2"

T.test("task_distill stage 1: student saved, per-layer terms logged, probe on dev", function()
  local r = recipe(args({ "--teacher_model", fx.teacher, "--student_model", fx.student, "--output_dir", S1,
    "--num_train_epochs", "3", "--eval_step", "10", "--learning_rate", "1e-3" }))
  T.eq(r.stage, 1)
  T.eq(r.steps, 36, "192 examples / 16 x 3 epochs")
  T.ok(r.teacher_eval.metric > r.teacher_eval.baseline + 0.05, "teacher beats the majority class")
  for _, f in ipairs({ "pytorch_model.bin", "config.json", "vocab.txt", "label_list.txt", "eval_results.txt" }) do
    T.ok(io.open(S1 .. "/" .. f) ~= nil, f .. " written")
  end
  local log = L.read_jsonl(S1 .. "/log.jsonl")
  T.eq(#log, 36 + 4, "36 steps + 4 evaluations")
  local first, last = log[1], nil
  for _, rec in ipairs(log) do if rec.att then last = rec end end
  for _, k in ipairs({ "att", "rep", "att_1", "rep_0", "rep_1", "lr", "loss" }) do T.ok(first[k] ~= nil, k .. " logged") end
  T.near(first.att + first.rep, first.loss, 1e-5, "loss = att + rep")
  T.near(first.lr, 1e-3, 1e-12, "schedule none: constant lr")
  T.near(last.lr, 1e-3, 1e-12, "schedule none: constant lr at the end")
  T.ok(last.loss < first.loss, "stage-1 loss decreases")
  T.ok(r.last_eval.probe_acc ~= nil and r.last_eval.probe_att_loss ~= nil, "probe evaluated")
  local txt = read(S1 .. "/eval_results.txt")
  T.ok(txt:find("att_loss = ", 1, true) and txt:find("global_step = 10", 1, true), txt)
  local m = rt.model.load(S1, { quiet = true })
  T.eq(m.config.tinybert_stage, "intermediate")
end)

T.test("task_distill stage 2 (MNLI): best student kept, mismatched dev set in <output_dir>-MM", function()
  local r = recipe(args({ "--pred_distill", "--teacher_model", fx.teacher, "--student_model", S1, "--output_dir", S2,
    "--num_train_epochs", "4", "--eval_step", "12", "--learning_rate", "3e-3" }))
  T.eq(r.stage, 2)
  T.ok(r.best and r.best > 0.38, "stage-2 student above the majority class: " .. tostring(r.best))
  local txt = read(S2 .. "/eval_results.txt")
  local n = select(2, txt:gsub("acc = ", ""))
  T.eq(n, 4, "4 evaluations appended (steps 12, 24, 36, 48)")
  local mm = read(S2 .. "-MM/eval_results.txt")
  T.ok(mm:find("acc = ", 1, true) and mm:find("global_step = ", 1, true), mm)
  local log = L.read_jsonl(S2 .. "/log.jsonl")
  T.ok(log[1].pred ~= nil and log[1].lr ~= nil, "pred and lr logged")
  T.eq(log[1].lr, 0, "warmup_linear: the first update has lr 0")
  -- the saved student reproduces the best dev accuracy
  local ev = recipe(args({ "--do_eval", "--student_model", S2, "--output_dir", fx.root .. "/ev" }))
  T.near(ev.result.acc, r.best, 1e-9, "do_eval of the saved student = best dev acc")
  T.ok(ev.mm and ev.mm.acc, "do_eval evaluates mnli-mm")
  T.ok(read(fx.root .. "/ev-MM/eval_results.txt"):find("acc = ", 1, true), "ev-MM/eval_results.txt")
end)

T.test("task_distill --cache_teacher_logits: one teacher pass, the same training as live forwards", function()
  local a = recipe(args({ "--pred_distill", "--teacher_model", fx.teacher, "--student_model", S1,
    "--output_dir", fx.root .. "/c0", "--num_train_epochs", "2", "--eval_step", "100", "--learning_rate", "3e-3" }))
  local b = recipe(args({ "--pred_distill", "--teacher_model", fx.teacher, "--student_model", S1,
    "--output_dir", fx.root .. "/c1", "--num_train_epochs", "2", "--eval_step", "100", "--learning_rate", "3e-3",
    "--cache_teacher_logits" }))
  T.ok(io.open(fx.root .. "/c1/teacher_logits.safetensors") ~= nil, "logits on disk")
  T.eq(rt.load(fx.root .. "/c1/teacher_logits.safetensors").logits:shape()[1], 192)
  T.near(b.last_eval.eval_loss, a.last_eval.eval_loss, 1e-5, "same dev loss")
  local la, lb = L.read_jsonl(fx.root .. "/c0/log.jsonl"), L.read_jsonl(fx.root .. "/c1/log.jsonl")
  T.near(lb[#lb - 1].pred, la[#la - 1].pred, 1e-5, "same last soft-CE")
end)

T.test("task_distill --aug_train reads train_aug.tsv; --kd_loss kl and --alpha train", function()
  local aug = copy_dir(fx.data, fx.root .. "/aug")
  -- the augmented file: train.tsv twice (layout of train.tsv)
  local tr = read(aug .. "/train.tsv")
  write(aug .. "/train_aug.tsv", tr .. tr:gsub("^[^\n]*\n", ""))
  local r = recipe("--data_dir", aug, "--task_name", "mnli", "--max_seq_length", "16", "--train_batch_size", "32",
    "--do_lower_case", "--progress", "false", "--quiet", "--pred_distill", "--aug_train", "--teacher_model", fx.teacher,
    "--student_model", S1, "--output_dir", fx.root .. "/kl", "--num_train_epochs", "1", "--kd_loss", "kl",
    "--alpha", "0.5", "--temperature", "2")
  T.eq(r.train_n, 384, "train_aug.tsv read")
  T.eq(r.steps, 12)
  local log = L.read_jsonl(fx.root .. "/kl/log.jsonl")
  T.ok(log[1].hard ~= nil, "hard-label term logged with --alpha")
end)

T.test("task_distill gradient accumulation; stage 2 from a non-stage-1 student warns", function()
  local r = recipe(args({ "--pred_distill", "--teacher_model", fx.teacher, "--student_model", fx.student,
    "--output_dir", fx.root .. "/ga", "--num_train_epochs", "1", "--gradient_accumulation_steps", "2" }))
  T.eq(r.steps, 12)
  local warned = false
  for _, p in ipairs(r.problems) do
    if p.check == "student_init" and p.level == "warning" and p.msg:find(fx.student, 1, true) then warned = true end
  end
  T.ok(warned, "student_init warning names the student folder")
end)

T.test("task_distill --resume from a mid-run checkpoint ends with the same parameters", function()
  local full, part = fx.root .. "/rs_full", fx.root .. "/rs_part"
  local base = { "--pred_distill", "--teacher_model", fx.teacher, "--student_model", S1, "--num_train_epochs", "2",
    "--eval_step", "5", "--learning_rate", "3e-3", "--save_steps", "6", "--keep_checkpoints", "5" }
  local function with(dir, extra)
    local a = { table.unpack(base) }
    a[#a + 1] = "--output_dir"; a[#a + 1] = dir
    for _, x in ipairs(extra or {}) do a[#a + 1] = x end
    return a
  end
  recipe(args(with(full)))
  T.ok(io.open(full .. "/checkpoint-12/model.safetensors") ~= nil, "mid-run checkpoint kept")
  copy_dir(full .. "/checkpoint-12", part .. "/checkpoint-12")
  local r = recipe(args(with(part, { "--resume" })))
  T.eq(r.steps, 24)
  local a, b = rt.load(full .. "/checkpoint-24/model.safetensors"), rt.load(part .. "/checkpoint-24/model.safetensors")
  local n = 0
  for k, t in pairs(a) do
    T.ok(b[k], k)
    T.eq(rt.F.mse(t, b[k]):item(), 0, k .. " identical after resume")
    n = n + 1
  end
  T.ok(n > 10, "parameters compared")
end)

T.test("task_distill STS-B: regression teacher checked by corr, stage 2 MSE to the gold scores", function()
  local data = F.task_stsb(fx.root .. "/stsb")
  local ft = assert(loadfile("lua/recipes/finetune.lua"))
  ft("--from_scratch", "--task", "sts-b", "--data_dir", data, "--vocab_file", fx.vocab, "--output_dir",
    fx.root .. "/stsb_t", "--max_seq_length", "16", "--train_batch_size", "16", "--num_train_epochs", "12",
    "--learning_rate", "1e-3", "--optimizer", "adamw", "--hidden_size", "32", "--num_hidden_layers", "2",
    "--num_attention_heads", "4", "--dropout", "0", "--progress", "false", "--seed", "3")
  local teacher = fx.root .. "/stsb_t/best"
  local base = { "--data_dir", data, "--task_name", "sts-b", "--max_seq_length", "16", "--train_batch_size", "16",
    "--do_lower_case", "--progress", "false", "--quiet", "--teacher_model", teacher }
  local function with(extra)
    local a = { table.unpack(base) }
    for _, x in ipairs(extra) do a[#a + 1] = x end
    return table.unpack(a)
  end
  local r1 = recipe(with({ "--student_model", fx.student, "--output_dir", fx.root .. "/stsb1", "--num_train_epochs", "2",
    "--learning_rate", "1e-3" }))
  T.eq(r1.teacher_eval.name, "corr")
  T.ok(r1.teacher_eval.metric > 0.5, "regression teacher corr " .. r1.teacher_eval.metric)
  local r2 = recipe(with({ "--pred_distill", "--student_model", fx.root .. "/stsb1", "--output_dir", fx.root .. "/stsb2",
    "--num_train_epochs", "3", "--learning_rate", "3e-3", "--eval_step", "12", "--cache_teacher_logits" }))
  T.ok(r2.best ~= nil and r2.best == r2.best, "best corr recorded")
  local txt = read(fx.root .. "/stsb2/eval_results.txt")
  T.ok(txt:find("pearson = ", 1, true) and txt:find("spearman = ", 1, true) and txt:find("corr = ", 1, true), txt)
  T.ok(io.open(fx.root .. "/stsb2/teacher_logits.safetensors") == nil, "regression needs no teacher logits")
  local m = rt.model.load(fx.root .. "/stsb2", { quiet = true })
  T.eq(m.config.num_labels, 1)
end)

-- checks ----------------------------------------------------------------------

local function check_fails(extra, pattern, dirs)
  local err = T.raises(function()
    recipe(args(extra))
  end, pattern)
  for _, d in ipairs(dirs or {}) do T.ok(tostring(err):find(d, 1, true), "message names " .. d .. ": " .. tostring(err)) end
  return err
end

T.test("task_distill checks: an un-fine-tuned teacher is refused", function()
  -- a pre-trained-only "teacher": the student folder (no classifier)
  check_fails({ "--teacher_model", fx.student, "--student_model", fx.student, "--output_dir", fx.root .. "/x1" },
    "has no sequence classifier", { fx.student })
  -- a classifier that never learned: random weights with 3 labels
  local rnd = fx.root .. "/rnd_teacher"
  local m = rt.model.new({ vocab_size = #F.vocab(), hidden_size = 32, num_hidden_layers = 2, num_attention_heads = 4,
    intermediate_size = 64, max_position_embeddings = 64, heads = { "classifier" }, num_labels = 3 }, { seed = 9 })
  m:save(rnd)
  write(rnd .. "/vocab.txt", read(fx.teacher .. "/vocab.txt"))
  write(rnd .. "/label_list.txt", read(fx.teacher .. "/label_list.txt"))
  local err = check_fails({ "--teacher_model", rnd, "--student_model", fx.student, "--output_dir", fx.root .. "/x2" },
    "not above the majority-class baseline", { rnd })
  T.ok(err:find("teacher_quality", 1, true), err)
  -- --force trains anyway
  local r = recipe(args({ "--teacher_model", rnd, "--student_model", fx.student, "--output_dir", fx.root .. "/x3",
    "--num_train_epochs", "1", "--force" }))
  T.eq(r.stage, 1)
end)

T.test("task_distill checks: swapped label orders, different vocabularies, head counts", function()
  local t2 = copy_dir(fx.teacher, fx.root .. "/t_swapped")
  write(t2 .. "/label_list.txt", "entailment\ncontradiction\nneutral\n")
  check_fails({ "--teacher_model", t2, "--student_model", fx.student, "--output_dir", fx.root .. "/y1" },
    "class ids would be swapped", { t2 })
  local s2 = copy_dir(fx.student, fx.root .. "/s_swapped")
  write(s2 .. "/label_list.txt", "neutral\nentailment\ncontradiction\n")
  check_fails({ "--teacher_model", fx.teacher, "--student_model", s2, "--output_dir", fx.root .. "/y2" },
    "different orders", { fx.teacher, s2 })
  local s3 = copy_dir(fx.student, fx.root .. "/s_vocab")
  write(s3 .. "/vocab.txt", (read(fx.student .. "/vocab.txt"):gsub("\ncat\n", "\nkitten\n")))
  check_fails({ "--teacher_model", fx.teacher, "--student_model", s3, "--output_dir", fx.root .. "/y3" },
    "vocabularies differ at line", { fx.teacher, s3 })
  local s4 = fx.root .. "/s_heads"
  local m = rt.model.new({ vocab_size = #F.vocab(), hidden_size = 16, num_hidden_layers = 1, num_attention_heads = 2,
    intermediate_size = 32, max_position_embeddings = 64, fit_size = 32 }, { seed = 5 })
  m:save(s4)
  write(s4 .. "/vocab.txt", read(fx.student .. "/vocab.txt"))
  check_fails({ "--teacher_model", fx.teacher, "--student_model", s4, "--output_dir", fx.root .. "/y4" },
    "attention loss needs equal head counts", { fx.teacher, s4 })
  local s5 = fx.root .. "/s_layers"
  m = rt.model.new({ vocab_size = #F.vocab(), hidden_size = 16, num_hidden_layers = 3, num_attention_heads = 4,
    intermediate_size = 32, max_position_embeddings = 64, fit_size = 32 }, { seed = 5 })
  m:save(s5)
  write(s5 .. "/vocab.txt", read(fx.student .. "/vocab.txt"))
  check_fails({ "--teacher_model", fx.teacher, "--student_model", s5, "--output_dir", fx.root .. "/y5" },
    "not a multiple of the", { fx.teacher, s5 })
  -- with a layer map the 3-layer student trains (0-based teacher layers, hidden states follow)
  local r = recipe(args({ "--teacher_model", fx.teacher, "--student_model", s5, "--output_dir", fx.root .. "/y6",
    "--num_train_epochs", "1", "--layer_map", "0,1,1" }))
  T.eq(r.stage, 1)
end)

T.test("task_distill checks from the command line: exit status 1 and the message on stderr", function()
  local t2 = fx.root .. "/t_swapped"
  local cmd = string.format("%s lua/recipes/task_distill.lua --data_dir %s --task_name mnli --teacher_model %s "
    .. "--student_model %s --output_dir %s/z1 --max_seq_length 16 --do_lower_case 2>&1; echo \"::rc=$?\"",
    BIN, fx.data, t2, fx.student, fx.root)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  local rc = tonumber(out:match("::rc=(%d+)"))
  T.eq(rc, 1, out)
  T.ok(out:find("task_distill: checks failed before training", 1, true), out)
  T.ok(out:find(t2, 1, true), out)
  -- a flag error exits 2
  p = io.popen(BIN .. " lua/recipes/task_distill.lua --task_name mnli 2>&1; echo \"::rc=$?\"")
  out = p:read("a")
  p:close()
  T.eq(tonumber(out:match("::rc=(%d+)")), 2, out)
end)

T.test("task_distill --help lists upstream flags and the departures", function()
  local buf = {}
  local old = print
  print = function(s) buf[#buf + 1] = s end
  local ok, err = pcall(recipe, "--help")
  print = old
  T.ok(ok, err)
  local text = table.concat(buf, "\n")
  for _, k in ipairs({ "--teacher_model", "--student_model", "--task_name", "--pred_distill", "--aug_train",
                       "--temperature", "--eval_step", "--gradient_accumulation_steps", "--do_eval",
                       "--cache_teacher_logits", "--kd_loss", "--alpha", "default_params", "--weight_decay",
                       "skipped" }) do
    T.ok(text:find(k, 1, true), k .. " missing from --help")
  end
end)

T.test("task_distill label lists: label_list.txt, config id2label, finetune.lua's <output_dir>/best", function()
  local d = fx.root .. "/ll"
  rt.sys.mkdir(d .. "/best")
  write(d .. "/label_list.txt", "b\na\n")
  local t, src = TD.label_list(d .. "/best")
  T.eq(table.concat(t, ","), "b,a")
  T.eq(src, d .. "/label_list.txt")
  write(d .. "/best/config.json", '{"id2label": {"1": "y", "0": "x"}}')
  os.remove(d .. "/label_list.txt")
  t = TD.label_list(d .. "/best")
  T.eq(table.concat(t, ","), "x,y")
  T.eq(TD.label_list(fx.root .. "/nowhere"), nil)
end)

T.test("rt.clue: TNEWS / AFQMC / CMNLI JSON lines with the CLUE label lists", function()
  local d = fx.root .. "/clue"
  rt.sys.mkdir(d)
  write(d .. "/train.json", '{"label": "102", "label_desc": "news_entertainment", "sentence": "a b", "keywords": ""}\n'
    .. '{"label": "116", "sentence": "c"}\n')
  local ex, labels = TD.read("tnews", d, "train")
  T.eq(#ex, 2)
  T.eq(#labels, 15)
  T.eq(labels[1], "100")
  T.eq(labels[15], "116")
  T.eq(ex[1].text_a, "a b")
  write(d .. "/dev.json", '{"sentence1": "x", "sentence2": "y", "label": "neutral"}\n'
    .. '{"sentence1": "x", "sentence2": "y", "label": "-"}\n')
  local ex2, l2, info = TD.read("cmnli", d, "dev")
  T.eq(#ex2, 1)
  T.eq(info.skipped, 1)
  T.eq(ex2[1].text_b, "y")
  T.eq(table.concat(l2, ","), "contradiction,entailment,neutral")
  write(d .. "/bad.json", '{"sentence1": "x", "sentence2": "y", "label": "7"}\n')
  T.raises(function() TD.read("afqmc", d, "train", "bad.json") end, "bad.json:1")
  T.eq(#select(2, TD.read("iflytek", d, "train")), 119)
  F.cleanup()
end)
