-- Model benchmarks (peers in scripts/bench/models.py):
--   bert-base (12L-768H), nezha-base (12L-768H, relative positions), tinybert6 (6L-768H),
--   tinybert4 (4L-312H-1200I):
--   infer1  = batch 1 x seq 128 inference latency (median of 20),
--   infer32 = batch 32 x seq 128 inference throughput,
--   train   = batch 32 x seq 128 training step: forward (MLM head over all tokens) +
--             backward + AdamW (rt.optim.adamw),
-- each in its own process so the peak RSS (VmHWM) is its own. --precs fp32,bf16,int8 picks
-- the precisions: inference runs m:infer after m:to(prec) (fp32 = prepacked weights), the
-- training step runs under rt.autocast for bf16 (int8 has no training row); tiny
-- (2L-128H) is for checking the scripts quickly.
--   build/retort scripts/bench/models.lua --threads 2 [--models a,b] [--modes infer1,train]
--                [--precs fp32,bf16,int8] [--seq 128]
local rt = rt or require "retort"

local MODELS = {
  ["bert-base"] = {vocab_size = 30522, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12,
                   intermediate_size = 3072},
  ["nezha-base"] = {vocab_size = 21128, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12,
                    intermediate_size = 3072, use_relative_position = true, max_relative_position = 64},
  ["tinybert6"] = {vocab_size = 30522, hidden_size = 768, num_hidden_layers = 6, num_attention_heads = 12,
                   intermediate_size = 3072},
  ["tinybert4"] = {vocab_size = 30522, hidden_size = 312, num_hidden_layers = 4, num_attention_heads = 12,
                   intermediate_size = 1200},
}
MODELS["tiny"] = {vocab_size = 1000, hidden_size = 128, num_hidden_layers = 2, num_attention_heads = 2,
                  intermediate_size = 512}
local ORDER = {"bert-base", "nezha-base", "tinybert6", "tinybert4"}

local opts = {threads = 2, models = table.concat(ORDER, ","), modes = "infer1,infer32,train", precs = "fp32",
              seq = 128}
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k == "one" then opts.one = {arg[i + 1], arg[i + 2], arg[i + 3]}; i = i + 4
  elseif k then opts[k] = arg[i + 1]; i = i + 2
  else i = i + 1 end
end
opts.threads = tonumber(opts.threads)
local SEQ = tonumber(opts.seq)
if rt.set_threads then rt.set_threads(opts.threads) end

local function peak_rss_mb()
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  for line in f:lines() do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then f:close(); return tonumber(kb) / 1024 end
  end
  f:close()
  return -1
end

local function now() return rt._bench.now() end

local function run_one(name, mode, prec)
  local c = {}
  for k, v in pairs(MODELS[name]) do c[k] = v end
  c.heads = mode == "train" and {"mlm"} or {}
  local m = rt.model.new(c, {seed = 0})
  local B = mode == "infer1" and 1 or 32
  rt.manual_seed(1)
  local ids = (rt.rand(B, SEQ) * (c.vocab_size - 1) + 1):floor():to("i64")
  local mask = rt.ones(B, SEQ):to("i64")
  local x = {input_ids = ids, attention_mask = mask, output_fit = false}
  local ms
  if mode ~= "train" then
    m:eval()
    m:to(prec)
    local reps = mode == "infer1" and 20 or 3
    for _ = 1, (mode == "infer1" and 2 or 1) do m:infer(x) end
    local ts = {}
    for r = 1, reps do
      local t0 = now()
      m:infer(x)
      ts[r] = now() - t0
      collectgarbage()
    end
    table.sort(ts)
    ms = ts[(reps + 1) // 2] * 1e3
  else
    m:train()
    x.mlm_labels = (rt.rand(B, SEQ) * c.vocab_size):floor():to("i64")
    local opt = rt.optim.adamw(m, {lr = 1e-4, weight_decay = 0.01})
    local steps = name == "tinybert4" and 3 or 2
    local total = 0
    local ac <close> = prec == "bf16" and rt.autocast("bf16") or nil
    for s = 0, steps do
      local t0 = now()
      local out = m:forward(x)
      opt:zero_grad()
      out.loss:backward()
      opt:step()
      out = nil
      collectgarbage()
      if s > 0 then total = total + (now() - t0) end
    end
    ms = total / steps * 1e3
  end
  print(string.format("bench model_%s impl=retort model=%s prec=%s batch=%d seq=%d threads=%d ms=%.1f tok_per_s=%.0f peak_rss_mb=%.0f",
    mode, name, prec, B, SEQ, opts.threads, ms, B * SEQ / (ms / 1e3), peak_rss_mb()))
  io.stdout:flush()
end

if opts.one then
  run_one(opts.one[1], opts.one[2], opts.one[3] or "fp32")
else
  local bin = os.getenv("RETORT_BIN") or (arg and arg[-1]) or "build/retort"
  local script = arg and arg[0] or "scripts/bench/models.lua"
  for name in opts.models:gmatch("[^,]+") do
    for mode in opts.modes:gmatch("[^,]+") do
      for prec in opts.precs:gmatch("[^,]+") do
        if not (mode == "train" and prec == "int8") then
          os.execute(string.format("%s %s --threads %d --seq %d --one %s %s %s", bin, script, opts.threads, SEQ,
                                   name, mode, prec))
        end
      end
    end
  end
end
