-- task_distill.lua — TinyBERT task-specific distillation (TinyBERT/task_distill.py):
--
--   # stage 1: intermediate layers (attention + hidden states), BertAdam schedule none
--   retort lua/recipes/task_distill.lua --teacher_model FT_BERT --student_model GENERAL_TINYBERT \
--       --data_dir TASK_DIR --task_name T --output_dir TMP --max_seq_length 128 \
--       --train_batch_size 32 --num_train_epochs 10 --aug_train --do_lower_case
--   # stage 2: prediction layer (soft cross-entropy at --temperature), warmup_linear
--   retort lua/recipes/task_distill.lua --pred_distill --teacher_model FT_BERT --student_model TMP \
--       --data_dir TASK_DIR --task_name T --output_dir OUT --aug_train --do_lower_case \
--       --learning_rate 3e-5 --num_train_epochs 3 --eval_step 100 --max_seq_length 128
--   # evaluation of a student
--   retort lua/recipes/task_distill.lua --do_eval --student_model OUT --data_dir TASK_DIR \
--       --task_name T --output_dir EVAL --do_lower_case
--
-- Writes pytorch_model.bin, config.json, vocab.txt (+ label_list.txt) to --output_dir,
-- appends the results of every evaluation to <output_dir>/eval_results.txt (MNLI: the
-- mismatched dev set to <output_dir>-MM/eval_results.txt), log.jsonl (one line per step:
-- loss, att, rep, att_<i>, rep_<j>, pred, lr, ...) and a resumable checkpoint.
-- Loaded as a chunk (loadfile(path)(args...)) it returns a result table.
local rt = rt or require "retort"
local flags = require "retort.flags"
local Trainer = require "retort.trainer"
local TD = require "retort.task_distill"
local TC = require "retort.task_checks"
local DC = require "retort.distill_checks"

local SPEC = {
  { "data_dir", nil, "the task's data folder (train.tsv, dev.tsv, train_aug.tsv ...)", required = true, metavar = "DIR" },
  { "teacher_model", nil, "fine-tuned teacher folder (needed unless --do_eval)", metavar = "DIR" },
  { "student_model", nil, "student folder: general TinyBERT (stage 1) or the stage-1 output (stage 2)",
    required = true, metavar = "DIR" },
  { "task_name", nil, "task: cola sst-2 mrpc sts-b qqp mnli qnli rte wnli chnsenti lcqmc xnli tnews iflytek afqmc cmnli",
    required = true },
  { "output_dir", nil, "where the student, eval_results.txt and logs go", required = true, metavar = "DIR" },
  { "cache_dir", "", "accepted for compatibility; unused" },
  { "max_seq_length", 128, "maximum tokens per example ([CLS]/[SEP] included)", type = "int" },
  { "do_eval", false, "only evaluate --student_model on the dev set", type = "bool" },
  { "do_lower_case", false, "lower-case the input text", type = "bool" },
  { "train_batch_size", 32, "examples per optimizer step (split over accumulation steps)", type = "int" },
  { "eval_batch_size", 32, "examples per evaluation batch", type = "int" },
  { "learning_rate", 5e-5, "peak learning rate", type = "float" },
  { "weight_decay", 1e-4, "ignored upstream (0.01 is used); retort uses it only when given", type = "float" },
  { "num_train_epochs", 3.0, "epochs (truncated to an integer, as upstream)", type = "float" },
  { "warmup_proportion", 0.1, "warmup fraction of stage 2's warmup_linear schedule", type = "float" },
  { "no_cuda", false, "accepted for compatibility (retort runs on the CPU)", type = "bool" },
  { "seed", 42, "random seed", type = "int" },
  { "gradient_accumulation_steps", 1, "micro-batches per optimizer step", type = "int" },
  { "aug_train", false, "train on train_aug.tsv (train_aug.json for the CLUE JSON tasks)", type = "bool" },
  { "eval_step", 50, "evaluate (stage 2) / save (stage 1) every N optimizer steps", type = "int" },
  { "pred_distill", false, "stage 2: prediction-layer distillation", type = "bool" },
  { "data_url", "", "accepted for compatibility; unused" },
  { "temperature", 1.0, "softmax temperature of the prediction-layer loss", type = "float" },
  -- retort additions
  { "kd_loss", "soft_ce", "stage 2 loss against the teacher: soft_ce (upstream) | kl (T^2-scaled) | mse (logits)",
    choices = { "soft_ce", "kl", "mse" } },
  { "alpha", 0.0, "stage 2: weight of the hard-label cross-entropy, loss = (1-alpha) kd + alpha ce", type = "float" },
  { "cache_teacher_logits", false, "stage 2: one teacher pass over the training set, logits kept in "
    .. "<output_dir>/teacher_logits.safetensors and reused every epoch", type = "bool" },
  { "layer_map", nil, "stage 1 layer map, 0-based as upstream: \"2,5,8,11\" (attention; hidden states follow) "
    .. "or \"att=2,5,8,11;rep=0,3,6,9,12\" (default: the uniform map)" },
  { "force", false, "train even when a check before training fails", type = "bool" },
  { "teacher_margin", 0.05, "the teacher's dev metric must beat the majority-class baseline by this", type = "float" },
  { "probe", true, "stage 1: evaluate the probe on dev at every eval step (mean att/rep loss, "
    .. "accuracy of the teacher's classifier on the student's fitted [CLS])", type = "bool" },
  { "keep_last_batch", false, "train on the last partial batch of an epoch (upstream skips it)", type = "bool" },
  { "task_defaults", false, "apply upstream's per-task default epochs / max_seq_length (dead code upstream)",
    type = "bool" },
  { "pad_to_longest", false, "pad batches to their longest example instead of --max_seq_length "
    .. "(faster; changes the scale of the att/rep losses)", type = "bool" },
  { "max_steps", nil, "stop after this many optimizer steps", type = "int" },
  { "save_steps", nil, "write a resumable checkpoint every N steps (one is always written at the end)", type = "int" },
  { "keep_checkpoints", 1, "resumable checkpoints to keep", type = "int" },
  { "resume", false, "continue from the newest checkpoint in --output_dir", type = "bool" },
  { "threads", nil, "CPU threads", type = "int" },
  { "bf16", false, "retort: bf16 GEMMs under rt.autocast (fp32 master weights; no loss scaling needed with bf16, the non-finite check stays)", type = "bool" },
  { "progress", "auto", "progress bar: auto | true | false", choices = { "auto", "true", "false" } },
  { "quiet", false, "fewer messages", type = "bool" },
}

local DEPARTURES = {
  "--weight_decay is ignored upstream (param groups hard-code 0.01); retort uses 0.01 too unless "
    .. "--weight_decay is given on the command line, then that value",
  "upstream's per-task default_params (epochs cola 50, mnli 5, mrpc 20, sst-2 10, sts-b 20, qqp 5, qnli 10, "
    .. "rte 20; max_seq_length 64 for cola/sst-2) are dead code (misspelt attributes); retort ignores them "
    .. "too unless --task_defaults",
  "batches smaller than --train_batch_size are skipped, as upstream; --keep_last_batch trains on them",
  "evaluation runs after every --eval_step optimizer steps (upstream: when (global_step+1) % eval_step == 0, "
    .. "checked every micro-batch) and once at the end",
  "stage 1 also evaluates a probe on dev (turn off with --probe false); upstream evaluates nothing in stage 1",
  "WNLI is in none of upstream's metric lists (its model is never saved); retort saves it by accuracy",
  "stage 2 keeps the first evaluation as the best so far (upstream starts from 0.0, so a negative mcc/corr "
    .. "is never saved)",
  "the teacher's classifier follows its config.json (retort's classifier_activation; a folder with fit_dense "
    .. "or TinyBERT's own head gets relu(pooled)); upstream always applies relu(pooled) to the teacher",
  "the teacher runs in eval mode (no dropout) under no_grad; upstream never calls teacher_model.eval(), so its "
    .. "forwards keep dropout on",
  "MNLI: upstream replaces the dev loader by the mismatched one at the first save and keeps evaluating (and "
    .. "selecting the best model) on dev_mismatched afterwards; retort evaluates dev_matched every time and "
    .. "dev_mismatched at each save",
  "stage 1 also saves the student at the end of training (upstream only at evaluation steps); an existing "
    .. "--output_dir is reused (upstream refuses a non-empty one), so --resume can continue it",
  "checks before training (teacher fine-tuned and better than the majority class, label orders, vocabularies, "
    .. "layer and head counts, student initialisation) stop the run unless --force",
  "--cache_teacher_logits, --kd_loss, --alpha, --layer_map, --resume, --max_steps, --pad_to_longest are "
    .. "retort additions; --no_cuda, --cache_dir, --data_url are accepted and unused",
}

local DEFAULT_PARAMS = {
  cola = { 50, 64 }, mnli = { 5, 128 }, mrpc = { 20, 128 }, ["sst-2"] = { 10, 64 }, ["sts-b"] = { 20, 128 },
  qqp = { 5, 128 }, qnli = { 10, 128 }, rte = { 20, 128 },
}

-- under mpirun every rank trains (the Trainer syncs the student, each rank runs its own
-- teacher); rank 0 alone prints and writes
local ranks, main_rank = rt.dist.size(), rt.dist.rank() == 0
local function say(o, ...) if not o.quiet and main_rank then print(string.format(...)) end end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function with_idx(ex)
  for i, e in ipairs(ex) do e.idx = i end
  return ex
end

-- teacher's classifier on the student's fitted [CLS] (stage-1 probe)
local function probe_head(teacher)
  local P = teacher:named_parameters()
  local relu = teacher.config.classifier_activation == "relu"
  local pw, pb = P["bert.pooler.dense.weight"], P["bert.pooler.dense.bias"]
  local cw, cb = P["classifier.weight"], P["classifier.bias"]
  if not (pw and cw) then return nil end
  return function(h)       -- h [B, L, H_teacher]
    local B, _, H = table.unpack(h:shape())
    local cls = h:narrow(2, 1, 1):reshape(B, H)
    local pooled = rt.F.linear(cls, pw, pb):tanh()
    if relu then pooled = rt.F.relu(pooled) end
    return rt.F.linear(pooled, cw, cb)
  end
end

local compute_teacher_logits
-- the cache of teacher logits: under mpirun rank 0 makes (or checks) it, the others read it
local function load_teacher_logits(o, train, teacher, collate, nl)
  if ranks == 1 then return compute_teacher_logits(o, train, teacher, collate, nl) end
  local t
  if main_rank then t = compute_teacher_logits(o, train, teacher, collate, nl) end
  rt.dist.barrier()
  if not main_rank then t = rt.load(o.output_dir .. "/teacher_logits.safetensors").logits end
  return t
end
compute_teacher_logits = function(o, train, teacher, collate, nl)
  local path = o.output_dir .. "/teacher_logits.safetensors"
  local meta_path = o.output_dir .. "/teacher_logits.json"
  local want = { teacher = o.teacher_model, n = #train, max_seq_length = o.max_seq_length,
                 aug_train = o.aug_train, num_labels = nl, pad_to_longest = o.pad_to_longest }
  if exists(path) and exists(meta_path) then
    local ok, meta = pcall(rt.log.read_json, meta_path)
    local same = ok and type(meta) == "table"
    if same then for k, v in pairs(want) do if meta[k] ~= v then same = false end end end
    if same then
      say(o, "task_distill: teacher logits from %s (%d examples)", path, #train)
      return rt.load(path).logits
    end
  end
  say(o, "task_distill: one teacher pass over %d training examples -> %s", #train, path)
  local rows = {}
  local ebs = o.eval_batch_size
  local bar = (o.quiet or o.progress == "false") and { update = function() end, close = function() end } or
    rt.progress.new({ total = #train, desc = "teacher logits", tty = (o.progress == "true") or nil })
  rt.no_grad(function()
    for s = 1, #train, ebs do
      local list = {}
      for j = s, math.min(s + ebs - 1, #train) do list[#list + 1] = train[j] end
      local out = TD.forward(teacher, collate(list))
      for _, r in ipairs(out.logits:totable()) do rows[#rows + 1] = r end
      bar:update(math.min(s + ebs - 1, #train))
    end
  end)
  bar:close()
  local t = rt.tensor(rows)
  rt.save(path, { logits = t })
  rt.log.write_json(meta_path, want)
  return t
end

local function do_eval(o, task, labels, regression)
  local tok = rt.tokenizer.load(o.student_model .. "/vocab.txt", { lower = o.do_lower_case })
  local student = rt.model.load(o.student_model, { quiet = true })
  if not student.config.heads or not student.config.num_labels then
    error("task_distill: student " .. o.student_model .. " has no classifier to evaluate", 0)
  end
  student:eval()
  local collate = TD.collate_fn(tok, { labels = labels, max_len = o.max_seq_length, regression = regression,
                                       pad_to_max = not o.pad_to_longest })
  local dev = TD.read(task, o.data_dir, "dev")
  local res = TD.evaluate(student, dev, collate, task, { regression = regression, batch_size = o.eval_batch_size })
  rt.sys.mkdir(o.output_dir)
  if main_rank then TD.result_to_file(res, o.output_dir .. "/eval_results.txt") end
  local out = { result = res }
  say(o, "task_distill eval %s on %d dev examples: %s = %.4f", task, #dev, TD.metric(task), res[TD.metric(task)])
  if task == "mnli" then
    local mm = TD.read("mnli-mm", o.data_dir, "dev")
    local r2 = TD.evaluate(student, mm, collate, "mnli-mm", { batch_size = o.eval_batch_size })
    if main_rank then TD.result_to_file(r2, o.output_dir .. "-MM/eval_results.txt") end
    out.mm = r2
    say(o, "task_distill eval mnli-mm on %d dev examples: acc = %.4f", #mm, r2.acc)
  end
  return out
end

local function main(args)
  local o = flags.parse(SPEC, args, { prog = "task_distill.lua", upstream = "TinyBERT/task_distill.py",
    about = "TinyBERT task-specific distillation: stage 1 (intermediate layers) or, with --pred_distill, "
      .. "stage 2 (prediction layer); --do_eval evaluates a student.", departures = DEPARTURES })
  if o.help then return { help = true } end
  if o.threads then rt.set_threads(o.threads) end
  local task = o.task_name:lower()
  if task == "sst2" then task = "sst-2" elseif task == "stsb" then task = "sts-b" end
  if o.task_defaults and DEFAULT_PARAMS[task] then
    if not o._given.num_train_epochs then o.num_train_epochs = DEFAULT_PARAMS[task][1] end
    if not o._given.max_seq_length then o.max_seq_length = DEFAULT_PARAMS[task][2] end
  end
  if o.gradient_accumulation_steps < 1 then flags.error("--gradient_accumulation_steps must be >= 1") end
  rt.manual_seed(o.seed)
  local regression = task == "sts-b"
  local _, labels = TD.read(task, o.data_dir, "dev")
  local nl = regression and 1 or #labels
  if o.do_eval then return do_eval(o, task, labels, regression) end
  if not o.teacher_model then flags.error("--teacher_model is required for training (see --help)") end
  local stage = o.pred_distill and 2 or 1

  -- data
  local train_file = nil
  if o.aug_train then train_file = rt.clue.known(task) and "train_aug.json" or "train_aug.tsv" end
  local train = with_idx((TD.read(task, o.data_dir, "train", train_file)))
  local dev = TD.read(task, o.data_dir, "dev")
  say(o, "task_distill stage %d: %s, %d training examples (%s), %d dev examples", stage, task, #train,
    train_file or "train", #dev)

  -- tokenizer (upstream: from the student folder) and models
  local vocab = o.student_model .. "/vocab.txt"
  if not exists(vocab) then vocab = o.teacher_model .. "/vocab.txt" end
  if not exists(vocab) then error("task_distill: no vocab.txt in " .. o.student_model .. " or " .. o.teacher_model, 0) end
  local tok = rt.tokenizer.load(vocab, { lower = o.do_lower_case })
  local teacher = rt.model.load(o.teacher_model, { quiet = true })
  teacher:eval()
  local student, report = rt.model.load(o.student_model, { heads = { "classifier" }, num_labels = nl,
    problem_type = regression and "regression" or nil, classifier_activation = "relu", quiet = true })
  student:train()
  local collate = TD.collate_fn(tok, { labels = labels, max_len = o.max_seq_length, regression = regression,
                                       pad_to_max = not o.pad_to_longest })
  if o.layer_map and stage == 2 and main_rank then io.stderr:write("task_distill: --layer_map is unused in stage 2\n") end

  -- checks before training
  local problems = {}
  local function add(list) for _, p in ipairs(list) do problems[#problems + 1] = p end end
  add(TC.teacher_head(teacher, o.teacher_model, task, nl))
  local teacher_eval
  if #problems == 0 then
    local res = TD.evaluate(teacher, dev, collate, task, { regression = regression, batch_size = o.eval_batch_size })
    local key = TD.metric(task)
    local base = 0
    if key == "acc" then base = TD.majority(dev) end
    teacher_eval = { metric = res[key], name = key, baseline = base, result = res }
    say(o, "task_distill: teacher %s dev %s = %.4f (majority-class baseline %.4f)", o.teacher_model, key, res[key], base)
    add(TC.teacher_quality(o.teacher_model, task, teacher_eval, o.teacher_margin))
  end
  if not regression then
    local tl, tsrc = TD.label_list(o.teacher_model)
    local sl, ssrc = TD.label_list(o.student_model)
    if sl and #sl ~= nl then sl = nil end      -- a general student's config may name other labels
    add(TC.label_orders(task, labels, tl, tsrc, sl, ssrc, o.teacher_model, o.student_model))
  end
  local function vocab_of(dir)
    local p = dir .. "/vocab.txt"
    return exists(p) and p or nil
  end
  local names = { teacher_name = o.teacher_model, student_name = o.student_model }
  local maps
  if stage == 1 then
    local ok, m_or_err, warns = pcall(DC.check, { teacher = teacher, student = student,
      teacher_name = o.teacher_model, student_name = o.student_model, teacher_vocab = vocab_of(o.teacher_model),
      student_vocab = vocab_of(o.student_model), layer_map = o.layer_map, max_seq_len = o.max_seq_length })
    if ok then
      maps = m_or_err
      for _, w in ipairs(warns or {}) do problems[#problems + 1] = { level = "warning", check = "compat", msg = w } end
    else
      problems[#problems + 1] = { level = "error", check = "compat", msg = tostring(m_or_err) }
    end
  else
    local tv, sv = vocab_of(o.teacher_model), vocab_of(o.student_model)
    local ok, err = true, nil
    if teacher.config.vocab_size ~= student.config.vocab_size then
      ok, err = false, string.format("vocab_size differs: teacher %s has %d, student %s has %d", o.teacher_model,
        teacher.config.vocab_size, o.student_model, student.config.vocab_size)
    elseif tv and sv then
      ok, err = pcall(DC.vocab, tv, sv, names)
    end
    if not ok then problems[#problems + 1] = { level = "error", check = "compat", msg = tostring(err) } end
  end
  add(TC.student_init(o.student_model, student, report, stage))
  TC.report(problems, o.force, function(s) if main_rank then io.stderr:write("task_distill: ", s, "\n") end end)
  if stage == 1 and not maps then
    maps = DC.layer_map(student.config.num_hidden_layers, teacher.config.num_hidden_layers, o.layer_map, names)
  end
  local tlogits
  if stage == 2 and o.cache_teacher_logits and not regression then
    rt.sys.mkdir(o.output_dir)
    tlogits = load_teacher_logits(o, train, teacher, collate, nl)
  end

  -- training
  local accum = o.gradient_accumulation_steps
  local micro = o.train_batch_size // accum
  local epochs = math.floor(o.num_train_epochs)
  local kd = { kd_loss = o.kd_loss, temperature = o.temperature, alpha = o.alpha, regression = regression }
  local run = { att = 0, rep = 0, pred = 0, loss = 0, n = 0, epoch = 1 }   -- upstream's running means (per epoch)
  local function step_fn(m, b, tr)
    if tr.epoch ~= run.epoch and ranks == 1 then run = { att = 0, rep = 0, pred = 0, loss = 0, n = 0, epoch = tr.epoch } end
    local so = TD.forward(m, b)
    local loss, terms
    if stage == 1 then
      local to = rt.no_grad(function() return TD.forward(teacher, b) end)
      loss, terms = TD.stage1(so, to, maps)
    else
      local t
      if not regression then
        if tlogits then
          local idx = {}
          for i, k in ipairs(b.idx) do idx[i] = k - 1 end
          t = tlogits:index_select(1, rt.tensor(idx, "i64"))
        else
          t = rt.no_grad(function() return TD.forward(teacher, b).logits end)
        end
      end
      loss, terms = TD.stage2(so, t, b.labels, kd)
    end
    if ranks == 1 then
      run.att = run.att + (terms.att or 0)
      run.rep = run.rep + (terms.rep or 0)
      run.pred = run.pred + (terms.pred or 0)
      run.loss = run.loss + loss:item()
      run.n = run.n + 1
    end
    return loss, terms, b.attention_mask:sum():item(), b.size
  end

  local probe = stage == 1 and o.probe and probe_head(teacher)
  local metric = TD.metric(task)
  local mm_dev = (task == "mnli") and TD.read("mnli-mm", o.data_dir, "dev") or nil
  local results_path = o.output_dir .. "/eval_results.txt"
  local function train_means(tr)
    local n = math.max(run.n, 1)
    return { global_step = tr.step, att_loss = run.att / n, rep_loss = run.rep / n, cls_loss = run.pred / n,
             loss = run.loss / n }
  end

  local function eval_fn(m, tr)
    local res = train_means(tr)
    if stage == 1 then
      if probe then
        local n, att, rep, correct, total = 0, 0, 0, 0, 0
        rt.no_grad(function()
          for s = 1, #dev, o.eval_batch_size do
            local list = {}
            for j = s, math.min(s + o.eval_batch_size - 1, #dev) do list[#list + 1] = dev[j] end
            local b = collate(list)
            local so, to = TD.forward(m, b), TD.forward(teacher, b)
            local _, terms = TD.stage1(so, to, maps)
            att, rep, n = att + terms.att, rep + terms.rep, n + 1
            if not regression then
              local fh = so.fit_hidden_states or so.hidden_states
              local pred = rt.metrics.argmax(probe(fh[#fh]))
              local gold = b.labels:totable()
              for i = 1, #pred do if pred[i] == gold[i] then correct = correct + 1 end total = total + 1 end
            end
          end
        end)
        res.probe_att_loss, res.probe_rep_loss = att / math.max(n, 1), rep / math.max(n, 1)
        if total > 0 then res.probe_acc = correct / total end
      end
      -- upstream stage 1 saves the student at every evaluation step
      TD.save_model(m, o.output_dir, tok, not regression and labels or nil)
    else
      local r = TD.evaluate(m, dev, collate, task, { regression = regression, batch_size = o.eval_batch_size })
      for k, v in pairs(r) do res[k] = v end
    end
    TD.result_to_file(res, results_path)
    return res
  end

  student.config.tinybert_stage = stage == 1 and "intermediate" or "prediction"
  local tr = Trainer.new({
    model = student, train = train, collate = collate, batch_size = micro, grad_accum = accum,
    epochs = epochs, max_steps = o.max_steps, seed = o.seed, drop_last = not o.keep_last_batch,
    step_fn = step_fn,
    eval = { name = "dev", fn = eval_fn }, eval_every = o.eval_step,
    metric = stage == 2 and metric or nil,
    output_dir = o.output_dir, save_every = o.save_steps, keep_last = o.keep_checkpoints, resume = o.resume,
    desc = string.format("stage %d %s", stage, task),
    progress = (o.progress == "auto") and nil or (o.progress == "true"),
    -- under mpirun the running means come from the Trainer's records (global, not a shard's)
    on_step = ranks > 1 and function(rec)
      if rec.epoch ~= run.epoch then run = { att = 0, rep = 0, pred = 0, loss = 0, n = 0, epoch = rec.epoch } end
      run.att = run.att + (rec.att or 0) * accum
      run.rep = run.rep + (rec.rep or 0) * accum
      run.pred = run.pred + (rec.pred or 0) * accum
      run.loss = run.loss + rec.loss * accum
      run.n = run.n + accum
    end or nil,
    save_best = function(m, _, trn)
      TD.save_model(m, o.output_dir, tok, not regression and labels or nil)
      if mm_dev then
        local r2 = TD.evaluate(m, mm_dev, collate, "mnli-mm", { batch_size = o.eval_batch_size })
        r2.global_step = trn.step
        TD.result_to_file(r2, o.output_dir .. "-MM/eval_results.txt")
      end
    end,
  })
  local T = tr:total_steps()
  if T <= 0 then
    error(string.format("task_distill: no training step: %d examples make no full batch of %d "
      .. "(use a smaller --train_batch_size or --keep_last_batch)", #train, o.train_batch_size), 0)
  end
  local wd = o._given.weight_decay and o.weight_decay or 0.01
  if stage == 1 then
    tr.optimizer = rt.optim.bertadam(student, { lr = o.learning_rate, schedule = "none", total_steps = T,
                                                weight_decay = wd })
  else
    tr.optimizer = rt.optim.bertadam(student, { lr = o.learning_rate, schedule = "warmup_linear",
                                                warmup = o.warmup_proportion, total_steps = T, weight_decay = wd })
  end
  local summary   -- --bf16: the training GEMMs in bf16 (retort departure)
  if o.bf16 then summary = rt.autocast("bf16", function() return tr:fit() end) else summary = tr:fit() end
  if summary.stopped == "nonfinite" then error("task_distill: " .. tostring(summary.error), 0) end
  if stage == 1 and main_rank then TD.save_model(student, o.output_dir, tok, not regression and labels or nil) end
  local final = tr.last_eval or {}
  if stage == 2 then
    say(o, "task_distill stage 2 %s: best dev %s = %.4f at step %s (%d steps); student in %s", task, metric,
      summary.best or 0, tostring(summary.best_step), summary.step, o.output_dir)
  else
    say(o, "task_distill stage 1 %s: %d steps, att %.4f rep %.4f%s; student in %s", task, summary.step,
      final.att_loss or 0, final.rep_loss or 0,
      final.probe_acc and string.format(", probe acc %.4f (teacher %.4f)", final.probe_acc,
        teacher_eval and teacher_eval.metric or 0) or "", o.output_dir)
  end
  return { stage = stage, summary = summary, best = summary.best, best_step = summary.best_step,
           last_eval = final, teacher_eval = teacher_eval, train_n = #train, dev_n = #dev, steps = summary.step,
           problems = problems }
end

return flags.script("task_distill.lua", main, ...)
