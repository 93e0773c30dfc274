-- retort.data_parallel (rt.data_parallel): what the Trainer does when it runs under
-- `mpirun -np N` (rt.dist.size() > 1), as Horovod's DistributedOptimizer and
-- BroadcastGlobalVariablesHook do for NEZHA's run_pretraining.py:
--
--   * start: every rank checks that it has the same model (parameter names, shapes),
--     config, data size and training options as rank 0 (a clear error otherwise), then
--     rank 0's weights are broadcast to every rank;
--   * data: rank r takes every size-th example of the common shuffled order, so a
--     global batch of B examples is B/size per rank (pre-built `train_batches`: rank r
--     takes rows r+1, r+1+size, ... of every tensor of the batch whose first dimension
--     is batch.size; the global batch stays the batch, where Horovod's is size x it);
--   * each micro-batch loss is weighted by size x (this rank's examples) / (the global
--     micro-batch's), so that unequal shards (a batch not divisible by size, the last
--     batch of an epoch; a rank left without an example skips the micro-batch) average
--     to the global batch's mean loss exactly;
--   * each optimizer step (after gradient accumulation, never inside it): the
--     gradients of the trainable parameters are averaged through one fusion buffer
--     (tensor fusion, `bucket_bytes`, default 64 MiB), so the clipping norm and the
--     update are those of the global batch; loss, loss terms, tokens and examples are
--     aggregated in one small allreduce;
--   * rank 0 alone logs, shows the bar, evaluates (the metrics are broadcast, so every
--     rank takes the same early-stopping decision) and saves; on resume every rank
--     reads the checkpoint rank 0 names (a file system all ranks see).
-- Only the Trainer's model is synchronised: a distillation teacher stays per rank.
-- Each rank draws its own dropout masks (dp:fold_rng), so with dropout on, N ranks
-- match one process in data order and averaging, not in masks.
local rt = require "retort"
local log = require "retort.log"
local D = rt.dist
local K = rt._optim

local DP = {}
DP.__index = DP
DP.__name = "rt.data_parallel"

--- rt.data_parallel.new(opts) -> the data-parallel state, or nil with one process
--- (opts.data_parallel == false also gives nil). opts.bucket_bytes: fusion buffer size.
function DP.new(o)
  if o and o.data_parallel == false then return nil end
  local size = D.size()
  if size <= 1 then return nil end
  return setmetatable({ rank = D.rank(), size = size, bucket_bytes = (o and o.bucket_bytes) or (64 << 20),
                        comm_s = 0 }, DP)
end

-- FNV-1a over a string -> an integer below 2^32 (exact in a double)
local function hash(s)
  local h = 2166136261
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
  return h
end
DP.hash = hash

local function sorted_params(model)
  local map = (type(model) == "table" or type(model) == "userdata") and model.named_parameters
    and model:named_parameters() or model
  local names = {}
  for k in pairs(map) do names[#names + 1] = k end
  table.sort(names)
  return names, map
end

--- dp:check(trainer): every rank has rank 0's model, config and options (else an error
--- naming the field and the ranks' values, raised on every rank).
function DP:check(tr)
  local names, map = sorted_params(tr.model)
  local shapes, numel = {}, 0
  for i, n in ipairs(names) do
    local t = map[n]
    shapes[i] = n .. "=" .. table.concat(t:shape(), "x")
    numel = numel + t:numel()
  end
  local cfg = type(tr.model) == "table" and tr.model.config or
    (type(tr.model) == "userdata" and tr.model.config) or nil
  local opt = tr.optimizer
  local fields = {
    { "parameter count", numel }, { "parameter tensors", #names },
    { "parameter names and shapes (hash)", hash(table.concat(shapes, ";")) },
    { "model config (hash)", cfg and hash(log.json_encode(cfg)) or 0 },
    { "training examples", tr.train and #tr.train or -1 },
    { "batch_size", tr.batch_size }, { "grad_accum", tr.grad_accum }, { "epochs", tr.epochs },
    { "max_steps", tr.max_steps or -1 }, { "seed", tr.seed }, { "total steps", tr:total_steps() },
    { "resumed step", tr.step },
    { "optimizer (hash)", opt and hash(tostring(opt.algo) .. log.json_encode(opt.hyper or {})) or 0 },
  }
  local mine = {}
  for i, f in ipairs(fields) do mine[i] = f[2] end
  local all = D.allgather_numbers(mine)
  local nf = #fields
  local bad = {}
  for i, f in ipairs(fields) do
    local r0 = all[i]
    for r = 1, self.size - 1 do
      local v = all[r * nf + i]
      if v ~= r0 then
        bad[#bad + 1] = string.format("%s: rank 0 has %.17g, rank %d has %.17g", f[1], r0, r, v)
        break
      end
    end
  end
  if #bad > 0 then
    error("data parallel: the ranks differ (every rank must run the same model, config and flags):\n  "
      .. table.concat(bad, "\n  "), 0)
  end
end

--- dp:broadcast_params(model): copy rank 0's parameters into every rank's.
function DP:broadcast_params(model)
  local names, map = sorted_params(model)
  for _, n in ipairs(names) do D.broadcast(map[n], 0) end
end

--- dp:fold_rng(): give ranks > 0 their own random stream (dropout masks differ across
--- ranks): the default generator's seed is xor-ed with rank x 0x9E3779B97F4A7C15. A
--- checkpoint keeps rank 0's stream; on resume the others fold it again.
function DP:fold_rng()
  if self.rank == 0 then return end
  local seed, offset = K.rng_state()
  K.set_rng_state(seed ~ (self.rank * 0x9E3779B97F4A7C15), offset)
end

--- dp:broadcast_string(s) -> rank 0's s on every rank.
function DP:broadcast_string(s) return D.broadcast_string(s or "", 0) end

--- dp:shard(a, b) -> the positions of the global batch a..b this rank takes, and the
--- weight of its loss: size x its share of the examples (1 for equal shards).
function DP:shard(a, b)
  local out = {}
  for j = a + self.rank, b, self.size do out[#out + 1] = j end
  local n = b - a + 1
  return out, (#out * self.size == n) and 1.0 or #out * self.size / n
end

--- dp:slice_batch(batch) -> this rank's rows of a pre-built batch table (every tensor
--- whose first dimension is batch.size; other fields as they are; size updated) and the
--- loss weight; nil when the rank has no row.
function DP:slice_batch(b)
  if b == nil then return nil, 1.0 end
  local n = type(b) == "table" and math.tointeger(b.size)
  if not n then
    error("data parallel: train_batches must give batch tables with .size (the examples) to split them across ranks", 0)
  end
  local pos = {}
  for j = self.rank, n - 1, self.size do pos[#pos + 1] = j end
  local w = (#pos * self.size == n) and 1.0 or #pos * self.size / n
  if #pos == 0 then return nil, w end
  local idx = rt.tensor(pos, "i64")
  local out = {}
  for k, v in pairs(b) do
    if type(v) == "userdata" and v.shape and v:dim() >= 1 and v:shape()[1] == n then out[k] = v:index_select(1, idx)
    else out[k] = v end
  end
  out.size = #pos
  return out, w
end

--- dp:reduce_step(trainer, loss_sum, terms, ntok, nex) -> the global loss_sum, terms,
--- tokens and examples, after averaging the gradients of the trainer's optimizer
--- parameters across ranks (the losses arrive already weighted by dp:weight).
function DP:reduce_step(tr, loss_sum, terms, ntok, nex)
  local s0 = D.stats().seconds
  local items = {}
  for _, g in ipairs(tr.optimizer.param_groups) do for _, it in ipairs(g.items) do items[#items + 1] = it.t end end
  -- the loss terms rank 0 has (rank 0 always has examples; a rank without any sends 0)
  local keys = {}
  for k in pairs(terms) do keys[#keys + 1] = k end
  table.sort(keys)
  local klist = D.broadcast_string(table.concat(keys, "\n"), 0)
  keys = {}
  for k in klist:gmatch("[^\n]+") do keys[#keys + 1] = k end
  local nums = { nex, ntok, loss_sum }
  for i, k in ipairs(keys) do nums[3 + i] = terms[k] or 0 end
  local base = #nums
  for i, t in ipairs(items) do nums[base + i] = t.grad and 1 or 0 end
  local red = D.allreduce_numbers(nums, "sum")
  local list = {}
  for i, t in ipairs(items) do
    if red[base + i] > 0 then
      if not t.grad then t.grad = rt.zeros(t:shape()) end   -- no gradient here, one on another rank
      list[#list + 1] = t.grad
    end
  end
  D.allreduce_list(list, "mean", self.bucket_bytes)
  local out_terms = {}
  for i, k in ipairs(keys) do out_terms[k] = red[3 + i] / self.size end
  self.comm_s = D.stats().seconds - s0
  return red[3] / self.size, out_terms, red[2], red[1]
end

--- dp:eval_on_root(fn, ...) -> fn's numeric results, computed on rank 0 and broadcast
--- (exact: "%a" hexadecimal floats); other ranks wait.
function DP:eval_on_root(fn, ...)
  local res, text = nil, ""
  if self.rank == 0 then
    res = fn(...)
    local lines = {}
    for k, v in pairs(res or {}) do
      if type(v) == "number" and type(k) == "string" then lines[#lines + 1] = k .. "=" .. string.format("%a", v) end
    end
    table.sort(lines)
    text = (res == nil and "nil" or "table") .. "\n" .. table.concat(lines, "\n")
  end
  text = D.broadcast_string(text, 0)
  if self.rank == 0 then return res end
  local kind, body = text:match("^(%a+)\n?(.*)$")
  if kind == "nil" then return nil end
  res = {}
  for k, v in body:gmatch("([^\n=]+)=([^\n]+)") do res[k] = tonumber(v) end
  return res
end

function DP:__tostring()
  return string.format("rt.data_parallel(rank %d of %d, bucket %d bytes)", self.rank, self.size, self.bucket_bytes)
end

require("retort.log").autodoc(DP, "rt.data_parallel", DP)
return DP
