-- Optimizers and schedules against scripts/golden/optim.py (torch.optim.AdamW and
-- re-implementations of BertAdam, AdamWeightDecay, LAMB): parameters and moment
-- slots after 3-5 steps, decay and no-decay groups, lr at every step.
local T = require "retort.test"
local L = rt.log
local dir = T.golden("optim")

-- Read a safetensors file: rt.load when the io module is there, else a small
-- reader (f32 only) so this test needs core tensors only.
local function load_st(path)
  if rawget(rt, "load") then return rt.load(path) end
  local f = assert(io.open(path, "rb"))
  local s = f:read("a"); f:close()
  local hl = string.unpack("<I8", s)
  local hdr = L.json_decode(s:sub(9, 8 + hl))
  local base = 8 + hl
  local out = {}
  for name, e in pairs(hdr) do
    if name ~= "__metadata__" then
      assert(e.dtype == "F32", "mini reader: f32 only")
      local n = (e.data_offsets[2] - e.data_offsets[1]) // 4
      local vals = { string.unpack("<" .. string.rep("f", n), s, base + e.data_offsets[1] + 1) }
      vals[#vals] = nil
      local shape = e.shape
      local t = rt.tensor(vals)
      if #shape ~= 1 then t = t:reshape(shape) end
      out[name] = t
    end
  end
  return out
end

local cases = L.read_json(dir .. "/cases.json")
local names = {}
for k in pairs(cases) do names[#names + 1] = k end
table.sort(names)

local function rel_check(got, want, what)
  local a, b = got:totable(), want:totable()
  local function flat(x, o) o = o or {}; if type(x) == "table" then for _, y in ipairs(x) do flat(y, o) end else o[#o + 1] = x end; return o end
  a, b = flat(a), flat(b)
  T.eq(#a, #b, what .. " size")
  -- relative to the tensor's largest magnitude: elementwise relative error is
  -- meaningless where a moment is a small difference of larger terms
  local worst, scale = 0, 0
  for i = 1, #b do scale = math.max(scale, math.abs(b[i])) end
  for i = 1, #a do
    local d = math.abs(a[i] - b[i]) / math.max(scale, 1e-30)
    if d > worst then worst = d end
  end
  if worst > 1e-6 then error(string.format("%s: max relative error %.3g > 1e-6", what, worst), 2) end
  WORST = math.max(WORST or 0, worst)
  return worst
end

for _, case in ipairs(names) do
  local c = cases[case]
  T.test("optim " .. case, function()
    local fx = load_st(dir .. "/" .. case .. ".safetensors")
    local params = {}
    for k, t in pairs(fx) do
      local n = k:match("^init%.(.*)$")
      if n then params[n] = t:requires_grad() end
    end
    local o = {}
    for k, v in pairs(c.opts) do o[k] = v end
    local opt = rt.optim.new(c.algo, params, o)
    -- decay / no-decay split as upstream
    T.eq(#opt.param_groups, 2)
    for _, it in ipairs(opt.param_groups[2].items) do
      T.ok(it.name:find("bias", 1, true) or it.name:find("LayerNorm", 1, true), it.name)
    end
    for k = 1, c.steps do
      for n, p in pairs(params) do p.grad = fx["grad." .. k .. "." .. n] * 1 end
      T.near(opt:get_lr(), c.lrs[k], 1e-12, "lr at step " .. k)
      opt:step()
    end
    local sd = opt:state_dict()
    for n, p in pairs(params) do
      rel_check(p, fx["final." .. n], case .. " final " .. n)
      rel_check(sd.state[n].m, fx["m." .. n], case .. " m " .. n)
      rel_check(sd.state[n].v, fx["v." .. n], case .. " v " .. n)
    end
  end)
end

T.test("optim state_dict round trip continues identically", function()
  local c = cases["adamw_warmup_linear_clip"]
  local fx = load_st(dir .. "/adamw_warmup_linear_clip.safetensors")
  local function fresh()
    local p = {}
    for k, t in pairs(fx) do local n = k:match("^init%.(.*)$"); if n then p[n] = (t * 1):requires_grad() end end
    return p
  end
  local pa, pb = fresh(), fresh()
  local oa, ob = rt.optim.adamw(pa, c.opts), rt.optim.adamw(pb, c.opts)
  local function step(ps, opt, k) for n, p in pairs(ps) do p.grad = fx["grad." .. k .. "." .. n] * 1 end; opt:step() end
  step(pa, oa, 1); step(pa, oa, 2); step(pa, oa, 3)
  step(pb, ob, 1); step(pb, ob, 2)
  local ob2 = rt.optim.adamw(pb, c.opts)
  ob2:load_state_dict(ob:state_dict())
  step(pb, ob2, 3)
  for n in pairs(pa) do T.near(pb[n], pa[n], 0, n) end
  T.eq(ob2.t, 3)
end)

T.test("optim clip_grad_norm and schedules", function()
  local a = rt.tensor{3, 0}:requires_grad()
  local b = rt.tensor{0, 4}:requires_grad()
  a.grad = rt.tensor{3, 0}; b.grad = rt.tensor{0, 4}
  local n = rt.optim.clip_grad_norm({ a, b }, 1.0)
  T.near(n, 5, 1e-9)
  T.near(rt.optim.grad_norm({ a, b }), 1.0, 1e-5)
  local S = rt.optim.schedule
  T.eq(S("warmup_linear", 0, 10, 2), 0)
  T.near(S("warmup_linear", 1, 10, 2), 0.5, 1e-12)
  T.near(S("warmup_linear", 6, 10, 2), 0.5, 1e-12)
  T.eq(S("warmup_linear", 12, 10, 2), 0)
  T.near(S("warmup_cosine", 6, 10, 2), 0.5, 1e-12)
  T.near(S("polynomial", 2, 10, 2), 1.0, 1e-12)
  T.near(S("polynomial", 10, 10, 0), 0.0, 1e-12)
  T.eq(S("constant", 5, 10, 2), 1)
  T.raises(function() S("nope", 1, 1, 1) end, "unknown schedule")
end)

T.test("optim worst relative error", function() print(string.format("optim parity: worst relative error %.3g", WORST or 0)) end)
