-- The inference path (m:infer), bf16 (m:to("bf16"), rt.autocast) and int8
-- (m:quantize): parity with the fp32 autograd forward, and the portable
-- fallbacks against the native kernels on this machine's CPU.
local T = require "retort.test"

local function copy(t, extra)
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- max |a - b| / max |b|
local function relerr(a, b)
  local d = (a - b):abs():max():item()
  local s = b:abs():max():item()
  return d / math.max(s, 1e-30)
end

local base = {vocab_size = 60, hidden_size = 64, num_hidden_layers = 2, num_attention_heads = 4,
              intermediate_size = 160, max_position_embeddings = 40, heads = {"classifier"}, num_labels = 3,
              hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1}

local function batch(B, S, seed)
  rt.manual_seed(seed or 1)
  local ids = (rt.rand(B, S) * 59):floor():long()
  local tt = (rt.rand(B, S) * 2):floor():long()
  local mask = rt.ones(B, S, "i64")
  for b = 0, B - 1 do for s = S - b, S - 1 do if s >= 1 then mask[b][s] = 0 end end end
  return {input_ids = ids, token_type_ids = tt, attention_mask = mask}
end

local function reference(m, inp)
  m:eval()
  return rt.no_grad(function() return m:forward(inp) end)
end

T.test("infer matches the autograd forward (fp32, 1e-5 relative) for BERT, NEZHA, gelu_new, relu", function()
  local cases = {
    {}, {use_relative_position = true, max_relative_position = 5}, {hidden_act = "gelu_new"},
    {hidden_act = "relu", heads = {"token_classifier"}}, {heads = {"qa"}},
  }
  for ci, extra in ipairs(cases) do
    local m = rt.model.new(copy(base, extra), {seed = ci})
    for _, shape in ipairs({{1, 7}, {3, 33}, {2, 16}}) do
      local inp = batch(shape[1], shape[2], ci)
      local ref = reference(m, inp)
      m:train()   -- infer ignores the training flag (dropout is always off there)
      local got = m:infer(inp)
      local tag = "case " .. ci .. " shape " .. shape[1] .. "x" .. shape[2]
      T.ok(relerr(got.last_hidden_state, ref.last_hidden_state) < 1e-5, tag .. " hidden " ..
           relerr(got.last_hidden_state, ref.last_hidden_state))
      T.ok(relerr(got.pooled, ref.pooled) < 1e-5, tag .. " pooled")
      if ref.logits then T.ok(relerr(got.logits, ref.logits) < 1e-5, tag .. " logits") end
      if ref.start_logits then T.ok(relerr(got.start_logits, ref.start_logits) < 1e-5, tag .. " start") end
    end
  end
end)

T.test("infer builds no autograd graph, reuses its workspace, checks its inputs", function()
  local m = rt.model.new(base, {seed = 3})
  m:eval()
  local a = batch(2, 12, 5)
  local r1 = m:infer(a)                  -- grad mode on: still no graph
  T.eq(r1.logits:grad_fn(), nil)
  T.eq(r1.logits:needs_grad(), false)
  local big = m:infer(batch(4, 30, 6))    -- grows the workspace
  T.eq(big.last_hidden_state:size(1), 4)
  local r2 = m:infer(a)                   -- smaller again: same numbers as the first call
  T.near(r2.logits, r1.logits, 0)
  local lab = m:infer(copy(a, {labels = rt.tensor({0, 2}, "i64")}))
  local ref = reference(m, copy(a, {labels = rt.tensor({0, 2}, "i64")}))
  T.near(lab.loss:item(), ref.loss:item(), 1e-5)
  T.raises(function() m:infer({input_ids = rt.tensor({{1, 99}}, "i64")}) end, "outside the vocabulary")
  T.raises(function() m:infer({input_ids = rt.tensor({1, 2}, "i64")}) end, "must be [batch, seq]")
  T.raises(function() m:infer({input_ids = a.input_ids, attention_mask = rt.ones(1, 3, "i64")}) end, "attention_mask")
  T.raises(function() m:to("fp16") end, "precision must be")
end)

local function with_portable(on, fn)
  local prev = rt.cpu.force_portable(on)
  local ok, r = pcall(fn)
  rt.cpu.force_portable(prev)
  if not ok then error(r, 0) end
  return r
end

T.test("bf16 inference: within bf16 tolerance of fp32; native and emulated agree", function()
  local m = rt.model.new(copy(base, {use_relative_position = true, max_relative_position = 4}), {seed = 7})
  m:eval()
  local inp = batch(3, 21, 8)
  local ref = m:infer(inp)
  m:to("bf16")
  T.eq(m:precision(), "bf16")
  local b = m:infer(inp)
  local e = relerr(b.last_hidden_state, ref.last_hidden_state)
  T.ok(e < 3e-2 and e > 0, "bf16 vs fp32 hidden " .. e)
  T.ok(relerr(b.logits, ref.logits) < 5e-2, "bf16 logits " .. relerr(b.logits, ref.logits))
  local emu = with_portable(true, function()
    m:to("bf16")
    local p, native = m:precision()
    T.eq(native, false)
    return m:infer(inp)
  end)
  T.ok(relerr(emu.last_hidden_state, b.last_hidden_state) < 1e-4,
       "emulated vs native " .. relerr(emu.last_hidden_state, b.last_hidden_state))
  m:to("fp32")
  T.eq(m:precision(), "fp32")
  T.ok(relerr(m:infer(inp).last_hidden_state, ref.last_hidden_state) < 1e-5, "prepacked fp32")
  m:to()
  T.eq(m:precision(), "live")
  T.near(m:infer(inp).logits, ref.logits, 0)
end)

T.test("int8 inference: per-channel / per-row quantization close to fp32; VNNI and portable give the same bits", function()
  local m = rt.model.new(base, {seed = 9})
  m:eval()
  local inp = batch(2, 19, 10)
  local ref = m:infer(inp)
  m:quantize()
  T.eq(m:precision(), "int8")
  local q = m:infer(inp)
  local e = relerr(q.last_hidden_state, ref.last_hidden_state)
  T.ok(e < 6e-2 and e > 0, "int8 vs fp32 hidden " .. e)
  local emu = with_portable(true, function() m:quantize(); return m:infer(inp) end)
  T.near(emu.last_hidden_state, q.last_hidden_state, 0)
end)

T.test("rt.autocast: bf16 GEMMs (matmul = rounded inputs in fp32), training step, fallback agrees", function()
  rt.manual_seed(11)
  local a, b = rt.randn(37, 70), rt.randn(70, 45)
  local c = rt.autocast("bf16", function() return a:matmul(b) end)
  local ar, br = a:to("bf16"):float(), b:to("bf16"):float()
  T.ok(relerr(c, ar:matmul(br)) < 1e-5, "bf16 GEMM vs fp32 GEMM of the rounded inputs")
  T.ok(relerr(c, a:matmul(b)) < 2e-2, "bf16 GEMM vs fp32")
  local ce = with_portable(true, function() return rt.autocast("bf16", function() return a:matmul(b) end) end)
  T.ok(relerr(ce, c) < 1e-5, "emulated vs native")
  do
    local ac <close> = rt.autocast("bf16")
    T.eq(rt.autocast_dtype(), "bf16")
  end
  T.eq(rt.autocast_dtype(), "fp32")
  -- a model forward + backward under autocast: close to fp32, weights stay fp32
  local m = rt.model.new(base, {seed = 12})
  m:eval()
  local inp = copy(batch(2, 10, 13), {labels = rt.tensor({1, 2}, "i64")})
  local l32 = m:forward(inp).loss
  l32:backward()
  local g32 = m:named_parameters()["bert.encoder.layer.0.attention.self.query.weight"].grad
  m:zero_grad()
  local l16 = rt.autocast("bf16", function()
    local l = m:forward(inp).loss
    l:backward()
    return l
  end)
  local w = m:named_parameters()["bert.encoder.layer.0.attention.self.query.weight"]
  T.eq(w:dtype(), "f32")
  T.near(l16:item(), l32:item(), 2e-2)
  T.ok(relerr(w.grad, g32) < 0.1, "bf16 grad vs fp32 grad " .. relerr(w.grad, g32))
  T.raises(function() rt.autocast("fp16") end, "dtype must be")
end)

T.test("rt.cpu.features reports the instructions and the portable switch", function()
  local f = rt.cpu.features()
  T.eq(type(f.avx512_bf16), "boolean")
  T.eq(type(f.avx512_vnni), "boolean")
  with_portable(true, function()
    local g = rt.cpu.features()
    T.eq(g.portable, true)
    T.eq(g.avx512_bf16, false)
    T.eq(g.avx512_vnni, false)
  end)
end)

T.test("finetune.lua --bf16 trains and evaluates; --eval_only --int8 / --bf16 on the best model stay within a point", function()
  local Trainer = require "retort.trainer"
  local data, vocab = T.seed("chnsenti"), T.seed("nezha-cn-base/vocab.txt")
  local function run(args)
    local chunk = assert(loadfile("lua/recipes/finetune.lua"))
    return chunk(table.unpack(args))
  end
  local dir = T.tmpdir()
  local res = run({ "--from_scratch", "--task", "chnsenti", "--data_dir", data, "--vocab_file", vocab,
    "--output_dir", dir, "--max_seq_length", "48", "--train_batch_size", "16", "--num_train_epochs", "6",
    "--learning_rate", "2e-3", "--optimizer", "adamw", "--hidden_size", "32", "--num_hidden_layers", "1",
    "--num_attention_heads", "2", "--dropout", "0", "--progress", "false", "--seed", "3", "--bf16" })
  T.ok(res.acc ~= nil and res.eval_loss == res.eval_loss, "bf16 run reports acc")
  T.eq(rt.autocast_dtype(), "fp32")
  local accs = {}
  for _, p in ipairs({ "fp32", "bf16", "int8" }) do
    local out = T.tmpdir()
    local args = { "--model_dir", dir .. "/best", "--task", "chnsenti", "--data_dir", data, "--output_dir", out,
      "--max_seq_length", "48", "--eval_only" }
    if p ~= "fp32" then args[#args + 1] = "--" .. p end
    accs[p] = run(args).acc
    Trainer.remove_tree(out)
  end
  T.ok(math.abs(accs.bf16 - accs.fp32) <= 0.01 + 1e-9, "bf16 acc " .. accs.bf16 .. " vs fp32 " .. accs.fp32)
  T.ok(math.abs(accs.int8 - accs.fp32) <= 0.01 + 1e-9, "int8 acc " .. accs.int8 .. " vs fp32 " .. accs.fp32)
  T.raises(function() run({ "--from_scratch", "--task", "chnsenti", "--data_dir", data, "--vocab_file", vocab,
    "--output_dir", T.tmpdir(), "--bf16", "--int8" }) end, "not both")
  Trainer.remove_tree(dir)
end)

T.test("prepacked fp32 / bf16 / int8 inference gives the same bits on 1 and 2 threads", function()
  local m = rt.model.new(base, {seed = 21})
  m:eval()
  local inp = batch(3, 17, 22)
  local n0 = rt.get_threads and rt.get_threads() or 2
  for _, p in ipairs({"fp32", "bf16", "int8"}) do
    m:to(p)
    rt.set_threads(1)
    local a = m:infer(inp).last_hidden_state
    rt.set_threads(2)
    local b = m:infer(inp).last_hidden_state
    T.near(a, b, 0, p)
  end
  rt.set_threads(n0)
  m:to()
end)

T.test("pretrain.lua --bf16 trains under autocast on the toy TFRecords (loss close to fp32)", function()
  local toy = T.seed("pretrain-toy/tf_examples_00.tfrecord")
  local recipe = assert(loadfile("lua/recipes/pretrain.lua"))
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/config.json", "wb"))
  f:write([[{"vocab_size": 30522, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
    "intermediate_size": 24, "type_vocab_size": 2}]])
  f:close()
  local res = {}
  for _, p in ipairs({"fp32", "bf16"}) do
    local args = {"--bert_config_file=" .. dir .. "/config.json", "--input_file=" .. toy, "--output_dir=" .. dir .. "/" .. p,
      "--do_train=True", "--do_eval=True", "--train_batch_size=16", "--num_train_steps=2", "--num_warmup_steps=1",
      "--save_formats=safetensors", "--progress=false", "--seed=3"}
    if p == "bf16" then args[#args + 1] = "--bf16=True" end
    res[p] = recipe(table.unpack(args))
  end
  T.eq(res.bf16.step, 2)
  T.eq(rt.autocast_dtype(), "fp32")
  T.near(res.bf16.eval.masked_lm_loss, res.fp32.eval.masked_lm_loss, 1e-2)
  os.execute("rm -rf '" .. dir .. "'")
end)
