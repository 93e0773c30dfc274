-- retort.task_distill (rt.task_distill): the pieces of TinyBERT's task-specific
-- distillation (TinyBERT/task_distill.py) that lua/recipes/task_distill.lua, the
-- tinybert.lua chain and the golden tests share.
--
--   local TD = rt.task_distill
--   local maps = TD.maps(student_layers, teacher_layers [, {3, 6, 9, 12}])
--   local loss, terms = TD.stage1(s_out, t_out, maps)      -- att + rep, per layer in terms
--   local loss, terms = TD.stage2(s_out, t_logits, labels, {kd_loss = "soft_ce", temperature = 1,
--                                                             alpha = 0, regression = false})
--   local ex, labels = TD.read(task, data_dir, "train" [, "train_aug.tsv"])
--   local res = TD.evaluate(model, examples, collate, task, {regression =, batch_size = 32})
--   TD.result_to_file(res, path)     -- appends "key = value" lines, sorted (upstream's format)
local rt = require "retort"

local TD = {}

-- Upstream's metric lists (task_distill.py): a model is saved in stage 2 only when the
-- task's metric improves; WNLI is in none of them upstream (never saved).
TD.ACC_TASKS = { mnli = true, mrpc = true, ["sst-2"] = true, qqp = true, qnli = true, rte = true }
TD.CORR_TASKS = { ["sts-b"] = true }
TD.MCC_TASKS = { cola = true }

--- TD.metric(task) -> "acc" | "corr" | "mcc" (every task outside the GLUE lists: acc).
function TD.metric(task)
  task = tostring(task):lower()
  if TD.CORR_TASKS[task] then return "corr" end
  if TD.MCC_TASKS[task] then return "mcc" end
  return "acc"
end

--- TD.tasks() -> every task name the recipe accepts (GLUE, ChnSentiCorp/LCQMC/XNLI, CLUE JSON).
function TD.tasks()
  local t = {}
  for _, n in ipairs(rt.data.task_names()) do t[#t + 1] = n end
  for _, n in ipairs(rt.clue.names()) do t[#t + 1] = n end
  return t
end

--- TD.read(task, dir, split [, file]) -> examples, labels, info
--- GLUE / ChnSentiCorp / LCQMC / XNLI through rt.data.read_task (TSV), TNEWS / IFLYTEK /
--- AFQMC / CMNLI through rt.clue.read (JSON lines). `file` replaces the split's file
--- name (train_aug.tsv / train_aug.json). ChnSentiCorp's labels are its sorted train
--- labels, so a dev split reports the train label list.
function TD.read(task, dir, split, file)
  task = tostring(task):lower()
  if rt.clue.known(task) then return rt.clue.read(task, dir, split, file and { file = file }) end
  local ex, labels, info = rt.data.read_task(task, dir, split, file and { file = file } or nil)
  if (task == "chnsenti" or task == "text-clf" or task == "text_clf") and split ~= "train" then
    labels = select(2, rt.data.read_task(task, dir, "train"))
  end
  return ex, labels, info
end

--- TD.maps(student_layers, teacher_layers [, layer_map]) -> {att_map=, hidden_map=}
--- Uniform TinyBERT map (k = teacher/student) or, with layer_map = {t_1, ..., t_M}
--- (1-based teacher layer per student layer), att_map = layer_map and hidden_map =
--- {1 (embeddings), t_1 + 1, ..., t_M + 1}.
function TD.maps(ns, nt, layer_map)
  if layer_map then
    local hid = { 1 }
    for i, t in ipairs(layer_map) do hid[i + 1] = t + 1 end
    return rt.distill.layer_map(ns, nt, { att_map = layer_map, hidden_map = hid })
  end
  return rt.distill.layer_map(ns, nt)
end

--- TD.stage1(s_out, t_out, maps) -> loss, terms
--- TinyBERT's intermediate-layer loss att + rep (rt.distill.losses, one layer at a time so
--- the log has every term): terms = {att=, rep=, att_1..att_M, rep_0..rep_M} (numbers;
--- rep_0 is the embedding output).
function TD.stage1(s, t, maps)
  local terms, total = {}, nil
  local sa, sf = s.attentions, s.fit_hidden_states or s.hidden_states
  local att_sum, rep_sum = 0, 0
  for i = 1, #sa do
    local l = rt.distill.losses({ attentions = { sa[i] } }, { attentions = t.attentions },
      { att = true, rep = false, att_map = { maps.att_map[i] } }).att
    local v = l:item()
    terms["att_" .. i] = v
    att_sum = att_sum + v
    total = total and (total + l) or l
  end
  for j = 1, #sf do
    local l = rt.distill.losses({ attentions = {}, fit_hidden_states = { sf[j] } },
      { attentions = t.attentions, hidden_states = t.hidden_states },
      { att = false, rep = true, att_map = {}, hidden_map = { maps.hidden_map[j] } }).rep
    local v = l:item()
    terms["rep_" .. (j - 1)] = v
    rep_sum = rep_sum + v
    total = total and (total + l) or l
  end
  terms.att, terms.rep = att_sum, rep_sum
  return total, terms
end

--- TD.kd(s_logits, t_logits, kind, T) -> loss
--- soft_ce: TinyBERT's soft cross-entropy (mean over batch x classes) at temperature T;
--- kl: T^2 * KL(softmax(t/T) || softmax(s/T)), mean over the batch (Hinton's scaling);
--- mse: MSE between the logits (T unused).
function TD.kd(s, t, kind, T)
  T = T or 1.0
  kind = kind or "soft_ce"
  if kind == "soft_ce" then return rt.F.soft_cross_entropy(s, t, T) end
  if kind == "kl" then
    return rt.F.kl_div(rt.F.log_softmax(s / T, -1), rt.F.softmax(t / T, -1), "batchmean") * (T * T)
  end
  if kind == "mse" then return rt.F.mse(s, t) end
  error("task_distill: --kd_loss must be soft_ce, kl or mse (got '" .. tostring(kind) .. "')", 2)
end

--- TD.stage2(s_out, t_logits, labels, opts) -> loss, terms
--- Classification: (1 - alpha) * kd(s, t) + alpha * cross_entropy(s, labels);
--- regression: MSE(s, labels) against the gold values (as upstream; the teacher is not used).
--- opts: kd_loss ("soft_ce"), temperature (1), alpha (0), regression (false).
function TD.stage2(s, t_logits, labels, o)
  o = o or {}
  local logits = s.logits
  if o.regression then
    local n = logits:numel()
    local l = rt.F.mse(logits:reshape(n), labels)
    return l, { pred = l:item() }
  end
  local kd = TD.kd(logits, t_logits, o.kd_loss, o.temperature)
  local alpha = o.alpha or 0
  local terms = { pred = kd:item() }
  if alpha > 0 then
    local ce = rt.F.cross_entropy(logits, labels)
    terms.hard = ce:item()
    return kd * (1 - alpha) + ce * alpha, terms
  end
  return kd, terms
end

--- TD.forward(model, batch) -> model output (input_ids, token_type_ids, attention_mask).
function TD.forward(m, b)
  return m:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask })
end

--- TD.collate_fn(tok, {labels=, max_len=, pad_to_max=true, regression=}) -> collate(list)
--- Each example {text_a=, text_b=, label=, idx=} becomes a batch {input_ids, token_type_ids,
--- attention_mask, labels (i64 ids / f32 values), idx (list of example positions), size}.
function TD.collate_fn(tok, o)
  local lid = {}
  for i, l in ipairs(o.labels or {}) do lid[l] = i - 1 end
  return function(list)
    local a, b, y, idx = {}, {}, {}, {}
    local pair = false
    for i, e in ipairs(list) do
      a[i] = e.text_a
      b[i] = e.text_b or ""
      if e.text_b then pair = true end
      if o.regression then y[i] = tonumber(e.label) or 0
      else
        y[i] = lid[e.label]
        if y[i] == nil then
          error(string.format("task_distill: example %s: label '%s' is not in the label list", tostring(e.guid), tostring(e.label)), 0)
        end
      end
      idx[i] = e.idx
    end
    local batch = tok:batch({ a, pair and b or nil, max_len = o.max_len, pad = o.pad_to_max == false and "longest" or true })
    batch.labels = o.regression and rt.tensor(y) or rt.tensor(y, "i64")
    batch.idx = idx
    batch.size = #list
    return batch
  end
end

--- TD.evaluate(model, examples, collate, task, {regression=, batch_size=32}) -> result
--- Upstream do_eval: argmax (or the single regression output) over the dev set, the task's
--- metrics (rt.metrics.glue) and eval_loss (CE or MSE to gold, mean over batches).
function TD.evaluate(m, examples, collate, task, o)
  o = o or {}
  local ebs = o.batch_size or 32
  local preds, golds, loss_sum, nb = {}, {}, 0, 0
  rt.no_grad(function()
    for s = 1, #examples, ebs do
      local list = {}
      for j = s, math.min(s + ebs - 1, #examples) do list[#list + 1] = examples[j] end
      local b = collate(list)
      local out = TD.forward(m, b)
      if o.regression then
        local n = out.logits:numel()
        loss_sum = loss_sum + rt.F.mse(out.logits:reshape(n), b.labels):item()
        for _, v in ipairs(rt.metrics.flatten(out.logits)) do preds[#preds + 1] = v end
      else
        loss_sum = loss_sum + rt.F.cross_entropy(out.logits, b.labels):item()
        for _, v in ipairs(rt.metrics.argmax(out.logits)) do preds[#preds + 1] = v end
      end
      nb = nb + 1
      for _, v in ipairs(b.labels:totable()) do golds[#golds + 1] = v end
    end
  end)
  local gtask = tostring(task):lower()
  if gtask == "mnli-mm" then gtask = "mnli" end
  local res = rt.metrics.glue(gtask, preds, golds)
  res.eval_loss = nb > 0 and loss_sum / nb or 0
  return res, preds, golds
end

--- TD.majority(examples, labels) -> majority-class accuracy-type baseline of the split
--- (the fraction of the most frequent label) and that label.
function TD.majority(examples)
  local c, best, bestn, n = {}, nil, -1, 0
  for _, e in ipairs(examples) do
    if e.label ~= nil then
      c[e.label] = (c[e.label] or 0) + 1
      n = n + 1
    end
  end
  for l, k in pairs(c) do if k > bestn or (k == bestn and tostring(l) < tostring(best)) then best, bestn = l, k end end
  return n > 0 and bestn / n or 0, best
end

--- TD.result_to_file(result, path): append "key = value" lines in sorted key order
--- (upstream result_to_file); the folder is created when missing.
function TD.result_to_file(res, path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir then rt.sys.mkdir(dir) end
  local keys = {}
  for k, v in pairs(res) do if type(v) ~= "table" and type(v) ~= "userdata" then keys[#keys + 1] = k end end
  table.sort(keys)
  local f = assert(io.open(path, "a"))
  for _, k in ipairs(keys) do f:write(string.format("%s = %s\n", k, tostring(res[k]))) end
  f:close()
end

--- TD.label_list(dir) -> the label list saved with a model (dir/label_list.txt, else the
--- config's id2label in id order, else ../label_list.txt for finetune.lua's <output_dir>/best),
--- or nil when there is none.
function TD.label_list(dir)
  local f = io.open(dir .. "/label_list.txt", "rb")
  if not f and dir:match("/best/?$") then
    local parent = dir:gsub("/best/?$", "")
    local t, src = TD.label_list(parent)
    if t then return t, src end
  end
  if f then
    local t = {}
    for l in f:read("a"):gmatch("[^\r\n]+") do t[#t + 1] = l end
    f:close()
    return t, dir .. "/label_list.txt"
  end
  for _, name in ipairs({ "config.json", "bert_config.json" }) do
    local p = dir .. "/" .. name
    local g = io.open(p, "rb")
    if g then
      local s = g:read("a")
      g:close()
      local ok, cfg = pcall(rt.log.json_decode, s)
      if ok and type(cfg) == "table" and type(cfg.id2label) == "table" then
        local t, n = {}, 0
        for k, v in pairs(cfg.id2label) do
          local i = math.tointeger(tonumber(k))
          if i then t[i + 1] = tostring(v); n = n + 1 end
        end
        if n > 0 and #t == n then return t, p end
      end
      return nil
    end
  end
  return nil
end

--- TD.save_model(model, dir, tok, labels): upstream's output files — pytorch_model.bin,
--- config.json (with id2label) and vocab.txt — plus label_list.txt.
function TD.save_model(m, dir, tok, labels)
  rt.sys.mkdir(dir)
  if labels then
    local id2 = {}
    for i, l in ipairs(labels) do id2[tostring(i - 1)] = l end
    m.config.id2label = id2
  end
  m:save(dir, { format = "bin" })
  os.remove(dir .. "/model.safetensors")     -- a stale copy would be loaded first
  if tok then tok:save(dir .. "/vocab.txt") end
  if labels then rt.log.write_atomic(dir .. "/label_list.txt", table.concat(labels, "\n") .. "\n") end
end

return TD
