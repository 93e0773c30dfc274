-- retort.optim (rt.optim): optimizers with parameter groups, learning-rate
-- schedules and gradient clipping. The arithmetic runs in C, one pass per
-- parameter tensor (rt._optim kernels, src/optim/update.c); this file holds the
-- bookkeeping: groups, state, schedules, state_dict.
--
--   opt = rt.optim.adamw(model, {lr = 2e-5, weight_decay = 0.01, warmup = 0.1,
--                                total_steps = 1000, schedule = "warmup_linear"})
--   loss:backward(); opt:step(); opt:zero_grad()
--
-- Algorithms (BERT optimization.py, NEZHA's LAMB, TinyBERT optimization.py):
--   adamw             PyTorch torch.optim.AdamW (bias correction, decoupled decay)
--   bertadam          TinyBERT / HF-0.x BertAdam: per-tensor clipping at max_grad_norm,
--                     no bias correction, decay added to the update, schedule evaluated
--                     at step/t_total (the first warmup step has lr 0)
--   adam_weight_decay TF BERT / NEZHA AdamWeightDecayOptimizer (global clip 1.0,
--                     warmup + polynomial decay, no bias correction)
--   lamb              NEZHA's LAMB (bias-corrected, trust ratio |w|/|r| clipped to [0,10])
local rt = require "retort"
local K = rt._optim

local optim = {}

---------------------------------------------------------------------------
-- schedules: multiplier of the base lr at 0-based step s of T total steps,
-- W warmup steps (W may be fractional: BertAdam's warmup * t_total).
---------------------------------------------------------------------------
local schedules = {}
schedules.constant = function() return 1.0 end
schedules.none = schedules.constant
schedules.warmup_constant = function(s, T, W)
  if s < W then return s / W end
  return 1.0
end
schedules.warmup_linear = function(s, T, W)
  if s < W then return s / W end
  if T <= W then return 0.0 end
  return math.max((T - s) / (T - W), 0.0)
end
schedules.warmup_cosine = function(s, T, W, o)
  if s < W then return s / W end
  local cycles = (o and o.cycles) or 0.5
  local p = (T > W) and (s - W) / (T - W) or 1.0
  return math.max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * cycles * p)))
end
-- TF create_optimizer (BERT optimization.py): linear warmup to lr, then polynomial decay
-- of lr / (1 - W/T) to end_lr so that it meets lr at step W.
schedules.polynomial = function(s, T, W, o)
  if W > 0 and s < W then return s / W end
  local power = (o and o.power) or 1.0
  local end_f = (o and o.end_lr_factor) or 0.0
  local adj = (W > 0 and T > W) and 1.0 / (1.0 - W / T) or 1.0
  local frac = 1.0 - math.min(s, T) / T
  return (adj - end_f) * frac ^ power + end_f
end
schedules.warmup_polynomial = schedules.polynomial
schedules.linear = schedules.warmup_linear
schedules.cosine = schedules.warmup_cosine
optim.schedules = schedules

--- rt.optim.schedule(name, step, total_steps, warmup_steps, opts) -> lr multiplier.
--- step is 0-based (the number of updates already made).
function optim.schedule(name, step, total, warmup, opts)
  local f = schedules[name or "constant"]
  if not f then error("rt.optim.schedule: unknown schedule '" .. tostring(name) .. "'", 2) end
  return f(step, total or 1, warmup or 0, opts)
end

---------------------------------------------------------------------------
-- parameters and groups
---------------------------------------------------------------------------
local function is_tensor(x) return type(x) == "userdata" end

-- A sorted list of {name, tensor} from a model, {name = tensor}, or an array of tensors.
local function named_list(src)
  local map
  if type(src) == "table" and type(src.named_parameters) == "function" then
    map = src:named_parameters()
  elseif type(src) == "userdata" and src.named_parameters then
    map = src:named_parameters()
  else
    map = src
  end
  local list = {}
  if type(map) ~= "table" then error("rt.optim: expected a model, {name = tensor} or a list of tensors", 3) end
  if #map > 0 and is_tensor(map[1]) then
    for i, t in ipairs(map) do list[#list + 1] = { name = "param" .. i, t = t } end
  else
    for k, t in pairs(map) do
      if is_tensor(t) then list[#list + 1] = { name = tostring(k), t = t } end
    end
    table.sort(list, function(a, b) return a.name < b.name end)
  end
  return list
end

local DEFAULT_NO_DECAY = { "bias", "LayerNorm.bias", "LayerNorm.weight", "LayerNorm", "layer_norm" }

local function matches_any(name, pats)
  for _, p in ipairs(pats) do if name:find(p, 1, true) then return true end end
  return false
end

-- Build parameter groups: explicit groups ({{params = ..., weight_decay = ...}, ...})
-- or decay / no-decay groups split by name.
local function build_groups(src, o)
  local groups = {}
  if type(src) == "table" and type(src[1]) == "table" and not is_tensor(src[1]) and src[1].params then
    for gi, g in ipairs(src) do
      local grp = { items = named_list(g.params) }
      for k, v in pairs(g) do if k ~= "params" then grp[k] = v end end
      for _, it in ipairs(grp.items) do
        if it.name:match("^param%d+$") then it.name = "group" .. gi .. "." .. it.name end
      end
      groups[#groups + 1] = grp
    end
    return groups
  end
  local nd = o.no_decay or DEFAULT_NO_DECAY
  local decay, nodecay = { items = {} }, { items = {}, weight_decay = 0.0 }
  for _, it in ipairs(named_list(src)) do
    if matches_any(it.name, nd) then table.insert(nodecay.items, it) else table.insert(decay.items, it) end
  end
  if #decay.items > 0 then groups[#groups + 1] = decay end
  if #nodecay.items > 0 then groups[#groups + 1] = nodecay end
  return groups
end

---------------------------------------------------------------------------
-- the optimizer object
---------------------------------------------------------------------------
local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer.__name = "rt.Optimizer"

local DEFAULTS = {
  adamw             = { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 0.01, schedule = "constant" },
  bertadam          = { lr = 5e-5, betas = { 0.9, 0.999 }, eps = 1e-6, weight_decay = 0.01, schedule = "warmup_linear",
                        max_grad_norm = 1.0, warmup = -1 },
  adam_weight_decay = { lr = 5e-5, betas = { 0.9, 0.999 }, eps = 1e-6, weight_decay = 0.01, schedule = "polynomial",
                        max_grad_norm = 1.0 },
  lamb              = { lr = 5e-5, betas = { 0.9, 0.999 }, eps = 1e-6, weight_decay = 0.01, schedule = "polynomial",
                        max_grad_norm = 1.0 },
}

local function zeros_like(t)
  return rt.zeros(t:shape())
end

local function copy_tensor(t)
  if t.clone then return t:clone() end
  return t * 1
end

local function new(algo, src, o)
  o = o or {}
  local d = DEFAULTS[algo]
  local self = setmetatable({ algo = algo, t = 0, state = {} }, Optimizer)
  local h = {}
  for k, v in pairs(d) do h[k] = v end
  for k, v in pairs(o) do h[k] = v end
  if o.warmup_proportion then h.warmup = o.warmup_proportion end
  h.total_steps = o.total_steps or o.t_total or -1
  if not schedules[h.schedule] then error("rt.optim." .. algo .. ": unknown schedule '" .. tostring(h.schedule) .. "'", 3) end
  if algo ~= "adamw" and algo ~= "bertadam" and (h.total_steps or -1) <= 0 and h.schedule ~= "constant" and h.schedule ~= "none" then
    if o.schedule == nil then h.schedule = "constant" else
      error("rt.optim." .. algo .. ": schedule '" .. h.schedule .. "' needs total_steps", 3) end
  end
  if algo == "adamw" and h.schedule ~= "constant" and h.schedule ~= "none" and h.total_steps <= 0 then
    error("rt.optim.adamw: schedule '" .. h.schedule .. "' needs total_steps", 3)
  end
  self.hyper = h
  self.param_groups = build_groups(src, h)
  for _, g in ipairs(self.param_groups) do
    g.lr = g.lr or h.lr
    g.weight_decay = g.weight_decay or h.weight_decay
  end
  return self
end

-- warmup in steps: warmup_steps, or warmup (a fraction of total_steps when < 1).
function Optimizer:warmup_steps()
  local h = self.hyper
  if h.warmup_steps then return h.warmup_steps end
  local w = h.warmup or 0
  if w < 0 then return 0 end
  if w < 1 and h.total_steps > 0 then return w * h.total_steps end
  return w
end

--- opt:lr_factor(step) -> schedule multiplier at 0-based step (default: the next step).
function Optimizer:lr_factor(step)
  local h = self.hyper
  step = step or self.t
  if self.algo == "bertadam" and h.total_steps <= 0 then return 1.0 end
  if h.schedule == "constant" or h.schedule == "none" then return 1.0 end
  return schedules[h.schedule](step, h.total_steps, self:warmup_steps(), h)
end

--- opt:get_lr() -> learning rate the next step will use (first group).
function Optimizer:get_lr(gi)
  local g = self.param_groups[gi or 1]
  local base = g and g.lr or self.hyper.lr
  if self.algo == "bertadam" then
    -- per-parameter step: use the first parameter's state
    local it = g and g.items[1]
    local st = it and self.state[it.name]
    return base * self:lr_factor(st and st.step or 0)
  end
  return base * self:lr_factor(self.t)
end

function Optimizer:params()
  local out = {}
  for _, g in ipairs(self.param_groups) do for _, it in ipairs(g.items) do out[#out + 1] = it.t end end
  return out
end

local function grad_norm_sq(items)
  local s = 0.0
  for _, it in ipairs(items) do
    local g = it.t.grad
    if g then s = s + K.sumsq(g) end
  end
  return s
end

-- The state slot of one parameter (created on first use).
function Optimizer:slot(it)
  local st = self.state[it.name]
  if not st then
    st = { step = 0, m = zeros_like(it.t), v = zeros_like(it.t) }
    self.state[it.name] = st
  end
  return st
end

--- opt:step() -> applies one update to every parameter that has a gradient.
--- Returns the gradient norm before clipping (global, or nil for bertadam).
function Optimizer:step()
  local h, algo = self.hyper, self.algo
  local b1, b2, eps = h.betas[1], h.betas[2], h.eps
  local all = {}
  for _, g in ipairs(self.param_groups) do for _, it in ipairs(g.items) do all[#all + 1] = it end end
  local norm = math.sqrt(grad_norm_sq(all))
  self.last_grad_norm = norm
  if norm ~= norm or norm == math.huge then
    error(string.format("non-finite gradient (norm %s) at step %d: parameters not updated", tostring(norm), self.t + 1), 2)
  end
  local scale = 1.0
  if algo ~= "bertadam" and h.max_grad_norm and h.max_grad_norm > 0 then
    if algo == "adamw" then    -- torch.nn.utils.clip_grad_norm_
      local c = h.max_grad_norm / (norm + 1e-6)
      if c < 1 then scale = c end
    else                       -- tf.clip_by_global_norm
      scale = h.max_grad_norm / math.max(norm, h.max_grad_norm)
    end
  end
  local factor = self:lr_factor(self.t)
  for _, g in ipairs(self.param_groups) do
    local wd = g.weight_decay
    for _, it in ipairs(g.items) do
      local grad = it.t.grad
      if grad then
        local st = self:slot(it)
        if algo == "adamw" then
          st.step = st.step + 1
          K.adamw(it.t, grad, st.m, st.v, g.lr * factor, b1, b2, eps, wd, scale, st.step)
        elseif algo == "bertadam" then
          local sc = 1.0
          if h.max_grad_norm and h.max_grad_norm > 0 then
            local n = math.sqrt(K.sumsq(grad))
            local c = h.max_grad_norm / (n + 1e-6)
            if c < 1 then sc = c end
          end
          local lr = g.lr
          if h.total_steps > 0 then
            lr = lr * schedules[h.schedule](st.step, h.total_steps, self:warmup_steps(), h)
          end
          K.adam_wd(it.t, grad, st.m, st.v, lr, b1, b2, eps, wd, sc)
          st.step = st.step + 1
        elseif algo == "adam_weight_decay" then
          K.adam_wd(it.t, grad, st.m, st.v, g.lr * factor, b1, b2, eps, wd, scale)
          st.step = st.step + 1
        else -- lamb
          local t = self.t + 1
          local sw, sr, sg = K.lamb_moments(it.t, grad, st.m, st.v, b1, b2, eps, t, scale, h.weight_decay)
          local ratio = 1.0
          if sw > 0 and sg > 0 then ratio = math.sqrt(sw) / math.sqrt(sr) end
          if ratio ~= ratio then ratio = 1.0 end
          ratio = math.max(0.0, math.min(ratio, 10.0))
          K.lamb_apply(it.t, st.m, st.v, g.lr * factor, b1, b2, eps, t, wd, ratio)
          st.step = st.step + 1
        end
      end
    end
  end
  self.t = self.t + 1
  return norm
end

--- opt:zero_grad(): drop every parameter's gradient.
function Optimizer:zero_grad()
  for _, g in ipairs(self.param_groups) do
    for _, it in ipairs(g.items) do
      local p = it.t
      if p.zero_grad then p:zero_grad() elseif p.grad then p.grad = nil end
    end
  end
end

--- opt:state_dict() -> {algo, t, hyper, groups, state = {name = {step, m, v}}}
--- (tensors are the live slots; save them with rt.save or the Trainer).
function Optimizer:state_dict()
  local groups = {}
  for i, g in ipairs(self.param_groups) do
    local names = {}
    for j, it in ipairs(g.items) do names[j] = it.name end
    groups[i] = { lr = g.lr, weight_decay = g.weight_decay, names = names }
  end
  local state = {}
  for k, st in pairs(self.state) do state[k] = { step = st.step, m = st.m, v = st.v } end
  local hyper = {}
  for k, v in pairs(self.hyper) do hyper[k] = v end
  return { algo = self.algo, t = self.t, hyper = hyper, groups = groups, state = state }
end

--- opt:load_state_dict(sd): restore step counts, group lrs and moment tensors (copied).
function Optimizer:load_state_dict(sd)
  if sd.algo and sd.algo ~= self.algo then
    error("load_state_dict: state is for " .. sd.algo .. ", optimizer is " .. self.algo, 2)
  end
  self.t = sd.t or 0
  if sd.groups then
    for i, g in ipairs(sd.groups) do
      local mine = self.param_groups[i]
      if mine then mine.lr = g.lr or mine.lr; mine.weight_decay = g.weight_decay or mine.weight_decay end
    end
  end
  local by_name = {}
  for _, g in ipairs(self.param_groups) do for _, it in ipairs(g.items) do by_name[it.name] = it end end
  self.state = {}
  for k, st in pairs(sd.state or {}) do
    local it = by_name[k]
    if not it then error("load_state_dict: no parameter named '" .. k .. "'", 2) end
    if st.m:numel() ~= it.t:numel() then
      error("load_state_dict: state of '" .. k .. "' has " .. st.m:numel() .. " elements, parameter has " .. it.t:numel(), 2)
    end
    self.state[k] = { step = st.step or 0, m = copy_tensor(st.m), v = copy_tensor(st.v) }
  end
end

function Optimizer:__tostring()
  local n, np = 0, 0
  for _, g in ipairs(self.param_groups) do n = n + #g.items; for _, it in ipairs(g.items) do np = np + it.t:numel() end end
  return string.format("rt.optim.%s(lr=%g, %d groups, %d tensors, %d parameters, step %d)",
    self.algo, self.hyper.lr, #self.param_groups, n, np, self.t)
end

--- rt.optim.adamw(model_or_params, opts): PyTorch AdamW. opts: lr, betas, eps, weight_decay,
--- schedule, warmup (fraction or steps) / warmup_steps, total_steps, max_grad_norm, no_decay.
function optim.adamw(src, o) return new("adamw", src, o) end
--- rt.optim.bertadam(model_or_params, opts): TinyBERT BertAdam (warmup is a fraction of total_steps).
function optim.bertadam(src, o) return new("bertadam", src, o) end
--- rt.optim.adam_weight_decay(model_or_params, opts): TF BERT / NEZHA AdamWeightDecay.
function optim.adam_weight_decay(src, o) return new("adam_weight_decay", src, o) end
--- rt.optim.lamb(model_or_params, opts): NEZHA LAMB.
function optim.lamb(src, o) return new("lamb", src, o) end

--- rt.optim.new(name, model_or_params, opts)
function optim.new(name, src, o)
  if not DEFAULTS[name] then error("rt.optim.new: unknown optimizer '" .. tostring(name) .. "'", 2) end
  return new(name, src, o)
end

--- rt.optim.grad_norm(params) -> global L2 norm of the gradients.
function optim.grad_norm(params)
  local items = {}
  for _, it in ipairs(named_list(params)) do items[#items + 1] = it end
  return math.sqrt(grad_norm_sq(items))
end

--- rt.optim.clip_grad_norm(params, max_norm) -> total norm; scales gradients in place
--- (torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6) when < 1).
function optim.clip_grad_norm(params, max_norm)
  local items = named_list(params)
  local norm = math.sqrt(grad_norm_sq(items))
  local c = max_norm / (norm + 1e-6)
  if c < 1 then
    for _, it in ipairs(items) do if it.t.grad then K.scale_(it.t.grad, c) end end
  end
  return norm
end

optim.Optimizer = Optimizer
require("retort.log").autodoc(optim, "rt.optim", Optimizer)
return optim
