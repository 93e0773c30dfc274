-- retort.trainer (rt.trainer): the training loop.
--
--   local Trainer = require "retort.trainer"
--   local tr = Trainer.new{
--     model = m, optimizer = opt,
--     train = examples, collate = function(list) return batch end, batch_size = 32,
--     step_fn = function(model, batch) return loss, {mlm = ..}, ntokens end,
--     eval = {name = "dev", fn = function(model) return {acc = 0.9} end},
--     metric = "acc", epochs = 3, grad_accum = 1, eval_every = 100,
--     early_stopping = 5, output_dir = "runs/x", save_every = 500, keep_last = 2,
--   }
--   local summary = tr:fit()
--
-- Per optimizer step it writes one JSONL line to <output_dir>/log.jsonl (step,
-- epoch, loss and every loss term, lr, grad norm, tokens/s, examples/s, memory),
-- shows a progress bar (`progress`: nil = a bar on a terminal, else plain lines;
-- true = the bar; "plain" = plain lines; false = nothing), evaluates
-- every `eval_every` steps (and at the end of each epoch), keeps the best model by
-- `metric` in <output_dir>/best, stops early after `early_stopping` evaluations
-- without improvement, and saves resumable checkpoints
-- (<output_dir>/checkpoint-<step>/: model, optimizer slots, schedule position, RNG
-- state, data position; written to a temporary folder, then renamed). A NaN/Inf
-- loss or gradient stops with a message naming the step; Ctrl-C finishes or rolls
-- back the current step, saves a checkpoint and returns {stopped = "interrupted"}
-- (the loop runs in a coroutine, so Ctrl-C never lands in the middle of an optimizer
-- update). `resume = true` continues from the newest checkpoint in output_dir
-- ("resuming from <dir> (step N)"), with the same parameters, best metric, early
-- stopping and log.jsonl lines as an uninterrupted run. Checkpoints are written with
-- `save_model(model, dir, trainer)` (default: model:save), so with rt.model they hold
-- config.json and weights and load with rt.model.load.
--
-- Under `mpirun -np N` (rt.dist.size() > 1) it trains data-parallel: see
-- retort.data_parallel (weights broadcast from rank 0, every rank its shard of the
-- common shuffle, gradients averaged per optimizer step, rank 0 logs and saves).
-- `data_parallel = false` keeps every rank on its own; `bucket_bytes` sizes the
-- gradient fusion buffer (default 64 MiB).
local rt = require "retort"
local log = require "retort.log"
local progress = require "retort.progress"
local K = rt._optim   -- optimizer math (copy_)
local S = rt.sys      -- files, directories, clock, Ctrl-C

local Trainer = {}
Trainer.__index = Trainer
Trainer.__name = "rt.Trainer"

---------------------------------------------------------------------------
-- helpers
---------------------------------------------------------------------------
local MULT, INC = 6364136223846793005, 1442695040888963407

--- Trainer.permutation(n, seed) -> a deterministic shuffle of 1..n (Fisher-Yates, 64-bit LCG).
function Trainer.permutation(n, seed)
  local s = (math.tointeger(seed) or 0) * MULT + INC
  local p = {}
  for i = 1, n do p[i] = i end
  for i = n, 2, -1 do
    s = s * MULT + INC
    local r = ((s >> 33) % i) + 1
    p[i], p[r] = p[r], p[i]
  end
  return p
end

local function num(x)
  if type(x) == "number" then return x end
  if type(x) == "userdata" and x.item then return x:item() end
  return tonumber(x)
end

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

local function memory_mb()
  local f = rawget(rt, "memory")
  if type(f) ~= "function" then return nil end
  local ok, m = pcall(f)
  if not ok then return nil end
  if type(m) == "number" then return m / 1048576 end
  if type(m) == "table" then
    local live = m.live_bytes or m.live or m[1]
    local peak = m.peak_bytes or m.peak or m[2]
    return live and live / 1048576, peak and peak / 1048576
  end
  return nil
end

local function params_of(model)
  if type(model) == "table" or type(model) == "userdata" then
    if model.named_parameters then return model:named_parameters() end
  end
  return model
end

--- Trainer.remove_tree(dir): rm -r that never follows a symbolic link (rt.sys.remove_tree).
local function remove_tree(dir) S.remove_tree(dir) end
Trainer.remove_tree = remove_tree

-- What checkpoint rotation may delete: only a checkpoint-N (or checkpoint-N.tmp) folder
-- the trainer itself makes; a symlink there is unlinked, never followed.
local function remove_checkpoint(path)
  local base = path:match("([^/]+)$") or ""
  if not (base:match("^checkpoint%-%d+$") or base:match("^checkpoint%-%d+%.tmp$")) then
    error("Trainer: refusing to remove " .. path .. " (not a checkpoint-N folder)", 2)
  end
  rt.sys.remove_tree(path)
end

--- Trainer.save_model(model, dir): model:save(dir) when the model has it, else
--- dir/model.safetensors with named_parameters.
function Trainer.save_model(model, dir)
  S.mkdir(dir)
  if type(model) ~= "table" or not model.is_param_table then
    local ok_save = (type(model) == "table" or type(model) == "userdata") and model.save
    if ok_save then model:save(dir); return end
  end
  rt.save(dir .. "/model.safetensors", params_of(model))
end

-- copy a {name = tensor} table into the model's parameters (in place)
local function load_params(model, file)
  local src = rt.load(file)
  local dst = params_of(model)
  for name, t in pairs(dst) do
    local s = src[name]
    if not s then error("resume: " .. file .. " has no tensor '" .. name .. "'", 0) end
    K.copy_(t, s)
  end
end

---------------------------------------------------------------------------
-- construction
---------------------------------------------------------------------------
--- Trainer.new(opts) -> trainer (see the file header for the options).
function Trainer.new(o)
  assert(type(o) == "table", "Trainer.new{...}: options table expected")
  if not o.model then error("Trainer.new: model is required", 2) end
  if not o.step_fn then error("Trainer.new: step_fn(model, batch) -> loss[, terms, ntokens] is required", 2) end
  if not (o.train or o.train_batches) then error("Trainer.new: train (examples) or train_batches is required", 2) end
  local self = setmetatable({}, Trainer)
  for k, v in pairs(o) do self[k] = v end
  self.batch_size = o.batch_size or 32
  self.grad_accum = o.grad_accum or 1
  self.epochs = o.epochs or 1
  self.seed = o.seed or 42
  self.shuffle = o.shuffle ~= false
  self.keep_last = o.keep_last or 2
  self.log_every = o.log_every or 1
  if o.metric and o.greater_is_better == nil then
    self.greater_is_better = not tostring(o.metric):find("loss")
  elseif o.greater_is_better == nil then
    self.greater_is_better = true
  end
  if not self.optimizer then
    local oo = o.optim or {}
    local name = oo.name or "adamw"
    local opts = {}
    for k, v in pairs(oo) do if k ~= "name" then opts[k] = v end end
    opts.total_steps = opts.total_steps or self:total_steps()
    self.optimizer = rt.optim.new(name, o.model, opts)
  end
  self.step, self.epoch, self.batch_pos = 0, 1, 0
  self.best, self.best_step, self.bad_evals = nil, nil, 0
  self.evals = {}
  self.stats = { step_s = 0, compute_s = 0, steps = 0 }
  self.dist = require("retort.data_parallel").new(o)   -- nil with one process
  return self
end

-- number of micro-batches in an epoch
function Trainer:epoch_batches(epoch)
  if self.train_batches then
    self._tb_epoch, self._tb = epoch, self.train_batches(epoch)
    return #self._tb
  end
  local n = #self.train
  if self.drop_last then return n // self.batch_size end
  return (n + self.batch_size - 1) // self.batch_size
end

--- tr:total_steps() -> optimizer steps of the whole run (max_steps when given).
function Trainer:total_steps()
  if self.max_steps then return self.max_steps end
  local per = self:epoch_batches(1) // self.grad_accum
  return per * self.epochs
end

-- the i-th micro-batch (1-based) of an epoch
function Trainer:get_batch(epoch, i)
  if self.train_batches then
    if self._tb_epoch ~= epoch then self._tb_epoch, self._tb = epoch, self.train_batches(epoch) end
    if self.dist then   -- this rank's rows of the batch (nil: none)
      local b, w = self.dist:slice_batch(self._tb[i])
      self._dp_weight = w
      return b
    end
    return self._tb[i]
  end
  if self._perm_epoch ~= epoch then
    self._perm_epoch = epoch
    self._perm = self.shuffle and Trainer.permutation(#self.train, self.seed * 1000003 + epoch) or nil
  end
  local list = {}
  local a = (i - 1) * self.batch_size + 1
  local b = math.min(i * self.batch_size, #self.train)
  if self.dist then   -- this rank's share; nil when it has no example of this batch
    local pos, w = self.dist:shard(a, b)
    self._dp_weight = w
    if #pos == 0 then return nil end
    for _, j in ipairs(pos) do list[#list + 1] = self.train[self._perm and self._perm[j] or j] end
  else
    for j = a, b do list[#list + 1] = self.train[self._perm and self._perm[j] or j] end
  end
  if self.collate then return self.collate(list) end
  return list
end

---------------------------------------------------------------------------
-- checkpoints
---------------------------------------------------------------------------
function Trainer:trainer_state()
  local sd = self.optimizer:state_dict()
  local slots = {}
  for name, st in pairs(sd.state) do slots[name] = st.step end
  local seed, offset = rt.rng_state()
  return {
    step = self.step, epoch = self.epoch, batch_pos = self.batch_pos,
    best = self.best, best_step = self.best_step, bad_evals = self.bad_evals,
    -- the best metric at full precision (JSON numbers keep 9 digits): "%a" hex float
    best_exact = type(self.best) == "number" and string.format("%a", self.best) or nil,
    pending_eval = self.pending_eval or nil,
    rng = { seed = seed, offset = offset }, seed = self.seed,
    optimizer = { algo = sd.algo, t = sd.t, groups = sd.groups, slot_steps = slots },
    evals = self.evals,
  }
end

--- tr:save_checkpoint() -> directory written (<output_dir>/checkpoint-<step>).
function Trainer:save_checkpoint()
  local out = assert(self.output_dir, "save_checkpoint: no output_dir")
  if self.dist and self.dist.rank ~= 0 then      -- rank 0 alone writes
    self.last_checkpoint = string.format("%s/checkpoint-%d", out, self.step)
    return self.last_checkpoint
  end
  S.mkdir(out)
  local final = string.format("%s/checkpoint-%d", out, self.step)
  local tmp = final .. ".tmp"
  remove_checkpoint(tmp)
  S.mkdir(tmp)
  local save = self.save_model or Trainer.save_model
  save(self.model, tmp, self)
  local wf = io.open(tmp .. "/model.safetensors", "rb")
  if wf then wf:close() else rt.save(tmp .. "/model.safetensors", params_of(self.model)) end
  local slots = {}
  for name, st in pairs(self.optimizer:state_dict().state) do
    slots["m." .. name] = st.m
    slots["v." .. name] = st.v
  end
  if next(slots) then rt.save(tmp .. "/optimizer.safetensors", slots) end
  log.write_json(tmp .. "/trainer_state.json", self:trainer_state())
  remove_checkpoint(final)
  local ok, err = os.rename(tmp, final)
  if not ok then error("save_checkpoint: " .. tostring(err), 0) end
  -- keep the newest keep_last checkpoints
  local list = {}
  for _, e in ipairs(S.listdir(out) or {}) do
    local s = e:match("^checkpoint%-(%d+)$")
    if s then list[#list + 1] = tonumber(s) end
  end
  table.sort(list)
  for i = 1, #list - self.keep_last do remove_checkpoint(string.format("%s/checkpoint-%d", out, list[i])) end
  self.last_checkpoint = final
  return final
end

--- Trainer.latest_checkpoint(dir) -> path of the newest checkpoint-<step> in dir, or nil.
function Trainer.latest_checkpoint(dir)
  local best, path
  for _, e in ipairs(S.listdir(dir) or {}) do
    local s = tonumber(e:match("^checkpoint%-(%d+)$") or "")
    if s and (not best or s > best) then best, path = s, dir .. "/" .. e end
  end
  return path
end

--- tr:load_checkpoint(dir): restore model, optimizer, schedule, RNG and data position.
function Trainer:load_checkpoint(dir)
  local st = log.read_json(dir .. "/trainer_state.json")
  load_params(self.model, dir .. "/model.safetensors")
  local slots = {}
  local f = io.open(dir .. "/optimizer.safetensors", "rb")
  if f then f:close(); slots = rt.load(dir .. "/optimizer.safetensors") end
  local state = {}
  for name, s in pairs(st.optimizer.slot_steps or {}) do
    state[name] = { step = s, m = slots["m." .. name], v = slots["v." .. name] }
  end
  self.optimizer:load_state_dict({ algo = st.optimizer.algo, t = st.optimizer.t, groups = st.optimizer.groups,
                                   state = state })
  rt.set_rng_state(st.rng.seed, st.rng.offset)
  self.step, self.epoch, self.batch_pos = st.step, st.epoch, st.batch_pos
  self.best, self.best_step, self.bad_evals = st.best, st.best_step, st.bad_evals or 0
  if st.best_exact then self.best = tonumber(st.best_exact) or self.best end
  self.pending_eval = st.pending_eval or nil
  self.seed = st.seed or self.seed
  self.evals = st.evals or {}
  self.resumed_from = dir
end

---------------------------------------------------------------------------
-- evaluation
---------------------------------------------------------------------------
function Trainer:better(v)
  if v == nil or v ~= v then return false end
  if self.best == nil then return true end
  if self.greater_is_better then return v > self.best end
  return v < self.best
end

--- tr:evaluate() -> metrics table of the eval split (also logged and kept).
function Trainer:evaluate()
  local ev = self.eval
  if not ev then return nil end
  local fn = type(ev) == "function" and ev or ev.fn
  if self.model.eval then self.model:eval() end
  local t0 = S.now()
  local res
  if self.dist then res = self.dist:eval_on_root(fn, self.model, self)   -- rank 0 evaluates
  else res = fn(self.model, self) end
  if self.model.train then self.model:train() end
  local rec = { step = self.step, epoch = self.epoch, split = (type(ev) == "table" and ev.name) or "dev",
                eval_s = S.now() - t0 }
  for k, v in pairs(res or {}) do if type(v) == "number" then rec[k] = v end end
  self.evals[#self.evals + 1] = rec
  self.last_eval = res
  if self.writer then self.writer:write(rec); self.writer:flush() end
  local key = self.metric
  if key then
    local v = res and res[key]
    if self:better(v) then
      self.best, self.best_step, self.bad_evals = v, self.step, 0
      if self.output_dir and self.save_best ~= false and not (self.dist and self.dist.rank ~= 0) then
        local dir = self.output_dir .. "/best"
        if type(self.save_best) == "function" then self.save_best(self.model, dir, self)
        else (self.save_model or Trainer.save_model)(self.model, dir, self) end
      end
    else
      self.bad_evals = self.bad_evals + 1
    end
  end
  if self.bar then
    local parts = {}
    for k, v in pairs(rec) do if k ~= "step" and k ~= "epoch" and k ~= "eval_s" and type(v) == "number" then
      parts[#parts + 1] = string.format("%s=%.4f", k, v) end end
    table.sort(parts)
    self.bar:note(string.format("eval step %d: %s", self.step, table.concat(parts, " ")))
  end
  return res
end

---------------------------------------------------------------------------
-- the loop
---------------------------------------------------------------------------
local function is_interrupt(err)
  return tostring(err):find("interrupted", 1, true) ~= nil
end

-- one optimizer step (grad_accum micro-batches); returns the log record
function Trainer:train_step(nb)
  local t0 = S.now()
  local model, opt, accum = self.model, self.optimizer, self.grad_accum
  local loss_sum, terms_sum, ntok, nex = 0, {}, 0, 0
  local compute = 0
  for _ = 1, accum do
    self.batch_pos = self.batch_pos + 1
    self._dp_weight = nil
    local batch = self:get_batch(self.epoch, self.batch_pos)
    if batch == nil and self.dist then goto next_micro end   -- data parallel: no example on this rank
    do
    local c0 = S.now()
    local loss, terms, ntokens, nexamples = self.step_fn(model, batch, self)
    local lv = num(loss)
    if not finite(lv) then
      error({ nonfinite = true, msg = string.format("loss is %s at step %d (epoch %d, batch %d)",
        tostring(lv), self.step + 1, self.epoch, self.batch_pos) })
    end
    if accum > 1 then loss = loss * (1 / accum) end
    local w = self._dp_weight   -- data parallel with unequal shards: this rank's share
    if w and w ~= 1 then loss = loss * w; lv = lv * w end
    loss:backward()
    compute = compute + (S.now() - c0)
    loss_sum = loss_sum + lv
    for k, v in pairs(terms or {}) do terms_sum[k] = (terms_sum[k] or 0) + num(v) * (w or 1) end
    ntok = ntok + (ntokens or 0)
    nex = nex + (nexamples or (type(batch) == "table" and batch.size) or 0)
    end
    ::next_micro::
  end
  -- data parallel: average the gradients (the step's only gradient sync) and the metrics
  if self.dist then loss_sum, terms_sum, ntok, nex = self.dist:reduce_step(self, loss_sum, terms_sum, ntok, nex) end
  local lr = opt:get_lr()
  local c1 = S.now()
  self._in_opt_step = true
  local ok, gn = pcall(opt.step, opt)
  if ok or not is_interrupt(gn) then self._in_opt_step = false end
  if not ok then
    if tostring(gn):find("non-finite gradient", 1, true) then
      error({ nonfinite = true, msg = string.format("%s (epoch %d)", tostring(gn), self.epoch) })
    end
    error(gn, 0)
  end
  opt:zero_grad()
  compute = compute + (S.now() - c1)
  self.step = self.step + 1
  local dt = S.now() - t0
  local rec = { step = self.step, epoch = self.epoch, loss = loss_sum / accum, lr = lr, grad_norm = gn,
                step_s = dt }
  for k, v in pairs(terms_sum) do rec[k] = v / accum end
  if ntok > 0 then rec.tokens_per_s = ntok / dt end
  if nex > 0 then rec.examples_per_s = nex / dt end
  local live, peak = memory_mb()
  rec.mem_mb, rec.peak_mem_mb = live, peak
  if self.dist then rec.comm_s, rec.ranks = self.dist.comm_s, self.dist.size end
  self._compute = compute
  return rec
end

-- log.jsonl after a resume: keep only the records up to the checkpoint's step (a run
-- interrupted after its last checkpoint logged steps that are now trained again)
local function truncate_log(path, step)
  local f = io.open(path, "rb")
  if not f then return end
  local keep = {}
  for line in f:lines() do
    local ok, rec = pcall(log.json_decode, line)
    if ok and type(rec) == "table" and (tonumber(rec.step) or 0) <= step then keep[#keep + 1] = line .. "\n" end
  end
  f:close()
  log.write_atomic(path, table.concat(keep))
end

-- run fn in a coroutine: the REPL's and the script runner's Ctrl-C hook is set on
-- the main thread only, so it cannot stop the loop half-way through an update; the
-- loop sees Ctrl-C at step boundaries (S.interrupted) and where C code polls for it
-- (forward, backward, tokenisation), and rolls the step back
local function shielded(fn)
  local co = coroutine.create(fn)
  local res = table.pack(coroutine.resume(co))
  if res[1] and coroutine.status(co) ~= "dead" then
    return false, "Trainer: step_fn/eval yielded out of the training loop"
  end
  if not res[1] then
    local err = res[2]
    if type(err) == "string" and os.getenv("RETORT_TRACEBACK") then err = debug.traceback(co, err) end
    return false, err
  end
  return table.unpack(res, 2, res.n)
end

--- tr:fit() -> summary {step, epoch, stopped, best, best_step, bad_evals, last_eval, evals, log}
--- stopped: "done", "max_steps", "early_stopping", "interrupted" or "nonfinite".
function Trainer:fit()
  local main_thread = coroutine.running()
  local dp = self.dist
  if dp and dp.rank ~= 0 then self.progress = false end   -- rank 0 alone shows and logs
  if self.output_dir and not (dp and dp.rank ~= 0) then S.mkdir(self.output_dir) end
  if self.resume then
    local dir = type(self.resume) == "string" and self.resume or
      (self.output_dir and Trainer.latest_checkpoint(self.output_dir))
    if dp then dir = dp:broadcast_string(dir or ""); if dir == "" then dir = nil end end   -- rank 0's choice
    if dir then
      self:load_checkpoint(dir)
      if self.progress ~= false then io.stderr:write(string.format("resuming from %s (step %d)\n", dir, self.step)) end
    elseif self.progress ~= false then
      io.stderr:write(string.format("resume: no checkpoint in %s; starting at step 0\n", tostring(self.output_dir)))
    end
  end
  if dp then dp:check(self); dp:broadcast_params(self.model); dp:fold_rng() end
  local total = self:total_steps()
  local log_path = self.log_file
  if log_path == nil and self.output_dir then log_path = self.output_dir .. "/log.jsonl" end
  if dp and dp.rank ~= 0 then log_path = nil end
  if log_path then
    if self.resumed_from then truncate_log(log_path, self.step) end
    self.writer = log.jsonl(log_path, { append = self.resumed_from ~= nil })
  end
  if self.progress ~= false then
    local tty                                   -- nil: a bar on a terminal, plain lines otherwise
    if self.progress == true then tty = true elseif self.progress == "plain" then tty = false end
    self.bar = progress.new({ total = total, desc = self.desc or "train", start = self.step,
      tty = tty, every = self.progress_every, every_steps = self.progress_steps })
  end
  if self.model.train then self.model:train() end
  local stopped = "done"
  local loop_t0 = S.now()
  local running

  -- after an optimizer step (or a resumed pending evaluation): evaluate, stop early, save
  local function after_step(do_eval)
    if do_eval then
      self._in_eval = true
      self:evaluate()
      self._in_eval = nil
      if self.early_stopping and self.bad_evals >= self.early_stopping then return "early_stopping" end
    end
    if self.output_dir and self.save_every and self.step % self.save_every == 0 then self:save_checkpoint() end
  end

  local function loop()
    if self.pending_eval then               -- interrupted while evaluating at this step
      self.pending_eval = nil
      local s = after_step(true)
      if s then stopped = s; return end
    end
    while self.epoch <= self.epochs do
      local nb = self:epoch_batches(self.epoch)
      local steps_in_epoch = nb // self.grad_accum
      while self.batch_pos + self.grad_accum <= steps_in_epoch * self.grad_accum do
        if self.max_steps and self.step >= self.max_steps then stopped = "max_steps"; return end
        if S.interrupted() then error("interrupted", 0) end
        local s0 = S.now()
        self._pos0, self._rng0, self._rng1 = self.batch_pos, rt.rng_state()
        local rec = self:train_step(nb)
        self._pos0 = nil
        running = running and (0.98 * running + 0.02 * rec.loss) or rec.loss
        if self.writer and (self.step % self.log_every == 0) then self.writer:write(rec) end
        if self.on_step then self.on_step(rec, self) end
        self.last_record = rec
        local o0 = S.now()
        local s = after_step(self.eval and self.eval_every and self.step % self.eval_every == 0)
        if s then stopped = s; return end
        local other = S.now() - o0
        if self.bar then
          self.bar:update(self.step, { loss = running, [self.metric or "metric"] = self.last_eval and
            self.metric and self.last_eval[self.metric] or nil })
        end
        -- timing: the whole iteration vs the model/optimizer work in it (eval and
        -- checkpoints excluded); the first stats_skip steps are warm-up
        local st = self.stats
        st.seen = (st.seen or 0) + 1
        if st.seen > (self.stats_skip or 0) then
          st.step_s = st.step_s + (S.now() - s0) - other
          st.compute_s = st.compute_s + self._compute
          st.steps = st.steps + 1
        end
      end
      -- end of epoch (an interrupted end-of-epoch evaluation runs again on resume:
      -- epoch and batch position move on only after it)
      if self.eval and not self.eval_every then
        self:evaluate()
        if self.early_stopping and self.bad_evals >= self.early_stopping then
          self.epoch, self.batch_pos = self.epoch + 1, 0
          stopped = "early_stopping"; return
        end
      end
      self.epoch, self.batch_pos = self.epoch + 1, 0
    end
  end

  local function run()
    local ok, err = pcall(function()
      loop()
      if self.eval and self.eval_every and (not self.evals[#self.evals] or self.evals[#self.evals].step ~= self.step)
         and self.eval_at_end ~= false and stopped ~= "early_stopping" then
        self:evaluate()
      end
    end)
    if not ok then
      self.optimizer:zero_grad()
      if type(err) == "table" and err.nonfinite then
        stopped = "nonfinite"
        self.error = "training stopped: " .. err.msg
        if self.bar then self.bar:note(self.error) elseif self.progress ~= false then io.stderr:write(self.error, "\n") end
      elseif is_interrupt(err) then
        stopped = "interrupted"
        S.interrupted()           -- clear the Ctrl-C flag so saving is not interrupted too
        if self._in_opt_step then
          -- parameters are half updated: keep the last periodic checkpoint only
          self.inconsistent = true
        elseif self._pos0 then
          -- back to the end of the last complete step (data position and RNG)
          self.batch_pos = self._pos0
          rt.set_rng_state(self._rng0, self._rng1)
        elseif self._in_eval then
          self.pending_eval = true   -- evaluate this step again after resuming
        end
        self._pos0, self._in_eval = nil, nil
      else
        return false, err
      end
    end
    if self.output_dir and stopped ~= "nonfinite" and not self.inconsistent and self.save_every ~= false then
      self:save_checkpoint()
      if stopped == "interrupted" then
        local msg = "interrupted: saved " .. self.last_checkpoint
        if self.bar then self.bar:note(msg) elseif self.progress ~= false then io.stderr:write(msg, "\n") end
      end
    end
    self.pending_eval = nil
    if stopped == "interrupted" then
      S.interrupted()
      -- disarm the main thread's Ctrl-C hook (already handled here) so fit returns
      if main_thread then debug.sethook(main_thread) end
    end
    return true
  end

  local ok, err = shielded(run)
  if self.bar then self.bar.step = self.step; self.bar:close() end
  if self.writer then self.writer:close(); self.writer = nil end
  if not ok then error(err, 0) end
  self.stats.wall_s = S.now() - loop_t0
  return { step = self.step, epoch = math.min(self.epoch, self.epochs), stopped = stopped, best = self.best,
           best_step = self.best_step, bad_evals = self.bad_evals, last_eval = self.last_eval, evals = self.evals,
           error = self.error, checkpoint = self.last_checkpoint, log = log_path, stats = self.stats }
end

function Trainer:__tostring()
  return string.format("rt.Trainer(step %d, epoch %d/%d, %s)", self.step, self.epoch, self.epochs,
    tostring(self.optimizer))
end

setmetatable(Trainer, { __call = function(_, o) return Trainer.new(o) end })
require("retort.log").autodoc(Trainer, "rt.trainer", Trainer)
return Trainer
