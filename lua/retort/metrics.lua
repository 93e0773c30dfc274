-- retort.metrics (rt.metrics): evaluation metrics of the GLUE/CLUE, NER and
-- reading-comprehension tasks. Inputs are Lua arrays or tensors (labels are
-- data: 0-based ids, strings or numbers, compared with ==).
--   M = rt.metrics
--   M.accuracy(pred, gold)                       --> 0.75
--   M.f1(pred, gold, {average = "macro"})        --> f1   (binary | macro | micro | weighted)
--   M.mcc(pred, gold)  M.pearson(x, y)  M.spearman(x, y)
--   M.glue("mrpc", pred, gold)                   --> {acc=, f1=, acc_and_f1=}
--   M.ner_entity(pred_tags, gold_tags)           --> {precision=, recall=, f1=, per_type = {...}}
--   M.ner_token(pred_ids, gold_ids)              --> NEZHA token-level P/R/F
--   M.squad(data, predictions)  M.cmrc(data, predictions)
-- Metric definitions follow scikit-learn 1.2 / SciPy (zero divisions give 0; a
-- constant input gives a NaN correlation), conlleval, the SQuAD v1.1 script and
-- the CMRC 2018 evaluation script (cmrc2018_evaluate.py).
local M = {}

local function flat(x, out)
  out = out or {}
  if type(x) == "userdata" and x.totable then x = x:totable() end
  if type(x) == "table" then
    for i = 1, #x do
      local v = x[i]
      if type(v) == "table" or type(v) == "userdata" then flat(v, out) else out[#out + 1] = v end
    end
  else
    out[#out + 1] = x
  end
  return out
end
M.flatten = flat

local function pair(pred, gold, fn)
  local p, g = flat(pred), flat(gold)
  if #p ~= #g then error(string.format("rt.metrics.%s: %d predictions for %d labels", fn, #p, #g), 3) end
  return p, g
end

--- accuracy(pred, gold) -> fraction of equal entries (0 for empty input).
function M.accuracy(pred, gold)
  local p, g = pair(pred, gold, "accuracy")
  if #p == 0 then return 0 end
  local c = 0
  for i = 1, #p do if p[i] == g[i] then c = c + 1 end end
  return c / #p
end

--- argmax(logits) -> array of 0-based class ids, one per row of a [N, C] tensor/table.
function M.argmax(logits)
  if type(logits) == "userdata" then logits = logits:totable() end
  local out = {}
  for i, row in ipairs(logits) do
    local best, bi = -math.huge, 0
    for j, v in ipairs(row) do if v > best then best, bi = v, j - 1 end end
    out[i] = bi
  end
  return out
end

local function sorted_labels(...)
  local seen, list = {}, {}
  for _, arr in ipairs({ ... }) do
    for _, v in ipairs(arr) do if not seen[v] then seen[v] = true; list[#list + 1] = v end end
  end
  table.sort(list, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) < type(b)
  end)
  return list
end

local function div(a, b) if b == 0 then return 0 end return a / b end
local function fscore(p, r) if p + r == 0 then return 0 end return 2 * p * r / (p + r) end

-- max over references of the overlap F1: overlap(ref) -> (common, reference length);
-- pred_tokens is the prediction's token list (reading-comprehension metrics).
local function best_overlap_f1(answers, pred_tokens, overlap)
  if type(answers) == "string" then answers = { answers } end
  local best = 0
  for _, a in ipairs(answers) do
    local common, nref = overlap(a)
    local f = common > 0 and fscore(common / #pred_tokens, common / nref) or 0
    if f > best then best = f end
  end
  return best
end

--- precision_recall_f1(pred, gold, opts) -> precision, recall, f1 (and per-label table).
--- opts.average: "binary" (default; opts.pos_label, default 1), "macro", "micro", "weighted";
--- opts.labels restricts the labels averaged (as sklearn's labels=).
function M.precision_recall_f1(pred, gold, o)
  o = o or {}
  local p, g = pair(pred, gold, "precision_recall_f1")
  local avg = o.average or "binary"
  local labels = o.labels
  if avg == "binary" then
    labels = { o.pos_label == nil and 1 or o.pos_label }
  elseif not labels then
    labels = sorted_labels(g, p)
  end
  local tp, pp, gp = {}, {}, {}
  local idx = {}
  for i, l in ipairs(labels) do idx[l] = i; tp[i], pp[i], gp[i] = 0, 0, 0 end
  for i = 1, #p do
    local a, b = idx[p[i]], idx[g[i]]
    if a then pp[a] = pp[a] + 1 end
    if b then gp[b] = gp[b] + 1 end
    if a and p[i] == g[i] then tp[a] = tp[a] + 1 end
  end
  local per = {}
  for i, l in ipairs(labels) do
    local pr, rc = div(tp[i], pp[i]), div(tp[i], gp[i])
    per[i] = { label = l, precision = pr, recall = rc, f1 = fscore(pr, rc), support = gp[i] }
  end
  if avg == "micro" then
    local T, P, G = 0, 0, 0
    for i = 1, #labels do T, P, G = T + tp[i], P + pp[i], G + gp[i] end
    local pr, rc = div(T, P), div(T, G)
    return pr, rc, fscore(pr, rc), per
  elseif avg == "binary" then
    return per[1].precision, per[1].recall, per[1].f1, per
  end
  local sp, sr, sf, sw = 0, 0, 0, 0
  for _, e in ipairs(per) do
    local w = (avg == "weighted") and e.support or 1
    sp, sr, sf, sw = sp + w * e.precision, sr + w * e.recall, sf + w * e.f1, sw + w
  end
  return div(sp, sw), div(sr, sw), div(sf, sw), per
end

--- f1(pred, gold, opts) -> F1 (see precision_recall_f1).
function M.f1(pred, gold, o)
  local _, _, f = M.precision_recall_f1(pred, gold, o)
  return f
end
function M.precision(pred, gold, o) return (M.precision_recall_f1(pred, gold, o)) end
function M.recall(pred, gold, o) local _, r = M.precision_recall_f1(pred, gold, o); return r end

--- mcc(pred, gold) -> Matthews correlation (multiclass, as sklearn; 0 when undefined).
function M.mcc(pred, gold)
  local p, g = pair(pred, gold, "mcc")
  local labels = sorted_labels(g, p)
  local idx = {}
  for i, l in ipairs(labels) do idx[l] = i end
  local ts, ps, correct, n = {}, {}, 0, #p
  for i = 1, #labels do ts[i], ps[i] = 0, 0 end
  for i = 1, n do
    local a, b = idx[p[i]], idx[g[i]]
    ps[a] = ps[a] + 1; ts[b] = ts[b] + 1
    if a == b then correct = correct + 1 end
  end
  local tp, pp, tt = 0, 0, 0
  for i = 1, #labels do tp = tp + ts[i] * ps[i]; pp = pp + ps[i] * ps[i]; tt = tt + ts[i] * ts[i] end
  local cov_tp = correct * n - tp
  local cov_pp = n * n - pp
  local cov_tt = n * n - tt
  if cov_pp * cov_tt == 0 then return 0 end
  return cov_tp / math.sqrt(cov_tt * cov_pp)
end
M.matthews_corrcoef = M.mcc

--- pearson(x, y) -> Pearson r (NaN when an input is constant, as SciPy).
function M.pearson(x, y)
  local a, b = pair(x, y, "pearson")
  local n = #a
  if n < 2 then return 0 / 0 end
  local ma, mb = 0, 0
  for i = 1, n do ma, mb = ma + a[i], mb + b[i] end
  ma, mb = ma / n, mb / n
  local sab, saa, sbb = 0, 0, 0
  for i = 1, n do
    local da, db = a[i] - ma, b[i] - mb
    sab, saa, sbb = sab + da * db, saa + da * da, sbb + db * db
  end
  if saa == 0 or sbb == 0 then return 0 / 0 end
  local r = sab / math.sqrt(saa * sbb)
  return math.max(-1, math.min(1, r))
end

--- rank(x) -> average ranks (1-based, ties share their mean rank).
function M.rank(x)
  local a = flat(x)
  local order = {}
  for i = 1, #a do order[i] = i end
  table.sort(order, function(i, j) if a[i] ~= a[j] then return a[i] < a[j] end return i < j end)
  local r = {}
  local i = 1
  while i <= #order do
    local j = i
    while j < #order and a[order[j + 1]] == a[order[i]] do j = j + 1 end
    local avg = (i + j) / 2
    for k = i, j do r[order[k]] = avg end
    i = j + 1
  end
  return r
end

--- spearman(x, y) -> Spearman rho (Pearson of tie-averaged ranks).
function M.spearman(x, y)
  local a, b = pair(x, y, "spearman")
  return M.pearson(M.rank(a), M.rank(b))
end

---------------------------------------------------------------------------
-- GLUE / CLUE task metrics (TinyBERT task_distill.py compute_metrics)
---------------------------------------------------------------------------
local TASK_KEY = { cola = "mcc", ["sts-b"] = "corr", stsb = "corr" }

--- glue(task, pred, gold) -> table of metrics for the task (pred: class ids, or
--- scores for sts-b). cola: mcc; mrpc, qqp: acc, f1, acc_and_f1; sts-b: pearson,
--- spearman, corr; everything else (sst-2, mnli, qnli, rte, wnli, lcqmc, xnli,
--- chnsenti, ...): acc.
function M.glue(task, pred, gold)
  task = tostring(task):lower()
  if task == "cola" then return { mcc = M.mcc(pred, gold) } end
  if task == "sts-b" or task == "stsb" then
    local p, s = M.pearson(pred, gold), M.spearman(pred, gold)
    return { pearson = p, spearman = s, corr = (p + s) / 2 }
  end
  if task == "mrpc" or task == "qqp" then
    local acc, f1 = M.accuracy(pred, gold), M.f1(pred, gold, { average = "binary", pos_label = 1 })
    return { acc = acc, f1 = f1, acc_and_f1 = (acc + f1) / 2 }
  end
  return { acc = M.accuracy(pred, gold) }
end

--- task_metric(task) -> name of the metric that selects the best model ("acc", "mcc", "corr").
function M.task_metric(task) return TASK_KEY[tostring(task):lower()] or "acc" end

---------------------------------------------------------------------------
-- NER
---------------------------------------------------------------------------
local function split_tag(t)
  if t == "O" or t == nil then return "O", "" end
  local p, ty = t:match("^([BIESL])[-_](.+)$")
  if p then if p == "L" then p = "E" end return p, ty end
  local ty2, p2 = t:match("^(.+)[-_]([BIES])$")
  if p2 then return p2, ty2 end
  return "I", t
end

local function end_of_chunk(pt, t, pty, ty)
  if pt == "E" or pt == "S" then return true end
  if pt == "B" and (t == "B" or t == "S" or t == "O") then return true end
  if pt == "I" and (t == "B" or t == "S" or t == "O") then return true end
  if pt ~= "O" and pty ~= ty then return true end
  return false
end

local function start_of_chunk(pt, t, pty, ty)
  if t == "B" or t == "S" then return true end
  if (pt == "E" or pt == "S" or pt == "O") and (t == "E" or t == "I") then return true end
  if t ~= "O" and pty ~= ty then return true end
  return false
end

--- entities(tags) -> list of {type, start, stop} (1-based inclusive) from one tag
--- sequence (BIO / IOB1 / BIOES, conlleval rules).
function M.entities(tags)
  local out = {}
  local pt, pty = "O", ""
  local begin
  for i = 1, #tags + 1 do
    local t, ty = "O", ""
    if i <= #tags then t, ty = split_tag(tags[i]) end
    if begin and end_of_chunk(pt, t, pty, ty) then
      out[#out + 1] = { pty, begin, i - 1 }
      begin = nil
    end
    if start_of_chunk(pt, t, pty, ty) then begin = i end
    pt, pty = t, ty
  end
  return out
end

--- ner_entity(pred, gold) -> {precision, recall, f1, per_type = {TYPE = {...}}}
--- pred, gold: arrays of tag sequences (arrays of strings), or one flat sequence.
function M.ner_entity(pred, gold)
  if type(pred[1]) ~= "table" then pred, gold = { pred }, { gold } end
  if #pred ~= #gold then error("rt.metrics.ner_entity: sentence counts differ", 2) end
  local stats = {}
  local function st(ty) stats[ty] = stats[ty] or { tp = 0, np = 0, ng = 0 }; return stats[ty] end
  local TP, NP, NG = 0, 0, 0
  for s = 1, #pred do
    if #pred[s] ~= #gold[s] then error("rt.metrics.ner_entity: sentence " .. s .. " lengths differ", 2) end
    local ge, pe = M.entities(gold[s]), M.entities(pred[s])
    local gset = {}
    for _, e in ipairs(ge) do gset[e[1] .. "\0" .. e[2] .. "\0" .. e[3]] = true; st(e[1]).ng = st(e[1]).ng + 1; NG = NG + 1 end
    for _, e in ipairs(pe) do
      st(e[1]).np = st(e[1]).np + 1; NP = NP + 1
      if gset[e[1] .. "\0" .. e[2] .. "\0" .. e[3]] then st(e[1]).tp = st(e[1]).tp + 1; TP = TP + 1 end
    end
  end
  local per = {}
  for ty, x in pairs(stats) do
    local p, r = div(x.tp, x.np), div(x.tp, x.ng)
    per[ty] = { precision = p, recall = r, f1 = fscore(p, r), support = x.ng }
  end
  local p, r = div(TP, NP), div(TP, NG)
  return { precision = p, recall = r, f1 = fscore(p, r), per_type = per, n_pred = NP, n_gold = NG, n_correct = TP }
end

--- ner_token(pred_ids, gold_ids, {positive = {2,3,4,5,6,7}}) -> {precision, recall, f1}
--- NEZHA's token-level micro P/R/F over the positive label ids (B-PER..I-LOC), padding
--- and every other label counted as negatives (TF/tf_metrics.py).
function M.ner_token(pred, gold, o)
  local p, g = pair(pred, gold, "ner_token")
  local pos = {}
  for _, l in ipairs((o and o.positive) or { 2, 3, 4, 5, 6, 7 }) do pos[l] = true end
  local tp, np, ng = 0, 0, 0
  for i = 1, #p do
    if pos[p[i]] then np = np + 1; if p[i] == g[i] then tp = tp + 1 end end
    if pos[g[i]] then ng = ng + 1 end
  end
  local pr, rc = div(tp, np), div(tp, ng)
  return { precision = pr, recall = rc, f1 = fscore(pr, rc) }
end

---------------------------------------------------------------------------
-- SQuAD v1.1 (official evaluate-v1.1.py rules)
---------------------------------------------------------------------------
-- Python str.lower() for the scripts that matter here: ASCII, Latin-1, fullwidth A-Z,
-- Greek and Cyrillic capitals.
local function ulower_cp(cp)
  if (cp >= 65 and cp <= 90) or (cp >= 0xC0 and cp <= 0xDE and cp ~= 0xD7) then return cp + 32 end
  if cp >= 0xFF21 and cp <= 0xFF3A then return cp + 32 end
  if (cp >= 0x391 and cp <= 0x3A9 and cp ~= 0x3A2) then return cp + 32 end
  if cp >= 0x410 and cp <= 0x42F then return cp + 32 end
  if cp >= 0x400 and cp <= 0x40F then return cp + 80 end
  return cp
end

local WS = { [9] = 1, [10] = 1, [11] = 1, [12] = 1, [13] = 1, [32] = 1, [0x1C] = 1, [0x1D] = 1, [0x1E] = 1,
             [0x1F] = 1, [0x85] = 1, [0xA0] = 1, [0x1680] = 1, [0x2028] = 1, [0x2029] = 1, [0x202F] = 1,
             [0x205F] = 1, [0x3000] = 1 }
local function is_ws(cp) return WS[cp] or (cp >= 0x2000 and cp <= 0x200A) end

-- lower().strip() as code points (invalid UTF-8: bytes as Latin-1)
local function lower_strip(s)
  local cps = {}
  local ok = utf8.len(s)
  if ok then for _, cp in utf8.codes(s) do cps[#cps + 1] = ulower_cp(cp) end
  else for i = 1, #s do cps[#cps + 1] = ulower_cp(s:byte(i)) end end
  local a, b = 1, #cps
  while a <= b and is_ws(cps[a]) do a = a + 1 end
  while b >= a and is_ws(cps[b]) do b = b - 1 end
  local out = {}
  for i = a, b do out[#out + 1] = utf8.char(cps[i]) end
  return out
end

local function ulower(s)
  local out = {}
  if utf8.len(s) then
    for _, cp in utf8.codes(s) do out[#out + 1] = utf8.char(ulower_cp(cp)) end
    return table.concat(out)
  end
  return s:lower()
end
M.lower = ulower

local function squad_normalize(s)
  s = ulower(s)
  s = s:gsub("[!\"#$%%&'()*+,%-./:;<=>?@%[\\%]^_`{|}~]", "")
  s = (" " .. s .. " "):gsub("%f[%w]an?%f[%W]", " "):gsub("%f[%w]the%f[%W]", " ")
  local toks = {}
  for w in s:gmatch("%S+") do toks[#toks + 1] = w end
  return table.concat(toks, " "), toks
end
M.squad_normalize = function(s) return (squad_normalize(s)) end

--- squad_f1(prediction, answers) -> max token F1 over the reference answers (0..1).
function M.squad_f1(pred, answers)
  local _, pt = squad_normalize(pred)
  return best_overlap_f1(answers, pt, function(a)
    local _, gt = squad_normalize(a)
    local cnt, common = {}, 0
    for _, w in ipairs(gt) do cnt[w] = (cnt[w] or 0) + 1 end
    for _, w in ipairs(pt) do if (cnt[w] or 0) > 0 then cnt[w] = cnt[w] - 1; common = common + 1 end end
    return common, #gt
  end)
end

--- squad_em(prediction, answers) -> 1 if the normalised prediction equals a reference.
function M.squad_em(pred, answers)
  if type(answers) == "string" then answers = { answers } end
  local p = squad_normalize(pred)
  for _, a in ipairs(answers) do if squad_normalize(a) == p then return 1 end end
  return 0
end

-- iterate over (id, answers) of a SQuAD-format table ({data = ...} or the data array)
local function each_question(data, fn)
  local arts = data.data or data
  for _, art in ipairs(arts) do
    for _, para in ipairs(art.paragraphs) do
      for _, qa in ipairs(para.qas) do
        local ans = {}
        for _, a in ipairs(qa.answers or {}) do ans[#ans + 1] = a.text end
        fn(qa.id, ans)
      end
    end
  end
end

--- squad(data, predictions) -> {exact_match, f1} in percent; data: SQuAD JSON table,
--- predictions: {id = text}. Unanswered questions score 0.
function M.squad(data, preds)
  local n, em, f1 = 0, 0, 0
  each_question(data, function(id, ans)
    n = n + 1
    local p = preds[id]
    if p ~= nil then em = em + M.squad_em(p, ans); f1 = f1 + M.squad_f1(p, ans) end
  end)
  return { exact_match = 100 * div(em, n), f1 = 100 * div(f1, n), total = n }
end

---------------------------------------------------------------------------
-- CMRC 2018 (ymcui/cmrc2018 evaluation script rules)
---------------------------------------------------------------------------
local SP = {}
for _, c in ipairs({ "-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
                     "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "·", "、",
                     "「", "」", "（", "）", "－", "～", "『", "』" }) do SP[c] = true end

-- code points of a string (invalid UTF-8: bytes)
local function cps_of(s)
  local out = {}
  if utf8.len(s) then for _, c in utf8.codes(s) do out[#out + 1] = utf8.char(c) end
  else for i = 1, #s do out[i] = s:sub(i, i) end end
  return out
end

local function is_wordc(c) return c ~= nil and (c:match("^[%w_]$") ~= nil or c:byte() >= 0x80) end

-- ([ (\[{<])("|'') -> "\1 `` " in one left-to-right pass
local function open_quotes(t)
  local out, i, n = {}, 1, #t
  while i <= n do
    local c = t:sub(i, i)
    if c:match("[ %(%[{<]") then
      if t:sub(i + 1, i + 2) == "''" then out[#out + 1] = c .. " `` "; i = i + 3; goto next end
      if t:sub(i + 1, i + 1) == '"' then out[#out + 1] = c .. " `` "; i = i + 2; goto next end
    end
    out[#out + 1] = c
    i = i + 1
    ::next::
  end
  return table.concat(out)
end

-- (?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b -> "\1 \2" (one word character after the quote)
local function quote_letter(t)
  return (t:gsub("'([%w_])()", function(c, after)
    local nx = t:sub(after, after)
    if nx ~= "" and (nx:match("[%w_]") or nx:byte() >= 0x80) then return nil end
    if c:lower():match("^[mtsdn]$") then return nil end
    return "' " .. c
  end))
end

-- ([^.])(.)([\])}>"'»”’ ]*)\s*$ -> "\1 \2 \3 " (the final period, NLTK 3.8 rule)
local FINAL_CLOSE = { ["]"] = true, [")"] = true, ["}"] = true, [">"] = true, ['"'] = true, ["'"] = true,
                      ["»"] = true, ["”"] = true, ["’"] = true, [" "] = true }
local function final_period(t)
  local c = cps_of(t)
  local n = #c
  local function ws(ch) return is_ws(utf8.codepoint(ch)) end
  local j = n
  while j >= 1 and c[j] ~= "." do
    if not (FINAL_CLOSE[c[j]] or ws(c[j])) then return t end
    j = j - 1
  end
  if j < 2 or c[j - 1] == "." then return t end
  local k = j + 1
  while k <= n and FINAL_CLOSE[c[k]] do k = k + 1 end
  for m = k, n do if not ws(c[m]) then return t end end
  return table.concat(c, "", 1, j - 1) .. " . " .. table.concat(c, "", j + 1, k - 1) .. " "
end

--- word_tokenize(text) -> tokens: the rules of NLTK 3.8's NLTKWordTokenizer (what
--- nltk.word_tokenize runs on each sentence), applied to the whole text: Punkt
--- sentence splitting is not done (a period inside the text followed by another
--- sentence stays attached), and \w / \b / \d are ASCII (other non-ASCII characters
--- count as word characters).
function M.word_tokenize(text)
  local t = text
  -- starting quotes
  t = t:gsub("«", " « "):gsub("“", " “ "):gsub("‘", " ‘ "):gsub("„", " „ ")
  t = t:gsub("`+", " %0 ")
  t = t:gsub('^"', "``")
  t = t:gsub("``", " `` ")
  t = open_quotes(t)
  t = quote_letter(t)
  -- punctuation
  t = final_period(t)
  t = t:gsub("([:,])([^%d])", " %1 %2")
  t = t:gsub("([:,])$", " %1 ")
  t = t:gsub("%.%.+", " %0 ")
  t = t:gsub("[;@#%$%%&]", " %0 ")
  t = t:gsub("([^%.])(%.)([%]%)}>\"']*)%s*$", "%1 %2%3 ")
  t = t:gsub("[%?!]", " %0 ")
  t = t:gsub("([^'])' ", "%1 ' ")
  t = t:gsub("%*", " %0 ")
  -- parens, brackets, dashes
  t = t:gsub("[%]%[%(%){}<>]", " %0 ")
  t = t:gsub("%-%-", " -- ")
  t = " " .. t .. " "
  -- ending quotes
  t = t:gsub("»", " » "):gsub("”", " ” "):gsub("’", " ’ ")
  t = t:gsub("''", " '' ")
  t = t:gsub('"', " '' ")
  t = t:gsub("([^' ])('[sSmMdD]) ", "%1 %2 ")
  t = t:gsub("([^' ])(') ", "%1 %2 ")
  for _, c in ipairs({ "'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T" }) do
    t = t:gsub("([^' ])(" .. c .. ") ", "%1 %2 ")
  end
  -- contractions (case-insensitive in NLTK; the CMRC input is lower-cased)
  for _, pr in ipairs({ { "can", "not" }, { "d", "'ye" }, { "gim", "me" }, { "gon", "na" }, { "got", "ta" },
                        { "lem", "me" }, { "more", "'n" } }) do
    t = t:gsub("%f[%w_](" .. pr[1] .. ")(" .. pr[2] .. ")%f[^%w_]", " %1 %2 ")
  end
  t = t:gsub("%f[%w_](wan)(na)%f[%s]", " %1 %2 ")
  t = t:gsub(" ('t)(is)%f[^%w_]", " %1 %2 ")
  t = t:gsub(" ('t)(was)%f[^%w_]", " %1 %2 ")
  local out = {}
  for w in t:gmatch("%S+") do out[#out + 1] = w end
  return out
end

local function is_cjk(c)
  local cp = utf8.codepoint(c)
  return cp >= 0x4E00 and cp <= 0x9FA5
end

--- cmrc_segment(s, rm_punc=true) -> segments: lower-case, strip; each CJK character
--- (U+4E00..U+9FA5) is a segment, other runs are word-tokenised; CMRC punctuation dropped.
function M.cmrc_segment(s, rm_punc)
  if rm_punc == nil then rm_punc = true end
  local out, run = {}, {}
  local function flush()
    if #run > 0 then
      for _, w in ipairs(M.word_tokenize(table.concat(run))) do out[#out + 1] = w end
      run = {}
    end
  end
  for _, c in ipairs(lower_strip(s)) do
    if not (rm_punc and SP[c]) then
      if is_cjk(c) or SP[c] then flush(); out[#out + 1] = c
      else run[#run + 1] = c end
    end
  end
  flush()
  return out
end

local function cmrc_rm_punc(s)
  local out = {}
  for _, c in ipairs(lower_strip(s)) do if not SP[c] then out[#out + 1] = c end end
  return table.concat(out)
end

-- length of the longest common contiguous run of segments
local function lcs_len(a, b)
  local best = 0
  local prev = {}
  for i = 1, #a do
    local cur = {}
    for j = 1, #b do
      if a[i] == b[j] then
        local v = (prev[j - 1] or 0) + 1
        cur[j] = v
        if v > best then best = v end
      end
    end
    prev = cur
  end
  return best
end

--- cmrc_f1(prediction, answers) -> max over references of the LCS-based F1 (0..1).
function M.cmrc_f1(pred, answers)
  local ps = M.cmrc_segment(pred, true)
  return best_overlap_f1(answers, ps, function(a)
    local as = M.cmrc_segment(a, true)
    return lcs_len(as, ps), #as
  end)
end

--- cmrc_em(prediction, answers) -> 1 if a reference equals the prediction after
--- lower-casing, stripping and removing CMRC punctuation.
function M.cmrc_em(pred, answers)
  if type(answers) == "string" then answers = { answers } end
  local p = cmrc_rm_punc(pred)
  for _, a in ipairs(answers) do if cmrc_rm_punc(a) == p then return 1 end end
  return 0
end

--- cmrc(data, predictions) -> {F1, EM, AVERAGE, TOTAL, SKIP} (percent), the CMRC 2018
--- official report; data: SQuAD-format JSON table, predictions: {id = text}.
function M.cmrc(data, preds)
  local n, skip, em, f1 = 0, 0, 0, 0
  each_question(data, function(id, ans)
    n = n + 1
    local p = preds[id]
    if p == nil then skip = skip + 1
    else
      p = tostring(p)
      f1 = f1 + M.cmrc_f1(p, ans)
      em = em + M.cmrc_em(p, ans)
    end
  end)
  local F, E = 100 * div(f1, n), 100 * div(em, n)
  return { F1 = F, EM = E, AVERAGE = (F + E) * 0.5, TOTAL = n, SKIP = skip }
end

require("retort.log").autodoc(M, "rt.metrics")
return M
