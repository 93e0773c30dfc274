-- general_distill.lua end to end with tiny models on the committed pregenerated
-- fixture: upstream files (step_N_pytorch_model.bin, config.json, vocab.txt, log.txt),
-- log.jsonl terms, resume == uninterrupted (bit-identical), checks naming both models.
local T = require "retort.test"
local G = T.golden("pregenerate")
local RECIPE = "lua/recipes/general_distill.lua"

local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local function exists(p) local f = io.open(p, "rb"); if f then f:close() end; return f ~= nil end

local function nvocab()
  local n = 0
  for _ in io.lines(G .. "/vocab.txt") do n = n + 1 end
  return n
end

local function setup()
  local dir = T.tmpdir()
  local V = nvocab()
  local t = rt.model.new({ vocab_size = V, hidden_size = 32, num_hidden_layers = 4, num_attention_heads = 2,
                           intermediate_size = 64, max_position_embeddings = 64, heads = { "mlm", "nsp" } }, { seed = 5 })
  t:save(dir .. "/teacher", { format = "bin" })     -- a BertForPreTraining-like checkpoint
  os.execute(string.format("cp '%s/vocab.txt' '%s/teacher/vocab.txt'", G, dir))
  rt.sys.mkdir(dir .. "/student")
  rt.log.write_json(dir .. "/student/config.json", { vocab_size = V, hidden_size = 16, num_hidden_layers = 2,
    num_attention_heads = 2, intermediate_size = 32, max_position_embeddings = 64 })
  return dir
end

local function run(dir, out, extra)
  local args = { "--pregenerated_data", G .. "/retort", "--teacher_model", dir .. "/teacher", "--student_model",
                 dir .. "/student", "--output_dir", out, "--train_batch_size", "8", "--eval_step", "3",
                 "--max_seq_length", "64", "--progress", "false", "--learning_rate", "1e-3", "--num_train_epochs", "2" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return loadfile(RECIPE)(table.unpack(args))
end

T.test("general_distill: upstream files, log.jsonl terms, resume is bit-identical", function()
  local dir = setup()
  local a = run(dir, dir .. "/A", { "--max_steps", "6" })
  T.eq(a.step, 6)
  -- t_total as upstream: int(examples over the epochs / batch / accumulation)
  T.eq(a.t_total, (121 + 122) // 8)
  for _, f in ipairs { "step_2_pytorch_model.bin", "step_5_pytorch_model.bin", "config.json", "vocab.txt",
                       "model.safetensors", "log.txt", "log.jsonl" } do
    T.ok(exists(dir .. "/A/" .. f), "wrote " .. f)
  end
  local lt = slurp(dir .. "/A/log.txt")
  T.ok(lt:match("^att_loss = [%d%.e%-]+\nglobal_step = 2\nloss = [%d%.e%-]+\nrep_loss = [%d%.e%-]+\natt_loss = "), lt)
  local recs = rt.log.read_jsonl(dir .. "/A/log.jsonl")
  T.eq(#recs, 6)
  T.eq(recs[1].lr, 0, "BertAdam warmup_linear: the first update has lr 0")
  for _, r in ipairs(recs) do
    T.near(r.att_l1 + r.att_l2, r.att, 1e-6); T.near(r.rep_h0 + r.rep_h1 + r.rep_h2, r.rep, 1e-5)
    T.near(r.att + r.rep, r.loss, 1e-5)
    T.ok(r.tokens_per_s > 0 and r.lr >= 0)
  end
  T.ok(recs[6].rep < recs[1].rep, "rep loss falls")
  -- the saved student loads back, with fit_dense [teacher hidden, student hidden]
  local m = rt.model.load(dir .. "/A", { quiet = true })
  T.eq(table.concat(m:named_parameters()["fit_dense.weight"]:shape(), "x"), "32x16")
  local bin = rt.io.load_bin(dir .. "/A/step_5_pytorch_model.bin")
  T.ok(bin["bert.encoder.layer.1.attention.self.query.weight"] and bin["fit_dense.bias"], "upstream key names")
  -- interrupted at step 3, resumed: the same parameters and log.txt as without the break
  run(dir, dir .. "/B", { "--max_steps", "3" })
  local c = run(dir, dir .. "/B", { "--max_steps", "6", "--resume" })
  T.eq(c.step, 6)
  local pa, pb = rt.load(dir .. "/A/model.safetensors"), rt.load(dir .. "/B/model.safetensors")
  for k, v in pairs(pa) do
    T.eq((v - pb[k]):abs():max():item(), 0, "parameter " .. k .. " identical after resume")
  end
  T.eq(slurp(dir .. "/B/log.txt"), lt, "log.txt identical after resume")
  T.eq(#rt.log.read_jsonl(dir .. "/B/log.jsonl"), 6)
  -- --continue_train: the student's weights come from a checkpoint folder
  local c2 = run(dir, dir .. "/C", { "--max_steps", "1", "--continue_train", "--student_model", dir .. "/A" })
  T.eq(c2.step, 1)
  local pc = rt.load(dir .. "/C/model.safetensors")
  T.ok((pc["fit_dense.weight"] - pa["fit_dense.weight"]):abs():max():item() < 1e-2, "continued from A's weights")
end)

T.test("general_distill: per-layer terms add up to rt.distill.losses", function()
  local V = nvocab()
  local t = rt.model.new({ vocab_size = V, hidden_size = 32, num_hidden_layers = 4, num_attention_heads = 2,
                           intermediate_size = 64 }, { seed = 1 })
  local s = rt.model.new({ vocab_size = V, hidden_size = 16, num_hidden_layers = 2, num_attention_heads = 2,
                           intermediate_size = 32, fit_size = 32 }, { seed = 2 })
  t:eval(); s:eval()
  local tok = rt.tokenizer.load(G .. "/vocab.txt", { lower = true })
  local d = rt.data.pregenerated_arrays(G .. "/retort/epoch_0.json", tok, 64, 4)
  local inp = { input_ids = d.input_ids, token_type_ids = d.segment_ids, attention_mask = d.input_mask }
  local to = rt.no_grad(function() return t:forward(inp) end)
  for j = 1, #to.hidden_states do T.ok(to.hidden_states[j]:grad_fn() == nil, "teacher outputs keep no graph") end
  for i = 1, #to.attentions do T.ok(to.attentions[i]:grad_fn() == nil, "teacher attentions keep no graph") end
  local so = s:forward(inp)
  local L = rt.distill.losses(so, to)
  local att = 0
  for i = 1, 2 do
    att = att + rt.distill.losses({ attentions = { so.attentions[i] }, hidden_states = { so.hidden_states[1], so.hidden_states[1] } },
      { attentions = { to.attentions[2 * i] }, hidden_states = { to.hidden_states[1], to.hidden_states[1] } },
      { rep = false, att_map = { 1 }, hidden_map = { 1, 1 } }).att:item()
  end
  local rep = 0
  for j = 1, 3 do rep = rep + rt.F.mse(so.fit_hidden_states[j], to.hidden_states[2 * j - 1]):item() end
  T.near(att, L.att:item(), 1e-6); T.near(rep, L.rep:item(), 1e-5)
end)

T.test("general_distill: checks before the first step name both models", function()
  local dir = setup()
  local cfg = rt.log.read_json(dir .. "/student/config.json")
  cfg.num_attention_heads = 4
  rt.log.write_json(dir .. "/student/config.json", cfg)
  local e = T.raises(function() run(dir, dir .. "/X", { "--max_steps", "1" }) end, "heads")
  T.ok(tostring(e):find(dir .. "/teacher", 1, true) and tostring(e):find(dir .. "/student", 1, true), e)
  run(dir, dir .. "/Y", { "--max_steps", "1", "--att_loss", "false" })       -- fine without the attention loss
  -- epoch files in upstream layout (written by the Python reference with json.dumps)
  local u = run(dir, dir .. "/U", { "--max_steps", "2", "--att_loss", "false", "--pregenerated_data", G .. "/upstream" })
  T.eq(u.step, 2)
  -- gradient accumulation: micro-batches of train_batch_size // steps, t_total as upstream
  local g2 = run(dir, dir .. "/GA", { "--max_steps", "2", "--att_loss", "false", "--gradient_accumulation_steps", "2" })
  T.eq(g2.step, 2); T.eq(g2.t_total, math.floor((121 + 122) / 4 / 2))
  cfg.num_attention_heads = 2; cfg.num_hidden_layers = 3
  rt.log.write_json(dir .. "/student/config.json", cfg)
  T.raises(function() run(dir, dir .. "/Z", { "--max_steps", "1" }) end, "not a multiple of the 3 layers")
  run(dir, dir .. "/Z", { "--max_steps", "1", "--layer_map", "att=1,2,3" })
  local f = assert(io.open(dir .. "/student/vocab.txt", "w")); f:write("[PAD]\n[UNK]\n"); f:close()
  T.raises(function() run(dir, dir .. "/W", { "--max_steps", "1", "--layer_map", "att=1,2,3" }) end, "vocabularies differ")
end)

T.test("general_distill: step_N_pytorch_model.bin loads with torch.load, upstream key names", function()
  local py = "/usr/bin/python3"
  local h = io.popen(py .. " -c 'import torch' 2>&1; echo rc=$?")
  local r = h:read("a"); h:close()
  if not r:find("rc=0", 1, true) then T.skip("python3-torch not installed") end
  local dir = setup()
  run(dir, dir .. "/P", { "--max_steps", "3" })
  local code = [[
import sys, torch
sd = torch.load(sys.argv[1], map_location="cpu")
keys = set(sd)
need = ["bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
        "bert.encoder.layer.1.attention.self.query.weight", "bert.encoder.layer.1.output.LayerNorm.bias",
        "bert.pooler.dense.weight", "fit_dense.weight", "fit_dense.bias"]
missing = [k for k in need if k not in keys]
assert not missing, missing
assert tuple(sd["fit_dense.weight"].shape) == (32, 16), sd["fit_dense.weight"].shape
print("torch-ok", len(keys))
]]
  local pf = dir .. "/check.py"
  local f = assert(io.open(pf, "w")); f:write(code); f:close()
  h = io.popen(string.format("%s '%s' '%s/P/step_2_pytorch_model.bin' 2>&1", py, pf, dir))
  r = h:read("a"); h:close()
  T.ok(r:find("torch-ok", 1, true), r)
end)
