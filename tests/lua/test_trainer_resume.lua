-- Exact resume (issue 9, item 3): a run that crashes, is resumed, interrupted in a
-- training step, resumed, interrupted during an evaluation, and resumed again ends
-- exactly like the uninterrupted run: parameters (bit for bit), best metric,
-- best_step, bad_evals, the early-stopping step and the log.jsonl lines (timings
-- aside). The metric repeats a value that 9 significant digits cannot hold (1/3),
-- so a best metric stored with less than full precision changes early stopping.
local T = require "retort.test"
local Trainer = require "retort.trainer"
local L = rt.log

local D, C = 6, 3
local function new_model(seed)
  rt.manual_seed(seed)
  local m = { W = (rt.randn(C, D) * 0.1):requires_grad(), b = rt.zeros(C):requires_grad(), training = true,
              dropout = 0.2 }
  function m:named_parameters() return { ["classifier.weight"] = self.W, ["classifier.bias"] = self.b } end
  function m:train() self.training = true; return self end
  function m:eval() self.training = false; return self end
  function m:save(dir) rt._optim.mkdir(dir); rt.save(dir .. "/model.safetensors", self:named_parameters()) end
  function m:logits(x)
    local h = rt.F.linear(x, self.W, self.b)
    if self.training then h = rt.F.dropout(h, self.dropout) end
    return h
  end
  return m
end

rt.manual_seed(3)
local X = rt.randn(48, D):totable()
local train = {}
for i = 1, 48 do train[i] = { x = X[i], y = (i - 1) % C } end
local function collate(list)
  local xs, ys = {}, {}
  for i, e in ipairs(list) do xs[i] = e.x; ys[i] = e.y end
  return { x = rt.tensor(xs), y = rt.tensor(ys, "i64"), size = #list }
end

-- faults = {crash_at = step, interrupt_at = step, interrupt_eval_at = step}
local function run(dir, faults, resume)
  faults = faults or {}
  local fired = {}
  local m = new_model(1)
  local tr = Trainer.new{
    model = m, train = train, collate = collate, batch_size = 8, epochs = 4, seed = 7, progress = false,
    optim = { name = "adamw", lr = 0.05, warmup = 0.1, schedule = "warmup_linear" },
    output_dir = dir, save_every = 2, keep_last = 3, resume = resume,
    step_fn = function(model, b, t)
      local s = t.step + 1
      if s == faults.crash_at and not fired.crash then fired.crash = true; error("boom at step " .. s) end
      if s == faults.interrupt_at and not fired.int then
        fired.int = true; rt.randn(4); error("interrupted")      -- what Ctrl-C raises inside C code
      end
      return rt.F.cross_entropy(model:logits(b.x), b.y), nil, nil, b.size
    end,
    eval = { name = "dev", fn = function(model, t)
      if t.step == faults.interrupt_eval_at and not fired.ev then fired.ev = true; error("model.forward: interrupted") end
      return { acc = (t.step == 6) and 0.5 or 1 / 3 }
    end },
    eval_every = 2, metric = "acc", early_stopping = 4,
  }
  local ok, s = pcall(tr.fit, tr)
  return ok, s, m
end

local TIMING = { step_s = true, tokens_per_s = true, examples_per_s = true, mem_mb = true, peak_mem_mb = true,
                 eval_s = true }
local function log_lines(dir)
  local out = {}
  for _, r in ipairs(L.read_jsonl(dir .. "/log.jsonl")) do
    local keys = {}
    for k in pairs(r) do if not TIMING[k] then keys[#keys + 1] = k end end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(r[k]) end
    out[#out + 1] = table.concat(parts, " ")
  end
  return out
end

T.test("crash + interrupt in a step + interrupt in an eval, each resumed == one uninterrupted run", function()
  local full, part = T.tmpdir(), T.tmpdir()
  local okA, A, mA = run(full)
  T.ok(okA, tostring(A))
  T.eq(A.stopped, "early_stopping")
  T.eq(A.step, 14)                -- best 0.5 at step 6, then 8, 10, 12, 14 without improvement
  T.eq(A.best_step, 6)
  -- 1. crash in step 6: the newest checkpoint is checkpoint-4, the log holds steps 1..5
  local ok1, e1 = run(part, { crash_at = 6 })
  T.ok(not ok1 and tostring(e1):find("boom at step 6", 1, true), tostring(e1))
  T.eq(Trainer.latest_checkpoint(part), part .. "/checkpoint-4")
  -- 2. resumed from step 4, Ctrl-C in step 9: rolled back to step 8 and saved
  local ok2, s2 = run(part, { interrupt_at = 9 }, true)
  T.ok(ok2, tostring(s2))
  T.eq(s2.stopped, "interrupted"); T.eq(s2.step, 8)
  -- 3. resumed from step 8, Ctrl-C while evaluating at step 10: that evaluation runs again
  local ok3, s3 = run(part, { interrupt_eval_at = 10 }, true)
  T.ok(ok3, tostring(s3))
  T.eq(s3.stopped, "interrupted"); T.eq(s3.step, 10)
  -- 4. resumed to the end
  local ok4, E, mE = run(part, nil, true)
  T.ok(ok4, tostring(E))
  T.eq(E.stopped, A.stopped)
  T.eq(E.step, A.step)
  T.eq(E.best_step, A.best_step)
  T.eq(E.bad_evals, A.bad_evals)
  T.eq(E.best, A.best)
  local pA, pE = mA:named_parameters(), mE:named_parameters()
  for k, t in pairs(pA) do T.near(pE[k], t, 0, k) end
  local la, le = log_lines(full), log_lines(part)
  T.eq(#le, #la, "log.jsonl lines")
  for i = 1, #la do T.eq(le[i], la[i], "log.jsonl line " .. i) end
  Trainer.remove_tree(full); Trainer.remove_tree(part)
end)

T.test("the best metric survives a checkpoint at full precision", function()
  local dir = T.tmpdir()
  local ok, s = run(dir, { interrupt_at = 3 })
  T.ok(ok, tostring(s)); T.eq(s.stopped, "interrupted")
  local m = new_model(1)
  local tr = Trainer.new{ model = m, train = train, collate = collate, batch_size = 8, progress = false,
    step_fn = function() end, metric = "acc" }
  tr:load_checkpoint(Trainer.latest_checkpoint(dir))
  T.eq(tr.best, 1 / 3)            -- not 0.333333333
  T.ok(not tr:better(1 / 3), "an equal score is not an improvement")
  Trainer.remove_tree(dir)
end)

T.test("resuming prints 'resuming from <dir> (step N)'", function()
  local dir = T.tmpdir()
  run(dir, { interrupt_at = 5 })
  local bin = os.getenv("RETORT_BIN") or "build/retort"
  local script = dir .. "/r.lua"
  local f = assert(io.open(script, "w"))
  f:write(([[
local Trainer = require "retort.trainer"
local W, b = rt.zeros(3, 6):requires_grad(), rt.zeros(3):requires_grad()
local tr = Trainer.new{ model = { named_parameters = function() return { ["classifier.weight"] = W, ["classifier.bias"] = b } end },
  train = { 1, 2, 3, 4 }, batch_size = 1, output_dir = %q, resume = true, progress = "plain", epochs = 1,
  optim = { name = "adamw", lr = 0.1 },
  max_steps = 4, step_fn = function() return (W * W):sum() + 1 end }
local ok, e = pcall(tr.fit, tr)
print(ok, e)
]]):format(dir))
  f:close()
  local p = io.popen(bin .. " " .. script .. " 2>&1")
  local out = p:read("a"); p:close()
  T.ok(out:find("resuming from " .. dir .. "/checkpoint-4 (step 4)", 1, true), out)
  Trainer.remove_tree(dir)
end)
