-- bench trainer: the Trainer's own cost per step (Lua bookkeeping, JSONL log,
-- progress output, memory query) on a TinyBERT-4L training step, as a fraction of
-- the step time; also the optimizer step (AdamW kernels over all parameters).
--   build/retort scripts/bench/trainer.lua --threads 2 [--steps 5] [--batch 32] [--seq 128]
local rt = rt or require "retort"
local Trainer = require "retort.trainer"

local o = { threads = 2, steps = 5, batch = 32, seq = 128 }
local a = { ... }
if #a == 0 and arg then for i = 1, #arg do a[i] = arg[i] end end
for i = 1, #a - 1, 2 do local k = a[i]:match("^%-%-(%w+)$"); if k then o[k] = tonumber(a[i + 1]) or a[i + 1] end end
rt.set_threads(o.threads)
rt.manual_seed(1)

local cfg = { vocab_size = 30522, hidden_size = 312, num_hidden_layers = 4, num_attention_heads = 12,
              intermediate_size = 1200, hidden_act = "gelu", max_position_embeddings = 512, type_vocab_size = 2,
              heads = { "classifier" }, num_labels = 2 }
local model = rt.model.new(cfg, { seed = 1 })
local B, S = o.batch, o.seq
local batches = {}
for i = 1, 2 do
  batches[i] = {
    input_ids = (rt.rand(B, S) * 30000):floor():to("i64"),
    token_type_ids = rt.zeros({ B, S }, "i64"),
    attention_mask = rt.ones({ B, S }, "i64"),
    labels = (rt.rand(B) * 2):floor():to("i64"),
    size = B,
  }
end
local dir = os.tmpname(); os.remove(dir)
local tr = Trainer.new{
  model = model, train_batches = function() local t = {}; for i = 1, o.steps + 1 do t[i] = batches[(i - 1) % 2 + 1] end; return t end,
  epochs = 1, max_steps = o.steps + 1, stats_skip = 1, output_dir = dir, save_every = false, progress = true, progress_every = 0,
  optim = { name = "adamw", lr = 1e-4, warmup = 0.1, schedule = "warmup_linear" },
  step_fn = function(m, b)
    local out = m:forward{ input_ids = b.input_ids, token_type_ids = b.token_type_ids,
                           attention_mask = b.attention_mask, labels = b.labels }
    return out.loss, nil, B * S, B
  end,
}
local s = tr:fit()
local st = tr.stats
local steps = st.steps
local step_ms = st.step_s / steps * 1000
local compute_ms = st.compute_s / steps * 1000
local over_ms = step_ms - compute_ms
-- optimizer step alone (AdamW over every parameter), after a backward
local out = model:forward{ input_ids = batches[1].input_ids, token_type_ids = batches[1].token_type_ids,
                           attention_mask = batches[1].attention_mask, labels = batches[1].labels }
out.loss:backward()
local t0 = rt.sys.now()
for _ = 1, 5 do tr.optimizer:step() end
local opt_s = (rt.sys.now() - t0) / 5
tr.optimizer:zero_grad()
print(string.format("bench trainer_overhead model=tinybert4 batch=%d seq=%d threads=%d steps=%d step_ms=%.1f "
  .. "overhead_ms=%.3f overhead_pct=%.3f opt_step_ms=%.2f", B, S, o.threads, steps, step_ms, over_ms,
  100 * over_ms / step_ms, opt_s * 1000))
Trainer.remove_tree(dir)
