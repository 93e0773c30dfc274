-- tinybert.lua — the whole TinyBERT chain for one task in one command:
--
--   data (the fortunes topic task unless --data_dir) -> fine-tune the teacher
--   (lua/recipes/finetune.lua; or --teacher_model) -> a fresh student, general-distilled
--   (pregenerate.lua + general_distill.lua from --bert_model) when those recipes are
--   there, or --general_student -> augmentation (rt.augment word replacement with
--   --aug_mlm / --bert_model; skipped with a message otherwise) -> stage 1 and stage 2
--   of lua/recipes/task_distill.lua -> evaluation. This offline run has no pre-trained
--   BERT: --general true / --aug true train a small MLM on the training texts instead.
--
--   retort lua/recipes/tinybert.lua --output_dir build/tinybert            # fortunes, small models
--   retort lua/recipes/tinybert.lua --output_dir runs/mrpc --task_name mrpc --data_dir glue/MRPC \
--       --teacher_model ft_bert/ --general_student general_tinybert/ --max_seq_length 128
--
-- Every stage writes into its own folder under --output_dir (data, teacher, mlm,
-- student_init, general, augment, stage1, stage2, and with --compare direct,
-- noaug_stage1/2, stage2_only) and leaves DONE.json when it finished; a rerun skips
-- finished stages (and reruns one whose settings changed). The run ends with a table
-- teacher vs student: parameters, weights file size, batch-1 and batch-32 latency
-- measured on this machine, dev metric and the student/teacher ratio (also in
-- <output_dir>/summary.txt and summary.json).
local rt = rt or require "retort"
local flags = require "retort.flags"
local TD = require "retort.task_distill"
local Fortunes = require "retort.fortunes"

local SPEC = {
  { "output_dir", nil, "where every stage's folder goes", required = true, metavar = "DIR" },
  { "task_name", nil, "task (default: text-clf on the fortunes data built here)" },
  { "data_dir", nil, "the task's data (default: build the fortunes topic task into <output_dir>/data)", metavar = "DIR" },
  { "teacher_model", nil, "a fine-tuned teacher (skips the fine-tuning stage)", metavar = "DIR" },
  { "general_student", nil, "a general-distilled TinyBERT to start stage 1 from", metavar = "DIR" },
  { "vocab_file", nil, "vocabulary for models built from scratch (default: learned on the fortunes train split)" },
  { "do_lower_case", true, "lower-case the text", type = "bool" },
  { "max_seq_length", 64, "maximum tokens per example", type = "int" },
  { "train_batch_size", 32, "batch size of every training stage", type = "int" },
  { "eval_batch_size", 64, "evaluation batch size", type = "int" },
  { "per_class", 350, "fortunes: examples per topic (20 % go to dev)", type = "int" },
  { "vocab_size", 3000, "fortunes: vocabulary size learned on the train split", type = "int" },
  { "teacher_hidden", 128, "teacher from scratch: hidden size", type = "int" },
  { "teacher_layers", 4, "teacher from scratch: layers", type = "int" },
  { "heads", 4, "attention heads of the teacher from scratch and of the fresh student", type = "int" },
  { "teacher_epochs", 8, "teacher fine-tuning epochs", type = "int" },
  { "teacher_lr", 1e-3, "teacher fine-tuning learning rate (AdamW, warmup_linear)", type = "float" },
  { "student_hidden", 64, "fresh student: hidden size", type = "int" },
  { "student_layers", 2, "fresh student: layers", type = "int" },
  { "stage1_epochs", 6, "stage 1 epochs", type = "int" },
  { "stage1_lr", 1e-3, "stage 1 learning rate (BertAdam, schedule none)", type = "float" },
  { "stage2_epochs", 6, "stage 2 epochs", type = "int" },
  { "stage2_lr", 1e-3, "stage 2 learning rate (BertAdam, warmup_linear)", type = "float" },
  { "temperature", 1.0, "stage 2 temperature", type = "float" },
  { "eval_step", 50, "stage 2: evaluate every N steps", type = "int" },
  { "aug", "auto", "augment the training set with rt.augment (single-sentence tasks): auto = only with "
    .. "--aug_mlm or --bert_model; true = also train a small MLM here first (slow: minutes per thousand examples)",
    choices = { "auto", "true", "false" } },
  { "aug_mlm", nil, "masked language model for augmentation (BERT with an MLM head; default: one trained "
    .. "here on the training texts)", metavar = "DIR" },
  { "general", "auto", "general distillation (general_distill.lua on pregenerate.lua data from the training "
    .. "texts) from --bert_model: auto = when both recipes and --bert_model are there; true = also train a small "
    .. "MLM here as the pre-trained teacher", choices = { "auto", "true", "false" } },
  { "bert_model", nil, "a pre-trained (not fine-tuned) BERT with an MLM head: the general-distillation teacher "
    .. "and the default --aug_mlm", metavar = "DIR" },
  { "general_epochs", 3, "general distillation epochs", type = "int" },
  { "aug_n", 4, "new sentences per training example (upstream: 30)", type = "int" },
  { "aug_p", 0.4, "word replacement probability", type = "float" },
  { "mlm_epochs", 20, "epochs of the small MLM trained here (augmentation / general-distillation teacher)", type = "int" },
  { "aug_stage1_epochs", 2, "stage 1 epochs on the augmented set", type = "int" },
  { "aug_stage2_epochs", 2, "stage 2 epochs on the augmented set", type = "int" },
  { "direct_baseline", false, "also run (b), the student fine-tuned directly without a teacher (part of --compare)", type = "bool" },
  { "compare", false, "also run (b) the student fine-tuned directly, (c) without augmentation, "
    .. "(d) stage 2 only", type = "bool" },
  { "pad_to_longest", true, "pad batches to their longest example (CPU time; see task_distill --help)", type = "bool" },
  { "latency_runs", 5, "timed forwards per latency figure (median)", type = "int" },
  { "seed", 42, "random seed", type = "int" },
  { "threads", nil, "CPU threads", type = "int" },
  { "force", false, "pass --force to task_distill (train although a check fails)", type = "bool" },
  { "progress", "auto", "progress bars: auto | true | false", choices = { "auto", "true", "false" } },
}

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

local function file_size(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function weights_file(dir)
  for _, n in ipairs({ "model.safetensors", "pytorch_model.bin" }) do
    if exists(dir .. "/" .. n) then return dir .. "/" .. n end
  end
end

local function copy_file(src, dst)
  local f = assert(io.open(src, "rb"))
  local s = f:read("a")
  f:close()
  rt.log.write_atomic(dst, s)
end

local function run_recipe(name, args)
  local chunk = assert(loadfile("lua/recipes/" .. name))
  return chunk(table.unpack(args))
end

local function banner(s) print("\n== tinybert: " .. s) end

-- a stage: skipped when <dir>/DONE.json exists (its content is the stage's result) and
-- was written with the same settings `sig` (a string); otherwise (re)run
local function stage(dir, what, fn, sig)
  local done = dir .. "/DONE.json"
  if exists(done) then
    local prev = rt.log.read_json(done)
    if (prev.settings or "") == (sig or "") then
      banner(what .. ": done earlier (" .. done .. "), skipped")
      return prev
    end
    banner(what .. ": settings changed since " .. done .. ", running again")
    os.remove(done)
  else
    banner(what)
  end
  local t0 = rt.sys.now()
  local res = fn() or {}
  res.settings = sig
  res.seconds = rt.sys.now() - t0
  rt.sys.mkdir(dir)
  rt.log.write_json(done, res)
  return res
end

local function latency(m, tok, texts, bs, seq, runs)
  local a = {}
  for i = 1, bs do a[i] = texts[(i - 1) % #texts + 1] end
  local b = tok:batch({ a, max_len = seq, pad = true })
  local times = {}
  rt.no_grad(function()
    TD.forward(m, b)                     -- warm-up
    for r = 1, runs do
      local t0 = rt.sys.now()
      TD.forward(m, b)
      times[r] = rt.sys.now() - t0
    end
  end)
  table.sort(times)
  return times[(#times + 1) // 2] * 1000
end

local function inference_params(m)
  local n = 0
  for name, p in pairs(m:named_parameters()) do
    if not name:find("^fit_dense") then n = n + p:numel() end
  end
  return n
end

-- A small BERT with an MLM head trained on the task's training texts (BERT masking:
-- 15 % of the word pieces, 80 % [MASK] / 10 % random / 10 % kept), for rt.augment
-- when no pre-trained MLM is given.
local function train_mlm(dir, train, vocab, o)
  local Trainer = require "retort.trainer"
  local tok = rt.tokenizer.load(vocab, { lower = o.do_lower_case })
  local V = tok:vocab_size()
  local mask_id = tok:convert_tokens_to_ids({ "[MASK]" })[1]
  local m = rt.model.new({ vocab_size = V, hidden_size = o.teacher_hidden, num_hidden_layers = 2,
    num_attention_heads = o.heads, intermediate_size = 4 * o.teacher_hidden, hidden_act = "gelu",
    max_position_embeddings = 512, type_vocab_size = 2, heads = { "mlm" } }, { seed = o.seed + 7 })
  local s = (o.seed * 2654435761) % 4294967296
  local function rnd() s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 end
  local tr = Trainer.new({
    model = m, train = train, batch_size = o.train_batch_size, epochs = o.mlm_epochs, seed = o.seed,
    output_dir = dir .. "/run", save_every = false, desc = "mlm", progress = (o.progress == "auto") and nil or (o.progress == "true"),
    optim = { name = "adamw", lr = 1e-3, weight_decay = 0.01, warmup = 0.1, schedule = "warmup_linear" },
    collate = function(list)
      local a = {}
      for i, e in ipairs(list) do a[i] = e.text_a end
      local b = tok:batch({ a, max_len = o.max_seq_length, pad = "longest" })
      local ids, mask = b.input_ids:totable(), b.attention_mask:totable()
      local labels = {}
      for i, row in ipairs(ids) do
        labels[i] = {}
        local any = false
        for j, id in ipairs(row) do
          labels[i][j] = -100
          if mask[i][j] == 1 and id ~= tok.cls_id and id ~= tok.sep_id and rnd() < 0.15 then
            labels[i][j], any = id, true
            local r = rnd()
            if r < 0.8 then row[j] = mask_id elseif r < 0.9 then row[j] = 5 + math.floor(rnd() * (V - 5)) end
          end
        end
        if not any and #row > 2 then labels[i][2] = row[2]; row[2] = mask_id end
      end
      b.input_ids, b.mlm_labels, b.size = rt.tensor(ids, "i64"), rt.tensor(labels, "i64"), #list
      return b
    end,
    step_fn = function(model, b)
      local out = model:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids,
        attention_mask = b.attention_mask, mlm_labels = b.mlm_labels })
      return out.loss, nil, b.attention_mask:sum():item(), b.size
    end,
  })
  local summary = tr:fit()
  m:save(dir)
  tok:save(dir .. "/vocab.txt")
  local last = tr.last_record or {}
  print(string.format("MLM: %d steps, last masked-LM loss %.3f", summary.step, last.loss or 0))
  return { steps = summary.step, loss = last.loss }
end

local function fmt_int(n)
  local s = tostring(math.floor(n))
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function main(args)
  local o = flags.parse(SPEC, args, { prog = "tinybert.lua", upstream = "the TinyBERT README's recipe",
    about = "The whole TinyBERT chain for one task: teacher fine-tuning, general distillation, augmentation, "
      .. "task distillation stages 1 and 2, evaluation and a teacher-vs-student table. Without --data_dir it "
      .. "builds the fortunes topic task (Debian's fortunes package) and runs small models in a few minutes.",
    departures = { "a retort recipe (upstream runs each script by hand); every stage's folder is skipped on rerun "
      .. "once it has DONE.json" } })
  if o.help then return { help = true } end
  if o.threads then rt.set_threads(o.threads) end
  rt.manual_seed(o.seed)
  local out = o.output_dir
  rt.sys.mkdir(out)
  local prog = o.progress
  local t_start = rt.sys.now()

  -- data ------------------------------------------------------------------
  local task = o.task_name and o.task_name:lower() or "text-clf"
  local data_dir = o.data_dir
  local vocab = o.vocab_file
  local data_info = {}
  if not data_dir then
    data_dir = out .. "/data"
    data_info = stage(data_dir, "data: the fortunes topic task", function()
      local train, test, labels = Fortunes.build({ per_class = o.per_class, seed = 1234 })
      Fortunes.write_task(data_dir, train, test, labels)
      local tokens, how = Fortunes.vocab(train, o.vocab_size)
      rt.log.write_atomic(data_dir .. "/vocab.txt", table.concat(tokens, "\n") .. "\n")
      print(string.format("fortunes: %d train / %d dev examples, %d topics (%s); vocabulary %d tokens (%s)",
        #train, #test, #labels, table.concat(labels, ", "), #tokens, how))
      return { train = #train, dev = #test, labels = labels, vocab = #tokens, vocab_how = how }
    end)
    vocab = vocab or (data_dir .. "/vocab.txt")
  end
  local train_ex, labels = TD.read(task, data_dir, "train")
  local dev_ex = TD.read(task, data_dir, "dev")
  local regression = task == "sts-b"
  print(string.format("tinybert: task %s, %d train / %d dev examples (%s)", task, #train_ex, #dev_ex, data_dir))

  local common = { "--data_dir", data_dir, "--task_name", task, "--max_seq_length", tostring(o.max_seq_length),
    "--train_batch_size", tostring(o.train_batch_size), "--eval_batch_size", tostring(o.eval_batch_size),
    "--do_lower_case", tostring(o.do_lower_case), "--seed", tostring(o.seed), "--progress", prog }
  local function with(extra, ddir)
    local a = {}
    for _, x in ipairs(common) do a[#a + 1] = x end
    if ddir then a[2] = ddir end          -- common[2] is the --data_dir value
    for _, x in ipairs(extra) do a[#a + 1] = x end
    if o.pad_to_longest then a[#a + 1] = "--pad_to_longest" end
    if o.force then a[#a + 1] = "--force" end
    return a
  end

  -- teacher ---------------------------------------------------------------
  local teacher = o.teacher_model
  if teacher then
    banner("teacher: " .. teacher .. " (given)")
  else
    if not vocab then flags.error("--vocab_file is needed to fine-tune a teacher from scratch on --data_dir") end
    local tdir = out .. "/teacher"
    stage(tdir, string.format("teacher: fine-tune a %d-layer, hidden-%d BERT from scratch (finetune.lua)",
      o.teacher_layers, o.teacher_hidden), function()
      local r = run_recipe("finetune.lua", { "--from_scratch", "--task", task, "--data_dir", data_dir,
        "--vocab_file", vocab, "--output_dir", tdir, "--max_seq_length", tostring(o.max_seq_length),
        "--train_batch_size", tostring(o.train_batch_size), "--eval_batch_size", tostring(o.eval_batch_size),
        "--num_train_epochs", tostring(o.teacher_epochs), "--learning_rate", tostring(o.teacher_lr),
        "--optimizer", "adamw", "--hidden_size", tostring(o.teacher_hidden),
        "--num_hidden_layers", tostring(o.teacher_layers), "--num_attention_heads", tostring(o.heads),
        "--do_lower_case", tostring(o.do_lower_case), "--seed", tostring(o.seed), "--progress", prog })
      if not regression then copy_file(tdir .. "/label_list.txt", tdir .. "/best/label_list.txt") end
      return { metric = r["best_" .. TD.metric(task)], steps = r.global_step }
    end)
    teacher = tdir .. "/best"
  end
  local tcfg = rt.model.read_config(teacher .. "/config.json")

  -- a pre-trained MLM: --bert_model, or a small one trained here on the training texts
  -- when general distillation or augmentation is asked for without one
  local mlm_dir = o.bert_model
  local function need_mlm()
    if mlm_dir then return mlm_dir end
    if not vocab then flags.error("--vocab_file is needed to train a small MLM on --data_dir") end
    mlm_dir = out .. "/mlm"
    stage(mlm_dir, string.format("MLM: a 2-layer, hidden-%d BERT trained with masked LM on the %d training texts "
      .. "(the pre-trained model this offline run lacks)", o.teacher_hidden, #train_ex), function()
      return train_mlm(mlm_dir, train_ex, vocab, o)
    end)
    return mlm_dir
  end

  -- general distillation / student initialisation ----------------------------
  local student0 = o.general_student
  if student0 then
    banner("general distillation: --general_student " .. student0 .. " (given)")
  else
    local sdir = out .. "/student_init"
    stage(sdir, "student: a fresh " .. o.student_layers .. "-layer, hidden-" .. o.student_hidden
      .. " TinyBERT (fit_dense to " .. tcfg.hidden_size .. ")", function()
      local m = rt.model.new({ vocab_size = tcfg.vocab_size, hidden_size = o.student_hidden,
        num_hidden_layers = o.student_layers, num_attention_heads = tcfg.num_attention_heads,
        intermediate_size = 4 * o.student_hidden, hidden_act = "gelu",
        max_position_embeddings = math.max(512, o.max_seq_length), type_vocab_size = tcfg.type_vocab_size or 2,
        hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1, initializer_range = 0.02,
        fit_size = tcfg.hidden_size }, { seed = o.seed })
      m:save(sdir)
      copy_file(teacher .. "/vocab.txt", sdir .. "/vocab.txt")
      return { fresh = true }
    end)
    student0 = sdir
    local have = exists("lua/recipes/general_distill.lua") and exists("lua/recipes/pregenerate.lua")
    if o.general == "false" then
      banner("general distillation: off (--general false); stage 1 starts from the fresh student")
    elseif not have then
      banner("general distillation: skipped (lua/recipes/general_distill.lua or pregenerate.lua is not in this "
        .. "checkout); stage 1 starts from the fresh student (pass --general_student DIR)")
    elseif o.general == "auto" and not o.bert_model then
      banner("general distillation: skipped (no --bert_model; --general true trains a small MLM as the teacher); "
        .. "stage 1 starts from the fresh student")
    else
      local teacher_g = need_mlm()
      local gdir = out .. "/general"
      stage(gdir, "general distillation: " .. teacher_g .. " -> the fresh student, on the training texts", function()
        rt.sys.mkdir(gdir)
        local lines = {}
        for _, e in ipairs(train_ex) do
          lines[#lines + 1] = e.text_a
          if e.text_b and e.text_b ~= "" then lines[#lines + 1] = e.text_b end
          lines[#lines + 1] = ""
        end
        rt.log.write_atomic(gdir .. "/corpus.txt", table.concat(lines, "\n") .. "\n")
        run_recipe("pregenerate.lua", { "--train_corpus", gdir .. "/corpus.txt", "--bert_model", teacher_g,
          "--output_dir", gdir .. "/pregenerated", "--epochs_to_generate", "1",
          "--max_seq_len", tostring(o.max_seq_length), "--do_lower_case", tostring(o.do_lower_case),
          "--seed", tostring(o.seed), "--quiet" })
        run_recipe("general_distill.lua", { "--pregenerated_data", gdir .. "/pregenerated", "--teacher_model", teacher_g,
          "--student_model", sdir, "--continue_train", "--output_dir", gdir .. "/run",
          "--max_seq_length", tostring(o.max_seq_length), "--train_batch_size", tostring(o.train_batch_size),
          "--num_train_epochs", tostring(o.general_epochs), "--learning_rate", tostring(o.stage1_lr),
          "--seed", tostring(o.seed), "--progress", prog })
        return { teacher = teacher_g }
      end, table.concat({ teacher_g, o.general_epochs, o.stage1_lr, o.seed }, " "))
      student0 = gdir .. "/run"
    end
  end

  -- augmentation --------------------------------------------------------------
  -- rt.augment (TinyBERT/data_augmentation.py word replacement) writes train_aug.tsv
  -- into <output_dir>/augment, a copy of the data folder the distillation stages then read
  local aug, aug_dir = false, nil
  local AUG_LAYOUT = { ["text-clf"] = "label_text", text_clf = "label_text", chnsenti = "label_text",
                       ["sst-2"] = "sentence_label" }
  local has_aug = pcall(require, "retort.augment")
  if o.aug == "false" then
    banner("augmentation: off (--aug false)")
  elseif o.aug == "auto" and not (o.aug_mlm or o.bert_model) then
    banner("augmentation: skipped (no --aug_mlm or --bert_model; --aug true trains a small MLM on the training "
      .. "texts first)")
  elseif not has_aug then
    banner("augmentation: skipped (rt.augment is not in this checkout)")
  elseif not AUG_LAYOUT[task] then
    banner("augmentation: skipped (" .. task .. ": this recipe writes train_aug.tsv for single-sentence "
      .. "tasks only -- text-clf, chnsenti, sst-2; run augment.lua and pass --data_dir)")
  else
    local mlm = o.aug_mlm or need_mlm()
    aug_dir = out .. "/augment"
    stage(aug_dir, string.format("augmentation: %d new sentences per example (p = %.2f) with rt.augment",
      o.aug_n, o.aug_p), function()
      local A = require "retort.augment"
      local m = rt.model.load(mlm, { heads = { "mlm" }, quiet = true })
      local atok = rt.tokenizer.load(mlm .. "/vocab.txt", { lower = o.do_lower_case })
      local augmentor = A.new({ mlm = m, tokenizer = atok, M = 15, lang = "en" })
      rt.sys.mkdir(aug_dir)
      for _, f in ipairs(rt.sys.listdir(data_dir)) do
        if not rt.sys.isdir(data_dir .. "/" .. f) and f ~= "train_aug.tsv" and f ~= "DONE.json" then
          copy_file(data_dir .. "/" .. f, aug_dir .. "/" .. f)
        end
      end
      -- in parts of 64 examples (parts/<first>.tsv), so an interrupted run continues where it stopped
      local lines = {}
      if AUG_LAYOUT[task] == "sentence_label" then lines[1] = "sentence\tlabel" end
      if task == "text-clf" or task == "text_clf" then lines[1] = "label\ttext" end   -- its first line is skipped
      local chunk, n_new, t0 = 64, 0, rt.sys.now()
      rt.sys.mkdir(aug_dir .. "/parts")
      for s0 = 1, #train_ex, chunk do
        local part = string.format("%s/parts/%06d.tsv", aug_dir, s0)
        local f = io.open(part, "rb")
        local text = f and f:read("a")
        if f then f:close() end
        if not text then
          local sents, labs, plines = {}, {}, {}
          for j = s0, math.min(s0 + chunk - 1, #train_ex) do
            sents[#sents + 1] = train_ex[j].text_a
            labs[#labs + 1] = train_ex[j].label
          end
          local res = augmentor:augment_batch(sents, { N = o.aug_n, p = o.aug_p, seed = o.seed + s0 })
          for k, list in ipairs(res) do
            for _, sent in ipairs(list) do
              sent = sent:gsub("[\t\n]", " ")
              if AUG_LAYOUT[task] == "label_text" then plines[#plines + 1] = labs[k] .. "\t" .. sent
              else plines[#plines + 1] = sent .. "\t" .. labs[k] end
            end
          end
          text = table.concat(plines, "\n") .. "\n"
          rt.log.write_atomic(part, text)
        end
        local n = select(2, text:gsub("\n", ""))
        for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
        n_new = n_new + n - (math.min(s0 + chunk - 1, #train_ex) - s0 + 1)
        print(string.format("augmentation: %d/%d examples, %d new sentences, %.0f s", math.min(s0 + chunk - 1,
          #train_ex), #train_ex, n_new, rt.sys.now() - t0))
      end
      rt.log.write_atomic(aug_dir .. "/train_aug.tsv", table.concat(lines, "\n") .. "\n")
      return { original = #train_ex, new = n_new, file = aug_dir .. "/train_aug.tsv" }
    end, table.concat({ mlm, o.aug_n, o.aug_p, o.seed }, " "))
    aug = exists(aug_dir .. "/train_aug.tsv")
  end

  -- task distillation ---------------------------------------------------------
  local function distill(dir1, dir2, s_from, use_aug, only2)
    local r1
    local sig = table.concat({ teacher, s_from, tostring(use_aug), o.stage1_epochs, o.stage2_epochs,
      o.aug_stage1_epochs, o.aug_stage2_epochs, o.stage1_lr, o.stage2_lr, o.temperature, o.max_seq_length,
      o.train_batch_size, o.seed }, " ")
    if not only2 then
      r1 = stage(dir1, "stage 1: intermediate-layer distillation -> " .. dir1, function()
        local a = with({ "--teacher_model", teacher, "--student_model", s_from, "--output_dir", dir1,
          "--num_train_epochs", tostring(use_aug and o.aug_stage1_epochs or o.stage1_epochs),
          "--learning_rate", tostring(o.stage1_lr), "--eval_step", tostring(1000000) }, use_aug and aug_dir or nil)
        if use_aug then a[#a + 1] = "--aug_train" end
        local r = run_recipe("task_distill.lua", a)
        return { steps = r.steps, probe_acc = r.last_eval.probe_acc, att = r.last_eval.att_loss,
                 rep = r.last_eval.rep_loss, teacher_metric = r.teacher_eval and r.teacher_eval.metric }
      end, sig)
    end
    local r2 = stage(dir2, "stage 2: prediction-layer distillation -> " .. dir2, function()
      local a = with({ "--pred_distill", "--teacher_model", teacher, "--student_model", only2 and s_from or dir1,
        "--output_dir", dir2, "--num_train_epochs", tostring(use_aug and o.aug_stage2_epochs or o.stage2_epochs),
        "--learning_rate", tostring(o.stage2_lr), "--eval_step", tostring(o.eval_step),
        "--temperature", tostring(o.temperature), "--cache_teacher_logits" }, use_aug and aug_dir or nil)
      if use_aug then a[#a + 1] = "--aug_train" end
      local r = run_recipe("task_distill.lua", a)
      return { steps = r.steps, best = r.best, best_step = r.best_step }
    end, sig)
    return r1, r2
  end
  local s1dir, s2dir = out .. "/stage1", out .. "/stage2"
  local r1, r2 = distill(s1dir, s2dir, student0, aug, false)

  -- evaluation --------------------------------------------------------------
  banner("evaluation on " .. #dev_ex .. " dev examples")
  local tok = rt.tokenizer.load(teacher .. "/vocab.txt", { lower = o.do_lower_case })
  local collate = TD.collate_fn(tok, { labels = labels, max_len = o.max_seq_length, regression = regression,
                                       pad_to_max = false })
  local metric = TD.metric(task)
  local texts = {}
  for i, e in ipairs(dev_ex) do texts[i] = e.text_a end
  local rows = {}
  for _, who in ipairs({ { "teacher", teacher }, { "student", s2dir } }) do
    local m = rt.model.load(who[2], { quiet = true })
    m:eval()
    local res = TD.evaluate(m, dev_ex, collate, task, { regression = regression, batch_size = o.eval_batch_size })
    rows[#rows + 1] = { name = who[1], dir = who[2], params = inference_params(m),
      size = file_size(weights_file(who[2])), metric = res[metric],
      lat1 = latency(m, tok, texts, 1, o.max_seq_length, o.latency_runs),
      lat32 = latency(m, tok, texts, 32, o.max_seq_length, o.latency_runs),
      layers = m.config.num_hidden_layers, hidden = m.config.hidden_size }
  end

  -- comparisons -----------------------------------------------------------------
  local cmp = {}
  if o.compare or o.direct_baseline then
    local ddir = out .. "/direct"
    local rb = stage(ddir, "(b) the student architecture fine-tuned directly, no distillation", function()
      local r = run_recipe("finetune.lua", { "--model_dir", student0, "--task", task, "--data_dir", data_dir,
        "--output_dir", ddir, "--max_seq_length", tostring(o.max_seq_length),
        "--train_batch_size", tostring(o.train_batch_size), "--eval_batch_size", tostring(o.eval_batch_size),
        "--num_train_epochs", tostring(o.stage1_epochs + o.stage2_epochs), "--learning_rate", tostring(o.teacher_lr),
        "--optimizer", "adamw", "--do_lower_case", tostring(o.do_lower_case), "--seed", tostring(o.seed),
        "--progress", prog })
      return { best = r["best_" .. metric] }
    end)
    cmp[#cmp + 1] = { "(b) fine-tuned directly", rb.best }
  end
  if o.compare then
    if aug then
      local _, rc = distill(out .. "/noaug_stage1", out .. "/noaug_stage2", student0, false, false)
      cmp[#cmp + 1] = { "(c) distilled without augmentation", rc.best }
    else
      cmp[#cmp + 1] = { "(c) distilled without augmentation", r2.best, "= the main run (no augmentation ran)" }
    end
    local _, rd = distill(nil, out .. "/stage2_only", student0, aug, true)
    cmp[#cmp + 1] = { "(d) stage 2 only", rd.best }
  end

  -- table -----------------------------------------------------------------------
  local t, s = rows[1], rows[2]
  local L = {}
  local function add(x) L[#L + 1] = x end
  add("")
  add(string.format("  TinyBERT on %s: %d train%s / %d dev examples", task, #train_ex,
    aug and " (+ augmented)" or "", #dev_ex))
  add("  " .. string.rep("-", 72))
  add(string.format("  %-22s %16s %16s %14s", "", "teacher", "student", "student/teacher"))
  add(string.format("  %-22s %16s %16s", "layers x hidden", t.layers .. " x " .. t.hidden, s.layers .. " x " .. s.hidden))
  add(string.format("  %-22s %16s %16s %14.3f", "parameters", fmt_int(t.params), fmt_int(s.params), s.params / t.params))
  add(string.format("  %-22s %16s %16s %14.3f", "weights file (bytes)", fmt_int(t.size or 0), fmt_int(s.size or 0),
    (s.size or 0) / math.max(t.size or 1, 1)))
  add(string.format("  %-22s %16.2f %16.2f %14.3f", "latency batch 1 (ms)", t.lat1, s.lat1, s.lat1 / t.lat1))
  add(string.format("  %-22s %16.2f %16.2f %14.3f", "latency batch 32 (ms)", t.lat32, s.lat32, s.lat32 / t.lat32))
  add(string.format("  %-22s %16.4f %16.4f %14.3f", "dev " .. metric, t.metric, s.metric, s.metric / t.metric))
  add("  " .. string.rep("-", 72))
  add(string.format("  majority-class baseline on dev: %.4f; stage-1 probe acc %.4f", TD.majority(dev_ex),
    r1 and r1.probe_acc or 0))
  for _, c in ipairs(cmp) do
    add(string.format("  %-36s dev %s %.4f (%.3f of the teacher)%s", c[1], metric, c[2] or 0, (c[2] or 0) / t.metric,
      c[3] and ("  " .. c[3]) or ""))
  end
  add(string.format("  latency: seq %d, median of %d forwards, %d thread(s); parameters without fit_dense; %.0f s in all",
    o.max_seq_length, o.latency_runs, rt.get_threads and rt.get_threads() or 0, rt.sys.now() - t_start))
  local text = table.concat(L, "\n")
  print(text)
  rt.log.write_atomic(out .. "/summary.txt", text .. "\n")
  local summary = { task = task, train = #train_ex, dev = #dev_ex, augmented = aug, teacher = t, student = s,
                    ratio = s.metric / t.metric, stage1 = r1, stage2 = r2, data = data_info, compare = {} }
  for _, c in ipairs(cmp) do summary.compare[#summary.compare + 1] = { name = c[1], metric = c[2] } end
  rt.log.write_json(out .. "/summary.json", summary)
  return summary
end

return flags.script("tinybert.lua", main, ...)
