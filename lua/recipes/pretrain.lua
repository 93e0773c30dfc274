-- pretrain.lua — NEZHA-TensorFlow/run_pretraining.py: masked-LM + next-sentence
-- pretraining from TFRecords (create_pretraining_data.lua's or upstream's), from
-- scratch (--bert_config_file) or from a checkpoint (--init_checkpoint:
-- safetensors, pytorch_model.bin or a TF1 model.ckpt), with LAMB (default) or
-- AdamWeightDecay / AdamW, warmup + polynomial decay, global-norm clipping at 1.0,
-- gradient accumulation, checkpoints and exact resume:
--
--   retort lua/recipes/pretrain.lua --bert_config_file=bert_config.json \
--     --input_file=/tmp/tf_examples.tfrecord --output_dir=/tmp/pretraining_output \
--     --do_train=True --do_eval=True --train_batch_size=32 --max_seq_length=128 \
--     --max_predictions_per_seq=20 --num_train_steps=20 --num_warmup_steps=10 --learning_rate=2e-5
--
-- Writes <output_dir>/log.jsonl (per step: loss, mlm_loss, nsp_loss, mlm_acc, nsp_acc, lr,
-- grad_norm, tokens_per_s), checkpoint-<step>/ (resumable), and at the end the model as
-- model.safetensors + pytorch_model.bin (BertForPreTraining names, decoder tied) +
-- model.ckpt-<step>.{index,data-00000-of-00001} (TF1, NEZHA names) + config.json /
-- bert_config.json, and eval_results.txt with --do_eval.
local rt = rt or require "retort"
local flags = require "retort.flags"
local Trainer = require "retort.trainer"
local P = require "retort.pretrain.mlm"

local SPEC = {
  { "bert_config_file", nil, "the config json file of the model (architecture); from --init_checkpoint's folder when absent" },
  { "input_file", nil, "input TF example files (comma-separated globs), or retort shards (--format shards)", required = true },
  { "output_dir", nil, "the output directory for checkpoints and the final model", required = true },
  { "init_checkpoint", nil, "initial checkpoint: a folder, model.safetensors, pytorch_model.bin or a TF1 model.ckpt" },
  { "optimizer_type", "lamb", "lamb | adam (TF AdamWeightDecay) | adamw (PyTorch AdamW)", choices = { "lamb", "adam", "adamw" } },
  { "max_seq_length", 128, "maximum total input sequence length (must match the data)", type = "int" },
  { "max_predictions_per_seq", 20, "maximum masked LM predictions per sequence (must match the data)", type = "int" },
  { "do_train", false, "run training", type = "bool" },
  { "do_eval", false, "run evaluation on the input files", type = "bool" },
  { "train_batch_size", 32, "batch size for training (per optimizer step, before accumulation)", type = "int" },
  { "eval_batch_size", 8, "batch size for evaluation", type = "int" },
  { "learning_rate", 5e-5, "the initial learning rate", type = "float" },
  { "num_train_steps", 100000, "number of training steps", type = "int" },
  { "num_warmup_steps", 10000, "number of warmup steps", type = "int" },
  { "save_checkpoints_steps", 1000, "how often to save a (resumable) checkpoint", type = "int" },
  { "iterations_per_loop", 1000, "accepted for compatibility (TPU estimator loop; no effect)", type = "int" },
  { "max_eval_steps", 100, "maximum number of eval steps", type = "int" },
  { "num_accumulation_steps", 1, "micro-batches accumulated per optimizer step", type = "int" },
  { "horovod", false, "under mpirun: --train_batch_size per process and the lr x ranks, as upstream", type = "bool" },
  { "use_fp16", false, "not supported (float32 on the CPU)", type = "bool" },
  { "manual_fp16", false, "not supported (float32 on the CPU)", type = "bool" },
  { "use_xla", false, "accepted, no effect", type = "bool" },
  { "seed", 12345, "seed of the initialisation, dropout and data order", type = "int" },
  { "resume", false, "continue from the newest checkpoint-<step> in --output_dir (bit-identical)", type = "bool" },
  { "keep_checkpoints", 2, "checkpoints kept", type = "int" },
  { "save_formats", "safetensors,bin,tf", "final model formats (comma-separated: safetensors, bin, tf)" },
  { "threads", 0, "CPU threads (0: all)", type = "int" },
  { "bf16", false, "retort: bf16 GEMMs under rt.autocast (fp32 master weights; no loss scaling needed with bf16, the non-finite check stays)", type = "bool" },
  { "progress", "auto", "progress bar: auto | true | false" },
}

local META = {
  prog = "pretrain.lua",
  upstream = "NEZHA-TensorFlow/run_pretraining.py",
  about = "Masked-LM + next-sentence pretraining of BERT/NEZHA from TFRecords of tf.train.Example.",
  departures = {
    "float32 on the CPU: --use_fp16 / --manual_fp16 are refused, --use_xla and --iterations_per_loop\n"
      .. "    accepted without effect; data parallel through MPI (mpirun -np N, the MPI build): with\n"
      .. "    --horovod the batch is per process and the lr x N (upstream's Horovod), without it\n"
      .. "    --train_batch_size is the global batch",
    "input order: the records are loaded into memory and shuffled per pass with --seed (upstream: a\n"
      .. "    shuffle buffer of 100 over interleaved files); batches drop the remainder like upstream",
    "--optimizer_type adamw (PyTorch AdamW) is an addition; adam is upstream's AdamWeightDecay",
    "GELU follows the config's hidden_act: \"gelu\" is the erf form (PyTorch NEZHA); use \"gelu_new\" for\n"
      .. "    TF NEZHA's tanh approximation",
    "the final model is also written as safetensors and pytorch_model.bin; --resume, --seed, --threads added",
  },
}

local function model_from(o)
  local heads = { "mlm", "nsp" }
  if o.init_checkpoint then
    local m, report = rt.model.load(o.init_checkpoint, { heads = heads, quiet = true })
    if report and report.missing and #report.missing > 0 then
      io.stderr:write(string.format("pretrain: %d weights not in %s (initialised randomly): %s\n", #report.missing,
        o.init_checkpoint, table.concat(report.missing, ", ", 1, math.min(#report.missing, 6))))
    end
    if o.bert_config_file then
      local c, mc = rt.model.read_config(o.bert_config_file), m.config
      for _, k in ipairs { "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size" } do
        if c[k] ~= mc[k] then
          error(string.format("%s: %s = %s, but %s has %s", o.bert_config_file, k, tostring(c[k]), o.init_checkpoint,
            tostring(mc[k])), 0)
        end
      end
    end
    return m
  end
  if not o.bert_config_file then error("--bert_config_file or --init_checkpoint is required", 0) end
  local c = rt.model.read_config(o.bert_config_file)
  c.heads = heads
  return rt.model.new(c, { seed = o.seed })
end

local function write_eval(path, r, step)
  local keys = {}
  for k, v in pairs(r) do if type(v) == "number" then keys[#keys + 1] = k end end
  table.sort(keys)
  local lines = { string.format("global_step = %d", step) }
  for _, k in ipairs(keys) do lines[#lines + 1] = string.format("%s = %s", k, tostring(r[k])) end
  rt.sys.atomic_write(path, table.concat(lines, "\n") .. "\n")
end

--- Save the final model in the requested formats (safetensors, bin, tf).
local function save_final(model, dir, formats, step)
  for f in formats:gmatch("[^,]+") do
    if f == "safetensors" then model:save(dir)
    elseif f == "bin" then model:save(dir, { format = "bin" })
    elseif f == "tf" then
      rt.io.save_tf_checkpoint(string.format("%s/model.ckpt-%d", dir, step), model:named_parameters(), { global_step = step })
    else error("--save_formats: unknown format '" .. f .. "'", 0) end
  end
end

local function main(args)
  local o = flags.parse(SPEC, args, META)
  if o.help then return end
  if o.use_fp16 or o.manual_fp16 then
    flags.error("--use_fp16 / --manual_fp16 are not supported (retort trains in float32)")
  end
  -- under mpirun rank 0 alone writes and prints; --horovod: upstream's per-process batch
  -- and learning rate x hvd.size() (NEZHA-TensorFlow/run_pretraining.py)
  local ranks, main_rank = rt.dist.size(), rt.dist.rank() == 0
  local hvd = (o.horovod and ranks > 1) and ranks or 1
  if not o.do_train and not o.do_eval then error("at least one of --do_train or --do_eval must be True", 0) end
  if o.threads > 0 then rt.set_threads(o.threads) end
  rt.manual_seed(o.seed)          -- dropout stream: the same run twice gives the same weights
  local files = P.files(o.input_file)
  local data = P.load_tfrecords(files, o.max_seq_length, o.max_predictions_per_seq)
  local model = model_from(o)
  local S, accum = o.max_seq_length, o.num_accumulation_steps
  local result = { records = data.n, files = #files }
  local step = 0
  if o.do_train then
    if data.n < o.train_batch_size then
      error(string.format("%d records are fewer than one batch of %d", data.n, o.train_batch_size), 0)
    end
    local T, W = o.num_train_steps, o.num_warmup_steps
    local oname = ({ lamb = "lamb", adam = "adam_weight_decay", adamw = "adamw" })[o.optimizer_type]
    local opt = rt.optim.new(oname, model, { lr = o.learning_rate * hvd, total_steps = T, warmup_steps = W,
      schedule = oname == "adamw" and "polynomial" or "polynomial", max_grad_norm = 1.0,
      eps = oname == "adamw" and 1e-6 or nil })
    local rows = {}
    for i = 1, data.n do rows[i] = i - 1 end
    local micro = o.train_batch_size // accum
    if micro * accum ~= o.train_batch_size then
      flags.error(string.format("--train_batch_size %d is not a multiple of --num_accumulation_steps %d", o.train_batch_size, accum))
    end
    micro = micro * hvd            -- the Trainer's batch is global: ranks x the per-process one
    if data.n < micro then error(string.format("%d records are fewer than one global batch of %d", data.n, micro), 0) end
    local per_epoch = (data.n // micro) // accum
    local progress_opt
    if o.progress ~= "auto" then progress_opt = flags.bool(o.progress, "progress") end
    local tr = Trainer.new{
      model = model, optimizer = opt, train = rows, batch_size = micro, grad_accum = accum, drop_last = true,
      collate = function(list) return P.batch(data, list) end,
      epochs = math.max(1, -(-T // math.max(per_epoch, 1))), max_steps = T, seed = o.seed,
      step_fn = function(m, b)
        local loss, terms, ntok = P.losses(m, b)
        terms.mlm_weight, terms.mlm_hits, terms.nsp_hits = nil, nil, nil
        return loss, terms, ntok, b.size
      end,
      output_dir = o.output_dir, save_every = o.save_checkpoints_steps, keep_last = o.keep_checkpoints,
      resume = o.resume, desc = "pretrain",
      progress = progress_opt,
    }
    local summary   -- --bf16: the training GEMMs in bf16 (retort departure)
    if o.bf16 then summary = rt.autocast("bf16", function() return tr:fit() end) else summary = tr:fit() end
    step = tr.step
    result.train = summary
    result.step = step
    result.last = tr.last_record
    if summary.stopped == "interrupted" or summary.stopped == "nonfinite" then
      if main_rank then io.stderr:write(string.format("pretrain: %s at step %d%s\n", summary.stopped, step,
        summary.stopped == "interrupted" and " (checkpoint saved; --resume=True continues)" or "")) end
      result.stopped = summary.stopped
      return result
    end
    if main_rank then
      save_final(model, o.output_dir, o.save_formats, step)
      if o.save_formats:find("tf", 1, true) then rt.log.write_json(o.output_dir .. "/bert_config.json", model.config) end
    end
  end
  if o.do_eval and main_rank then   -- upstream: eval only on rank 0
    local r = P.evaluate(model, data, o.eval_batch_size, o.max_eval_steps)
    r.global_step = step
    write_eval(o.output_dir .. "/eval_results.txt", r, step)
    print("***** Eval results *****")
    local keys = {}
    for k in pairs(r) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do print(string.format("  %s = %s", k, tostring(r[k]))) end
    result.eval = r
  end
  return result
end

return flags.script("pretrain.lua", main, ...)
