-- retort.ner (rt.tasks.ner): People's Daily style sequence labelling, as
-- NEZHA-TensorFlow/run_classifier_ner.py does it: BIO data, one softmax over the
-- label list on every position, the first piece of each character labelled.
--
--   local N = rt.tasks.ner
--   local sents = N.read("data/train.txt", {sentence_rule = "upstream"})
--   local labels = N.labels({sents})                   -- upstream list when the types fit
--   local items = N.dataset(sents, tok, labels, {max_len = 256})
--   local batch = N.collate(items)                     -- input_ids, labels [B, L], ...
--   local loss = N.loss(logits, batch, "sum")          -- upstream: sum incl. padding
--   local res, preds = N.evaluate(model, items, labels, {batch_size = 16})
--   N.write_predictions(dir, "test", items, preds, labels)   -- label_test.txt + conll file
--   N.train{...}                                       -- the whole recipe (lua/recipes/ner.lua)
local rt = require "retort"
local K = require "retort.taskkit"
local M = {}

--- N.UPSTREAM_LABELS: run_classifier_ner.py's list; ids are positions (O = 1), 0 = padding.
M.UPSTREAM_LABELS = { "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "X", "[CLS]", "[SEP]" }
local SPECIAL = { X = true, ["[CLS]"] = true, ["[SEP]"] = true }

-- the file line of token k of a sentence starting at line `first` (error path only)
local function token_line(path, first, k, upstream)
  local lines = K.read_lines(path) or {}
  local n = 0
  for i = first, #lines do
    local l = lines[i]:gsub("^[ \t]+", ""):gsub("[ \t]+$", "")
    if l ~= "" and l:sub(1, 10) ~= "-DOCSTART-" then
      n = n + 1
      if n == k then return i end
    elseif l == "" and not upstream then
      break
    end
  end
  return first
end

--- N.read(path, {sentence_rule="upstream"|"blank"}) -> sentences {{words=, labels=, line=, file=}}
--- "upstream": a sentence ends only at a blank line right after a "。" line (others
--- are joined; an unterminated last sentence is dropped); "blank": every blank line
--- ends a sentence. Labels must be O, B-TYPE or I-TYPE: anything else is an error
--- naming file:line.
function M.read(path, o)
  o = o or {}
  local rule = o.sentence_rule or "upstream"
  if rule ~= "upstream" and rule ~= "blank" then
    error("rt.tasks.ner.read: sentence_rule must be 'upstream' or 'blank' (got '" .. tostring(rule) .. "')", 2)
  end
  local sents = rt.data.read_ner(path, { upstream = rule == "upstream" })
  for _, s in ipairs(sents) do
    s.file = path
    for k, l in ipairs(s.labels) do
      if not (l == "O" or l:match("^[BI]%-%S+$")) then
        error(string.format("%s:%d: label '%s' is not BIO (O, B-TYPE or I-TYPE)", path,
          token_line(path, s.line, k, rule == "upstream"), l), 0)
      end
    end
  end
  return sents
end

--- N.labels(sentence_lists, given) -> label list (id = position; 0 is padding)
--- given (a list or "a,b,c") wins; X, [CLS], [SEP] are appended when missing.
--- Otherwise: the upstream list when every data label is in it, else O, then
--- B-/I- of each type in sorted order, then X, [CLS], [SEP].
function M.labels(lists, given)
  local seen, types, order = {}, {}, {}
  for _, sents in ipairs(lists or {}) do
    for _, s in ipairs(sents) do
      for _, l in ipairs(s.labels) do
        if not seen[l] then seen[l] = s; order[#order + 1] = l end
        local ty = l:match("^[BI]%-(.+)$")
        if ty then types[ty] = true end
      end
    end
  end
  local out
  if given then
    if type(given) == "string" then
      local t = {}
      for p in given:gmatch("[^,]+") do t[#t + 1] = p end
      given = t
    end
    out = {}
    local have = {}
    for _, l in ipairs(given) do out[#out + 1] = l; have[l] = true end
    for _, l in ipairs({ "X", "[CLS]", "[SEP]" }) do if not have[l] then out[#out + 1] = l; have[l] = true end end
    for _, l in ipairs(order) do
      local s = seen[l]
      if not have[l] then
        error(string.format("%s: label '%s' (sentence at line %d) is not in --labels %s", s.file or "data", l,
          s.line or 0, table.concat(given, ",")), 0)
      end
    end
    return out
  end
  local up = {}
  for _, l in ipairs(M.UPSTREAM_LABELS) do up[l] = true end
  local fits = true
  for l in pairs(seen) do if not up[l] then fits = false end end
  if fits then return { table.unpack(M.UPSTREAM_LABELS) } end
  local tl = {}
  for ty in pairs(types) do tl[#tl + 1] = ty end
  table.sort(tl)
  out = { "O" }
  for _, ty in ipairs(tl) do out[#out + 1] = "B-" .. ty; out[#out + 1] = "I-" .. ty end
  for _, l in ipairs({ "X", "[CLS]", "[SEP]" }) do out[#out + 1] = l end
  return out
end

--- N.positive_ids(labels) -> ids of the B-/I- labels (the token-level metric's classes).
function M.positive_ids(labels)
  local out = {}
  for i, l in ipairs(labels) do if l:match("^[BI]%-") then out[#out + 1] = i end end
  return out
end

--- N.dataset(sentences, tok, labels, {max_len=256}) -> items
--- {ids=, seg=, labels= (ids, upstream alignment: first piece labelled, further
--- pieces "X", [CLS]/[SEP] their own labels), first= (char -> 1-based position of
--- its first piece, nil when it produced no piece or was cut), words=, gold=, line=}.
--- Over-long sentences are cut to max_len-2 pieces, as upstream.
function M.dataset(sents, tok, labels, o)
  o = o or {}
  local max_len = o.max_len or 256
  local lid = {}
  for i, l in ipairs(labels) do lid[l] = i end
  local out = {}
  for s, sent in ipairs(sents) do
    local toks, labs, first = {}, {}, {}
    for i, w in ipairs(sent.words) do
      local pieces = tok:encode_ids(w)
      for k, p in ipairs(pieces) do
        toks[#toks + 1] = p
        local l = k == 1 and sent.labels[i] or "X"
        if k == 1 then first[i] = #toks + 1 end            -- +1: [CLS] comes first
        labs[#labs + 1] = lid[l] or error(string.format("%s:%d: label '%s' is not in the label list",
          sent.file or "data", sent.line or 0, l), 0)
      end
    end
    if #toks >= max_len - 1 then
      for i = #toks, max_len - 1, -1 do toks[i] = nil; labs[i] = nil end
      for i, p in pairs(first) do if p > max_len - 2 + 1 then first[i] = nil end end
    end
    local ids, seg, lab = { tok.cls_id }, { 0 }, { lid["[CLS]"] }
    for i = 1, #toks do ids[i + 1] = toks[i]; seg[i + 1] = 0; lab[i + 1] = labs[i] end
    ids[#ids + 1] = tok.sep_id; seg[#seg + 1] = 0; lab[#lab + 1] = lid["[SEP]"]
    out[s] = { ids = ids, seg = seg, labels = lab, first = first, words = sent.words, gold = sent.labels,
               line = sent.line, file = sent.file, guid = s }
  end
  return out
end

--- N.collate(items, {pad_to=}) -> {input_ids=, token_type_ids=, attention_mask=, labels=,
--- loss_mask=} ([B, L]; labels padded with 0; loss_mask 1 on the first piece of a character).
function M.collate(items, o)
  local b = rt.data.collate(items, o)
  local W = b.input_ids:shape()[2]
  local lm = {}
  for i, it in ipairs(items) do
    local r = {}
    for k = 1, W do r[k] = 0 end
    for _, p in pairs(it.first) do r[p] = 1 end
    lm[i] = r
  end
  b.loss_mask = rt.data.pack_i64(lm, W, 0)
  b.size = #items
  return b
end

local function flat_positions(mask)
  local idx = {}
  for i, v in ipairs(rt.metrics.flatten(mask)) do if v ~= 0 then idx[#idx + 1] = i - 1 end end
  return idx
end

--- N.loss(logits [B, L, C], batch, kind) -> scalar
--- kind "sum" (run_classifier_ner.py): token cross-entropy summed over all B*L
--- positions, padding (label 0) and "X" pieces included; "mean": mean over the first
--- pieces of the characters only (padding, X, [CLS], [SEP] ignored).
function M.loss(logits, batch, kind)
  local C = logits:shape()[3]
  local flat = logits:reshape(-1, C)
  local y = batch.labels:reshape(-1)
  if kind == "mean" then
    local idx = flat_positions(batch.loss_mask)
    if #idx == 0 then return (flat:sum() * 0) end
    local r = K.gather_rows(flat, idx)
    return rt.F.cross_entropy(r, y:index_select(1, rt.tensor(idx, "i64")))
  end
  return rt.F.cross_entropy(flat, y, { reduction = "sum" })
end

--- N.distill_pred_loss(student_logits, teacher_logits, batch, T) -> scalar: soft
--- cross-entropy at temperature T over the positions that are neither padding nor
--- a non-first piece ("X"), TinyBERT's mean over positions x classes.
function M.distill_pred_loss(s, t, batch, T)
  local C = s:shape()[3]
  local keep = {}
  local lab = rt.metrics.flatten(batch.labels)
  local xid = batch.x_id
  for i, v in ipairs(lab) do if v ~= 0 and v ~= xid then keep[#keep + 1] = i - 1 end end
  local sr, tr = K.gather_rows(s:reshape(-1, C), keep), K.gather_rows(t:reshape(-1, C), keep)
  return rt.F.soft_cross_entropy(sr, tr, T or 1)
end

local function forward(model, b)
  return model:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask })
end

--- N.predict(model, items, {batch_size=16, progress=true, pad_to=}) -> per item the list of predicted label ids
--- (one per position of item.ids), the summed loss over all batches, the batch count.
function M.predict(model, items, o)
  o = o or {}
  local bs = o.batch_size or 16
  local preds, loss_sum, nb = {}, 0, 0
  local total = (#items + bs - 1) // bs
  local bar = o.progress ~= false and total >= 50 and rt.progress.new({ total = total, desc = "ner predict", every = 50 })
  rt.no_grad(function()
    for s = 1, #items, bs do
      if bar then bar:update(nb + 1) end
      local list = {}
      for j = s, math.min(s + bs - 1, #items) do list[#list + 1] = items[j] end
      local b = M.collate(list, { pad_to = o.pad_to })
      local out = forward(model, b)
      loss_sum = loss_sum + M.loss(out.logits, b, "sum"):item()
      nb = nb + 1
      local am = out.logits:argmax(3):totable()
      for i, it in ipairs(list) do
        local row = {}
        for k = 1, #it.ids do row[k] = am[i][k] end
        preds[s + i - 1] = row
      end
    end
  end)
  if bar then bar:close() end
  return preds, loss_sum, nb
end

--- N.char_tags(item, pred_ids, labels) -> predicted tag per character (a character
--- with no piece, cut off, or predicted X/[CLS]/[SEP]/padding gets "O").
function M.char_tags(it, pred, labels)
  local out = {}
  for i = 1, #it.words do
    local p = it.first[i]
    local l = p and labels[pred[p]] or "O"
    if l == nil or SPECIAL[l] then l = "O" end
    out[i] = l
  end
  return out
end

--- N.scores(items, preds, labels) -> {precision, recall, f1 (entity level, conlleval
--- rules, micro over types), per_type = {TYPE = {precision, recall, f1, support}},
--- token_precision, token_recall, token_f (run_classifier_ner.py's tf_metrics:
--- micro over the B-/I- ids on every position)}.
function M.scores(items, preds, labels)
  local P, G, tp, tg = {}, {}, {}, {}
  local nchar, nok = 0, 0
  for i, it in ipairs(items) do
    P[i] = M.char_tags(it, preds[i], labels)
    G[i] = it.gold
    for w = 1, #it.gold do nchar = nchar + 1; if P[i][w] == it.gold[w] then nok = nok + 1 end end
    for k = 1, #it.ids do tp[#tp + 1] = preds[i][k]; tg[#tg + 1] = it.labels[k] end
  end
  local e = rt.metrics.ner_entity(P, G)
  local t = rt.metrics.ner_token(tp, tg, { positive = M.positive_ids(labels) })
  return { precision = e.precision, recall = e.recall, f1 = e.f1, per_type = e.per_type,
           n_pred = e.n_pred, n_gold = e.n_gold, n_correct = e.n_correct, n_tokens = nchar,
           accuracy = nchar > 0 and nok / nchar or 0,
           token_precision = t.precision, token_recall = t.recall, token_f = t.f1 }, P
end

--- N.evaluate(model, items, labels, {batch_size=}) -> metrics (+ eval_loss: the summed
--- loss of a batch, averaged over the batches, as the TF estimator reports it), predictions
function M.evaluate(model, items, labels, o)
  local preds, ls, nb = M.predict(model, items, o)
  local res = M.scores(items, preds, labels)
  res.eval_loss = nb > 0 and ls / nb or 0
  return res, preds
end

--- N.write_predictions(dir, split, items, preds, labels) -> files written:
--- label_<split>.txt as run_classifier_ner.py writes label_test.txt (one predicted
--- label per line for every position whose prediction is not padding, [CLS]/X/[SEP]
--- included, no sentence separator), and <split>_predictions.txt in conlleval
--- layout ("char gold pred" lines, a blank line after each sentence).
function M.write_predictions(dir, split, items, preds, labels)
  local a, c = {}, {}
  for i, it in ipairs(items) do
    for k = 1, #it.ids do
      local id = preds[i][k]
      if id ~= 0 then a[#a + 1] = labels[id] or tostring(id) end
    end
    local tags = M.char_tags(it, preds[i], labels)
    for w = 1, #it.words do c[#c + 1] = it.words[w] .. " " .. it.gold[w] .. " " .. tags[w] end
    c[#c + 1] = ""
  end
  local f1, f2 = dir .. "/label_" .. split .. ".txt", dir .. "/" .. split .. "_predictions.txt"
  rt.sys.atomic_write(f1, table.concat(a, "\n") .. (#a > 0 and "\n" or ""))
  rt.sys.atomic_write(f2, table.concat(c, "\n") .. (#c > 0 and "\n" or ""))
  return { f1, f2 }
end

--- N.report(res) -> conlleval-like text (overall and per type, percent).
function M.report(res, name)
  local lines = { string.format("%s: processed %d tokens with %d phrases; found: %d phrases; correct: %d.",
      name or "eval", res.n_tokens or 0, res.n_gold or 0, res.n_pred or 0, res.n_correct or 0),
    string.format("accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f", 100 * (res.accuracy or 0),
      100 * res.precision, 100 * res.recall, 100 * res.f1) }
  local ty = {}
  for k in pairs(res.per_type or {}) do ty[#ty + 1] = k end
  table.sort(ty)
  for _, k in ipairs(ty) do
    local r = res.per_type[k]
    lines[#lines + 1] = string.format("%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %d", k,
      100 * r.precision, 100 * r.recall, 100 * r.f1, r.support)
  end
  lines[#lines + 1] = string.format("token level (tf_metrics): P %.4f R %.4f F %.4f", res.token_precision,
    res.token_recall, res.token_f)
  return table.concat(lines, "\n")
end


-- The recipe ---------------------------------------------------------------

--- N.FLAGS: lua/recipes/ner.lua's flags (run_classifier_ner.py's names, the
--- scripts/run_seq_labelling.sh values as defaults) for rt.flags.parse.
M.FLAGS = {
  { "task_name", "ner", "task (only ner)" },
  { "data_dir", nil, "folder with train.txt, dev.txt, test.txt ('char label' lines)", required = true },
  { "output_dir", nil, "results, predictions, log.jsonl, checkpoints, best/", required = true },
  { "init_checkpoint", nil, "checkpoint to start from (a folder, model.safetensors, pytorch_model.bin or model.ckpt)" },
  { "model_dir", nil, "the same as --init_checkpoint (a folder)" },
  { "bert_config_file", nil, "config for --from_scratch" },
  { "vocab_file", nil, "vocab.txt (default: next to the checkpoint)" },
  { "do_lower_case", true, "lower-case the input", type = "bool" },
  { "max_seq_length", 256, "maximum pieces per sentence, [CLS]/[SEP] included", type = "int" },
  { "do_train", false, "train on train.txt", type = "bool" },
  { "do_eval", false, "evaluate on dev.txt", type = "bool" },
  { "do_predict", false, "predict test.txt (label_test.txt, test_predictions.txt)", type = "bool" },
  { "train_batch_size", 16, "sentences per step", type = "int" },
  { "eval_batch_size", 16, "sentences per eval batch", type = "int" },
  { "predict_batch_size", 16, "sentences per predict batch", type = "int" },
  { "learning_rate", 3e-5, "peak learning rate", type = "float" },
  { "num_train_epochs", 10, "epochs", type = "float" },
  { "warmup_proportion", 0.1, "linear warmup fraction", type = "float" },
  { "save_checkpoints_steps", 100, "checkpoint (and dev evaluation) every N steps", type = "int" },
  { "iterations_per_loop", 1000, "TPU flag, accepted and ignored", type = "int" },
  { "use_tpu", false, "accepted and ignored", type = "bool" },
  { "sentence_rule", "upstream", "upstream ('。' + blank line ends a sentence) | blank (every blank line)",
    choices = { "upstream", "blank" } },
  { "labels", nil, "comma-separated label list (default: from the data)" },
  { "loss", "sum", "sum (upstream: summed over all positions incl. padding) | mean (first pieces only)",
    choices = { "sum", "mean" } },
  { "pad_to_max_length", false, "pad every batch to max_seq_length as upstream (the summed loss then matches it exactly)",
    type = "bool" },
  { "best_metric", "f1", "metric that picks best/: f1 (entity) | token_f (upstream eval_f)",
    choices = { "f1", "token_f" } },
  { "optimizer", "adam_weight_decay", "adam_weight_decay (TF) | adamw | bertadam | lamb" },
  { "weight_decay", 0.01, "weight decay (not on bias/LayerNorm)", type = "float" },
  { "max_steps", nil, "stop after N steps", type = "int" },
  { "max_train_examples", nil, "use the first N training sentences", type = "int" },
  { "keep_checkpoints", 2, "checkpoints kept", type = "int" },
  { "resume", false, "continue from the newest checkpoint in output_dir", type = "bool" },
  { "seed", 12345, "random seed", type = "int" },
  { "teacher_model", nil, "distil from this fine-tuned NER model (folder written by this recipe)" },
  { "pred_distill", false, "distillation stage 2: soft CE on the logits (else stage 1: att + rep)", type = "bool" },
  { "temperature", 1.0, "distillation temperature", type = "float" },
}
K.append_flags(M.FLAGS, K.SCRATCH_FLAGS)

M.DEPARTURES = {
  "label_list.txt and label2id.json instead of label2id.pkl",
  "batches are padded to their longest sentence, not to max_seq_length (the summed loss then counts fewer " ..
    "padding positions; --pad_to_max_length pads as upstream)",
  "dev evaluation every --save_checkpoints_steps inside the run; best/ keeps the best model (upstream: read_tf_events.py afterwards)",
  "entity-level P/R/F1 (conlleval rules, per type) reported next to the upstream token-level P/R/F",
  "token-level P/R/F count the real positions of each sentence (upstream also counts the padding to max_seq_length, gold 0 there)",
  "--sentence_rule, --labels, --loss, --pad_to_max_length, --best_metric, --teacher_model/--pred_distill/--temperature, --from_scratch are retort's",
}

local function upd(t, extra) for k, v in pairs(extra) do t[k] = v end return t end

local function write_results(path, res)
  local keys = {}
  for k, v in pairs(res) do if type(v) == "number" then keys[#keys + 1] = k end end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do lines[#lines + 1] = string.format("%s = %s", k, tostring(res[k])) end
  rt.sys.atomic_write(path, table.concat(lines, "\n") .. "\n")
end

--- N.run(o) -> results: the whole recipe (o = parsed M.FLAGS). Trains (optionally
--- distilling from o.teacher_model), evaluates dev.txt, predicts test.txt.
function M.run(o)
  local prog = "ner"
  if o.threads then rt.set_threads(o.threads) end
  rt.manual_seed(o.seed)
  if not (o.do_train or o.do_eval or o.do_predict) then
    error(prog .. ": at least one of --do_train, --do_eval or --do_predict must be true", 0)
  end
  rt.sys.mkdir(o.output_dir)
  local vocab = K.vocab_of(o, prog)
  local tok = rt.tokenizer.load(vocab, { lower = o.do_lower_case })
  local max_len = o.max_seq_length
  local rd = { sentence_rule = o.sentence_rule }
  local train = o.do_train and M.read(o.data_dir .. "/train.txt", rd) or nil
  local dev_path = o.data_dir .. "/dev.txt"
  local dev = (o.do_eval or (o.do_train and rt.sys.exists(dev_path))) and M.read(dev_path, rd) or nil
  local test = o.do_predict and M.read(o.data_dir .. "/test.txt", rd) or nil
  if train and o.max_train_examples then while #train > o.max_train_examples do table.remove(train) end end
  -- labels: given, else the saved list (predict-only runs: the checkpoint's, else
  -- output_dir's), else from the data
  local labels
  local src = o.init_checkpoint or o.model_dir
  local saved = not train and src and K.read_lines((rt.sys.isdir(src) and src or (src:match("^(.*)/[^/]*$") or "."))
    .. "/label_list.txt") or K.read_lines(o.output_dir .. "/label_list.txt")
  if o.labels then labels = M.labels({ train or {}, dev or {}, test or {} }, o.labels)
  elseif saved and not train then labels = saved
  else labels = M.labels({ train or {}, dev or {}, test or {} }) end
  rt.sys.atomic_write(o.output_dir .. "/label_list.txt", table.concat(labels, "\n") .. "\n")
  local l2i = {}
  for i, l in ipairs(labels) do l2i[l] = i end
  rt.sys.atomic_write(o.output_dir .. "/label2id.json", rt.log.json_encode(l2i))
  local C = #labels + 1

  local teacher, maps
  if o.teacher_model then
    teacher = K.teacher(o, vocab, { head = "token_classifier", labels = labels, prog = prog })
  end
  local model = K.build_model(o, tok, { head = "token_classifier", num_labels = C, max_len = max_len,
                                        fit_size = teacher and teacher.config.hidden_size, prog = prog })
  K.check_length(model, max_len, prog)
  if (model.config.num_labels or C) ~= C then
    error(string.format("%s: the checkpoint's head has %d labels, the data %d (+1 padding)", prog,
      model.config.num_labels, #labels), 0)
  end
  if teacher then
    maps = K.distill_maps(model, teacher, { stage1 = not o.pred_distill, teacher_name = o.teacher_model,
      student_name = o.output_dir, teacher_vocab = o.teacher_model .. "/vocab.txt", student_vocab = vocab,
      max_seq_len = max_len, prog = prog })
  end
  local function save_model(m, dir)
    m:save(dir); tok:save(dir .. "/vocab.txt")
    rt.sys.atomic_write(dir .. "/label_list.txt", table.concat(labels, "\n") .. "\n")
  end

  local D = { max_len = max_len }
  local dev_items = dev and M.dataset(dev, tok, labels, D)
  local results = {}
  local summary
  if train then
    local items = M.dataset(train, tok, labels, D)
    local xid = l2i["X"]
    local stage1 = teacher and not o.pred_distill
    local tr = require("retort.trainer").new({
      model = model, train = items, batch_size = o.train_batch_size, seed = o.seed,
      collate = function(list)
        local b = M.collate(list, { pad_to = o.pad_to_max_length and max_len or nil })
        b.x_id = xid
        return b
      end,
      epochs = math.max(1, math.ceil(o.num_train_epochs)),
      -- run_classifier_ner.py: num_train_steps = int(len(train_examples) / batch * epochs)
      max_steps = o.max_steps or math.max(1, math.floor(#items / o.train_batch_size * o.num_train_epochs)),
      step_fn = function(m, b)
        local out = forward(m, b)
        local ntok = b.attention_mask:sum():item()
        if not teacher then return M.loss(out.logits, b, o.loss), nil, ntok, b.size end
        local tout = rt.no_grad(function() return forward(teacher, b) end)
        if stage1 then
          local L = rt.distill.losses(out, tout, { att = true, rep = true, att_map = maps.att_map,
                                                   hidden_map = maps.hidden_map })
          return L.total, { att_loss = L.att, rep_loss = L.rep }, ntok, b.size
        end
        local l = M.distill_pred_loss(out.logits, tout.logits, b, o.temperature)
        return l, { pred_loss = l }, ntok, b.size
      end,
      eval = dev_items and not stage1 and { name = "dev", fn = function(m) return (M.evaluate(m, dev_items, labels,
        { batch_size = o.eval_batch_size, progress = false, pad_to = o.pad_to_max_length and max_len or nil })) end } or nil,
      eval_every = o.save_checkpoints_steps, metric = not stage1 and o.best_metric or nil,
      output_dir = o.output_dir, save_every = o.save_checkpoints_steps, keep_last = o.keep_checkpoints,
      resume = o.resume, desc = stage1 and "ner distill (att+rep)" or (teacher and "ner distill (pred)" or "ner"),
      progress = (o.progress == "auto") and nil or (o.progress == "true"),
      save_best = save_model,
    })
    tr.optimizer = K.optimizer(tr, model, o)
    summary = tr:fit()
    if summary.stopped == "nonfinite" then error(prog .. ": " .. tostring(summary.error), 0) end
    if summary.stopped == "interrupted" then error("interrupted (checkpoint saved; --resume continues)", 0) end
    if stage1 or not dev_items then save_model(model, o.output_dir .. "/best") end
    results.global_step = summary.step
    results.best_step = summary.best_step
    if summary.best then results["best_" .. o.best_metric] = summary.best end
    -- evaluate / predict with the best model
    if rt.sys.isdir(o.output_dir .. "/best") then
      model = rt.model.load(o.output_dir .. "/best", { quiet = true })
    end
  end
  model:eval()
  if o.do_eval and dev_items then
    local res, preds = M.evaluate(model, dev_items, labels, { batch_size = o.eval_batch_size,
      progress = o.progress ~= "false", pad_to = o.pad_to_max_length and max_len or nil })
    upd(results, { eval_f = res.token_f, eval_precision = res.token_precision, eval_recall = res.token_recall,
                   entity_f1 = res.f1, entity_precision = res.precision, entity_recall = res.recall,
                   eval_loss = res.eval_loss, eval_accuracy = res.accuracy })
    for ty, r in pairs(res.per_type) do results[ty .. "_f1"] = r.f1 end
    M.write_predictions(o.output_dir, "dev", dev_items, preds, labels)
    results.report = M.report(res, "dev")
    print(results.report)
  end
  if test then
    local items = M.dataset(test, tok, labels, D)
    local res, preds = M.evaluate(model, items, labels, { batch_size = o.predict_batch_size,
      progress = o.progress ~= "false", pad_to = o.pad_to_max_length and max_len or nil })
    M.write_predictions(o.output_dir, "test", items, preds, labels)
    upd(results, { test_f1 = res.f1, test_token_f = res.token_f })
  end
  write_results(o.output_dir .. "/eval_results.txt", results)
  results.summary = summary
  results.labels = labels
  return results
end

require("retort.log").autodoc(M, "rt.tasks.ner")
return M
