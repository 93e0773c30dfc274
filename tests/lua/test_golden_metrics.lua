-- Metrics against scripts/golden/metrics.py: scikit-learn / SciPy for
-- classification and correlation (edge cases: one class, ties, constant input),
-- conlleval chunk rules, sklearn micro P/R/F for NEZHA token-level NER, and ports
-- of the SQuAD v1.1 and CMRC 2018 evaluation scripts (empty answers, unanswered).
local T = require "retort.test"
local M = rt.metrics
local G = rt.log.read_json(T.golden("metrics/cases.json"))

local function near(a, b, what)
  if b == nil then
    T.ok(a ~= a, what .. ": expected NaN, got " .. tostring(a))
  else
    T.near(a, b, 1e-9, what)
  end
end

T.test("metrics classification vs sklearn", function()
  for _, c in ipairs(G.classification) do
    near(M.accuracy(c.pred, c.gold), c.accuracy, c.name .. " acc")
    near(M.mcc(c.pred, c.gold), c.mcc, c.name .. " mcc")
    for _, avg in ipairs({ "macro", "micro", "weighted", "binary" }) do
      if c[avg] then
        local p, r, f = M.precision_recall_f1(c.pred, c.gold, { average = avg })
        near(p, c[avg][1], c.name .. " " .. avg .. " precision")
        near(r, c[avg][2], c.name .. " " .. avg .. " recall")
        near(f, c[avg][3], c.name .. " " .. avg .. " f1")
      end
    end
  end
end)

T.test("metrics pearson / spearman vs scipy (ties, constant)", function()
  for _, c in ipairs(G.correlation) do
    near(M.pearson(c.x, c.y), c.pearson, c.name .. " pearson")
    near(M.spearman(c.x, c.y), c.spearman, c.name .. " spearman")
  end
  T.eq(table.concat(M.rank({ 10, 20, 10, 30 }), ","), "1.5,3.0,1.5,4.0")
end)

T.test("metrics glue task selection", function()
  local g = G.glue
  for _, task in ipairs({ "mrpc", "cola", "sst-2" }) do
    local got = M.glue(task, g.pred, g.gold)
    for k, v in pairs(g[task]) do near(got[k], v, task .. " " .. k) end
  end
  local got = M.glue("sts-b", g.x, g.y)
  for k, v in pairs(g["sts-b"]) do near(got[k], v, "sts-b " .. k) end
  T.eq(M.task_metric("cola"), "mcc"); T.eq(M.task_metric("STS-B"), "corr"); T.eq(M.task_metric("mrpc"), "acc")
  T.eq(M.glue("qqp", { 1, 0 }, { 1, 1 }).acc, 0.5)
end)

T.test("metrics NER entity (conlleval) and token level (NEZHA)", function()
  for _, c in ipairs(G.ner) do
    local r = M.ner_entity(c.pred, c.gold)
    near(r.precision, c.precision, c.name .. " P")
    near(r.recall, c.recall, c.name .. " R")
    near(r.f1, c.f1, c.name .. " F")
    T.eq(r.n_correct, c.n_correct); T.eq(r.n_pred, c.n_pred); T.eq(r.n_gold, c.n_gold)
  end
  local e = M.entities({ "B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG" })
  T.eq(#e, 4)
  T.eq(e[1][1] .. e[1][2] .. e[1][3], "PER12")
  T.eq(e[2][1] .. e[2][2] .. e[2][3], "LOC45")
  T.eq(e[4][1], "ORG")
  local t = G.ner_token
  local r = M.ner_token(t.pred, t.gold)
  near(r.precision, t.precision, "token P"); near(r.recall, t.recall, "token R"); near(r.f1, t.f1, "token F")
end)

T.test("metrics CMRC 2018 and SQuAD v1.1 per question", function()
  for i, q in ipairs(G.rc.per_question) do
    local what = "q" .. i .. " " .. q.pred
    T.eq(table.concat(M.cmrc_segment(q.pred), "|"), table.concat(q.cmrc_segments, "|"), what .. " segments")
    near(M.cmrc_f1(q.pred, q.answers), q.cmrc_f1, what .. " cmrc f1")
    T.eq(M.cmrc_em(q.pred, q.answers), q.cmrc_em, what .. " cmrc em")
    near(M.squad_f1(q.pred, q.answers), q.squad_f1, what .. " squad f1")
    T.eq(M.squad_em(q.pred, q.answers), q.squad_em, what .. " squad em")
  end
end)

T.test("metrics CMRC 2018 and SQuAD v1.1 reports", function()
  local r = M.cmrc(G.rc.data, G.rc.predictions)
  for k, v in pairs(G.rc.cmrc) do near(r[k], v, "cmrc " .. k) end
  local s = M.squad(G.rc.data, G.rc.predictions)
  for k, v in pairs(G.rc.squad) do near(s[k], v, "squad " .. k) end
end)

T.test("metrics word_tokenize (Treebank rules)", function()
  T.eq(table.concat(M.word_tokenize('He said "don\'t go," then (left).'), "|"),
       "He|said|``|do|n't|go|,|''|then|(|left|)|.")
  T.eq(table.concat(M.word_tokenize("I cannot wait..."), "|"), "I|can|not|wait|...")
end)

T.test("metrics errors", function()
  T.raises(function() M.accuracy({ 1, 2 }, { 1 }) end, "2 predictions for 1 labels")
end)
