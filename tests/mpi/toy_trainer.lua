-- A tiny Trainer run (linear regression, no data files) for the 2-rank tests, run as
--   [mpirun -np N] retort tests/mpi/toy_trainer.lua OUT MODE [batch accum steps [RUN_DIR]]
-- RUN_DIR: the Trainer's output_dir (checkpoints every 4 steps, resume = true)
-- MODE: train       train and (rank 0) save OUT/params.safetensors
--       batches     the same through pre-built train_batches (split by rows across ranks)
--       mismatch    rank r's model has 3 + r outputs (the start check must refuse)
--       seed        rank r uses seed 7 + r
--       error       rank 1 raises an error at step 3
--       interrupt   every rank stops at step 6 as Ctrl-C would (checkpoint, then resume)
--       kill        rank 0 writes OUT/rank0.pid; rank 1 sends itself SIGKILL at step 3
local out, mode = arg[1], arg[2] or "train"
local batch, accum, steps = tonumber(arg[3] or 16), tonumber(arg[4] or 1), tonumber(arg[5] or 10)
local run_dir = arg[6]
local Trainer = require "retort.trainer"
local rank = rt.dist.rank()
rt.set_threads(1)

-- data: 61 examples x in R^4, y = A x + noise (the same on every rank: seeded)
rt.manual_seed(1234)
local X, Y = rt.randn(61, 4), rt.randn(61, 3)
local xs, ys = X:totable(), Y:totable()
local train = {}
for i = 1, 61 do train[i] = { x = xs[i], y = ys[i] } end

local nout = mode == "mismatch" and 3 + rank or 3
rt.manual_seed(99 + rank)               -- different initial weights per rank: rank 0's win
local params = { w = rt.randn(nout, 4):requires_grad(), b = rt.zeros(nout):requires_grad() }

local function collate(list)
  local x, y = {}, {}
  for i, e in ipairs(list) do x[i], y[i] = e.x, e.y end
  return { x = rt.tensor(x), y = rt.tensor(y), size = #list }
end
local train_batches
if mode == "batches" then
  train_batches = function(epoch)
    local p = Trainer.permutation(#train, 7 * 1000003 + epoch)
    local out, mb = {}, batch // accum
    for a = 1, #train, mb do
      local list = {}
      for j = a, math.min(a + mb - 1, #train) do list[#list + 1] = train[p[j]] end
      out[#out + 1] = collate(list)
    end
    return out
  end
end

local tr = Trainer.new {
  model = params, train = not train_batches and train or nil, train_batches = train_batches, batch_size = batch // accum, grad_accum = accum, max_steps = steps, epochs = 100,
  seed = mode == "seed" and 7 + rank or 7, progress = false,
  output_dir = run_dir, save_every = run_dir and 4 or nil, resume = run_dir ~= nil,
  optim = { name = "adamw", lr = 0.05, weight_decay = 0.01, max_grad_norm = 0.5 },
  collate = collate,
  step_fn = function(p, b, t)
    if mode == "interrupt" and t.step + 1 == 6 then error("interrupted", 0) end
    if mode == "error" and rank == 1 and t.step + 1 == 3 then error("toy: a failure on purpose") end
    if mode == "kill" and t.step + 1 == 3 and rank == 1 then
      local f = io.open("/proc/self/stat"); local pid = f:read("a"):match("^(%d+)"); f:close()
      os.execute("kill -9 " .. pid)
    end
    local pred = rt.F.linear(b.x, p.w, p.b)
    return rt.F.mse(pred, b.y), nil, nil, b.size
  end,
}
if mode == "kill" and rank == 0 then
  local f = io.open("/proc/self/stat"); local pid = f:read("a"):match("^(%d+)"); f:close()
  rt.sys.atomic_write(out .. "/rank0.pid", pid .. "\n")
end
local s = tr:fit()
if rank == 0 then
  rt.save(out .. "/params.safetensors", { w = params.w, b = params.b })
  print(string.format("toy: step %d loss %.6f ranks %d", s.step, tr.last_record.loss, rt.dist.size()))
end
