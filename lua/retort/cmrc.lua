-- retort.cmrc (rt.tasks.cmrc): CMRC 2018 / SQuAD reading comprehension as
-- NEZHA-TensorFlow/run_squad.py does it: sliding windows over the context, a span
-- head (start/end logits, masked outside the document), answers decoded with the
-- n-best / max-context rules and mapped back to the original characters.
--
--   local Q = rt.tasks.cmrc
--   local qas = Q.read("cmrc2018_dev.json")                 -- answer_start checked
--   local feats, ex = Q.features(qas, tok, {max_len = 512, training = false})
--   local results = Q.predict(model, feats)                 -- unique_id -> log-probs
--   local preds, nbest = Q.decode(ex, feats, results, {n_best = 20, max_answer_length = 30})
--   rt.metrics.cmrc(rt.log.read_json("cmrc2018_dev.json"), preds)  --> {EM, F1, AVERAGE, ...}
local rt = rt or require "retort"
local K = require "retort.taskkit"
local M = {}

local function chars(s)
  local t = {}
  if not utf8.len(s) then for i = 1, #s do t[i] = s:sub(i, i) end return t end
  for _, c in utf8.codes(s) do t[#t + 1] = utf8.char(c) end
  return t
end

-- the line of a question id in a JSON file (error messages)
local function id_line(text, id)
  local esc = tostring(id):gsub("%W", "%%%0")
  local p = text:find('"id"%s*:%s*"' .. esc .. '"') or text:find('"id"%s*:%s*' .. esc)
  if not p then return nil end
  local n = 1
  for _ in text:sub(1, p):gmatch("\n") do n = n + 1 end
  return n
end

--- Q.read(path, {check_answer_start="error"|"warn"|"ignore"}) -> qas {{id=, question=,
--- context=, answers={{text=, start=}}, line=}}. An answer whose answer_start (a
--- character offset) does not point at its text is an error naming file:line
--- ("warn": a message on stderr; training uses the first occurrence of the text
--- anyway, as upstream).
function M.read(path, o)
  o = o or {}
  local mode = o.check_answer_start or "error"
  local qas = rt.data.read_squad(path)
  local text
  local function line_of(id)
    if not text then
      local f = io.open(path, "rb")
      text = f and f:read("a") or ""
      if f then f:close() end
    end
    return id_line(text, id) or 0
  end
  for _, q in ipairs(qas) do
    q.file, q.line_of = path, line_of
    if mode ~= "ignore" then
      local cc
      for k, a in ipairs(q.answers) do
        if a.start and a.start >= 0 then
          cc = cc or chars(q.context)
          local ac = chars(a.text)
          local got = table.concat(cc, "", a.start + 1, math.min(#cc, a.start + #ac))
          if got ~= a.text then
            local msg = string.format("%s:%d: question %s answer %d: answer_start %d points at '%s', not at its text '%s'",
              path, line_of(q.id), q.id, k, a.start, got, a.text)
            if mode == "error" then error(msg .. " (--check_answer_start warn to go on)", 0) end
            io.stderr:write("warning: ", msg, "\n")
          end
        end
      end
    end
  end
  return qas
end

--- Q.features(qas, tok, {max_len=512, doc_stride=128, max_query=64, training=true})
--- -> features, examples, skipped. rt.tasks.squad_features plus the tokens of every
--- window (for decoding); a query that leaves no room for the document is an error
--- naming file:line. Training examples whose answer text is not in the context are
--- skipped (upstream stops in pdb there).
function M.features(qas, tok, o)
  o = o or {}
  local max_len, max_q = o.max_len or 512, o.max_query or 64
  for _, q in ipairs(qas) do
    local nq = math.min(#tok:encode_ids(q.question), max_q)
    if max_len - nq - 3 < 1 then
      local where = q.file and string.format("%s:%d: ", q.file, q.line_of and q.line_of(q.id) or 0) or ""
      error(string.format("%squestion %s: max_seq_length %d leaves no window for the context after a %d-token query",
        where, tostring(q.id), max_len, nq), 0)
    end
  end
  local feats, ex, skipped = rt.tasks.squad_features(qas, tok, { max_len = max_len, doc_stride = o.doc_stride or 128,
    max_query = max_q, training = o.training })
  for _, f in ipairs(feats) do f.tokens = tok:convert_ids_to_tokens(f.ids) end
  return feats, ex, skipped
end

--- Q.collate(features) -> batch with span_mask, start/end positions (rt.tasks.squad_collate).
function M.collate(list)
  local b = rt.tasks.squad_collate(list)
  b.size = #list
  return b
end

--- Q.masked_logits(out, batch) -> start, end [B, L]: logits + (1 - span_mask) * -10000.
function M.masked_logits(out, b)
  local pen = (b.span_mask:float() - 1) * 10000
  return out.start_logits + pen, out.end_logits + pen
end

--- Q.loss(start, end, batch) -> (CE(start) + CE(end)) / 2, each a mean over the batch.
function M.loss(s, e, b)
  return (rt.F.cross_entropy(s, b.start_positions) + rt.F.cross_entropy(e, b.end_positions)) * 0.5
end

--- Q.distill_pred_loss(s_start, s_end, t_start, t_end, T) -> (softCE(start) + softCE(end)) / 2
--- at temperature T on the masked logits (TinyBERT's mean over batch x positions).
function M.distill_pred_loss(ss, se, ts, te, T)
  return (rt.F.soft_cross_entropy(ss, ts, T or 1) + rt.F.soft_cross_entropy(se, te, T or 1)) * 0.5
end

local function forward(model, b)
  return model:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask })
end
M.forward = forward

--- Q.predict(model, features, {batch_size=8, progress=true}) -> {unique_id = {start_logits=, end_logits=}}
--- (log_softmax of the masked logits, as run_squad.py emits them; Lua lists over positions).
function M.predict(model, feats, o)
  o = o or {}
  local bs = o.batch_size or 8
  local res = {}
  local nb = (#feats + bs - 1) // bs
  local bar = o.progress ~= false and nb >= 50 and rt.progress.new({ total = nb, desc = "cmrc predict", every = 50 })
  rt.no_grad(function()
    for s = 1, #feats, bs do
      if bar then bar:update(s // bs + 1) end
      local list = {}
      for j = s, math.min(s + bs - 1, #feats) do list[#list + 1] = feats[j] end
      local b = M.collate(list)
      local st, en = M.masked_logits(forward(model, b), b)
      local ls, le = st:log_softmax(2):totable(), en:log_softmax(2):totable()
      for i, f in ipairs(list) do
        local a, z = {}, {}
        for k = 1, #f.ids do a[k] = ls[i][k]; z[k] = le[i][k] end
        res[f.unique_id] = { start_logits = a, end_logits = z }
      end
    end
  end)
  if bar then bar:close() end
  return res
end

-- _get_best_indexes: the n largest, ties in position order (0-based indices)
local function best_indexes(logits, n)
  local idx = {}
  for i = 1, #logits do idx[i] = i end
  table.sort(idx, function(a, b) if logits[a] ~= logits[b] then return logits[a] > logits[b] end return a < b end)
  local out = {}
  for i = 1, math.min(n, #idx) do out[i] = idx[i] - 1 end
  return out
end

local function strip_spaces(cs)
  local ns, map = {}, {}
  for i, c in ipairs(cs) do
    if c ~= " " then ns[#ns + 1] = c; map[#ns] = i end
  end
  return ns, map
end

local function find_chars(hay, needle)
  local n, m = #hay, #needle
  if m == 0 then return 1 end
  for i = 1, n - m + 1 do
    local ok = true
    for j = 1, m do if hay[i + j - 1] ~= needle[j] then ok = false; break end end
    if ok then return i end
  end
  return nil
end

--- Q.final_text(pred_text, orig_text, tok) -> text: BERT's get_final_text (project the
--- tokenized prediction back onto the original text through the basic tokenizer,
--- character by character; the whole original span when they do not line up).
function M.final_text(pred_text, orig_text, tok)
  local tok_text = table.concat(tok:basic_tokenize(orig_text), " ")
  local tc, pc, oc = chars(tok_text), chars(pred_text), chars(orig_text)
  local sp = find_chars(tc, pc)
  if not sp then return orig_text end
  local ep = sp + #pc - 1
  local ons, omap = strip_spaces(oc)
  local tns, tmap = strip_spaces(tc)
  if #ons ~= #tns then return orig_text end
  local t_s2ns = {}
  for i, ti in pairs(tmap) do t_s2ns[ti] = i end
  local os_, oe
  if t_s2ns[sp] then os_ = omap[t_s2ns[sp]] end
  if not os_ then return orig_text end
  if t_s2ns[ep] then oe = omap[t_s2ns[ep]] end
  if not oe then return orig_text end
  return table.concat(oc, "", os_, oe)
end

local function softmax(scores)
  local mx
  for _, s in ipairs(scores) do if not mx or s > mx then mx = s end end
  local ex, tot = {}, 0
  for i, s in ipairs(scores) do ex[i] = math.exp(s - mx); tot = tot + ex[i] end
  for i = 1, #ex do ex[i] = ex[i] / tot end
  return ex
end

local function join_tokens(toks, a, b)
  local t = table.concat(toks, " ", a, b)
  t = t:gsub(" ##", ""):gsub("##", "")
  local w = {}
  for x in t:gmatch("%S+") do w[#w + 1] = x end
  return table.concat(w, " ")
end

--- Q.decode(examples, features, results, {n_best=20, max_answer_length=30}, tok)
--- -> predictions {qas_id = text}, nbest {qas_id = {{text=, probability=, start_logit=,
--- end_logit=}, ...}}. run_squad.py write_predictions: the n_best top start and end
--- positions of every window; spans off the document, not starting in their max-context
--- window, reversed or longer than max_answer_length dropped; sorted by start + end
--- score; text = final_text of the original tokens with every space removed; duplicates
--- dropped; start 0 ([CLS]) gives ""; the prediction is the first non-empty entry.
--- features carry tokens (strings), token_to_orig (0-based position -> 1-based doc
--- token), max_context (0-based position -> bool), example_index, unique_id.
function M.decode(examples, feats, results, o, tok)
  o = o or {}
  local nb, maxlen = o.n_best or 20, o.max_answer_length or 30
  local by_ex = {}
  for _, f in ipairs(feats) do
    by_ex[f.example_index] = by_ex[f.example_index] or {}
    table.insert(by_ex[f.example_index], f)
  end
  local preds, nbest = {}, {}
  for ei, ex in ipairs(examples) do
    local fs = by_ex[ei] or {}
    local prelim = {}
    for fi, f in ipairs(fs) do
      local r = results[f.unique_id]
      if r then
        local ntok = #f.tokens
        for _, s in ipairs(best_indexes(r.start_logits, nb)) do
          for _, e in ipairs(best_indexes(r.end_logits, nb)) do
            if s < ntok and e < ntok and f.token_to_orig[s] and f.token_to_orig[e] and f.max_context[s]
               and e >= s and e - s + 1 <= maxlen then
              prelim[#prelim + 1] = { fi = fi, s = s, e = e, sl = r.start_logits[s + 1], el = r.end_logits[e + 1],
                                      k = #prelim + 1 }
            end
          end
        end
      end
    end
    table.sort(prelim, function(a, b)
      local x, y = a.sl + a.el, b.sl + b.el
      if x ~= y then return x > y end
      return a.k < b.k
    end)
    local seen, list = {}, {}
    for _, p in ipairs(prelim) do
      if #list >= nb then break end
      local f = fs[p.fi]
      local text
      if p.s > 0 then
        local tok_text = join_tokens(f.tokens, p.s + 1, p.e + 1)
        local od, oe = f.token_to_orig[p.s], f.token_to_orig[p.e]
        local orig_text = table.concat(ex.doc_tokens, " ", od, oe)
        text = M.final_text(tok_text, orig_text, tok):gsub(" ", "")
        if seen[text] then goto continue end
      else
        text = ""
      end
      seen[text] = true
      list[#list + 1] = { text = text, start_logit = p.sl, end_logit = p.el }
      ::continue::
    end
    if #list == 0 then list[1] = { text = "empty", start_logit = 0.0, end_logit = 0.0 } end
    local scores = {}
    for i, e in ipairs(list) do scores[i] = e.start_logit + e.end_logit end
    local probs = softmax(scores)
    local best
    for i, e in ipairs(list) do
      e.probability = probs[i]
      if not best and e.text ~= "" then best = e.text end
    end
    preds[ex.qas_id] = best or ""
    nbest[ex.qas_id] = list
  end
  return preds, nbest
end


-- The recipe ---------------------------------------------------------------

--- Q.FLAGS: lua/recipes/cmrc.lua's flags (run_squad.py's names; the
--- scripts/run_reading.sh values as defaults).
M.FLAGS = {
  { "train_file", nil, "SQuAD/CMRC JSON for training" },
  { "predict_file", nil, "SQuAD/CMRC JSON to predict (dev_predictions.json)" },
  { "output_dir", nil, "predictions, log.jsonl, checkpoints, best/", required = true },
  { "init_checkpoint", nil, "checkpoint to start from (folder or file)" },
  { "model_dir", nil, "the same as --init_checkpoint (a folder)" },
  { "bert_config_file", nil, "config for --from_scratch" },
  { "vocab_file", nil, "vocab.txt (default: next to the checkpoint)" },
  { "do_lower_case", false, "lower-case the input", type = "bool" },
  { "max_seq_length", 512, "window length in pieces, [CLS] query [SEP] span [SEP]", type = "int" },
  { "doc_stride", 128, "window stride over the document", type = "int" },
  { "max_query_length", 64, "question pieces kept", type = "int" },
  { "do_train", false, "train on --train_file", type = "bool" },
  { "do_predict", false, "predict --predict_file", type = "bool" },
  { "train_batch_size", 4, "windows per step", type = "int" },
  { "predict_batch_size", 8, "windows per predict batch", type = "int" },
  { "learning_rate", 3e-5, "peak learning rate", type = "float" },
  { "num_train_epochs", 1.0, "epochs (fractions allowed)", type = "float" },
  { "warmup_proportion", 0.1, "linear warmup fraction", type = "float" },
  { "save_checkpoints_steps", 1000, "checkpoint every N steps", type = "int" },
  { "iterations_per_loop", 1000, "TPU flag, accepted and ignored", type = "int" },
  { "n_best_size", 20, "n-best starts/ends per window and entries in the n-best file", type = "int" },
  { "max_answer_length", 30, "longest answer in pieces", type = "int" },
  { "use_tpu", false, "accepted and ignored", type = "bool" },
  { "verbose_logging", false, "accepted and ignored", type = "bool" },
  { "rand_seed", 12345, "seed (shuffling, initialisation, dropout)", type = "int" },
  { "check_answer_start", "error", "an answer_start that misses its text: error | warn | ignore",
    choices = { "error", "warn", "ignore" } },
  { "eval_steps", nil, "with --do_predict: score the predict file every N steps and keep best/ by AVERAGE", type = "int" },
  { "optimizer", "adam_weight_decay", "adam_weight_decay (TF) | adamw | bertadam | lamb" },
  { "weight_decay", 0.01, "weight decay (not on bias/LayerNorm)", type = "float" },
  { "max_steps", nil, "stop after N steps", type = "int" },
  { "max_train_examples", nil, "use the first N training questions", type = "int" },
  { "keep_checkpoints", 2, "checkpoints kept", type = "int" },
  { "resume", false, "continue from the newest checkpoint in output_dir", type = "bool" },
  { "teacher_model", nil, "distil from this fine-tuned CMRC model (folder written by this recipe)" },
  { "pred_distill", false, "distillation stage 2: start/end soft CE (else stage 1: att + rep)", type = "bool" },
  { "temperature", 1.0, "distillation temperature", type = "float" },
}
K.append_flags(M.FLAGS, K.SCRATCH_FLAGS)

M.DEPARTURES = {
  "training shuffles with retort's generator (same --rand_seed, another order than numpy's)",
  "batches are padded to their longest window, not to max_seq_length (same logits)",
  "answer_start is checked (--check_answer_start); training still uses the first occurrence of the text",
  "--eval_steps, --teacher_model/--pred_distill/--temperature, --from_scratch are retort's",
  "predictions are written without JSON indentation",
}

local function write_json(path, v) rt.sys.atomic_write(path, rt.log.json_encode(v) .. "\n") end

--- Q.run(o) -> results: the whole recipe (o = parsed Q.FLAGS): train, predict, score.
function M.run(o)
  local prog = "cmrc"
  if o.threads then rt.set_threads(o.threads) end
  rt.manual_seed(o.rand_seed)
  if not (o.do_train or o.do_predict) then error(prog .. ": at least one of --do_train or --do_predict must be true", 0) end
  if o.do_train and not o.train_file then error(prog .. ": --do_train needs --train_file", 0) end
  if o.do_predict and not o.predict_file then error(prog .. ": --do_predict needs --predict_file", 0) end
  rt.sys.mkdir(o.output_dir)
  local vocab = K.vocab_of(o, prog)
  local tok = rt.tokenizer.load(vocab, { lower = o.do_lower_case })
  local FO = { max_len = o.max_seq_length, doc_stride = o.doc_stride, max_query = o.max_query_length }
  local teacher, maps
  if o.teacher_model then teacher = K.teacher(o, vocab, { head = "qa", prog = prog }) end
  local model = K.build_model(o, tok, { head = "qa", num_labels = 2, max_len = o.max_seq_length,
                                        fit_size = teacher and teacher.config.hidden_size, prog = prog })
  K.check_length(model, o.max_seq_length, prog)
  if teacher then
    maps = K.distill_maps(model, teacher, { stage1 = not o.pred_distill, teacher_name = o.teacher_model,
      student_name = o.output_dir, teacher_vocab = o.teacher_model .. "/vocab.txt", student_vocab = vocab,
      max_seq_len = o.max_seq_length, prog = prog })
  end
  local function save_model(m, dir) m:save(dir); tok:save(dir .. "/vocab.txt") end

  local pred_qas, pred_feats, pred_ex, gold
  if o.do_predict then
    pred_qas = M.read(o.predict_file, { check_answer_start = o.check_answer_start })
    pred_feats, pred_ex = M.features(pred_qas, tok, { max_len = FO.max_len, doc_stride = FO.doc_stride,
                                                      max_query = FO.max_query, training = false })
    gold = rt.log.read_json(o.predict_file)
  end
  local DO = { n_best = o.n_best_size, max_answer_length = o.max_answer_length }
  local function score(m)
    local res = M.predict(m, pred_feats, { batch_size = o.predict_batch_size, progress = false })
    local preds = M.decode(pred_ex, pred_feats, res, DO, tok)
    return rt.metrics.cmrc(gold, preds)
  end

  local results, summary = {}, nil
  if o.do_train then
    local qas = M.read(o.train_file, { check_answer_start = o.check_answer_start })
    if o.max_train_examples then while #qas > o.max_train_examples do table.remove(qas) end end
    local feats, _, skipped = M.features(qas, tok, { max_len = FO.max_len, doc_stride = FO.doc_stride,
                                                     max_query = FO.max_query, training = true })
    if skipped > 0 then
      io.stderr:write(string.format("cmrc: skipped %d training questions whose answer text is not in the context\n", skipped))
    end
    results.train_windows, results.train_skipped = #feats, skipped
    local stage1 = teacher and not o.pred_distill
    local bs = o.train_batch_size
    local evaluate = o.do_predict and o.eval_steps and not stage1
    local tr = require("retort.trainer").new({
      model = model, train = feats, batch_size = bs, seed = o.rand_seed, collate = M.collate,
      epochs = math.max(1, math.ceil(o.num_train_epochs)),
      -- run_squad.py: num_train_steps = int(len(train_examples) / batch * epochs), counted in
      -- questions although the steps consume windows
      max_steps = o.max_steps or math.max(1, math.floor(#qas / bs * o.num_train_epochs)),
      step_fn = function(m, b)
        local out = forward(m, b)
        local ntok = b.attention_mask:sum():item()
        local s, e = M.masked_logits(out, b)
        if not teacher then return M.loss(s, e, b), nil, ntok, b.size end
        local tout = rt.no_grad(function() return forward(teacher, b) end)
        if stage1 then
          local L = rt.distill.losses(out, tout, { att = true, rep = true, att_map = maps.att_map,
                                                   hidden_map = maps.hidden_map })
          return L.total, { att_loss = L.att, rep_loss = L.rep }, ntok, b.size
        end
        local ts, te = M.masked_logits(tout, b)
        local l = M.distill_pred_loss(s, e, ts, te, o.temperature)
        return l, { pred_loss = l }, ntok, b.size
      end,
      eval = evaluate and { name = "dev", fn = function(m) return score(m) end } or nil,
      eval_every = evaluate and o.eval_steps or nil, metric = evaluate and "AVERAGE" or nil,
      output_dir = o.output_dir, save_every = o.save_checkpoints_steps, keep_last = o.keep_checkpoints,
      resume = o.resume, desc = stage1 and "cmrc distill (att+rep)" or (teacher and "cmrc distill (pred)" or "cmrc"),
      progress = (o.progress == "auto") and nil or (o.progress == "true"),
      save_best = save_model,
    })
    tr.optimizer = K.optimizer(tr, model, o)
    summary = tr:fit()
    if summary.stopped == "nonfinite" then error(prog .. ": " .. tostring(summary.error), 0) end
    if summary.stopped == "interrupted" then error("interrupted (checkpoint saved; --resume continues)", 0) end
    if not evaluate then save_model(model, o.output_dir .. "/best")
    else model = rt.model.load(o.output_dir .. "/best", { quiet = true }) end
    results.global_step, results.best_step, results.best_AVERAGE = summary.step, summary.best_step, summary.best
    print(string.format("cmrc: trained %d steps on %d windows (%d questions skipped); model in %s/best", summary.step,
      #feats, skipped, o.output_dir))
  end
  if o.do_predict then
    model:eval()
    local res = M.predict(model, pred_feats, { batch_size = o.predict_batch_size, progress = o.progress ~= "false" })
    local preds, nbest = M.decode(pred_ex, pred_feats, res, DO, tok)
    write_json(o.output_dir .. "/dev_predictions.json", preds)
    write_json(o.output_dir .. "/dev_nbest_predictions.json", nbest)
    local m = rt.metrics.cmrc(gold, preds)
    for k, v in pairs(m) do results[k] = v end
    print(string.format("cmrc: %s: EM %.3f F1 %.3f AVERAGE %.3f (%d questions, %d windows)", o.predict_file, m.EM,
      m.F1, m.AVERAGE, m.TOTAL, #pred_feats))
  end
  results.summary = summary
  return results
end

require("retort.log").autodoc(M, "rt.tasks.cmrc")
return M
