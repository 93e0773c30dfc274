-- CMRC 2018 parity: windows, max-context flags and answer decoding against
-- scripts/golden/cmrc_decode.py (a Python re-implementation of run_squad.py's
-- feature and write_predictions logic on fixed log-probabilities), and the metric
-- against scripts/golden/cmrc_metric.py (the official cmrc2018_evaluate.py rules
-- with NLTK's tokenizer): per question, totals, the evaluate script's output line.
local T = require "retort.test"
local Q = rt.tasks.cmrc

local cases = rt.log.read_json(T.golden("cmrc_decode/cases.json"))

T.test("cmrc features and decoding vs the run_squad.py re-implementation", function()
  for _, c in ipairs(cases) do
    local tok = rt.tokenizer.load(c.vocab, { lower = c.lower })
    local feats, ex = Q.features(c.qas, tok, { max_len = c.max_len, doc_stride = c.doc_stride,
                                               max_query = c.max_query, training = false })
    T.eq(#feats, #c.features, c.name .. ": number of windows")
    for i, g in ipairs(c.features) do
      local f = feats[i]
      T.eq(f.unique_id, g.unique_id, c.name .. " unique_id")
      T.eq(f.example_index, g.example_index, c.name .. " example_index")
      T.eq(table.concat(f.tokens, " "), table.concat(g.tokens, " "), c.name .. " window " .. i .. " tokens")
      for k, v in pairs(g.token_to_orig) do
        T.eq(f.token_to_orig[tonumber(k)], v, c.name .. " window " .. i .. " token_to_orig " .. k)
        T.eq(f.max_context[tonumber(k)], g.max_context[k], c.name .. " window " .. i .. " max_context " .. k)
      end
    end
    for i, d in ipairs(c.doc_tokens) do
      T.eq(table.concat(ex[i].doc_tokens, "|"), table.concat(d, "|"), c.name .. " doc tokens " .. i)
    end
    local results = {}
    for k, v in pairs(c.results) do results[tonumber(k)] = v end
    local preds, nbest = Q.decode(ex, feats, results, { n_best = c.n_best, max_answer_length = c.max_answer_length }, tok)
    for id, p in pairs(c.predictions) do
      T.eq(preds[id], p, c.name .. " prediction " .. id)
      local gl, ml = c.nbest[id], nbest[id]
      T.eq(#ml, #gl, c.name .. " n-best size " .. id)
      for j = 1, #gl do
        T.eq(ml[j].text, gl[j].text, c.name .. " n-best text " .. id .. " #" .. j)
        T.near(ml[j].probability, gl[j].probability, 1e-12, c.name .. " probability")
        T.near(ml[j].start_logit, gl[j].start_logit, 0, c.name .. " start_logit")
        T.near(ml[j].end_logit, gl[j].end_logit, 0, c.name .. " end_logit")
      end
    end
  end
end)

local metric = rt.log.read_json(T.golden("cmrc_metric/cases.json"))

T.test("cmrc word_tokenize vs NLTK's NLTKWordTokenizer (ASCII fuzz)", function()
  local bad = {}
  for _, c in ipairs(metric.word_tokenize) do
    local got = table.concat(rt.metrics.word_tokenize(c.text), "|")
    local want = table.concat(c.tokens, "|")
    if got ~= want then bad[#bad + 1] = string.format("%q: %s vs nltk %s", c.text, got, want) end
  end
  T.ok(#bad == 0, #bad .. " of " .. #metric.word_tokenize .. " differ, first: " .. tostring(bad[1]))
end)

T.test("cmrc metric vs the official script's rules (mixed scripts, several references, empty, unanswered)", function()
  local bad = {}
  for _, q in ipairs(metric.per_question) do
    local seg = table.concat(rt.metrics.cmrc_segment(q.pred, true), "|")
    local f1, em = rt.metrics.cmrc_f1(q.pred, q.answers), rt.metrics.cmrc_em(q.pred, q.answers)
    if seg ~= table.concat(q.segments, "|") or math.abs(f1 - q.f1) > 1e-12 or em ~= q.em then
      bad[#bad + 1] = string.format("%s %q: segments %s (want %s) f1 %g (want %g) em %d (want %d)", q.id, q.pred, seg,
        table.concat(q.segments, "|"), f1, q.f1, em, q.em)
    end
  end
  T.ok(#bad == 0, #bad .. " questions differ, first: " .. tostring(bad[1]))
  local r = rt.metrics.cmrc(metric.data, metric.predictions)
  T.near(r.F1, metric.F1, 1e-9, "F1")
  T.near(r.EM, metric.EM, 1e-9, "EM")
  T.eq(r.TOTAL, metric.TOTAL)
  T.eq(r.SKIP, metric.SKIP)
end)

T.test("cmrc_evaluate.lua prints and writes the script's line", function()
  local dir = T.tmpdir()
  rt.log.write_json(dir .. "/dev.json", metric.data)
  rt.log.write_json(dir .. "/predictions.json", metric.predictions)
  local bin = os.getenv("RETORT_BIN") or "build/retort"
  local p = io.popen(string.format("cd '%s' && '%s' '%s/lua/recipes/cmrc_evaluate.lua' dev.json predictions.json metric.txt 2>/dev/null",
    dir, bin:sub(1, 1) == "/" and bin or (os.getenv("PWD") .. "/" .. bin), os.getenv("PWD")))
  local out = p:read("a")
  p:close()
  T.eq(out, metric.line .. "\n")
  local f = io.open(dir .. "/metric.txt")
  T.eq(f:read("a"), metric.line .. "\n")
  f:close()
end)

