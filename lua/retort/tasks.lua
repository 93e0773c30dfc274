-- retort.tasks (rt.tasks): task metadata and reading-comprehension features.
--
--   rt.tasks.info("mrpc")                   --> {num_labels=2, metric="acc_and_f1", ...}
--   local ds, labels = rt.tasks.load("mrpc", dir, "train", tok, {max_len=128})
--   local feats, ex = rt.tasks.squad_features(rt.data.read_squad(path), tok,
--                        {max_len=384, doc_stride=128, max_query=64, training=true})
--   rt.tasks.squad_collate(items) --> batch with span_mask, start_positions, end_positions
local M = {}

local function rt() return require "retort" end

local INFO = {
  cola = { num_labels = 2, metric = "mcc" },
  ["sst-2"] = { num_labels = 2, metric = "acc" },
  mrpc = { num_labels = 2, metric = "acc_and_f1" },
  ["sts-b"] = { num_labels = 1, metric = "pearson_and_spearman", regression = true },
  qqp = { num_labels = 2, metric = "acc_and_f1" },
  mnli = { num_labels = 3, metric = "acc" },
  ["mnli-mm"] = { num_labels = 3, metric = "acc" },
  qnli = { num_labels = 2, metric = "acc" },
  rte = { num_labels = 2, metric = "acc" },
  wnli = { num_labels = 2, metric = "acc" },
  chnsenti = { num_labels = 2, metric = "acc" },
  lcqmc = { num_labels = 2, metric = "acc" },
  xnli = { num_labels = 3, metric = "acc" },
  ner = { num_labels = 11, metric = "ner_f1" },
  cmrc = { metric = "cmrc_f1_em" },
}

--- rt.tasks.info(task) -> {num_labels=, metric=, regression=} (metric names as in rt.metrics).
function M.info(task)
  return INFO[task] or error("rt.tasks.info: unknown task '" .. tostring(task) .. "'", 2)
end

--- rt.tasks.load(task, dir, split, tok, {max_len=128}) -> items, labels, examples
--- (read_task + rt.data.dataset; ChnSentiCorp labels are the sorted train labels).
function M.load(task, dir, split, tok, opts)
  opts = opts or {}
  local D = rt().data
  local ex, labels, info = D.read_task(task, dir, split)
  if split ~= "train" and not info.regression and task == "chnsenti" then
    labels = select(2, D.read_task(task, dir, "train"))
  end
  local items = D.dataset(ex, tok, { labels = labels, max_len = opts.max_len or 128, regression = info.regression })
  return items, labels, ex
end

-- Reading comprehension (BERT run_squad.py) ----------------------------------------

local function nospace(s) return (s:gsub("%s", "")) end

-- Document tokens as the CMRC script's customize_tokenizer: CJK, punctuation and
-- control characters are single tokens, whitespace separates, other runs stay together.
local function doc_tokens(context)
  local chars, classes = rt().tokenizer.char_class(context)
  local toks, c2w, byte2char = {}, {}, {}
  local prev_ws, pos = true, 1
  for i, ch in ipairs(chars) do
    byte2char[pos] = i
    pos = pos + #ch
    local c = classes[i]
    if c == "space" then
      prev_ws = true
    elseif c == "other" then
      if prev_ws then toks[#toks + 1] = ch else toks[#toks] = toks[#toks] .. ch end
      prev_ws = false
    else
      toks[#toks + 1] = ch
      prev_ws = true
    end
    c2w[i] = #toks                       -- 1-based token index (0: before any token)
  end
  return toks, c2w, byte2char, chars
end

--- rt.tasks.squad_examples(qas, {training=true}) -> examples, skipped
--- examples: {qas_id=, question=, doc_tokens=, answer=, start=, end_=} (token positions
--- 1-based; the answer is located at its FIRST occurrence in the context, as upstream).
function M.squad_examples(qas, opts)
  opts = opts or {}
  local training = opts.training ~= false
  local out, skipped = {}, 0
  for _, q in ipairs(qas) do
    local toks, c2w, byte2char, chars = doc_tokens(q.context)
    local ex = { qas_id = q.id, question = q.question, doc_tokens = toks, answers = q.answers, context = q.context }
    local ok = true
    if training then
      local a = q.answers[1]
      local b = a and a.text ~= "" and q.context:find(a.text, 1, true)
      if not b then ok = false
      else
        local sc = byte2char[b]
        local nchars = #rt().tokenizer.char_class(a.text)
        ex.answer = a.text
        ex.start = math.max(c2w[sc], 1)
        ex.end_ = c2w[math.min(sc + nchars - 1, #chars)]
        local actual = table.concat(toks, "", ex.start, ex.end_)
        if not nospace(actual):find(nospace(a.text), 1, true) then ok = false end
      end
    end
    if ok then out[#out + 1] = ex else skipped = skipped + 1 end
  end
  return out, skipped
end

local function max_context(spans, cur, pos)
  local best, best_i
  for i, s in ipairs(spans) do
    local e = s.start + s.length - 1
    if pos >= s.start and pos <= e then
      local score = math.min(pos - s.start, e - pos) + 0.01 * s.length
      if not best or score > best then best, best_i = score, i end
    end
  end
  return best_i == cur
end

--- rt.tasks.squad_features(qas_or_examples, tok, {max_len=384, doc_stride=128, max_query=64,
---   training=true}) -> features, examples, skipped
--- Sliding windows over the WordPiece'd document: [CLS] query [SEP] span [SEP]; span_mask 1 on
--- [CLS] and document tokens; token_to_orig (0-based position -> 1-based doc token) and
--- max_context flags (score min(left, right) + 0.01*length); training positions 0-based
--- (0, 0 = [CLS] when the answer is not inside the window), answer span refined like
--- upstream _improve_answer_span. unique_id starts at 1000000000.
function M.squad_features(qas, tok, opts)
  opts = opts or {}
  local max_len, stride, max_q = opts.max_len or 384, opts.doc_stride or 128, opts.max_query or 64
  local training = opts.training ~= false
  local examples, skipped = qas, 0
  if qas[1] and qas[1].doc_tokens == nil then examples, skipped = M.squad_examples(qas, { training = training }) end
  local feats, uid = {}, 1000000000
  for ei, ex in ipairs(examples) do
    local q = tok:encode_ids(ex.question)
    for i = #q, max_q + 1, -1 do q[i] = nil end
    local tok2orig, orig2tok, all = {}, {}, {}
    for i, t in ipairs(ex.doc_tokens) do
      orig2tok[i] = #all                                  -- 0-based
      for _, p in ipairs(tok:encode_ids(t)) do tok2orig[#all + 1] = i; all[#all + 1] = p end
    end
    local ts, te
    if training then
      ts = orig2tok[ex.start]
      te = ex.end_ < #ex.doc_tokens and orig2tok[ex.end_ + 1] - 1 or #all - 1
      local want = table.concat(tok:encode_ids(ex.answer), " ")
      local done = false
      for ns = ts, te do
        for ne = te, ns, -1 do
          if table.concat(all, " ", ns + 1, ne + 1) == want then ts, te, done = ns, ne, true; break end
        end
        if done then break end
      end
    end
    local room = max_len - #q - 3
    if room < 1 then error(("squad_features: max_len %d leaves no room after a %d-token query"):format(max_len, #q), 2) end
    local spans, s0 = {}, 0
    while s0 < #all do
      local len = math.min(#all - s0, room)
      spans[#spans + 1] = { start = s0, length = len }
      if s0 + len == #all then break end
      s0 = s0 + math.min(len, stride)
    end
    for si, sp in ipairs(spans) do
      local ids, seg, smask = { tok.cls_id }, { 0 }, { 1 }
      for _, id in ipairs(q) do ids[#ids + 1] = id; seg[#seg + 1] = 0; smask[#smask + 1] = 0 end
      ids[#ids + 1] = tok.sep_id; seg[#seg + 1] = 0; smask[#smask + 1] = 0
      local t2o, maxc = {}, {}
      for i = 0, sp.length - 1 do
        local k = sp.start + i
        t2o[#ids] = tok2orig[k + 1]
        maxc[#ids] = max_context(spans, si, k)
        ids[#ids + 1] = all[k + 1]; seg[#seg + 1] = 1; smask[#smask + 1] = 1
      end
      ids[#ids + 1] = tok.sep_id; seg[#seg + 1] = 1; smask[#smask + 1] = 0
      local f = { ids = ids, seg = seg, span_mask = smask, unique_id = uid, example_index = ei,
                  doc_span_index = si, token_to_orig = t2o, max_context = maxc, qas_id = ex.qas_id }
      if training then
        local ds, de = sp.start, sp.start + sp.length - 1
        if ts >= ds and te <= de then
          f.start_position, f.end_position = ts - ds + #q + 2, te - ds + #q + 2
        else
          f.start_position, f.end_position = 0, 0
        end
      end
      feats[#feats + 1] = f
      uid = uid + 1
    end
  end
  return feats, examples, skipped
end

--- rt.tasks.squad_collate(items, {pad_to=}) -> {input_ids=, token_type_ids=, attention_mask=,
--- span_mask=, start_positions=, end_positions=} ([B, L] and [B] i64 tensors).
function M.squad_collate(items, opts)
  local D = rt().data
  local b = D.collate(items, opts)
  local m, sp, ep = {}, {}, {}
  for i, it in ipairs(items) do
    m[i] = it.span_mask
    sp[i] = it.start_position or 0
    ep[i] = it.end_position or 0
  end
  local w = b.input_ids:shape()[2]
  b.span_mask = D.pack_i64(m, w, 0)
  if items[1] and items[1].start_position then
    b.start_positions = D.pack_i64({ sp }, #sp, 0):reshape(#sp)
    b.end_positions = D.pack_i64({ ep }, #ep, 0):reshape(#ep)
  end
  return b
end

require("retort.log").autodoc(M, "rt.tasks")
-- rt.tasks.ner / rt.tasks.cmrc: the sequence-labelling and reading-comprehension
-- pipelines (lua/retort/ner.lua, lua/retort/cmrc.lua), loaded on first use.
return setmetatable(M, { __index = function(t, k)
  if k == "ner" or k == "cmrc" then
    local mod = require("retort." .. k)
    rawset(t, k, mod)
    return mod
  end
end })
