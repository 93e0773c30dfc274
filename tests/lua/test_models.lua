-- rt.model / rt.distill API: configs, construction, parameter names and counts,
-- train/eval, heads, saving and loading, key fix-ups, reports, errors.
local T = require "retort.test"

local tiny = {vocab_size = 30, hidden_size = 8, num_hidden_layers = 2, num_attention_heads = 2,
              intermediate_size = 12, max_position_embeddings = 10}

local function copy(t, extra)
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local ids = rt.tensor({{2, 5, 7, 9, 0}, {3, 4, 0, 0, 0}}, "i64")
local mask = rt.tensor({{1, 1, 1, 1, 0}, {1, 1, 0, 0, 0}}, "i64")

T.test("config defaults follow the upstream PyTorch code", function()
  local m = rt.model.new({vocab_size = 50, hidden_size = 16, num_attention_heads = 2,
                          num_hidden_layers = 1, intermediate_size = 20, my_key = "kept"})
  local c = m.config
  T.eq(c.type_vocab_size, 2)
  T.eq(c.layer_norm_eps, 1e-12)
  T.eq(c.use_relative_position, false)
  T.eq(c.hidden_act, "gelu")
  T.eq(c.initializer_range, 0.02)
  T.eq(c.hidden_dropout_prob, 0.1)
  T.eq(c.attention_probs_dropout_prob, 0.1)
  T.eq(c.max_position_embeddings, 512)
  T.eq(c.my_key, "kept")
  local n = rt.model.new(copy(tiny, {use_relative_position = true}))
  T.eq(n.config.max_relative_position, 64)
end)

T.test("config validation gives clear errors", function()
  T.raises(function() rt.model.new(copy(tiny, {num_attention_heads = 3})) end, "not a multiple of num_attention_heads")
  T.raises(function() rt.model.new(copy(tiny, {vocab_size = 0})) end, "vocab_size")
  T.raises(function() rt.model.new(copy(tiny, {hidden_act = "swish"})) end, "hidden_act")
  T.raises(function() rt.model.new(copy(tiny, {heads = {"mlm", "pooler"}})) end, "unknown head")
  T.raises(function() rt.model.new(copy(tiny, {hidden_size = "big"})) end, "hidden_size")
  T.raises(function() rt.model.new(copy(tiny, {heads = {"classifier", "token_classifier"}})) end, "pick one")
end)

T.test("parameter names are the PyTorch state_dict names", function()
  local m = rt.model.new(copy(tiny, {heads = {"mlm", "nsp", "classifier"}, num_labels = 3, fit_size = 16}))
  local p = m:named_parameters()
  for _, k in ipairs{"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
      "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
      "bert.encoder.layer.1.attention.self.query.weight", "bert.encoder.layer.0.attention.output.LayerNorm.bias",
      "bert.encoder.layer.0.intermediate.dense.weight", "bert.encoder.layer.1.output.dense.bias",
      "bert.pooler.dense.weight", "cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.weight",
      "cls.predictions.bias", "cls.seq_relationship.weight", "classifier.weight", "fit_dense.weight"} do
    T.ok(p[k], "missing " .. k)
  end
  T.eq(p["classifier.weight"]:shape()[1], 3)
  T.eq(p["fit_dense.weight"]:shape()[1], 16)
  T.eq(p["bert.encoder.layer.0.intermediate.dense.weight"]:shape()[1], 12)
  T.eq(#m:parameters(), #m:parameter_names())
  local names = m:parameter_names()
  T.eq(names[1], "bert.embeddings.word_embeddings.weight")
  -- NEZHA has no absolute position table
  local n = rt.model.new(copy(tiny, {use_relative_position = true}))
  T.ok(n:named_parameters()["bert.embeddings.position_embeddings.weight"] == nil)
end)

T.test("parameter counts of the published shapes", function()
  -- TinyBERT's 4L-312D-1200 = 14,350,248 (+240,384 fit_dense)
  local m = rt.model.new({vocab_size = 30522, hidden_size = 312, num_hidden_layers = 4, num_attention_heads = 12,
                          intermediate_size = 1200, fit_size = 768})
  T.eq(m:num_parameters(), 14350248 + 240384)
  T.ok(tostring(m):find("14,590,632", 1, true), "print(m) shows the count")
  T.ok(tostring(m):find("layer", 1, true))
end)

T.test("random init: normal(0, range), biases 0, LayerNorm 1/0, seeded", function()
  local m = rt.model.new(copy(tiny, {vocab_size = 400, hidden_size = 32, initializer_range = 0.5}), {seed = 7})
  local p = m:named_parameters()
  local w = p["bert.embeddings.word_embeddings.weight"]
  T.near(w:mean():item(), 0, 0.02)
  T.near(((w * w):mean():item()) ^ 0.5, 0.5, 0.02)
  T.eq(p["bert.pooler.dense.bias"]:abs():max():item(), 0)
  T.eq(p["bert.embeddings.LayerNorm.weight"]:min():item(), 1)
  local m2 = rt.model.new(copy(tiny, {vocab_size = 400, hidden_size = 32, initializer_range = 0.5}), {seed = 7})
  T.eq((m2:named_parameters()["bert.embeddings.word_embeddings.weight"] - w):abs():max():item(), 0)
end)

T.test("forward outputs, shapes and dropout modes", function()
  local m = rt.model.new(copy(tiny, {heads = {"mlm", "nsp", "qa"}, hidden_dropout_prob = 0.3}))
  local out = m:forward{input_ids = ids, attention_mask = mask, output_probs = true}
  T.eq(#out.hidden_states, 3)
  T.eq(#out.attentions, 2)
  T.eq(#out.probs, 2)
  local s = out.attentions[1]:shape()
  T.eq(s[1], 2); T.eq(s[2], 2); T.eq(s[3], 5); T.eq(s[4], 5)
  T.eq(out.mlm_logits:shape()[3], 30)
  T.eq(out.nsp_logits:shape()[2], 2)
  T.eq(out.start_logits:shape()[2], 5)
  -- masked keys carry -10000 in the scores, and zero probability
  T.ok(out.attentions[1]:select(1, 2):select(1, 1):select(1, 1):select(1, 4):item() < -5000)
  T.near(out.probs[1]:select(1, 1):select(1, 1):select(1, 1):sum():item(), 1, 1e-5)
  -- train: dropout makes two passes differ; eval: identical
  m:train()
  local a = m:forward{input_ids = ids}.pooled
  local b = m:forward{input_ids = ids}.pooled
  T.ok((a - b):abs():max():item() > 0, "dropout active in training")
  m:eval()
  a = m:forward{input_ids = ids}.pooled
  b = m:forward{input_ids = ids}.pooled
  T.eq((a - b):abs():max():item(), 0)
  T.raises(function() m:forward{input_ids = rt.tensor({{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}, "i64")} end,
           "max_position_embeddings")
  T.raises(function() m:forward{token_type_ids = ids} end, "input_ids")
end)

T.test("classification heads: relu vs standard, regression, token", function()
  local std = rt.model.new(copy(tiny, {heads = {"classifier"}, num_labels = 4}))
  T.eq(std.config.classifier_activation, "none")
  local tb = rt.model.new(copy(tiny, {heads = {"classifier"}, num_labels = 4, fit_size = 8}))
  T.eq(tb.config.classifier_activation, "relu")
  tb:eval()
  local out = tb:forward{input_ids = ids}
  local p = tb:named_parameters()
  local want = rt.F.linear(out.pooled:relu(), p["classifier.weight"], p["classifier.bias"])
  T.near(out.logits, want, 1e-5)
  local reg = rt.model.new(copy(tiny, {heads = {"classifier"}, problem_type = "regression"}))
  T.eq(reg.config.num_labels, 1)
  local o = reg:forward{input_ids = ids, labels = rt.tensor({0.5, 2.0})}
  T.ok(o.loss:item() >= 0)
  local tok = rt.model.new(copy(tiny, {heads = {"token_classifier"}, num_labels = 5}))
  local ot = tok:forward{input_ids = ids, labels = rt.tensor({{1, 2, 3, 4, -100}, {0, 1, -100, -100, -100}}, "i64")}
  T.eq(ot.logits:shape()[3], 5)
  T.ok(ot.loss:item() > 0)
end)

T.test("save and load round trip (safetensors and bin), config recorded", function()
  local m = rt.model.new(copy(tiny, {heads = {"mlm", "classifier"}, num_labels = 3, fit_size = 8,
                                     id2label = {[0] = "neg", [1] = "neu", [2] = "pos"}}))
  m:eval()
  local ref = m:forward{input_ids = ids, attention_mask = mask}
  for _, fmt in ipairs{"safetensors", "bin"} do
    local dir = T.tmpdir()
    m:save(dir, {format = fmt})
    local m2, report = rt.model.load(dir, {strict = true})
    T.eq(report, "")
    local o = m2:forward{input_ids = ids, attention_mask = mask}
    T.near(o.logits, ref.logits, 1e-6)
    T.near(o.mlm_logits, ref.mlm_logits, 1e-6)
    T.eq(m2.config.classifier_activation, "relu")
    T.eq(m2.config.id2label["2"], "pos")
    os.execute("rm -rf '" .. dir .. "'")
  end
end)

T.test("key fix-ups and the missing/unexpected report", function()
  local m = rt.model.new(copy(tiny, {heads = {"classifier"}, num_labels = 2}))
  m:eval()
  local sd = {}
  for k, v in pairs(m:named_parameters()) do
    local k2 = k:gsub("^bert%.", ""):gsub("LayerNorm%.weight$", "LayerNorm.gamma"):gsub("LayerNorm%.bias$", "LayerNorm.beta")
    sd[k2] = v
  end
  sd["some.extra.weight"] = rt.zeros(2)
  local dir = T.tmpdir()
  rt.save(dir .. "/model.safetensors", sd)
  local f = io.open(dir .. "/config.json", "w")
  f:write('{"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, ' ..
          '"intermediate_size": 12, "max_position_embeddings": 10, "num_labels": 2}')
  f:close()
  local m2, report = rt.model.load(dir, {quiet = true})
  T.ok(report:find("some.extra.weight", 1, true), report)
  T.ok(report:find("unexpected", 1, true))
  T.near(m2:forward{input_ids = ids}.logits, m:forward{input_ids = ids}.logits, 1e-6)
  T.raises(function() rt.model.load(dir, {strict = true}) end, "some.extra.weight")
  -- a head the checkpoint lacks is reported missing and randomly initialised
  local m3, rep3 = rt.model.load(dir, {quiet = true, heads = {"qa"}})
  T.ok(rep3:find("qa_outputs.weight", 1, true), rep3)
  T.ok(m3:forward{input_ids = ids}.start_logits)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("load errors name the problem", function()
  T.raises(function() rt.model.load("/nonexistent/model") end, "/nonexistent/model")
  local dir = T.tmpdir()
  local f = io.open(dir .. "/config.json", "w"); f:write("{\"vocab_size\": 10,"); f:close()
  T.raises(function() rt.model.load(dir) end, "no weights")
  rt.save(dir .. "/model.safetensors", {x = rt.zeros(1)})
  T.raises(function() rt.model.load(dir) end, "invalid JSON")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("distillation layer maps", function()
  local m = rt.distill.layer_map(4, 12)
  T.eq(table.concat(m.att_map, ","), "3,6,9,12")
  T.eq(table.concat(m.hidden_map, ","), "1,4,7,10,13")
  T.raises(function() rt.distill.layer_map(5, 12) end, "not a multiple")
  T.raises(function() rt.distill.layer_map(2, 4, {att_map = {1, 5}}) end, "att_map[2]")
  T.raises(function() rt.distill.layer_map(2, 4, {hidden_map = {1, 2}}) end, "has 2 entries")
  local c = rt.distill.layer_map(2, 4, {att_map = {1, 4}, hidden_map = {1, 2, 5}})
  T.eq(table.concat(c.att_map, ","), "1,4")
end)

T.test("distillation regression and masking", function()
  local s = rt.model.new(copy(tiny, {heads = {"classifier"}, problem_type = "regression", fit_size = 8}))
  local t = rt.model.new(copy(tiny, {num_hidden_layers = 4, heads = {"classifier"}, problem_type = "regression"}))
  s:eval(); t:eval()
  local so = s:forward{input_ids = ids, attention_mask = mask}
  local to = rt.no_grad(function() return t:forward{input_ids = ids, attention_mask = mask} end)
  local gold = rt.tensor({0.5, 1.5})
  local L = rt.distill.losses(so, to, {att = false, rep = false, pred = true, regression = true, labels = gold})
  T.near(L.pred:item(), rt.F.mse(so.logits:reshape(2), gold):item(), 1e-6)
  local L2 = rt.distill.losses(so, to)
  -- masked scores are zeroed on both sides: the loss equals MSE over the unmasked entries
  local want = 0
  for i, j in ipairs{2, 4} do
    local a, b = so.attentions[i], to.attentions[j]
    local keep = (a:gt(-100)):float()
    want = want + rt.F.mse(a * keep, b * keep):item()
  end
  T.near(L2.att:item(), want, 1e-5)
end)

T.test("help texts", function()
  T.ok(rt.doc and true)
  for _, f in ipairs{rt.model.new, rt.model.load, rt.distill.losses, rt.distill.layer_map} do
    T.ok(type(f) == "function")
  end
end)

T.test("pytorch_model.bin written by retort loads with torch.load", function()
  local py = "/usr/bin/python3"
  if not os.execute(py .. " -c 'import torch' 2>/dev/null") then
    io.stdout:write("# python3-torch not installed: torch.load check skipped\n")
    return
  end
  local m = rt.model.new(copy(tiny, {heads = {"mlm", "nsp", "classifier"}, num_labels = 3, fit_size = 8}))
  m:eval()
  local dir = T.tmpdir()
  m:save(dir, {format = "bin"})
  local x = rt.tensor({{2, 5, 7, 9, 1}, {3, 4, 8, 1, 1}}, "i64")
  rt.save(dir .. "/io.safetensors", {input_ids = x, logits = m:forward{input_ids = x}.logits})
  local p = io.popen(py .. " tests/lua/check_torch_load.py '" .. dir .. "' 2>&1")
  local txt = p:read("a")
  local ok = p:close()
  os.execute("rm -rf '" .. dir .. "'")
  T.ok(ok and txt:find("torch.load ok", 1, true), txt)
end)

T.test("bad checkpoints: wrong shape, wrong dtype, truncated, pickle with code", function()
  local m = rt.model.new(copy(tiny, {heads = {"classifier"}, num_labels = 2}))
  local dir = T.tmpdir()
  m:save(dir)
  local sd = rt.load(dir .. "/model.safetensors")
  sd["bert.encoder.layer.0.attention.self.query.weight"] = rt.zeros(8, 4)
  rt.save(dir .. "/model.safetensors", sd)
  T.raises(function() rt.model.load(dir) end, "bert.encoder.layer.0.attention.self.query.weight has shape [8,4]")
  sd["bert.encoder.layer.0.attention.self.query.weight"] = rt.zeros(8, 8):to("i64")
  rt.save(dir .. "/model.safetensors", sd)
  T.raises(function() rt.model.load(dir) end, "dtype")
  -- truncated file
  local f = io.open(dir .. "/model.safetensors", "rb"); local data = f:read("a"); f:close()
  f = io.open(dir .. "/model.safetensors", "wb"); f:write(data:sub(1, #data // 2)); f:close()
  local err = T.raises(function() rt.model.load(dir) end)
  T.ok(tostring(err):find("model.safetensors", 1, true), err)
  -- a pickle that calls os.system must be rejected, never run
  os.remove(dir .. "/model.safetensors")
  local py = "/usr/bin/python3"
  if os.execute(py .. " -c 'import torch' 2>/dev/null") then
    os.execute(py .. " -c \"import torch, os\nclass E:\n  def __reduce__(self): return (os.system, ('touch " .. dir ..
      "/pwned',))\ntorch.save({'x': E()}, '" .. dir .. "/pytorch_model.bin')\"")
    T.raises(function() rt.model.load(dir) end, "pytorch_model.bin")
    T.ok(not io.open(dir .. "/pwned"), "pickle code was executed")
  end
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("classifier variant rule when the config does not say", function()
  for _, fit in ipairs{8, false} do
    local m = rt.model.new(copy(tiny, {heads = {"classifier"}, num_labels = 2, fit_size = fit or nil}))
    local dir = T.tmpdir()
    m:save(dir)
    local f = io.open(dir .. "/config.json"); local txt = f:read("a"); f:close()
    txt = txt:gsub('"classifier_activation":%s*"%a+"', '"classifier_activation": null')
             :gsub('"heads":%s*%[[^%]]*%]', '"heads": null')
    f = io.open(dir .. "/config.json", "w"); f:write(txt); f:close()
    local m2 = rt.model.load(dir, {strict = true})
    T.eq(m2.config.classifier_activation, fit and "relu" or "none")
    T.eq(m2.config.heads[1], "classifier")
    os.execute("rm -rf '" .. dir .. "'")
  end
end)

T.test("load with a new head: num_labels, problem_type regression", function()
  local m = rt.model.new(copy(tiny, {heads = {"mlm"}}))
  local dir = T.tmpdir()
  m:save(dir)
  local r, rep = rt.model.load(dir, {quiet = true, heads = {"classifier"}, problem_type = "regression"})
  T.eq(r.config.num_labels, 1)
  T.eq(r.config.problem_type, "regression")
  T.ok(rep:find("classifier.weight", 1, true) and rep:find("cls.predictions", 1, true), rep)
  local o = r:forward{input_ids = ids, labels = rt.tensor({0.5, 1.0})}
  T.eq(o.logits:shape()[2], 1)
  local c = rt.model.load(dir, {quiet = true, heads = {"classifier"}, num_labels = 4})
  T.eq(c:forward{input_ids = ids}.logits:shape()[2], 4)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("key fix-ups: module. prefix and TinyBERT v2 fit_denses.0", function()
  local m = rt.model.new(copy(tiny, {fit_size = 12}))
  m:eval()
  local sd = {}
  for k, v in pairs(m:named_parameters()) do sd["module." .. k:gsub("^fit_dense%.", "fit_denses.0.")] = v end
  local dir = T.tmpdir()
  rt.save(dir .. "/model.safetensors", sd)
  local f = io.open(dir .. "/config.json", "w")
  f:write('{"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, ' ..
          '"intermediate_size": 12, "max_position_embeddings": 10}')
  f:close()
  local m2 = rt.model.load(dir, {strict = true})
  T.eq(m2.config.fit_size, 12)
  local a, b = m:forward{input_ids = ids}, m2:forward{input_ids = ids}
  T.eq((a.fit_hidden_states[3] - b.fit_hidden_states[3]):abs():max():item(), 0)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("forward failing on a later field leaks nothing (200 calls, rt.memory)", function()
  local m = rt.model.new(tiny)
  local held = rt.tensor({{2, 5, 7}}, "i64")
  local function bad(i)
    if i % 3 == 0 then   -- a table (converted) and a Tensor (retained) before a bad field
      return m:forward{input_ids = {{2, 5, 7, 9}}, token_type_ids = held, attention_mask = "bad"}
    elseif i % 3 == 1 then
      return m:forward{input_ids = held, mlm_positions = {{0, 1}}, labels = true}
    end
    return m:forward{token_type_ids = {{0, 0, 0}}, attention_mask = held}   -- no input_ids
  end
  collectgarbage(); collectgarbage()
  local start = rt.memory().live
  for i = 1, 200 do
    local ok, err = pcall(bad, i)
    T.ok(not ok)
    T.ok(tostring(err):find("forward: ", 1, true), tostring(err))
  end
  collectgarbage(); collectgarbage()
  T.eq(rt.memory().live - start, 0)
  local out = m:forward{input_ids = held}   -- and a good call still works
  T.eq(out.last_hidden_state:shape()[3], 8)
end)
