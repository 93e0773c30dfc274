-- bench general_distill_step: one TinyBERT general-distillation step (BERT-base teacher
-- frozen under rt.no_grad, TinyBERT-4L student with fit_dense to 768, att + rep loss with
-- the uniform 12 -> 4 map, BertAdam step), batch 32, seq 128 -- what general_distill.lua
-- runs per step. Peak memory: the process's VmHWM from /proc/self/status (peak RSS since
-- start) and rt.memory().peak (tensor bytes). PyTorch peer: general_distill.py.
--   build/retort scripts/bench/general_distill.lua --threads 2 [--steps 3] [--batch 32] [--seq 128] [--small 1]
local rt = rt or require "retort"

local o = { threads = 2, steps = 3, batch = 32, seq = 128, small = 0, keep_all = 0 }
local a = { ... }
if #a == 0 and arg then for i = 1, #arg do a[i] = arg[i] end end
for i = 1, #a - 1, 2 do local k = a[i]:match("^%-%-([%w_]+)$"); if k then o[k] = tonumber(a[i + 1]) or a[i + 1] end end
rt.set_threads(o.threads)
rt.manual_seed(1)

local function vmhwm_mb()
  local f = io.open("/proc/self/status", "r")
  if not f then return -1 end
  for line in f:lines() do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then f:close(); return tonumber(kb) / 1024 end
  end
  f:close()
  return -1
end

local small = o.small ~= 0
local V = small and 1000 or 30522
local tcfg = { vocab_size = V, hidden_size = small and 64 or 768, num_hidden_layers = small and 4 or 12,
               num_attention_heads = small and 4 or 12, intermediate_size = small and 128 or 3072, max_position_embeddings = 512 }
local scfg = { vocab_size = V, hidden_size = small and 32 or 312, num_hidden_layers = small and 2 or 4,
               num_attention_heads = small and 4 or 12, intermediate_size = small and 64 or 1200,
               max_position_embeddings = 512, fit_size = tcfg.hidden_size }
local teacher = rt.model.new(tcfg, { seed = 1 }):eval()
local student = rt.model.new(scfg, { seed = 2 }):train()
local B, S = o.batch, o.seq
local inp = { input_ids = (rt.rand(B, S) * (V - 1)):floor():to("i64"), token_type_ids = rt.zeros({ B, S }, "i64"),
              attention_mask = rt.ones({ B, S }, "i64") }
local opt = rt.optim.bertadam(student, { lr = 5e-5, warmup = 0.1, total_steps = 1000, schedule = "warmup_linear",
                                         weight_decay = 0.01, no_decay = { "bias", "LayerNorm.bias", "LayerNorm.weight" } })
local maps = rt.distill.layer_map(scfg.num_hidden_layers, tcfg.num_hidden_layers)
local ident = { att_map = {}, hidden_map = {} }
for i = 1, scfg.num_hidden_layers do ident.att_map[i] = i end
for j = 1, scfg.num_hidden_layers + 1 do ident.hidden_map[j] = j end
local function step()
  local t = rt.no_grad(function()
    local out = teacher:forward { input_ids = inp.input_ids, token_type_ids = inp.token_type_ids,
                                  attention_mask = inp.attention_mask, output_fit = false }
    if o.keep_all ~= 0 then return { attentions = out.attentions, hidden_states = out.hidden_states } end
    -- as general_distill.lua: only the mapped teacher layers stay alive, the rest are closed
    local A, H = {}, {}
    for i, k in ipairs(maps.att_map) do A[i] = out.attentions[k] end
    for j, k in ipairs(maps.hidden_map) do H[j] = out.hidden_states[k] end
    local used_a, used_h = {}, {}
    for _, k in ipairs(maps.att_map) do used_a[k] = true end
    for _, k in ipairs(maps.hidden_map) do used_h[k] = true end
    for k, x in ipairs(out.attentions) do if not used_a[k] then getmetatable(x).__close(x) end end
    for k, x in ipairs(out.hidden_states) do if not used_h[k] then getmetatable(x).__close(x) end end
    return { attentions = A, hidden_states = H }
  end)
  local s = student:forward(inp)
  local l = o.keep_all ~= 0 and rt.distill.losses(s, t) or rt.distill.losses(s, t, ident)
  l.total:backward()
  opt:step()
  opt:zero_grad()
  return l.total:item()
end
local now = rt._bench and rt._bench.now or rt.sys.now
step()                                   -- warm-up (allocator cache, OpenBLAS threads)
local ts = {}
for i = 1, o.steps do
  local t0 = now()
  step()
  ts[i] = now() - t0
end
table.sort(ts)
local ms = ts[(#ts + 1) // 2] * 1000
local m = rt.memory()
print(string.format("bench general_distill_step impl=retort teacher=%s student=%s batch=%d seq=%d threads=%d steps=%d "
  .. "ms=%.1f tok_per_s=%.0f peak_rss_mb=%.0f tensor_peak_mb=%.0f rss_method=VmHWM%s",
  small and "bert-small" or "bert-base", small and "tiny2" or "tinybert4", B, S, o.threads, o.steps, ms,
  B * S / (ms / 1000), vmhwm_mb(), (m.peak or 0) / 1048576, o.keep_all ~= 0 and " teacher_outputs=all" or ""))
