-- One NEZHA pretraining step (peer: scripts/bench/pretrain.py): NEZHA-base (12L-768H,
-- relative positions, V 21128), batch 32 x seq 128, 20 masked predictions per sequence
-- (the MLM head only at those positions, as run_pretraining.py gathers them), upstream's
-- MLM + NSP losses, backward, TF global clipping and LAMB (retort.pretrain.mlm, rt.optim.lamb).
--   build/retort scripts/bench/pretrain.lua --threads 2 [--size base|small] [--steps 2]
-- prints  bench pretrain_step impl=retort model=nezha-base batch=32 seq=128 max_pred=20 ms= tok_per_s= peak_rss_mb=
local rt = rt or require "retort"
local P = require "retort.pretrain.mlm"
local o = { threads = "2", size = "base", steps = "2" }
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k then o[k] = arg[i + 1]; i = i + 2 else i = i + 1 end
end
rt.set_threads(tonumber(o.threads))
local SIZES = {
  base = { vocab_size = 21128, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12, intermediate_size = 3072 },
  small = { vocab_size = 2000, hidden_size = 64, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 128 },
}
local c = SIZES[o.size] or error("--size base|small")
c.use_relative_position, c.max_relative_position, c.hidden_act = true, 64, "gelu"
c.type_vocab_size, c.max_position_embeddings, c.heads = 2, 512, { "mlm", "nsp" }
local B, S, NP = 32, 128, 20
local m = rt.model.new(c, { seed = 0 })
m:train()
-- deterministic synthetic batch (the same recipe as the .py peer)
local ids, seg, mask, pos, lab, w, nsp = {}, {}, {}, {}, {}, {}, {}
local s = 1
local function r(n) s = (s * 1103515245 + 12345) % 2147483648; return s % n end
for b = 1, B do
  ids[b], seg[b], mask[b], pos[b], lab[b], w[b] = {}, {}, {}, {}, {}, {}
  for j = 1, S do ids[b][j] = 1 + r(c.vocab_size - 1); seg[b][j] = j > S // 2 and 1 or 0; mask[b][j] = 1 end
  for k = 1, NP do pos[b][k] = (k * 6 + b) % S; lab[b][k] = r(c.vocab_size); w[b][k] = 1.0 end
  nsp[b] = b % 2
end
local batch = { input_ids = rt.tensor(ids, "i64"), token_type_ids = rt.tensor(seg, "i64"), attention_mask = rt.tensor(mask, "i64"),
                positions = rt.tensor(pos, "i64"), labels = rt.tensor(lab, "i64"), weights = rt.tensor(w), nsp = rt.tensor(nsp, "i64"),
                size = B }
local opt = rt.optim.lamb(m, { lr = 1e-4, total_steps = 1000, warmup_steps = 10, schedule = "polynomial", max_grad_norm = 1.0 })
local function step()
  local loss = P.losses(m, batch)
  loss:backward()
  opt:step()
  opt:zero_grad()
end
local steps = tonumber(o.steps)
local ts = {}
for k = 0, steps do
  local t0 = rt.sys.now()
  step()
  if k > 0 then ts[#ts + 1] = rt.sys.now() - t0 end
end
local sum = 0
for _, t in ipairs(ts) do sum = sum + t end
local ms = sum / #ts * 1e3
local rss = -1
local f = io.open("/proc/self/status")
if f then for line in f:lines() do local kb = line:match("^VmHWM:%s+(%d+)"); if kb then rss = tonumber(kb) / 1024 end end f:close() end
print(string.format("bench pretrain_step impl=retort model=nezha-%s batch=%d seq=%d max_pred=%d threads=%s ms=%.1f tok_per_s=%.0f peak_rss_mb=%.0f",
  o.size, B, S, NP, o.threads, ms, B * S / (ms / 1e3), rss))
