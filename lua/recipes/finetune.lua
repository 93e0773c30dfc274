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

local OPTIONS = {
  { "model_dir", nil, "checkpoint folder (config.json|bert_config.json + weights [+ vocab.txt])" },
  { "task", nil, "task name: " .. "cola sst-2 mrpc sts-b qqp mnli mnli-mm qnli rte wnli chnsenti lcqmc xnli" },
  { "data_dir", nil, "folder with the task's train.tsv / dev.tsv" },
  { "output_dir", nil, "where results, logs, checkpoints and the best model go" },
  { "vocab_file", nil, "vocab.txt (default: <model_dir>/vocab.txt)" },
  { "do_lower_case", "true", "lower-case input text (true|false)" },
  { "max_seq_length", "128", "maximum tokens per example, [CLS]/[SEP] included" },
  { "train_batch_size", "32", "examples per optimizer step (before accumulation)" },
  { "eval_batch_size", "32", "examples per evaluation batch" },
  { "learning_rate", "5e-5", "peak learning rate" },
  { "num_train_epochs", "3", "epochs over the training set" },
  { "max_steps", nil, "stop after this many optimizer steps (overrides epochs)" },
  { "warmup_proportion", "0.1", "fraction of the steps with linear warmup" },
  { "weight_decay", "0.01", "decoupled weight decay (not on biases and LayerNorm)" },
  { "gradient_accumulation_steps", "1", "micro-batches per optimizer step" },
  { "optimizer", "bertadam", "bertadam | adamw | adam_weight_decay | lamb" },
  { "schedule", nil, "lr schedule (default per optimizer: warmup_linear / polynomial)" },
  { "max_grad_norm", nil, "gradient clipping (default per optimizer)" },
  { "seed", "42", "random seed (initialisation, dropout, shuffling)" },
  { "eval_step", nil, "evaluate every N steps (default: after every epoch)" },
  { "early_stopping", nil, "stop after N evaluations without improvement" },
  { "save_steps", nil, "write a resumable checkpoint every N steps" },
  { "keep_checkpoints", "2", "checkpoints to keep" },
  { "resume", "false", "continue from the newest checkpoint in output_dir" },
  { "max_train_examples", nil, "use only the first N training examples" },
  { "from_scratch", "false", "random initialisation instead of --model_dir" },
  { "config", nil, "config.json for --from_scratch (else the --hidden_size ... options)" },
  { "hidden_size", "64", "--from_scratch: hidden size" },
  { "num_hidden_layers", "2", "--from_scratch: layers" },
  { "num_attention_heads", "2", "--from_scratch: attention heads" },
  { "intermediate_size", nil, "--from_scratch: FFN size (default 4 x hidden)" },
  { "dropout", "0.1", "--from_scratch: hidden and attention dropout" },
  { "eval_train", "false", "also evaluate on the training set at the end" },
  { "threads", nil, "CPU threads" },
  { "progress", "auto", "progress bar: auto | true | false" },
}

local function usage()
  local lines = { "usage: retort lua/recipes/finetune.lua [options]", "",
    "Fine-tunes a sequence classifier / regressor on a GLUE or CLUE task.", "", "options:" }
  for _, o in ipairs(OPTIONS) do
    lines[#lines + 1] = string.format("  --%-28s %s%s", o[1], o[3], o[2] and (" [" .. o[2] .. "]") or "")
  end
  lines[#lines + 1] = "  --help                         this text"
  return table.concat(lines, "\n")
end

local function parse(args)
  local o = {}
  for _, d in ipairs(OPTIONS) do o[d[1]] = d[2] end
  local known = {}
  for _, d in ipairs(OPTIONS) do known[d[1]] = true end
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--help" or a == "-h" then o.help = true
    else
      local k, v = a:match("^%-%-([%w_%-]+)=(.*)$")
      if not k then
        k = a:match("^%-%-([%w_%-]+)$")
        if not k then error("finetune: unexpected argument '" .. a .. "' (see --help)", 0) end
        k = k:gsub("-", "_")
        local nxt = args[i + 1]
        if nxt and not nxt:match("^%-%-") then v = nxt; i = i + 1 else v = "true" end
      end
      k = k:gsub("-", "_")
      if not known[k] then error("finetune: unknown option --" .. k .. " (see --help)", 0) end
      o[k] = v
    end
    i = i + 1
  end
  return o
end

local function bool(v) return v == true or v == "true" or v == "1" or v == "yes" end
local function numopt(v) return v and tonumber(v) or nil end

local function write_file(path, text) rt.log.write_atomic(path, text) end

local function main(args)
  local o = parse(args)
  if o.help then print(usage()); return { help = true } end
  for _, k in ipairs({ "task", "data_dir", "output_dir" }) do
    if not o[k] then error("finetune: --" .. k .. " is required (see --help)", 0) end
  end
  local scratch = bool(o.from_scratch)
  if not scratch and not o.model_dir then error("finetune: give --model_dir or --from_scratch", 0) end
  if o.threads then rt.set_threads(tonumber(o.threads)) end
  local seed = tonumber(o.seed)
  rt.manual_seed(seed)
  local task = o.task:lower()

  -- data
  local train, labels, info = rt.data.read_task(task, o.data_dir, "train")
  local dev = rt.data.read_task(task, o.data_dir, "dev")
  local regression = info.regression
  if o.max_train_examples then
    local n = tonumber(o.max_train_examples)
    while #train > n do table.remove(train) end
  end
  local label_id = {}
  for i, l in ipairs(labels) do label_id[l] = i - 1 end
  rt._optim.mkdir(o.output_dir)
  if not regression then write_file(o.output_dir .. "/label_list.txt", table.concat(labels, "\n") .. "\n") end

  -- tokenizer
  local vocab = o.vocab_file or (o.model_dir and (o.model_dir .. "/vocab.txt"))
  if not vocab then error("finetune: --vocab_file is required with --from_scratch", 0) end
  local tok = rt.tokenizer.load(vocab, { lower = bool(o.do_lower_case) })
  local max_len = tonumber(o.max_seq_length)

  -- model
  local model
  local num_labels = regression and 1 or #labels
  if scratch then
    local cfg
    if o.config then cfg = rt.log.read_json(o.config)
    else
      local H = tonumber(o.hidden_size)
      local p = tonumber(o.dropout)
      cfg = { hidden_size = H, num_hidden_layers = tonumber(o.num_hidden_layers),
              num_attention_heads = tonumber(o.num_attention_heads),
              intermediate_size = numopt(o.intermediate_size) or 4 * H, hidden_act = "gelu",
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

  local function forward(m, batch, with_labels)
    return m:forward({ input_ids = batch.input_ids, token_type_ids = batch.token_type_ids,
                       attention_mask = batch.attention_mask, labels = with_labels and batch.labels or nil })
  end

  -- evaluation on a list of examples -> metrics (task metric + eval_loss)
  local ebs = tonumber(o.eval_batch_size)
  local function evaluate(m, examples)
    local preds, golds, loss_sum, nb = {}, {}, 0, 0
    rt.no_grad(function()
      for s = 1, #examples, ebs do
        local list = {}
        for j = s, math.min(s + ebs - 1, #examples) do list[#list + 1] = examples[j] end
        local batch = collate(list)
        local out = forward(m, batch, true)
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
    local res = M.glue(task, preds, golds)
    res.eval_loss = nb > 0 and loss_sum / nb or 0
    return res
  end

  local bs = tonumber(o.train_batch_size)
  local accum = tonumber(o.gradient_accumulation_steps)
  local metric = M.task_metric(task)
  local tr = Trainer.new({
    model = model, train = train, collate = collate, batch_size = bs // accum, grad_accum = accum,
    epochs = tonumber(o.num_train_epochs), max_steps = numopt(o.max_steps), seed = seed,
    step_fn = function(m, batch)
      local out = forward(m, batch, true)
      return out.loss, nil, batch.attention_mask:sum():item(), batch.size
    end,
    eval = { name = "dev", fn = function(m) return evaluate(m, dev) end },
    eval_every = numopt(o.eval_step), metric = metric, early_stopping = numopt(o.early_stopping),
    output_dir = o.output_dir, save_every = numopt(o.save_steps), keep_last = tonumber(o.keep_checkpoints),
    resume = bool(o.resume), desc = task,
    progress = (o.progress == "auto") and nil or bool(o.progress),
    save_best = function(m, dir)
      m:save(dir)
      tok:save(dir .. "/vocab.txt")
    end,
  })
  local T = tr:total_steps()
  local oname = o.optimizer
  local oo = { lr = tonumber(o.learning_rate), weight_decay = tonumber(o.weight_decay), total_steps = T,
               schedule = o.schedule, max_grad_norm = numopt(o.max_grad_norm) }
  local wp = tonumber(o.warmup_proportion)
  if oname == "adam_weight_decay" or oname == "lamb" then oo.warmup_steps = math.floor(T * wp)
  elseif oname == "adamw" then
    oo.warmup_steps = math.floor(T * wp)
    oo.schedule = oo.schedule or "warmup_linear"
  else oo.warmup = wp end
  tr.optimizer = rt.optim.new(oname, model, oo)

  local summary = tr:fit()
  local final = tr.last_eval or evaluate(model, dev)
  local res = {}
  for k, v in pairs(final) do res[k] = v end
  res.global_step = summary.step
  res.best_step = summary.best_step
  res["best_" .. metric] = summary.best
  if bool(o.eval_train) then
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
  if summary.stopped == "nonfinite" then io.stderr:write(summary.error or "non-finite loss", "\n") end
  print(string.format("finetune %s: %s  (step %d, stopped: %s, results in %s/eval_results.txt)",
    task, table.concat(lines, ", "), summary.step, summary.stopped, o.output_dir))
  res.summary = summary
  res.model = model
  return res
end

local args = { ... }
local as_script = arg and arg[0] and arg[0]:find("finetune.lua", 1, true) ~= nil
if #args == 0 and as_script then
  for i = 1, #arg do args[i] = arg[i] end
end
local ok, res = pcall(main, args)
if not ok then
  if as_script and type(res) == "string" and not res:find("interrupted", 1, true) then
    io.stderr:write(res:match("^finetune:") and res or ("finetune: " .. res), "\n")
    os.exit(2)
  end
  error(res, 0)
end
return res
