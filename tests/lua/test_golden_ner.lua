-- NER entity scores (rt.metrics.ner_entity, conlleval rules) against seqeval's
-- default mode (scripts/golden/ner_seqeval.py) on generated predictions with
-- broken I- sequences: micro P/R/F1 and the per-type report.
local T = require "retort.test"

T.test("ner entity P/R/F1 and per type vs seqeval", function()
  local G = rt.log.read_json(T.golden("ner_seqeval/cases.json"))
  for _, c in ipairs(G.cases) do
    local r = rt.metrics.ner_entity(c.pred, c.gold)
    T.near(r.precision, c.precision, 1e-12, c.name .. " precision")
    T.near(r.recall, c.recall, 1e-12, c.name .. " recall")
    T.near(r.f1, c.f1, 1e-12, c.name .. " f1")
    for ty, g in pairs(c.per_type) do
      local m = r.per_type[ty] or { precision = 0, recall = 0, f1 = 0, support = 0 }
      T.near(m.precision, g.precision, 1e-12, c.name .. " " .. ty .. " precision")
      T.near(m.recall, g.recall, 1e-12, c.name .. " " .. ty .. " recall")
      T.near(m.f1, g.f1, 1e-12, c.name .. " " .. ty .. " f1")
      T.eq(m.support, g.support, c.name .. " " .. ty .. " support")
    end
  end
end)
