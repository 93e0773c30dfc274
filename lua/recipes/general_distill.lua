-- general_distill.lua — TinyBERT's general_distill.py: distil a (not fine-tuned) BERT
-- teacher into a small student on pregenerated data (pregenerate.lua), with the
-- attention and hidden-state losses only.
--
--   retort lua/recipes/general_distill.lua --pregenerated_data json/ --teacher_model bert-base \
--          --student_model student_config_dir/ --reduce_memory --do_lower_case \
--          --train_batch_size 256 --output_dir OUT
--
-- Writes, like upstream: OUT/step_{N}_pytorch_model.bin, OUT/config.json, OUT/vocab.txt
-- every --eval_step steps and at each epoch end, OUT/log.txt (mean losses); and
-- retort's OUT/model.safetensors (the newest student), OUT/log.jsonl (one line per
-- step: loss, att, rep, per-layer terms, lr, tokens/s) and OUT/checkpoint-N/
-- (resumable with --resume). Loaded as a chunk it returns the Trainer summary.
local rt = rt or require "retort"
local flags = require "retort.flags"
local Trainer = require "retort.trainer"
local DC = require "retort.distill_checks"

local SPEC = {
  { "pregenerated_data", nil, "folder with epoch_{k}.json + epoch_{k}_metrics.json", required = true },
  { "teacher_model", nil, "teacher checkpoint folder (any format rt.model.load reads) with vocab.txt", required = true },
  { "student_model", nil, "student folder: config.json (random init) or a checkpoint with --continue_train", required = true },
  { "output_dir", nil, "where checkpoints and logs go", required = true },
  { "max_seq_length", 128, "maximum sequence length", type = "int" },
  { "reduce_memory", false, "accepted; epochs are read into compact tensors (no /cache/)", type = "bool" },
  { "do_eval", false, "accepted (upstream does nothing with it)", type = "bool" },
  { "do_lower_case", false, "accepted (the epoch files are already tokenized)", type = "bool" },
  { "train_batch_size", 32, "examples per optimizer step (split over --gradient_accumulation_steps)", type = "int" },
  { "eval_batch_size", 8, "accepted (unused upstream)", type = "int" },
  { "learning_rate", 5e-5, "peak learning rate (BertAdam, warmup_linear)", type = "float" },
  { "weight_decay", 1e-4, "accepted but ignored, as upstream (0.01 except bias/LayerNorm)", type = "float" },
  { "wd", nil, "alias of --weight_decay (ignored)", type = "float" },
  { "num_train_epochs", 3.0, "epochs (int() of it, as upstream)", type = "float" },
  { "warmup_proportion", 0.1, "share of the steps with linear warmup", type = "float" },
  { "no_cuda", false, "accepted (retort runs on the CPU)", type = "bool" },
  { "local_rank", -1, "accepted (no distributed training here)", type = "int" },
  { "seed", 42, "random seed (student init, data order, dropout)", type = "int" },
  { "gradient_accumulation_steps", 1, "micro-batches per optimizer step", type = "int" },
  { "fp16", false, "not supported (upstream's path is broken too)", type = "bool" },
  { "continue_train", false, "load the student's weights from --student_model", type = "bool" },
  { "loss_scale", 0, "accepted (fp16 only)", type = "float" },
  { "eval_step", 1000, "every N steps: log.txt + step_{N}_pytorch_model.bin", type = "int" },
  -- retort additions
  { "layer_map", nil, "explicit map, 0-based upstream numbering: att=2,5,8,11;rep=0,3,6,9,12 (retort)" },
  { "att_loss", true, "attention loss on/off (retort)", type = "bool" },
  { "rep_loss", true, "hidden-state loss on/off (retort)", type = "bool" },
  { "resume", false, "continue from the newest OUT/checkpoint-N, bit-identical to an uninterrupted run (retort)", type = "bool" },
  { "max_steps", nil, "stop after this many optimizer steps (retort)", type = "int" },
  { "threads", 0, "compute threads (retort; 0 = all cores)", type = "int" },
  { "bf16", false, "retort: bf16 GEMMs under rt.autocast (fp32 master weights; no loss scaling needed with bf16, the non-finite check stays)", type = "bool" },
  { "keep_checkpoints", 2, "resumable checkpoints kept (retort)", type = "int" },
  { "progress", "auto", "progress bar: auto | true | false (retort)", choices = { "auto", "true", "false" } },
}

local META = {
  prog = "general_distill.lua",
  upstream = "TinyBERT/general_distill.py",
  about = "TinyBERT general distillation: loss = sum_i MSE(att_S_i, att_T_map(i)) + sum_j MSE(fit_dense(h_S_j), h_T_map(j)),\n"
    .. "teacher frozen (no_grad, eval mode), BertAdam with warmup_linear, weight decay 0.01 except bias/LayerNorm.",
  departures = {
    "the last partial batch of an epoch is used (upstream skips batches smaller than --train_batch_size); "
      .. "micro-batches left over when an epoch's batch count is not a multiple of --gradient_accumulation_steps are dropped",
    "the teacher runs in eval mode (no dropout) under no_grad; the student trains with dropout",
    "log.txt and the step files are written once per optimizer step N with (N+1) % eval_step == 0 (upstream "
      .. "repeats them for every micro-batch of that step when accumulating)",
    "checks before the first step: identical vocabularies, layer counts (or --layer_map), head counts for the "
      .. "attention loss, fit_dense shape, epoch files vs --max_seq_length and the vocabulary",
    "--layer_map, --att_loss, --rep_loss, --resume, --max_steps, --threads (retort additions); "
      .. "--reduce_memory needs no /cache/; --fp16 is refused",
    "every checkpoint also writes model.safetensors; retort's resumable checkpoints go to checkpoint-N/",
  },
}

local function isfile(p)
  local f = io.open(p, "rb")
  if f then f:close(); return true end
  return false
end

-- Python's str(float) (repr): shortest round-trip digits
local function pystr(x)
  if math.type(x) == "integer" then return tostring(x) end
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" elseif x == -math.huge then return "-inf" end
  if x == math.floor(x) and math.abs(x) < 1e16 then return string.format("%.1f", x) end
  for p = 1, 17 do
    local s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then
      local m, e = s:match("^(.-)e([-+]%d+)$")
      if m then
        local n = tonumber(e)
        return string.format("%se%s%02d", m, n < 0 and "-" or "+", math.abs(n))
      end
      return s
    end
  end
  return string.format("%.17g", x)
end

--- the epochs of pregenerated data, as upstream counts them
local function data_epochs(dir, num_epochs)
  local samples = {}
  for i = 0, num_epochs - 1 do
    local ef = string.format("%s/epoch_%d.json", dir, i)
    local mf = string.format("%s/epoch_%d_metrics.json", dir, i)
    if isfile(ef) and isfile(mf) then
      local m = rt.log.read_json(mf)
      samples[#samples + 1] = { n = m.num_training_examples, seq = m.max_seq_len, file = ef }
    else
      if i == 0 then error(string.format("No training data was found in %s (no epoch_0.json + epoch_0_metrics.json)", dir), 0) end
      io.stderr:write(string.format("Warning! There are fewer epochs of pregenerated data (%d) than training epochs (%d).\n"
        .. "This script will loop over the available data, but training diversity may be negatively impacted.\n", i, num_epochs))
      break
    end
  end
  return samples
end

local function main(args)
  local o = flags.parse(SPEC, args, META)
  if o.help then return end
  if o.fp16 then flags.error("--fp16 is not supported (upstream's fp16 path calls a BertAdam method that does not exist)") end
  if o.threads > 0 then rt.set_threads(o.threads) end
  local ga = o.gradient_accumulation_steps
  if ga < 1 then flags.error("--gradient_accumulation_steps must be >= 1") end
  local micro = o.train_batch_size // ga          -- upstream: train_batch_size //= gradient_accumulation_steps
  if micro < 1 then flags.error("--train_batch_size must be >= --gradient_accumulation_steps") end
  local epochs = math.floor(o.num_train_epochs)
  if epochs < 1 then flags.error("--num_train_epochs must be >= 1") end
  rt.manual_seed(o.seed)

  -- models
  local teacher = rt.model.load(o.teacher_model, { quiet = true })
  teacher:eval()
  local tvocab = o.teacher_model .. "/vocab.txt"
  if not isfile(tvocab) then error("teacher " .. o.teacher_model .. " has no vocab.txt (the tokenizer comes from the teacher)", 0) end
  local tok = rt.tokenizer.load(tvocab, { lower = o.do_lower_case })
  local student
  local tc = teacher.config
  -- a teacher saved with pretraining heads (BertForPreTraining) would compute [B, L, V]
  -- MLM logits every step: ask for one position only (upstream uses BertModel; a zero-size
  -- request fails in linear: "input [B,0,H] too large for the GEMM backend")
  local no_mlm = false
  for _, h in ipairs(tc.heads or {}) do if h == "mlm" then no_mlm = true end end
  if o.continue_train then
    student = rt.model.load(o.student_model, { quiet = true })
  else
    local cfgp = isfile(o.student_model .. "/config.json") and (o.student_model .. "/config.json")
      or isfile(o.student_model .. "/bert_config.json") and (o.student_model .. "/bert_config.json")
      or (isfile(o.student_model) and o.student_model)
    if not cfgp then error("student " .. o.student_model .. ": no config.json", 0) end
    local cfg = rt.model.read_config(cfgp)
    cfg.fit_size = tc.hidden_size                 -- TinyBertForPreTraining(config, fit_size=teacher hidden)
    cfg.heads = nil
    student = rt.model.new(cfg, { seed = o.seed })
  end
  student:train()
  local svocab = isfile(o.student_model .. "/vocab.txt") and (o.student_model .. "/vocab.txt") or nil
  local maps, warnings = DC.check {
    teacher = teacher, student = student, teacher_name = o.teacher_model, student_name = o.student_model,
    teacher_vocab = tvocab, student_vocab = svocab, layer_map = o.layer_map, att = o.att_loss, rep = o.rep_loss,
    max_seq_len = o.max_seq_length,
  }
  for _, w in ipairs(warnings) do io.stderr:write("general_distill: warning: ", w, "\n") end
  DC.corpus(o.pregenerated_data, { max_seq_len = o.max_seq_length, vocab = tvocab, teacher_name = o.teacher_model })
  local samples = data_epochs(o.pregenerated_data, epochs)
  local total_examples = 0
  for i = 0, epochs - 1 do total_examples = total_examples + samples[i % #samples + 1].n end
  local t_total = math.floor(total_examples / micro / ga)
  if t_total < 1 then error(string.format("%d training examples are fewer than one optimizer step of %d", total_examples, o.train_batch_size), 0) end
  local ls = student.config.num_hidden_layers

  -- data: one epoch's arrays at a time, batches built on demand in a seeded order
  local cur = { epoch = nil }
  local function epoch_data(epoch)
    if cur.epoch ~= epoch then
      cur.data = nil
      collectgarbage()
      local s = samples[(epoch - 1) % #samples + 1]
      cur.data = rt.data.pregenerated_arrays(s.file, tok, s.seq or o.max_seq_length)
      if cur.data.n ~= s.n then
        io.stderr:write(string.format("general_distill: warning: %s has %d records, its metrics say %d\n", s.file, cur.data.n, s.n))
      end
      cur.perm = Trainer.permutation(cur.data.n, o.seed * 1000003 + epoch)
      cur.epoch = epoch
    end
    return cur
  end
  local function train_batches(epoch)
    local d = epoch_data(epoch)
    local n = d.data.n
    return setmetatable({}, {
      __len = function() return (n + micro - 1) // micro end,
      __index = function(_, i)
        local a, b = (i - 1) * micro + 1, math.min(i * micro, n)
        if a > n then return nil end
        local idx = {}
        for j = a, b do idx[#idx + 1] = d.perm[j] - 1 end
        local it = rt.tensor(idx, "i64")
        local D = d.data
        return { input_ids = D.input_ids:index_select(1, it), token_type_ids = D.segment_ids:index_select(1, it),
                 attention_mask = D.input_mask:index_select(1, it), size = #idx }
      end,
    })
  end

  -- list[map[i]] for each i; the tensors no entry names are closed (storage freed now,
  -- not at the next garbage collection)
  local function keep_only(list, map)
    local used, out = {}, {}
    for i, k in ipairs(map) do used[k] = true; out[i] = list[k] end
    for k, x in ipairs(list) do if not used[k] then getmetatable(x).__close(x) end end
    return out
  end

  -- the loss: per-layer terms, summed (rt.distill.losses for the masked attention MSE)
  local function step_fn(m, batch)
    local inp = { input_ids = batch.input_ids, token_type_ids = batch.token_type_ids, attention_mask = batch.attention_mask }
    -- the teacher keeps no graph (no_grad); of its outputs only the mapped layers stay
    -- alive during the student's step, the others are released at once
    local t = rt.no_grad(function()
      local out = teacher:forward { input_ids = inp.input_ids, token_type_ids = inp.token_type_ids,
                                    attention_mask = inp.attention_mask, output_fit = false,
                                    mlm_positions = no_mlm and rt.zeros({ inp.input_ids:shape()[1], 1 }, "i64") or nil }
      return { attentions = keep_only(out.attentions, o.att_loss and maps.att_map or {}),
               hidden_states = keep_only(out.hidden_states, o.rep_loss and maps.hidden_map or { 1 }) }
    end)
    local s = m:forward(inp)
    local terms, att, rep = {}, nil, nil
    if o.att_loss then
      for i = 1, ls do
        local l = rt.distill.losses({ attentions = { s.attentions[i] }, hidden_states = { s.hidden_states[1], s.hidden_states[1] } },
                                    { attentions = { t.attentions[i] }, hidden_states = {} },
                                    { rep = false, att_map = { 1 }, hidden_map = { 1, 1 } }).att
        terms["att_l" .. i] = l:item()
        att = att and att + l or l
      end
      terms.att = att:item()
    end
    if o.rep_loss then
      local sh = s.fit_hidden_states or s.hidden_states
      for j = 1, ls + 1 do
        local l = rt.F.mse(sh[j], t.hidden_states[j])
        terms["rep_h" .. (j - 1)] = l:item()
        rep = rep and rep + l or l
      end
      terms.rep = rep:item()
    end
    local loss = att and rep and att + rep or att or rep
    local B, L = batch.input_ids:shape()[1], batch.input_ids:shape()[2]
    return loss, terms, B * L, B
  end

  local opt = rt.optim.bertadam(student, {
    lr = o.learning_rate, warmup = o.warmup_proportion, total_steps = t_total, schedule = "warmup_linear",
    weight_decay = 0.01, no_decay = { "bias", "LayerNorm.bias", "LayerNorm.weight" },
  })

  local mkdir = rt.sys.mkdir
  mkdir(o.output_dir)
  -- under mpirun every rank trains (the Trainer syncs the student); rank 0 alone writes
  local main_rank = rt.dist.rank() == 0
  if not o.resume and main_rank then os.remove(o.output_dir .. "/.log_txt_terms") end

  -- upstream's log.txt means (over the steps of the current epoch) and step files
  local acc = { epoch = nil, n = 0, loss = 0, att = 0, rep = 0 }
  local function add(rec)
    if acc.epoch ~= rec.epoch then acc.epoch, acc.n, acc.loss, acc.att, acc.rep = rec.epoch, 0, 0, 0, 0 end
    acc.n = acc.n + 1
    acc.loss, acc.att, acc.rep = acc.loss + rec.loss, acc.att + (rec.att or 0), acc.rep + (rec.rep or 0)
  end
  local function save_step(step)
    local bin = string.format("%s/step_%d_pytorch_model.bin", o.output_dir, step)
    rt.io.save_bin(bin, student:named_parameters())
    student:save(o.output_dir)                    -- config.json + model.safetensors
    tok:save(o.output_dir .. "/vocab.txt")
  end
  local function write_log(step)
    local f = assert(io.open(o.output_dir .. "/log.txt", "a"))
    local res = { att_loss = acc.att / acc.n, global_step = step, loss = acc.loss / acc.n, rep_loss = acc.rep / acc.n }
    for _, k in ipairs { "att_loss", "global_step", "loss", "rep_loss" } do f:write(k, " = ", pystr(res[k]), "\n") end
    f:close()
  end

  local tr
  tr = Trainer.new {
    model = student, optimizer = opt, train_batches = train_batches, grad_accum = ga, epochs = epochs,
    max_steps = o.max_steps, seed = o.seed, step_fn = step_fn, output_dir = o.output_dir,
    save_every = o.eval_step, keep_last = o.keep_checkpoints, resume = o.resume, desc = "distill",
    progress = (o.progress == "auto") and nil or (o.progress == "true"),
    on_step = function(rec, t)
      if not main_rank then return end
      add(rec)
      local tf = assert(io.open(o.output_dir .. "/.log_txt_terms", "a"))
      tf:write(string.format("%d %d %.17g %.17g %.17g\n", rec.epoch, rec.step, rec.loss, rec.att or 0, rec.rep or 0))
      tf:close()
      if (rec.step + 1) % o.eval_step == 0 then write_log(rec.step); save_step(rec.step) end
      local nb = #train_batches(t.epoch)
      if t.batch_pos >= (nb // ga) * ga then save_step(rec.step) end      -- end of an epoch
    end,
  }
  -- on resume: rebuild the epoch's running means (exact values kept in .log_txt_terms) and
  -- drop log lines written after the checkpoint
  if o.resume and main_rank then
    local dir = Trainer.latest_checkpoint(o.output_dir)
    if dir then
      local st = rt.log.read_json(dir .. "/trainer_state.json")
      for _, name in ipairs { "/log.jsonl", "/.log_txt_terms" } do
        local lp = o.output_dir .. name
        if isfile(lp) then
          local keep = {}
          for line in io.lines(lp) do
            local s = tonumber(line:match('"step"%s*:%s*(%d+)') or line:match("^%d+ (%d+) "))
            local whole = line:match("}%s*$") or name == "/.log_txt_terms"   -- a line cut by a hard kill is dropped
            if whole and (not s or s <= st.step) then keep[#keep + 1] = line end
            if name == "/.log_txt_terms" and s and s <= st.step then
              local e, _, l, a, r = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+)$")
              if tonumber(e) == st.epoch then add { epoch = st.epoch, loss = tonumber(l), att = tonumber(a), rep = tonumber(r) } end
            end
          end
          rt.sys.atomic_write(lp, #keep > 0 and (table.concat(keep, "\n") .. "\n") or "")
        end
      end
    end
  end
  if main_rank then io.stderr:write(string.format("general_distill: %d examples over %d epochs, %d steps (batch %d = %d x %d), map %s\n",
    total_examples, epochs, t_total, o.train_batch_size, micro, ga, DC.describe_map(maps))) end
  local summary   -- --bf16: the training GEMMs in bf16 (retort departure)
  if o.bf16 then summary = rt.autocast("bf16", function() return tr:fit() end) else summary = tr:fit() end
  if summary.stopped == "nonfinite" then error(summary.error, 0) end
  if summary.stopped == "interrupted" then
    io.stderr:write("general_distill: interrupted; continue with --resume (", tostring(summary.checkpoint), ")\n")
    error("interrupted", 0)                      -- flags.script exits 130
  end
  if main_rank then
    student:save(o.output_dir)
    tok:save(o.output_dir .. "/vocab.txt")
  end
  summary.t_total = t_total
  summary.maps = maps
  return summary
end

return flags.script("general_distill.lua", main, ...)
