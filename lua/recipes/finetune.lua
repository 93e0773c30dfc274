-- finetune.lua — fine-tune a BERT / NEZHA / TinyBERT checkpoint (or a fresh small
-- model) on a GLUE or CLUE sentence(-pair) classification or regression task, as
-- the upstream run_classifier / run_sequence_classifier / task_distill scripts do.
--
--   retort lua/recipes/finetune.lua --model_dir ckpt/ --task mrpc --data_dir glue/MRPC \
--          --output_dir runs/mrpc --num_train_epochs 3 --learning_rate 2e-5
--   retort lua/recipes/finetune.lua --from_scratch --vocab_file vocab.txt --task chnsenti ...
--   retort lua/recipes/finetune.lua --help
--
-- Writes <output_dir>/eval_results.txt (the task's metrics, upstream key = value
-- lines), log.jsonl (one line per step), label_list.txt, best/ (the best model by
-- the task metric: mcc for CoLA, corr for STS-B, acc otherwise) and checkpoints.
-- Loaded as a chunk (loadfile(path)(args...)) it returns the result table.
local rt = rt or require "retort"
local M = rt.metrics
local Trainer = require "retort.trainer"

local flags = require "retort.flags"

local TASKS = "cola sst-2 mrpc sts-b qqp mnli mnli-mm qnli rte wnli chnsenti lcqmc xnli"
local SPEC = {
  { "model_dir", nil, "checkpoint folder (config.json|bert_config.json + weights [+ vocab.txt])", metavar = "DIR" },
  { "task", nil, "task name: " .. TASKS, required = true },
  { "data_dir", nil, "folder with the task's train.tsv / dev.tsv", required = true, metavar = "DIR" },
  { "output_dir", nil, "where results, logs, checkpoints and the best model go", required = true, metavar = "DIR" },
  { "overwrite_output_dir", false, "write into a non-empty --output_dir", type = "bool" },
  { "vocab_file", nil, "vocab.txt (default: <model_dir>/vocab.txt)", metavar = "FILE" },
  { "do_lower_case", true, "lower-case input text", type = "bool" },
  { "max_seq_length", 128, "maximum tokens per example, [CLS]/[SEP] included", type = "int" },
  { "train_batch_size", 32, "examples per optimizer step (before accumulation)", type = "int" },
  { "eval_batch_size", 32, "examples per evaluation batch", type = "int" },
  { "learning_rate", 5e-5, "peak learning rate", type = "float" },
  { "num_train_epochs", 3, "epochs over the training set", type = "int" },
  { "max_steps", nil, "stop after this many optimizer steps (overrides epochs)", type = "int" },
  { "warmup_proportion", 0.1, "fraction of the steps with linear warmup", type = "float" },
  { "weight_decay", 0.01, "decoupled weight decay (not on biases and LayerNorm)", type = "float" },
  { "gradient_accumulation_steps", 1, "micro-batches per optimizer step", type = "int" },
  { "optimizer", "bertadam", "bertadam | adamw | adam_weight_decay | lamb",
    choices = { "bertadam", "adamw", "adam_weight_decay", "lamb" } },
  { "schedule", nil, "lr schedule (default per optimizer: warmup_linear / polynomial)" },
  { "max_grad_norm", nil, "gradient clipping (default per optimizer)", type = "float" },
  { "seed", 42, "random seed (initialisation, dropout, shuffling)", type = "int" },
  { "eval_step", nil, "evaluate every N steps (default: after every epoch)", type = "int" },
  { "early_stopping", nil, "stop after N evaluations without improvement", type = "int" },
  { "save_steps", nil, "write a resumable checkpoint every N steps", type = "int" },
  { "keep_checkpoints", 2, "checkpoints to keep", type = "int" },
  { "resume", false, "continue from the newest checkpoint in output_dir", type = "bool" },
  { "max_train_examples", nil, "use only the first N training examples", type = "int" },
  { "from_scratch", false, "random initialisation instead of --model_dir", type = "bool" },
  { "config", nil, "config.json for --from_scratch (else the --hidden_size ... options)", metavar = "FILE" },
  { "hidden_size", 64, "--from_scratch: hidden size", type = "int" },
  { "num_hidden_layers", 2, "--from_scratch: layers", type = "int" },
  { "num_attention_heads", 2, "--from_scratch: attention heads", type = "int" },
  { "intermediate_size", nil, "--from_scratch: FFN size (default 4 x hidden)", type = "int" },
  { "dropout", 0.1, "--from_scratch: hidden and attention dropout", type = "float" },
  { "eval_train", false, "also evaluate on the training set at the end", type = "bool" },
  { "threads", nil, "CPU threads", type = "int" },
  { "bf16", false, "bf16 GEMMs (fp32 master weights; LayerNorm, softmax, loss in fp32) in training and evaluation", type = "bool" },
  { "int8", false, "evaluate with int8 linear layers (dynamic per-row activations, per-channel weights)", type = "bool" },
  { "eval_only", false, "evaluate --model_dir on the dev set, no training", type = "bool" },
  { "progress", "auto", "auto (a bar on a terminal, plain lines otherwise) | true (bar) | false (plain lines)" },
}

local META = {
  prog = "finetune.lua",
  about = "Fine-tunes a sequence classifier / regressor on a GLUE or CLUE task.",
  upstream = "run_classifier.py / run_sequence_classifier.py / task_distill.py",
  departures = {
    "--from_scratch, --hidden_size ... build a small random model (no checkpoint needed)",
    "--resume continues from the newest checkpoint-N in --output_dir; a non-empty --output_dir "
      .. "needs --resume or --overwrite_output_dir (the HF Trainer's rule)",
    "--progress, --eval_step, --early_stopping, --save_steps, --keep_checkpoints, --max_train_examples, "
      .. "--eval_train, --threads, --eval_only",
    "--bf16 (rt.autocast: bf16 GEMMs, fp32 master weights; loss scaling is not needed with bf16) and "
      .. "--int8 (evaluation only); both say on stderr whether the CPU runs them natively or emulated",
    "checkpoint-N/ and best/ each hold config.json (id2label, label2id, model_type, architectures), "
      .. "weights and vocab.txt",
  },
}

-- under mpirun rank 0 alone writes files and prints (the Trainer trains on every rank)
local main_rank = rt.dist.rank() == 0
local function write_file(path, text) if main_rank then rt.log.write_atomic(path, text) end end

-- the progress flag: "auto" -> nil (bar on a terminal), true -> the bar, false -> plain lines
local function progress_mode(v)
  if v == nil or tostring(v):lower() == "auto" then return nil end
  local ok, b = pcall(flags.bool, v, "progress")
  if not ok then flags.error(string.format("--progress: expected auto, true or false, got '%s'", tostring(v))) end
  return b and true or "plain"
end

local function main(args)
  local o = flags.parse(SPEC, args, META)
  if o.help then return { help = true } end
  local progress = progress_mode(o.progress)
  local scratch = o.from_scratch
  if not scratch and not o.model_dir then flags.error("give --model_dir DIR or --from_scratch (see --help)") end
  if o.model_dir and not scratch then flags.check_input_dir("model_dir", o.model_dir) end
  flags.check_input_dir("data_dir", o.data_dir)
  flags.check_output_dir(o.output_dir, { resume = o.resume, overwrite = o.overwrite_output_dir })
  if o.threads then rt.set_threads(o.threads) end
  local seed = o.seed
  rt.manual_seed(seed)
  local task = o.task:lower()

  -- data
  local train, labels, info = rt.data.read_task(task, o.data_dir, "train")
  if #train == 0 then error("no training examples in " .. info.file, 0) end
  local dev = rt.data.read_task(task, o.data_dir, "dev")
  local regression = info.regression
  if o.max_train_examples then
    while #train > o.max_train_examples do table.remove(train) end
  end
  local label_id = {}
  for i, l in ipairs(labels) do label_id[l] = i - 1 end
  rt._optim.mkdir(o.output_dir)
  if not regression then write_file(o.output_dir .. "/label_list.txt", table.concat(labels, "\n") .. "\n") end

  -- tokenizer
  local vocab = o.vocab_file or (o.model_dir and (o.model_dir .. "/vocab.txt"))
  if not vocab then flags.error("--vocab_file is required with --from_scratch") end
  local tok = rt.tokenizer.load(vocab, { lower = o.do_lower_case })
  local max_len = o.max_seq_length

  -- model
  local model
  local num_labels = regression and 1 or #labels
  if scratch then
    local cfg
    if o.config then cfg = rt.log.read_json(o.config)
    else
      local H = o.hidden_size
      local p = o.dropout
      cfg = { hidden_size = H, num_hidden_layers = o.num_hidden_layers,
              num_attention_heads = o.num_attention_heads,
              intermediate_size = o.intermediate_size or 4 * H, hidden_act = "gelu",
              max_position_embeddings = math.max(512, max_len), type_vocab_size = 2,
              hidden_dropout_prob = p, attention_probs_dropout_prob = p, initializer_range = 0.02 }
    end
    cfg.vocab_size = tok:vocab_size()
    cfg.heads = { "classifier" }
    cfg.num_labels = num_labels
    if regression then cfg.problem_type = "regression" end
    model = rt.model.new(cfg, { seed = seed })
  else
    model = rt.model.load(o.model_dir, { num_labels = num_labels, heads = { "classifier" },
                                         problem_type = regression and "regression" or nil })
  end
  -- what the HF Trainer writes into every saved config.json: the label maps and the class
  local mc = model.config
  if not regression then
    local id2label, label2id = {}, {}
    for i, l in ipairs(labels) do id2label[tostring(i - 1)] = l; label2id[l] = i - 1 end
    mc.id2label, mc.label2id = id2label, label2id
  end
  mc.model_type = mc.model_type or (mc.use_relative_position and "nezha" or "bert")
  mc.architectures = { (mc.model_type == "nezha" and "NeZha" or "Bert") .. "ForSequenceClassification" }
  -- checkpoint-N/ and best/ are complete model folders: config.json, weights, vocab.txt
  local function save_model(m, dir)
    m:save(dir)
    tok:save(dir .. "/vocab.txt")
  end

  local function collate(list)
    local a, b, y = {}, {}, {}
    local pair = false
    for i, e in ipairs(list) do
      a[i] = e.text_a
      b[i] = e.text_b or ""
      if e.text_b then pair = true end
      if regression then y[i] = tonumber(e.label) else y[i] = label_id[e.label] end
    end
    local batch = tok:batch({ a, pair and b or nil, max_len = max_len, pad = "longest" })
    batch.labels = regression and rt.tensor(y) or rt.tensor(y, "i64")
    batch.size = #list
    return batch
  end

  -- precision of evaluation (m:infer) and of the training GEMMs
  if o.bf16 and o.int8 then flags.error("give --bf16 or --int8, not both") end
  local eval_prec = o.bf16 and "bf16" or o.int8 and "int8" or "fp32"
  if eval_prec ~= "fp32" then
    local f = rt.cpu.features()
    local native = (eval_prec == "bf16" and f.avx512_bf16) or (eval_prec == "int8" and f.avx512_vnni)
    io.stderr:write(string.format("finetune: --%s %s\n", eval_prec, native
      and ("native (" .. (eval_prec == "bf16" and "AVX512-BF16" or "AVX512-VNNI") .. ")")
      or ("emulated (same numerics, slower): " .. (f.portable and "forced portable (RETORT_PORTABLE)"
          or ("this CPU lacks " .. (eval_prec == "bf16" and "avx512_bf16" or "avx512_vnni"))))))
  end

  local function forward(m, batch, with_labels)
    return m:forward({ input_ids = batch.input_ids, token_type_ids = batch.token_type_ids,
                       attention_mask = batch.attention_mask, labels = with_labels and batch.labels or nil })
  end

  -- evaluation on a list of examples -> metrics (task metric + eval_loss)
  local ebs = o.eval_batch_size
  local function evaluate(m, examples)
    local preds, golds, loss_sum, nb = {}, {}, 0, 0
    -- bf16 / int8: pack the current weights for m:infer; fp32 reads the live weights
    -- (batches of eval_batch_size rows gain little from a packed copy of the model)
    m:to(eval_prec == "fp32" and "live" or eval_prec)
    rt.no_grad(function()
      for s = 1, #examples, ebs do
        local list = {}
        for j = s, math.min(s + ebs - 1, #examples) do list[#list + 1] = examples[j] end
        local batch = collate(list)
        local out = m:infer({ input_ids = batch.input_ids, token_type_ids = batch.token_type_ids,
                              attention_mask = batch.attention_mask, labels = batch.labels })
        loss_sum = loss_sum + out.loss:item()
        nb = nb + 1
        if regression then
          for _, v in ipairs(M.flatten(out.logits)) do preds[#preds + 1] = v end
        else
          for _, v in ipairs(M.argmax(out.logits)) do preds[#preds + 1] = v end
        end
        for _, v in ipairs(batch.labels:totable()) do golds[#golds + 1] = v end
      end
    end)
    m:to("live")      -- drops the packed copy
    local res = M.glue(task, preds, golds)
    res.eval_loss = nb > 0 and loss_sum / nb or 0
    return res
  end

  if o.eval_only then
    if scratch then flags.error("--eval_only needs --model_dir") end
    model:eval()
    local res = evaluate(model, dev)
    local keys = {}
    for k in pairs(res) do keys[#keys + 1] = k end
    table.sort(keys)
    local lines = {}
    for _, k in ipairs(keys) do lines[#lines + 1] = string.format("%s = %s", k, tostring(res[k])) end
    write_file(o.output_dir .. "/eval_results.txt", table.concat(lines, "\n") .. "\n")
    print(string.format("finetune %s (eval only, %s): %s", task, eval_prec, table.concat(lines, ", ")))
    res.model = model
    return res
  end

  local bs = o.train_batch_size
  local accum = o.gradient_accumulation_steps
  local metric = M.task_metric(task)
  local tr = Trainer.new({
    model = model, train = train, collate = collate, batch_size = bs // accum, grad_accum = accum,
    epochs = o.num_train_epochs, max_steps = o.max_steps, seed = seed,
    step_fn = function(m, batch)
      local out = forward(m, batch, true)
      return out.loss, nil, batch.attention_mask:sum():item(), batch.size
    end,
    eval = { name = "dev", fn = function(m) return evaluate(m, dev) end },
    eval_every = o.eval_step, metric = metric, early_stopping = o.early_stopping,
    output_dir = o.output_dir, save_every = o.save_steps, keep_last = o.keep_checkpoints,
    resume = o.resume, desc = task, progress = progress,
    save_model = save_model, save_best = save_model,
  })
  local T = tr:total_steps()
  local oname = o.optimizer
  local oo = { lr = o.learning_rate, weight_decay = o.weight_decay, total_steps = T,
               schedule = o.schedule, max_grad_norm = o.max_grad_norm }
  local wp = o.warmup_proportion
  if oname == "adam_weight_decay" or oname == "lamb" then oo.warmup_steps = math.floor(T * wp)
  elseif oname == "adamw" then
    oo.warmup_steps = math.floor(T * wp)
    oo.schedule = oo.schedule or "warmup_linear"
  else oo.warmup = wp end
  tr.optimizer = rt.optim.new(oname, model, oo)

  local summary
  if o.bf16 then summary = rt.autocast("bf16", function() return tr:fit() end) else summary = tr:fit() end
  -- Ctrl-C: the checkpoint is saved; stop with status 130 (no eval_results.txt)
  if summary.stopped == "interrupted" then error("interrupted", 0) end
  -- NaN/Inf: the Trainer printed the message; fail without writing results
  if summary.stopped == "nonfinite" then flags.fail(summary.error or "training stopped: non-finite loss", true) end
  local final = tr.last_eval
  if not final then model:eval(); final = evaluate(model, dev) end
  local res = {}
  for k, v in pairs(final) do res[k] = v end
  res.global_step = summary.step
  res.best_step = summary.best_step
  res["best_" .. metric] = summary.best
  if o.eval_train then
    model:eval()
    local tr_res = evaluate(model, train)
    res.train_loss = tr_res.eval_loss
    res.train_acc = tr_res.acc
  end
  local keys = {}
  for k in pairs(res) do keys[#keys + 1] = k end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do lines[#lines + 1] = string.format("%s = %s", k, tostring(res[k])) end
  write_file(o.output_dir .. "/eval_results.txt", table.concat(lines, "\n") .. "\n")
  if main_rank then print(string.format("finetune %s: %s  (step %d, stopped: %s, results in %s/eval_results.txt)",
    task, table.concat(lines, ", "), summary.step, summary.stopped, o.output_dir)) end
  res.summary = summary
  res.model = model
  return res
end

return flags.script("finetune.lua", main, ...)
