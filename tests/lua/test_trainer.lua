-- The Trainer with a stand-in model (a linear classifier on random features):
-- JSONL log, loss going down, gradient accumulation, resume after an interrupt
-- (bit-identical parameters), NaN guard, early stopping, keep-best, keep-last,
-- progress output when not on a terminal.
local T = require "retort.test"
local Trainer = require "retort.trainer"
local L = rt.log

local D, C = 6, 3

-- a stand-in "model": named_parameters / train / eval / save like rt.model
local function new_model(seed)
  rt.manual_seed(seed)
  local m = { W = (rt.randn(C, D) * 0.1):requires_grad(), b = rt.zeros(C):requires_grad(), training = true }
  function m:named_parameters() return { ["classifier.weight"] = self.W, ["classifier.bias"] = self.b } end
  function m:train() self.training = true; return self end
  function m:eval() self.training = false; return self end
  function m:save(dir) rt.sys.mkdir(dir); rt.save(dir .. "/model.safetensors", self:named_parameters()) end
  function m:logits(x)
    local h = rt.F.linear(x, self.W, self.b)
    if self.training and self.dropout then h = rt.F.dropout(h, self.dropout) end
    return h
  end
  return m
end

local function dataset(n, seed)
  rt.manual_seed(seed)
  local centers = rt.randn(C, D):totable()
  local noise = rt.randn(n, D):totable()
  local out = {}
  for i = 1, n do
    local y = (i - 1) % C
    local x = {}
    for j = 1, D do x[j] = centers[y + 1][j] * 2 + noise[i][j] * 0.5 end
    out[i] = { x = x, y = y }
  end
  return out
end

local function collate(list)
  local xs, ys = {}, {}
  for i, e in ipairs(list) do xs[i] = e.x; ys[i] = e.y end
  return { x = rt.tensor(xs), y = rt.tensor(ys, "i64"), size = #list }
end

local function step_fn(m, b)
  return rt.F.cross_entropy(m:logits(b.x), b.y), { ce = 0 }, b.size * D, b.size
end

local function accuracy(m, data)
  local b = collate(data)
  local pred = rt.no_grad(function() return rt.metrics.argmax(m:logits(b.x)) end)
  local gold = {}
  for i, e in ipairs(data) do gold[i] = e.y end
  return rt.metrics.accuracy(pred, gold)
end

local function flat(m)
  local p = m:named_parameters()
  return { p["classifier.weight"]:totable(), p["classifier.bias"]:totable() }
end

local function make(o)
  local m = o.model or new_model(1)
  local cfg = {
    model = m, train = o.train, collate = collate, batch_size = o.batch_size or 8, epochs = o.epochs or 3,
    step_fn = o.step_fn or step_fn, grad_accum = o.grad_accum, output_dir = o.output_dir, progress = false,
    optim = o.optim or { name = "adamw", lr = 0.05, warmup = 0.1, schedule = "warmup_linear" },
    save_every = o.save_every, keep_last = o.keep_last, resume = o.resume, seed = 7,
    eval = o.eval, eval_every = o.eval_every, metric = o.metric, early_stopping = o.early_stopping,
  }
  return Trainer.new(cfg), m
end

local train = dataset(48, 3)

T.test("trainer learns, writes one JSONL line per step", function()
  local dir = T.tmpdir()
  local tr, m = make{ train = train, output_dir = dir, epochs = 4,
    eval = { name = "dev", fn = function(mm) return { acc = accuracy(mm, train) } end }, metric = "acc" }
  local s = tr:fit()
  T.eq(s.stopped, "done")
  T.eq(s.step, 24)                      -- 48/8 = 6 steps x 4 epochs
  local recs = L.read_jsonl(dir .. "/log.jsonl")
  local steps = {}
  for _, r in ipairs(recs) do if r.loss then steps[#steps + 1] = r end end
  T.eq(#steps, 24)
  T.ok(steps[1].lr == 0, "first warmup step has lr 0")
  T.ok(steps[5].lr > 0 and steps[5].grad_norm > 0 and steps[5].tokens_per_s > 0)
  T.ok(steps[24].loss < steps[2].loss * 0.5, "loss decreases: " .. steps[2].loss .. " -> " .. steps[24].loss)
  T.ok(accuracy(m, train) > 0.9)
  T.eq(#s.evals, 4)                     -- one evaluation per epoch
  T.ok(s.best >= s.evals[1].acc)
  local f = io.open(dir .. "/best/model.safetensors", "rb"); T.ok(f, "best model saved"); f:close()
  if rt.plot.available() then
    local png = rt.plot.curves{ log = dir .. "/log.jsonl", out = dir .. "/loss.png", keys = { "loss" }, y2 = { "lr" } }
    local pf = assert(io.open(png, "rb")); T.eq(pf:read(4), "\137PNG"); pf:close()
  end
  Trainer.remove_tree(dir)
end)

T.test("trainer gradient accumulation equals the big batch", function()
  local tr1, m1 = make{ train = train, batch_size = 8, epochs = 1, optim = { name = "adamw", lr = 0.01 } }
  tr1.shuffle = false
  tr1:fit()
  local tr2, m2 = make{ train = train, batch_size = 4, grad_accum = 2, epochs = 1, optim = { name = "adamw", lr = 0.01 } }
  tr2.shuffle = false
  local s2 = tr2:fit()
  T.eq(s2.step, 6)
  T.near(flat(m2), flat(m1), 1e-5)
end)

T.test("trainer resume after interrupt gives identical parameters", function()
  local full_dir, int_dir = T.tmpdir(), T.tmpdir()
  local o = { name = "bertadam", lr = 0.05, warmup = 0.2 }
  local mk = function(dir, sf) local m = new_model(1); m.dropout = 0.2
    return make{ model = m, train = train, output_dir = dir, epochs = 3, optim = o, step_fn = sf, keep_last = 3 } end
  local tr, mA = mk(full_dir)
  local sA = tr:fit()
  T.eq(sA.step, 18)
  -- interrupted in the middle of step 8 (the REPL's Ctrl-C raises "interrupted")
  local calls = 0
  local trB, mB = mk(int_dir, function(m, b)
    calls = calls + 1
    if calls == 8 then rt.randn(5); error("interrupted") end
    return step_fn(m, b)
  end)
  local sB = trB:fit()
  T.eq(sB.stopped, "interrupted")
  T.eq(sB.step, 7)
  T.eq(Trainer.latest_checkpoint(int_dir), int_dir .. "/checkpoint-7")
  -- a new process would start from scratch: new model, new trainer, resume = true
  local trC, mC = mk(int_dir)
  trC.resume = true
  local sC = trC:fit()
  T.eq(sC.step, 18)
  T.near(flat(mC), flat(mA), 0)
  local recs = L.read_jsonl(int_dir .. "/log.jsonl")
  T.eq(#recs, 18)
  Trainer.remove_tree(full_dir); Trainer.remove_tree(int_dir)
end)

T.test("trainer NaN guard stops with a clear message", function()
  local n = 0
  local tr = make{ train = train, step_fn = function(m, b)
    n = n + 1
    local loss = step_fn(m, b)
    if n == 3 then return loss * (0 / 0) end
    return loss
  end }
  local s = tr:fit()
  T.eq(s.stopped, "nonfinite")
  T.eq(s.step, 2)
  T.ok(s.error:find("loss is", 1, true) and s.error:find("step 3", 1, true), s.error)
end)

T.test("trainer early stopping and keep_last", function()
  local dir = T.tmpdir()
  local tr = make{ train = train, output_dir = dir, epochs = 10, save_every = 2, keep_last = 2,
    eval = { fn = function() return { acc = 0.5 } end }, eval_every = 2, metric = "acc", early_stopping = 3 }
  local s = tr:fit()
  T.eq(s.stopped, "early_stopping")
  T.eq(s.step, 8)                        -- evals at 2 (best), 4, 6, 8 -> 3 without improvement
  local cks = {}
  for _, e in ipairs(rt.sys.listdir(dir)) do if e:match("^checkpoint") then cks[#cks + 1] = e end end
  T.eq(#cks, 2)
  Trainer.remove_tree(dir)
end)

T.test("trainer max_steps and progress lines off a terminal", function()
  local buf = {}
  local out = { write = function(self, ...) for _, s in ipairs({ ... }) do buf[#buf + 1] = s end end, flush = function() end }
  local bar = rt.progress.new{ total = 4, tty = false, every = 0, out = out, desc = "x" }
  bar:update(2, { loss = 0.5 }); bar:close()
  local text = table.concat(buf)
  T.ok(text:find("2/4", 1, true) and text:find("loss 0.5000", 1, true), text)
  local tr = make{ train = train, epochs = 5 }
  tr.max_steps = 5
  local s = tr:fit()
  T.eq(s.step, 5); T.eq(s.stopped, "max_steps")
  T.eq(Trainer.permutation(5, 3)[1], Trainer.permutation(5, 3)[1])
end)

T.test("trainer: a real SIGINT (Ctrl-C) in `retort script.lua` saves a checkpoint and stops", function()
  local bin = os.getenv("RETORT_BIN") or "build/retort"
  local dir = T.tmpdir()
  local path = dir .. "/sig.lua"
  local f = assert(io.open(path, "w"))
  f:write([==[
local Trainer = require "retort.trainer"
local dir = arg[1]
local pid = io.popen("echo $PPID"):read("l")
rt.manual_seed(1)
local W = (rt.randn(3, 4) * 0.1):requires_grad()
local m = { named_parameters = function() return { w = W } end }
local train = {}
for i = 1, 40 do train[i] = i end
local calls = 0
local tr = Trainer.new{ model = m, train = train, batch_size = 4, epochs = 2, output_dir = dir, progress = false,
  collate = function(l) return l end,
  optim = { name = "adamw", lr = 0.01 },
  step_fn = function()
    calls = calls + 1
    if calls == 5 then io.popen("kill -INT " .. pid):close() end
    local x = rt.randn(2, 4)
    return (rt.F.linear(x, W) * rt.F.linear(x, W)):mean()
  end }
local s = tr:fit()
print("stopped", s.stopped, s.step, s.checkpoint)
]==])
  f:close()
  local p = io.popen(bin .. " " .. path .. " " .. dir .. "/out 2>&1")
  local out = p:read("a"); p:close()
  T.ok(out:find("stopped\tinterrupted\t4\t", 1, true), out)
  T.eq(Trainer.latest_checkpoint(dir .. "/out"), dir .. "/out/checkpoint-4")
  Trainer.remove_tree(dir)
end)
