-- NER and CMRC training-step benchmarks (peer: scripts/bench/ner.py):
--   ner_step  = NEZHA-base token classifier (11 labels), batch 16 x seq 128: forward,
--               summed token cross-entropy (run_classifier_ner.py), backward, AdamWeightDecay step;
--   cmrc_step = NEZHA-base span head, batch 4 x seq 512 (run_reading.sh): forward, masked
--               start/end logits, (CE_start + CE_end) / 2, backward, AdamWeightDecay step.
-- Each task runs in its own process (peak RSS its own); scripts/bench/cmrc.lua runs the cmrc task.
--   build/retort scripts/bench/ner.lua --threads 2 [--tasks ner,cmrc] [--layers 12 --hidden 768 --steps 2]
-- (--layers/--hidden/--seq/--batch shrink the model for a quick check).
local rt = rt or require "retort"

local opts = { threads = 2, tasks = "ner", layers = 12, hidden = 768, steps = 2 }
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k == "one" then opts.one = arg[i + 1]; i = i + 2
  elseif k then opts[k] = arg[i + 1]; i = i + 2
  else i = i + 1 end
end
for _, k in ipairs({ "threads", "layers", "hidden", "steps", "seq", "batch" }) do opts[k] = tonumber(opts[k]) end
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

local function run_one(task)
  local H, L = opts.hidden, opts.layers
  local c = { vocab_size = 21128, hidden_size = H, num_hidden_layers = L, num_attention_heads = math.max(1, H // 64),
              intermediate_size = 4 * H, use_relative_position = true, max_relative_position = 64,
              max_position_embeddings = 512, heads = { task == "ner" and "token_classifier" or "qa" }, num_labels = 11 }
  local B = opts.batch or (task == "ner" and 16 or 4)
  local S = opts.seq or (task == "ner" and 128 or 512)
  local m = rt.model.new(c, { seed = 0 })
  m:train()
  rt.manual_seed(1)
  local ids = (rt.rand(B, S) * (c.vocab_size - 1) + 1):floor():to("i64")
  local mask = rt.ones(B, S):to("i64")
  local seg = rt.zeros(B, S):to("i64")
  local x = { input_ids = ids, token_type_ids = seg, attention_mask = mask, output_fit = false }
  local labels = (rt.rand(B, S) * 11):floor():to("i64")
  local span = rt.ones(B, S)
  local sp, ep = (rt.rand(B) * S):floor():to("i64"), (rt.rand(B) * S):floor():to("i64")
  local opt = rt.optim.new("adam_weight_decay", m, { lr = 3e-5, weight_decay = 0.01, total_steps = 100, warmup_steps = 10 })
  local total = 0
  for s = 0, opts.steps do
    local t0 = rt.sys.now()
    local out = m:forward(x)
    local loss
    if task == "ner" then
      loss = rt.F.cross_entropy(out.logits:reshape(-1, 11), labels:reshape(-1), { reduction = "sum" })
    else
      local pen = (span - 1) * 10000
      loss = (rt.F.cross_entropy(out.start_logits + pen, sp) + rt.F.cross_entropy(out.end_logits + pen, ep)) * 0.5
    end
    opt:zero_grad()
    loss:backward()
    opt:step()
    out, loss = nil, nil
    collectgarbage()
    if s > 0 then total = total + (rt.sys.now() - t0) end
  end
  local ms = total / opts.steps * 1e3
  print(string.format("bench %s_step impl=retort model=nezha-L%d-H%d batch=%d seq=%d threads=%d ms=%.1f tok_per_s=%.0f peak_rss_mb=%.0f",
    task, L, H, B, S, opts.threads, ms, B * S / (ms / 1e3), peak_rss_mb()))
  io.stdout:flush()
end

if opts.one then
  run_one(opts.one)
else
  local bin = os.getenv("RETORT_BIN") or (arg and arg[-1]) or "build/retort"
  local script = arg and arg[0] or "scripts/bench/ner.lua"
  local extra = ""
  for _, k in ipairs({ "layers", "hidden", "steps", "seq", "batch" }) do
    if opts[k] then extra = extra .. string.format(" --%s %d", k, opts[k]) end
  end
  for task in opts.tasks:gmatch("[^,]+") do
    os.execute(string.format("%s %s --threads %d --one %s%s", bin, script, opts.threads, task, extra))
  end
end
