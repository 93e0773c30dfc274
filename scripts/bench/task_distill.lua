-- bench task_distill_step: one TinyBERT task-distillation training step (BERT-base teacher
-- forward under no_grad, TinyBERT-4L-312 student forward + backward + BertAdam), stage 1
-- (att + rep through fit_dense) and stage 2 (soft cross-entropy on the logits), as
-- lua/recipes/task_distill.lua runs them. Median of --steps timed steps after one warm-up.
--   build/retort scripts/bench/task_distill.lua --threads 2 [--steps 3] [--batch 32] [--seq 128]
--   [--teacher_layers 12 --teacher_hidden 768 --student_layers 4 --student_hidden 312]
local rt = rt or require "retort"
local TD = require "retort.task_distill"

local o = { threads = 2, steps = 3, batch = 32, seq = 128, teacher_layers = 12, teacher_hidden = 768,
            teacher_heads = 12, student_layers = 4, student_hidden = 312, student_ffn = 1200, vocab = 30522 }
local a = { ... }
if #a == 0 and arg then for i = 1, #arg do a[i] = arg[i] end end
for i = 1, #a - 1, 2 do local k = a[i]:match("^%-%-([%w_]+)$"); if k then o[k] = tonumber(a[i + 1]) or a[i + 1] end end
rt.set_threads(o.threads)
rt.manual_seed(1)

local teacher = rt.model.new({ vocab_size = o.vocab, hidden_size = o.teacher_hidden, num_hidden_layers = o.teacher_layers,
  num_attention_heads = o.teacher_heads, intermediate_size = 4 * o.teacher_hidden, max_position_embeddings = 512,
  heads = { "classifier" }, num_labels = 2, classifier_activation = "relu" }, { seed = 1 })
teacher:eval()
local student = rt.model.new({ vocab_size = o.vocab, hidden_size = o.student_hidden, num_hidden_layers = o.student_layers,
  num_attention_heads = o.teacher_heads, intermediate_size = o.student_ffn, max_position_embeddings = 512,
  heads = { "classifier" }, num_labels = 2, fit_size = o.teacher_hidden, classifier_activation = "relu" }, { seed = 2 })
student:train()
local B, S = o.batch, o.seq
local batch = { input_ids = (rt.rand(B, S) * (o.vocab - 1)):floor():to("i64"), token_type_ids = rt.zeros({ B, S }, "i64"),
                attention_mask = rt.ones({ B, S }, "i64"), labels = (rt.rand(B) * 2):floor():to("i64") }
local maps = TD.maps(o.student_layers, o.teacher_layers)

local function run(stage)
  local opt = rt.optim.bertadam(student, { lr = 5e-5, schedule = stage == 1 and "none" or "warmup_linear",
                                           warmup = 0.1, total_steps = 1000 })
  local times = {}
  for i = 0, o.steps do
    local t0 = rt.sys.now()
    local so = TD.forward(student, batch)
    local to = rt.no_grad(function() return TD.forward(teacher, batch) end)
    local loss
    if stage == 1 then loss = TD.stage1(so, to, maps) else loss = TD.stage2(so, to.logits, batch.labels, {}) end
    loss:backward()
    opt:step()
    opt:zero_grad()
    if i > 0 then times[#times + 1] = rt.sys.now() - t0 end
  end
  table.sort(times)
  local ms = times[(#times + 1) // 2] * 1000
  print(string.format("bench task_distill_step impl=retort stage=%d teacher=%dLx%d student=%dLx%d batch=%d seq=%d "
    .. "threads=%d ms=%.1f ex_per_s=%.2f", stage, o.teacher_layers, o.teacher_hidden, o.student_layers,
    o.student_hidden, B, S, o.threads, ms, B / (ms / 1000)))
end
run(1)
run(2)
