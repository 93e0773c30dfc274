-- Golden parity of the core ops against PyTorch (fixtures: scripts/golden/ops_basic.py,
-- float64 references from float32 inputs). Each case runs the op on in.*, compares
-- out, then backward with gout and compares grad.*.
-- Tolerances (T.near: absolute, relative to max(1, |ref|)): 1e-5 for elementwise
-- ops and views, 1e-4 for reductions; exact for indices, masks and bf16 rounding.
local T = require "retort.test"

local EW, RED = 1e-5, 1e-4

local function fixture(name)
  local t = rt.load(T.golden("ops_basic/" .. name .. ".safetensors"))
  assert(t and t.out, "missing fixture " .. name)
  return t
end

-- cases: name -> {tolerance, function(inputs) -> output [, extra outputs table]}
local cases = {
  add = {EW, function(x) return x.a + x.b end},
  sub = {EW, function(x) return x.a - x.b end},
  mul = {EW, function(x) return x.a * x.b end},
  mul_bcast = {EW, function(x) return x.a * x.b end},
  div = {EW, function(x) return x.a / x.b end},
  pow = {EW, function(x) return x.a ^ x.b end},
  add_t = {EW, function(x) return x.a:transpose(1, 2) + x.b end},
  add_scalar = {EW, function(x) return x.a + 2.5 end},
  rsub_scalar = {EW, function(x) return 1.5 - x.a end},
  mul_scalar = {EW, function(x) return x.a * -3 end},
  div_scalar = {EW, function(x) return x.a / 7 end},
  rdiv_scalar = {EW, function(x) return 2 / x.a end},
  pow_scalar = {EW, function(x) return x.a ^ 2.5 end},
  rpow_scalar = {EW, function(x) return 2 ^ x.a end},
  neg = {EW, function(x) return -x.a end},
  exp = {EW, function(x) return x.a:exp() end},
  tanh = {EW, function(x) return x.a:tanh() end},
  sigmoid = {EW, function(x) return x.a:sigmoid() end},
  gelu = {EW, function(x) return x.a:gelu() end},
  gelu_tanh = {EW, function(x) return x.a:gelu_tanh() end},
  floor = {EW, function(x) return x.a:floor() end},
  ceil = {EW, function(x) return x.a:ceil() end},
  round = {EW, function(x) return x.a:round() end},
  log = {EW, function(x) return x.a:log() end},
  sqrt = {EW, function(x) return x.a:sqrt() end},
  rsqrt = {EW, function(x) return x.a:rsqrt() end},
  abs = {EW, function(x) return x.a:abs() end},
  relu = {EW, function(x) return x.a:relu() end},
  sign = {EW, function(x) return x.a:sign() end},
  gelu_big = {EW, function(x) return x.a:gelu() end},
  tanh_big = {EW, function(x) return x.a:tanh() end},
  clamp = {EW, function(x) return x.a:clamp(-0.5, 0.8) end},
  where = {EW, function(x) return rt.where(x.a:gt(0), x.a, x.b) end},
  masked_fill = {EW, function(x) return x.a:masked_fill(x.m:bool(), -10000) end},
  eq = {0, function(x) return x.a:eq(x.b):float() end},
  lt = {0, function(x) return x.a:lt(x.b):float() end},
  ge = {0, function(x) return x.a:ge(0.25):float() end},
  bf16 = {0, function(x) return x.a:bf16():float() end},
  sum_all = {RED, function(x) return x.a:sum() end},
  sum_dim = {RED, function(x) return x.a:sum(2) end},
  sum_dims_keep = {RED, function(x) return x.a:sum({1, 3}, true) end},
  sum_big = {RED, function(x) return x.a:sum(1) end},
  mean_dim = {RED, function(x) return x.a:mean(-1) end},
  mean_dims = {RED, function(x) return x.a:mean({1, 2}) end},
  var_dim = {RED, function(x) return x.a:var(2) end},
  var_all_biased = {RED, function(x) return x.a:var(nil, false, 0) end},
  norm2 = {RED, function(x) return x.a:norm(2, -1) end},
  norm1 = {RED, function(x) return x.a:norm(1) end},
  norm3 = {RED, function(x) return x.a:norm(3, 1) end},
  max_dim = {RED, function(x) local v, i = x.a:max(2); return v, {idx = i} end},
  min_dim_keep = {RED, function(x) local v, i = x.a:min(1, true); return v, {idx = i} end},
  max_all = {RED, function(x) return x.a:max() end},
  argmax_dim = {0, function(x) return x.a:argmax(2) end},
  argmin_all = {0, function(x) return x.a:argmin() end},
  reshape_t = {EW, function(x) return x.a:transpose(1, 2):reshape(2, 6) end},
  transpose = {EW, function(x) return x.a:transpose(1, 3) * 1 end},
  permute = {EW, function(x) return x.a:permute(3, 1, 2) end},
  narrow = {EW, function(x) return x.a:narrow(2, 3, 3) end},
  select = {EW, function(x) return x.a:select(1, 2) end},
  expand = {EW, function(x) return x.a:expand(2, 3, 4) end},
  squeeze = {EW, function(x) return x.a:squeeze(2) end},
  unsqueeze = {EW, function(x) return x.a:unsqueeze(2) end},
  flatten = {EW, function(x) return x.a:flatten(2) end},
  cat = {EW, function(x) return rt.cat({x.a, x.b, x.a}, 2) end},
  stack = {EW, function(x) return rt.stack({x.a, x.b}, 2) end},
  split = {EW, function(x) local p = x.a:split(2, 2); return p[1] * 2 + p[2] + p[3] end},
  index_select = {EW, function(x) return x.a:index_select(1, x.idx) end},
  index_select_d1 = {EW, function(x) return x.a:index_select(2, x.idx) end},
  gather = {EW, function(x) return x.a:gather(2, x.idx) end},
}

local names = {}
for k in pairs(cases) do names[#names + 1] = k end
table.sort(names)

for _, name in ipairs(names) do
  local tol, fn = cases[name][1], cases[name][2]
  T.test("golden " .. name, function()
    local t = fixture(name)
    local x = {}
    for k, v in pairs(t) do
      local n = k:match("^in%.(.+)$")
      if n then x[n] = v:dtype() == "f32" and v:clone():requires_grad() or v end
    end
    local out, extra = fn(x)
    T.near(out:shape(), t.out:shape(), 0, name .. " shape")
    T.eq(out:dtype() == "i64", t.out:dtype() == "i64", name .. " dtype")
    T.near(out, t.out, tol, name .. " out")
    for k, v in pairs(extra or {}) do T.near(v, t["out." .. k], 0, name .. " out." .. k) end
    if t.gout then
      out:backward(t.gout)
      for k, v in pairs(t) do
        local n = k:match("^grad%.(.+)$")
        if n then
          local g = x[n].grad or rt.zeros(x[n]:shape())
          T.near(g, v, tol, name .. " grad." .. n)
        end
      end
    end
  end)
end

T.test("every fixture has a case", function()
  local dir = T.golden("ops_basic")
  local p = io.popen("ls '" .. dir .. "'")
  local n = 0
  for f in p:lines() do
    local name = f:match("^(.+)%.safetensors$")
    if name then n = n + 1; T.ok(cases[name], "no case for fixture " .. name) end
  end
  p:close()
  T.eq(n, #names)
end)
