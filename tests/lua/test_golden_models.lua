-- Golden parity of the models against the PyTorch reference (scripts/golden/models.py):
-- every hidden state, attention score tensor, pooled output, head logits, the three
-- distillation losses and the gradients of every parameter, from both
-- model.safetensors and pytorch_model.bin.
local T = require "retort.test"

local MODELS = {"bert", "tinybert", "nezha", "nezha_qa", "bert_tok"}
local FORMATS = {"model.safetensors", "pytorch_model.bin"}

local function maxabs(t) return t:abs():max():item() end

-- max |a - b| <= tol * max(1, max |b|)
local function close(a, b, tol, what)
  T.ok(a, what .. ": missing output")
  local sa, sb = a:shape(), b:shape()
  T.eq(#sa, #sb, what .. ": rank")
  for i = 1, #sa do T.eq(sa[i], sb[i], what .. ": dim " .. i) end
  local d = maxabs(a - b)
  local scale = math.max(1, maxabs(b))
  if not (d <= tol * scale) then
    error(string.format("%s: max abs diff %.3g > %.3g (scale %.3g)", what, d, tol * scale, scale), 2)
  end
  return d / scale
end

-- gradients: max |a - b| <= tol * max |b| (relative to the tensor's magnitude)
local function close_grad(a, b, tol, what)
  local mb = maxabs(b)
  if a == nil then
    T.ok(mb == 0, what .. ": no gradient but the reference has " .. mb)
    return 0
  end
  local d = maxabs(a - b)
  local scale = math.max(mb, 1e-4)   -- gradients that are zero in exact arithmetic (key bias, qa bias) stay ~1e-9
  if not (d <= tol * scale) then
    error(string.format("%s: grad max abs diff %.3g > %.3g (ref max %.3g)", what, d, tol * scale, mb), 2)
  end
  return d / scale
end

local worst = {out = 0, grad = 0}

local function inputs(ref, extra)
  local t = {input_ids = ref.input_ids, token_type_ids = ref.token_type_ids,
             attention_mask = ref.attention_mask}
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

for _, name in ipairs(MODELS) do
  for _, file in ipairs(FORMATS) do
    local dir = T.golden("models/" .. name)
    T.test(name .. " outputs from " .. file, function()
      local m = rt.model.load(dir .. "/" .. file, {strict = true})
      local ref = rt.load(dir .. "/ref.safetensors")
      local out = m:forward(inputs(ref))
      local L = m.config.num_hidden_layers
      T.eq(#out.hidden_states, L + 1)
      T.eq(#out.attentions, L)
      for i = 0, L do
        worst.out = math.max(worst.out, close(out.hidden_states[i + 1], ref["hidden." .. i], 1e-4, "hidden " .. i))
      end
      for i = 0, L - 1 do
        worst.out = math.max(worst.out, close(out.attentions[i + 1], ref["att." .. i], 1e-4, "attention " .. i))
      end
      close(out.pooled, ref.pooled, 1e-4, "pooled")
      for _, k in ipairs{"logits", "mlm_logits", "nsp_logits", "start_logits", "end_logits"} do
        if ref[k] then worst.out = math.max(worst.out, close(out[k], ref[k], 1e-4, k)) end
      end
      if ref["fit.0"] then
        for i = 0, L do close(out.fit_hidden_states[i + 1], ref["fit." .. i], 1e-4, "fit " .. i) end
      end
    end)
    T.test(name .. " gradients from " .. file, function()
      local m = rt.model.load(dir .. "/" .. file, {strict = true})
      local ref = rt.load(dir .. "/ref.safetensors")
      local heads = {}
      for _, h in ipairs(m.config.heads) do heads[h] = true end
      local out = m:forward(inputs(ref, {
        labels = heads.token_classifier and ref.tok_labels or (heads.classifier and ref.labels or nil),
        mlm_labels = heads.mlm and ref.mlm_labels or nil,
        nsp_labels = heads.nsp and ref.nsp_labels or nil,
        start_positions = heads.qa and ref.start_positions or nil,
        end_positions = heads.qa and ref.end_positions or nil}))
      close(out.loss, ref.loss, 1e-4, "loss")
      out.loss:backward()
      local n = 0
      for pname, p in pairs(m:named_parameters()) do
        local r = ref["grad." .. pname]
        T.ok(r, "no reference gradient for " .. pname)
        worst.grad = math.max(worst.grad, close_grad(p.grad, r, 1e-3, pname))
        n = n + 1
      end
      T.ok(n > 10)
    end)
  end
end

T.test("mlm logits at given positions", function()
  local dir = T.golden("models/nezha")
  local m = rt.model.load(dir, {strict = true})
  local ref = rt.load(dir .. "/ref.safetensors")
  local pos = {{1, 4}, {2, 0}, {7, 3}}
  local out = m:forward(inputs(ref, {mlm_positions = rt.tensor(pos, "i64")}))
  T.eq(out.mlm_logits:shape()[2], 2)
  for b = 1, 3 do
    for p = 1, 2 do
      local got = out.mlm_logits:select(1, b):select(1, p)
      local want = ref.mlm_logits:select(1, b):select(1, pos[b][p] + 1)
      close(got, want, 1e-4, "mlm position " .. b .. "," .. p)
    end
  end
end)

T.test("distillation losses and att+rep gradients", function()
  local ref = rt.load(T.golden("models/distill.safetensors"))
  local teacher = rt.model.load(T.golden("models/bert/pytorch_model.bin"), {strict = true})
  local student = rt.model.load(T.golden("models/tinybert/model.safetensors"), {strict = true})
  local x = inputs(ref)
  local t_out = rt.no_grad(function() return teacher:forward(x) end)
  local s_out = student:forward(x)
  local L = rt.distill.losses(s_out, t_out, {pred = true, temperature = ref.temperature:item()})
  close(L.att, ref.att, 1e-4, "att loss")
  close(L.rep, ref.rep, 1e-4, "rep loss")
  close(L.pred, ref.pred, 1e-4, "pred loss")
  close(L.total, ref.att + ref.rep + ref.pred, 1e-4, "total")
  local L2 = rt.distill.losses(s_out, t_out)          -- att + rep (the default terms)
  L2.total:backward()
  for pname, p in pairs(student:named_parameters()) do
    worst.grad = math.max(worst.grad, close_grad(p.grad, ref["grad." .. pname], 1e-3, pname))
  end
  for _, p in pairs(teacher:named_parameters()) do T.ok(p.grad == nil, "teacher got a gradient") end
end)

T.test("sinusoid table matches the upstream formula", function()
  local ref = rt.load(T.golden("models/nezha/ref.safetensors"))
  close(rt.model.relative_table(3, 8), ref.rel_table, 1e-6, "K=3 d=8 table")
  -- NEZHA relative-table test vectors (row p = 4 of a d = 32 table; NEZHA base rows)
  local r = rt.model.relative_table(6, 32)
  T.near(r:select(1, 5):narrow(1, 1, 8),
    {-0.756802, -0.653644, 0.778472, -0.627680, 0.953581, 0.301137, 0.652828, 0.757506}, 1e-6)
  local b = rt.model.relative_table(64, 64)
  T.near(b:select(1, 65):narrow(1, 1, 6), {0.9200260, 0.3918572, -0.7639029, -0.6453312, -0.9904282, -0.1380286}, 1e-6)
  T.near(b:select(1, 65):narrow(1, 63, 2), {0.0085344, 0.9999636}, 1e-6)
  T.near(b:select(1, 129):narrow(1, 1, 4), {0.7210377, -0.6928958, 0.9859407, -0.1670954}, 1e-6)
  local row0 = b:select(1, 1):totable()
  for i = 1, 64 do T.near(row0[i], i % 2 == 1 and 0 or 1, 1e-7) end
end)




T.test("TF1 checkpoint written by TensorFlow gives the safetensors outputs", function()
  -- committed fixtures (scripts/make_golden_tf.py needs TensorFlow; make parity does not rerun it)
  local ref = rt.load("tests/golden/models/nezha/ref.safetensors")
  local m, report = rt.model.load("tests/golden/models/nezha_tf", {quiet = true})
  T.eq(report, "", "optimizer slots and global_step are skipped silently")
  local c = m.config
  T.eq(c.classifier_activation, "none")
  T.eq(table.concat(c.heads, ","), "mlm,nsp,classifier")
  local s = rt.model.load("tests/golden/models/nezha/model.safetensors", {strict = true})
  local a, b = m:forward(inputs(ref)), s:forward(inputs(ref))
  for _, k in ipairs{"pooled", "logits", "mlm_logits", "nsp_logits"} do
    T.eq((a[k] - b[k]):abs():max():item(), 0, k)
    close(a[k], ref[k], 1e-4, k)
  end
  for i = 1, #a.hidden_states do T.eq((a.hidden_states[i] - b.hidden_states[i]):abs():max():item(), 0) end
  -- the checkpoint prefix and the .index file name work too
  for _, p in ipairs{"tests/golden/models/nezha_tf/model.ckpt", "tests/golden/models/nezha_tf/model.ckpt.index"} do
    local m2 = rt.model.load(p, {quiet = true})
    T.eq((m2:forward(inputs(ref)).logits - b.logits):abs():max():item(), 0, p)
  end
end)

io.stdout:write(string.format("# worst relative output error %.3g, gradient error %.3g\n", worst.out, worst.grad))
