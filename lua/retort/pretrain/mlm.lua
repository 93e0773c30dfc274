-- retort.pretrain.mlm: the pieces of NEZHA's run_pretraining.py that the
-- pretrain recipe, its tests and the benchmark share.
--
--   local P = require "retort.pretrain.mlm"
--   local data = P.load_tfrecords({"a.tfrecord"}, 128, 20)   -- packed [N,S] / [N,P] tensors
--   local b = P.batch(data, {0, 5, 7})                        -- rows (0-based) -> a batch
--   local loss, terms = P.losses(model, b)                     -- run_pretraining.py's losses
--   local metrics = P.evaluate(model, data, 8, 100)            -- TF's eval metrics
--
-- Losses (NEZHA-TensorFlow/run_pretraining.py get_masked_lm_output /
-- get_next_sentence_output): the MLM head at masked_lm_positions,
--   mlm_loss = sum(w * -log p[label]) / (sum(w) + 1e-5),   w = masked_lm_weights
--   nsp_loss = mean(-log p[next_sentence_label]),          total = mlm_loss + nsp_loss.
local M = {}

local FEATURES = {
  { "input_ids", "S" }, { "input_mask", "S" }, { "segment_ids", "S" }, { "masked_lm_positions", "P" },
  { "masked_lm_ids", "P" }, { "masked_lm_weights", "P" }, { "next_sentence_labels", 1 },
}

--- P.files(spec) -> sorted paths of comma-separated globs (an error names a pattern matching nothing).
function M.files(spec)
  local out = {}
  local list = type(spec) == "table" and spec or {}
  if type(spec) == "string" then for p in spec:gmatch("[^,]+") do list[#list + 1] = p end end
  for _, pat in ipairs(list) do
    local got = rt._data.glob(pat)
    if #got == 0 then error("no input file matches '" .. pat .. "'", 0) end
    for _, f in ipairs(got) do out[#out + 1] = f end
  end
  return out
end

local function is_shard(path)
  local f = io.open(path, "rb")
  if not f then error(path .. ": cannot open", 0) end
  local head = f:read(9) or ""
  f:close()
  return #head == 9 and head:sub(9, 9) == "{"      -- safetensors: u64 header length, then JSON
end

-- retort's shards (create_pretraining_data --format shards): mapped, columns as stored
local function load_shard(path, S, P)
  local t = rt.load(path)
  for _, f in ipairs(FEATURES) do
    local x = t[f[1]]
    if not x then error(string.format("%s: shard has no tensor '%s'", path, f[1]), 0) end
    local want = f[2] == "S" and S or f[2] == "P" and P or nil
    local sh = x:shape()
    if want and sh[2] ~= want then
      error(string.format("%s: '%s' is [%d, %d], expected [N, %d] (--max_seq_length %d, --max_predictions_per_seq %d " ..
        "must match the data)", path, f[1], sh[1], sh[2] or 0, want, S, P), 0)
    end
  end
  return t
end

--- P.load_tfrecords(files, S, P) -> data {n, input_ids [N,S] i64, ..., masked_lm_weights [N,P] f32,
--- next_sentence_labels [N] i64}: every record of the files (TFRecords of tf.train.Example, checked
--- against upstream's feature spec, or retort's safetensors shards), concatenated.
function M.load_tfrecords(files, S, P, max_records)
  local shards = {}
  for _, path in ipairs(files) do if is_shard(path) then shards[#shards + 1] = path end end
  if #shards > 0 then
    if #shards ~= #files then error("mixing TFRecords and shards in --input_file is not supported", 0) end
    local parts = {}
    for _, path in ipairs(files) do parts[#parts + 1] = load_shard(path, S, P) end
    local data = {}
    for _, f in ipairs(FEATURES) do
      local list = {}
      for _, t in ipairs(parts) do list[#list + 1] = t[f[1]] end
      local x = #list == 1 and list[1] or rt.cat(list, 1)
      if f[1] ~= "masked_lm_weights" then x = x:long() end
      data[f[1]] = x
    end
    data.n = data.input_ids:shape()[1]
    if data.n == 0 then error("no records in " .. table.concat(files, ", "), 0) end
    return data
  end
  local cols = {}
  for _, f in ipairs(FEATURES) do cols[f[1]] = {} end
  local n = 0
  for _, path in ipairs(files) do
    local k = 0
    for ex in rt.io.tfrecord(path) do
      k = k + 1
      for _, f in ipairs(FEATURES) do
        local name, len = f[1], f[2] == "S" and S or f[2] == "P" and P or f[2]
        local t = ex[name]
        if not t then error(string.format("%s: record %d has no feature '%s'", path, k - 1, name), 0) end
        if t:numel() ~= len then
          error(string.format("%s: record %d: feature '%s' has %d values, expected %d (--max_seq_length %d, " ..
            "--max_predictions_per_seq %d must match the data)", path, k - 1, name, t:numel(), len, S, P), 0)
        end
        local c = cols[name]
        c[#c + 1] = t
      end
      n = n + 1
      if max_records and n >= max_records then break end
    end
    if max_records and n >= max_records then break end
  end
  if n == 0 then error("no records in " .. table.concat(files, ", "), 0) end
  local data = { n = n }
  for _, f in ipairs(FEATURES) do
    local st = rt.stack(cols[f[1]])
    if f[1] == "next_sentence_labels" then st = st:reshape(n) end
    data[f[1]] = st
  end
  return data
end

--- P.batch(data, rows) -> {input_ids, attention_mask, token_type_ids, positions, labels, weights, nsp, size}
--- rows: 0-based record indices (a list or an i64 tensor).
function M.batch(data, rows)
  local idx = rt.is_tensor(rows) and rows or rt.tensor(rows, "i64")
  return {
    input_ids = data.input_ids:index_select(1, idx), attention_mask = data.input_mask:index_select(1, idx),
    token_type_ids = data.segment_ids:index_select(1, idx), positions = data.masked_lm_positions:index_select(1, idx),
    labels = data.masked_lm_ids:index_select(1, idx), weights = data.masked_lm_weights:index_select(1, idx),
    nsp = data.next_sentence_labels:index_select(1, idx), size = idx:numel(),
  }
end

--- P.losses(model, batch) -> total_loss, terms {mlm_loss, nsp_loss, mlm_acc, nsp_acc, ...}, ntokens
function M.losses(model, b)
  local out = model:forward{ input_ids = b.input_ids, token_type_ids = b.token_type_ids,
                             attention_mask = b.attention_mask, mlm_positions = b.positions }
  local B, Pn = b.positions:shape()[1], b.positions:shape()[2]
  local logits = out.mlm_logits
  local V = logits:shape()[3]
  local per = rt.F.cross_entropy(logits:reshape(B * Pn, V), b.labels:reshape(B * Pn), { reduction = "none" })
  local w = b.weights:reshape(B * Pn)
  local wsum = w:sum():item()
  local mlm = (per * w):sum() * (1.0 / (wsum + 1e-5))
  local nsp = rt.F.cross_entropy(out.nsp_logits, b.nsp)
  local total = mlm + nsp
  local hit, nhit
  rt.no_grad(function()
    hit = (logits:argmax(3):eq(b.labels):float():reshape(B * Pn) * w):sum():item()
    nhit = out.nsp_logits:argmax(2):eq(b.nsp):float():sum():item()
  end)
  local terms = {
    mlm_loss = mlm:item(), nsp_loss = nsp:item(), mlm_acc = wsum > 0 and hit / wsum or 0, nsp_acc = nhit / B,
    mlm_weight = wsum, mlm_hits = hit, nsp_hits = nhit,
  }
  return total, terms, b.attention_mask:sum():item()
end

--- P.evaluate(model, data, batch_size, max_steps) -> {masked_lm_accuracy, masked_lm_loss,
--- next_sentence_accuracy, next_sentence_loss, loss, global_step?}: sequential batches (eval mode),
--- MLM metrics weighted by masked_lm_weights as TF's metric_fn does. Leaves the model in eval mode.
function M.evaluate(model, data, bs, max_steps)
  model:eval()
  local wl, ws, hits, nl, nh, nb, steps = 0, 0, 0, 0, 0, 0, 0
  rt.no_grad(function()
    local i = 0
    while i + bs <= data.n and (not max_steps or steps < max_steps) do
      local rows = {}
      for k = 0, bs - 1 do rows[#rows + 1] = i + k end
      local b = M.batch(data, rows)
      local _, t = M.losses(model, b)
      wl = wl + t.mlm_loss * (t.mlm_weight + 1e-5); ws = ws + t.mlm_weight; hits = hits + t.mlm_hits
      nl = nl + t.nsp_loss * b.size; nh = nh + t.nsp_hits; nb = nb + b.size
      steps = steps + 1
      i = i + bs
    end
  end)
  if nb == 0 then error(string.format("evaluation needs at least one batch of %d records (have %d)", bs, data.n), 0) end
  local r = { masked_lm_accuracy = ws > 0 and hits / ws or 0, masked_lm_loss = ws > 0 and wl / ws or 0,
              next_sentence_accuracy = nh / nb, next_sentence_loss = nl / nb, eval_steps = steps }
  r.loss = r.masked_lm_loss + r.next_sentence_loss
  return r
end

return M
