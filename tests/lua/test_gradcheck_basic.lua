-- Finite-difference gradient checks for every differentiable core op (elementwise,
-- unary, reductions, views, joining/indexing), including broadcasting and
-- non-contiguous (transposed / narrowed) inputs.
--
-- rt.gradcheck(fn, inputs, opts) -> ok, max_err, report projects fn's output to a
-- scalar with a fixed random vector and compares backward with central
-- differences accumulated in double. Tolerances (f32 forward passes):
--   default: eps 1e-3, |analytic - numeric| <= atol 1e-3 + rtol 1e-2 * |numeric|
--   norm with p = 3 and pow with a tensor exponent: rtol 2e-2 (larger curvature)
-- Inputs avoid kinks (abs, relu, clamp bounds, max ties) by more than eps.
local T = require "retort.test"

rt.manual_seed(42)

local function check(name, fn, inputs, opts)
  T.test("gradcheck " .. name, function()
    local ok, max_err, report = rt.gradcheck(fn, inputs, opts)
    T.ok(ok, name .. " failed (max_err " .. tostring(max_err) .. "):\n" .. report)
  end)
end

local function leaf(...) return rt.randn(...):requires_grad() end
-- values in [0.5, 1.5): for log, sqrt, rsqrt, pow bases, division
local function pos(...) return (rt.rand(...) + 0.5):requires_grad() end
-- away from 0 by at least 0.1 (kinks of abs, relu, sign)
local function nonzero(...)
  local x = rt.randn(...)
  return (x + x:sign() * 0.1):requires_grad()
end
-- non-contiguous leaves: a transposed view and a narrowed view
local function transposed(r, c) return rt.randn(c, r):transpose(1, 2):requires_grad() end
local function narrowed(r, c) return rt.randn(r, c + 3):narrow(2, 2, c):requires_grad() end

-- sanity: the leaves really are non-contiguous
T.test("non-contiguous leaves", function()
  T.eq(transposed(2, 3):is_contiguous(), false)
  T.eq(narrowed(2, 3):is_contiguous(), false)
end)

-- binary ops, same shape / broadcast / non-contiguous
check("add", function(a, b) return a + b end, {leaf(2, 3), leaf(2, 3)})
check("add broadcast [2,3]+[3]", function(a, b) return a + b end, {leaf(2, 3), leaf(3)})
check("add broadcast [2,1]+[1,3]", function(a, b) return a:add(b) end, {leaf(2, 1), leaf(1, 3)})
check("sub broadcast", function(a, b) return a - b end, {leaf(4, 3), leaf(1, 3)})
check("sub transposed", function(a, b) return a - b end, {transposed(3, 4), narrowed(3, 4)})
check("mul", function(a, b) return a * b end, {leaf(3, 4), leaf(3, 4)})
check("mul broadcast 3-d", function(a, b) return a * b end, {leaf(2, 3, 4), leaf(3, 1)})
check("mul non-contiguous", function(a, b) return a:mul(b) end, {transposed(3, 2), narrowed(3, 2)})
check("div", function(a, b) return a / b end, {leaf(3, 4), pos(3, 4)})
check("div broadcast", function(a, b) return a / b end, {leaf(2, 3), pos(3)})
check("pow tensor^tensor", function(a, b) return a ^ b end, {pos(2, 3), leaf(2, 3)}, {rtol = 2e-2})
check("pow broadcast", function(a, b) return a:pow(b) end, {pos(2, 3), leaf(1, 3)}, {rtol = 2e-2})

-- tensor-number forms
check("add number", function(a) return a + 2.5 end, {leaf(3, 2)})
check("number - tensor", function(a) return 1.5 - a end, {leaf(3, 2)})
check("tensor - number", function(a) return a - 1.5 end, {transposed(3, 2)})
check("mul number", function(a) return 3 * a end, {leaf(3, 2)})
check("div number", function(a) return a / 4 end, {leaf(3, 2)})
check("number / tensor", function(a) return 2 / a end, {pos(3, 2)})
check("pow number", function(a) return a ^ 3 end, {leaf(3, 2)})
check("pow 0.5", function(a) return a ^ 0.5 end, {pos(3, 2)})
check("pow -1.5", function(a) return a:pow(-1.5) end, {pos(3, 2)})
check("number ^ tensor", function(a) return 2 ^ a end, {leaf(3, 2)})
check("unm", function(a) return -a end, {narrowed(2, 3)})

-- unary
check("neg", function(a) return a:neg() end, {leaf(2, 3)})
check("exp", function(a) return a:exp() end, {leaf(2, 3)})
check("exp transposed", function(a) return a:exp() end, {transposed(2, 3)})
check("log", function(a) return a:log() end, {pos(2, 3)})
check("sqrt", function(a) return a:sqrt() end, {pos(2, 3)})
check("rsqrt", function(a) return a:rsqrt() end, {pos(2, 3)})
check("abs", function(a) return a:abs() end, {nonzero(2, 3)})
check("tanh", function(a) return a:tanh() end, {leaf(3, 4)})
check("tanh small", function(a) return (a * 0.01):tanh() end, {leaf(3, 4)})
check("sigmoid", function(a) return a:sigmoid() end, {leaf(3, 4)})
check("relu", function(a) return a:relu() end, {nonzero(3, 4)})
check("gelu", function(a) return a:gelu() end, {leaf(3, 4)})
check("gelu wide", function(a) return (a * 3):gelu() end, {leaf(3, 4)})
check("gelu_tanh", function(a) return a:gelu_tanh() end, {leaf(3, 4)})
check("gelu non-contiguous", function(a) return a:gelu() end, {narrowed(3, 4)})
-- piecewise-constant ops: zero gradient (inputs away from the jumps)
check("floor/ceil/round/sign", function(a)
  return a:floor() + a:ceil() + a:round() + a:sign() + a
end, {(rt.tensor{{0.2, 1.3, -0.7}, {2.2, -1.6, 0.4}}):requires_grad()})
check("clamp", function(a) return a:clamp(-0.5, 0.5) end,
  {rt.tensor{{-1, -0.3, 0.2}, {0.7, 0.45, -0.6}}:requires_grad()})
check("clamp one-sided", function(a) return a:clamp(nil, 0.1) + a:clamp(0.0) end,
  {rt.tensor{{-1, -0.3, 0.2}, {0.7, 0.45, -0.6}}:requires_grad()})
check("where", function(a, b) return rt.where(a:gt(0), a, b) end, {nonzero(3, 4), leaf(3, 4)})
check("where broadcast", function(a, b) return rt.where(rt.tensor{1, 0, 1}:bool(), a, b) end, {leaf(2, 3), leaf(1)})
check("masked_fill", function(a) return a:masked_fill(rt.tensor{{1, 0, 0}, {0, 1, 0}}:bool(), -3) end, {leaf(2, 3)})
check("masked_fill broadcast mask", function(a) return a:masked_fill(rt.tensor{0, 1, 0}:bool(), 7) * a end, {leaf(4, 3)})

-- reductions
check("sum all", function(a) return a:sum() end, {leaf(3, 4)})
check("sum dim", function(a) return a:sum(2) end, {leaf(3, 4)})
check("sum dims keepdim", function(a) return a:sum({1, 3}, true) end, {leaf(2, 3, 4)})
check("sum non-contiguous", function(a) return a:sum(1) end, {transposed(3, 4)})
check("mean", function(a) return a:mean(-1) end, {leaf(3, 4)})
check("mean all", function(a) return a:mean() end, {narrowed(3, 4)})
check("mean dims", function(a) return a:mean({1, 2}, true) end, {leaf(2, 3, 4)})
check("var", function(a) return a:var(2) end, {leaf(3, 5)})
check("var all biased", function(a) return a:var(nil, false, 0) end, {leaf(3, 5)})
check("var keepdim", function(a) return a:var(1, true) end, {transposed(4, 3)})
check("norm 2", function(a) return a:norm() end, {leaf(3, 4)})
check("norm 2 dim", function(a) return a:norm(2, -1, true) end, {leaf(3, 4)})
check("norm 1", function(a) return a:norm(1, 1) end, {nonzero(3, 4)})
check("norm 3", function(a) return a:norm(3, 2) end, {nonzero(3, 4)}, {rtol = 2e-2})
check("norm inf", function(a) return a:norm(math.huge, 2) end,
  {rt.tensor{{0.1, -0.9, 0.3}, {0.5, 0.2, -0.4}}:requires_grad()})
local distinct = function() return rt.tensor{{0.3, -1.2, 0.8, 2.0}, {1.1, 0.05, -0.6, 0.4}, {-2.2, 0.9, 1.7, -0.1}} end
check("max all", function(a) return a:max() end, {distinct():requires_grad()})
check("max dim", function(a) return (a:max(2)) end, {distinct():requires_grad()})
check("min dim keepdim", function(a) return (a:min(1, true)) end, {distinct():requires_grad()})
check("min all transposed", function(a) return a:transpose(1, 2):min() end, {distinct():requires_grad()})

-- views
check("reshape", function(a) return a:reshape(4, 3) end, {leaf(3, 4)})
check("reshape -1 non-contiguous", function(a) return a:reshape(-1) end, {transposed(3, 4)})
check("view", function(a) return a:view(2, 6) end, {leaf(3, 4)})
check("flatten", function(a) return a:flatten(2) end, {leaf(2, 3, 2)})
check("transpose", function(a) return a:transpose(1, 2) * 2 end, {leaf(3, 4)})
check("transpose 3-d", function(a) return a:transpose(1, 3):contiguous() end, {leaf(2, 3, 4)})
check("permute", function(a) return a:permute(3, 1, 2) end, {leaf(2, 3, 4)})
check("narrow", function(a) return a:narrow(2, 2, 2) end, {leaf(3, 4)})
check("narrow twice", function(a) return a:narrow(1, 2, 2):narrow(2, 1, 3) end, {transposed(3, 4)})
check("select", function(a) return a:select(1, 2) end, {leaf(3, 4)})
check("select negative", function(a) return a:select(-1, -1) end, {leaf(3, 4)})
check("expand", function(a) return a:expand(4, 3) end, {leaf(1, 3)})
check("expand new dims", function(a) return a:expand(2, 3, 4) end, {leaf(3, 1)})
check("squeeze", function(a) return a:squeeze() end, {leaf(3, 1, 4)})
check("squeeze dim", function(a) return a:squeeze(2) end, {leaf(3, 1, 4)})
check("unsqueeze", function(a) return a:unsqueeze(2) end, {leaf(3, 4)})
check("unsqueeze end", function(a) return a:unsqueeze(-1) end, {leaf(3, 4)})
check("contiguous", function(a) return a:contiguous() end, {transposed(3, 4)})
check("clone", function(a) return a:clone() * a end, {leaf(3, 4)})

-- joining / indexing
check("cat", function(a, b) return rt.cat({a, b}, 1) end, {leaf(2, 3), leaf(4, 3)})
check("cat dim 2 non-contiguous", function(a, b) return rt.cat({a, b, a}, 2) end, {transposed(2, 3), leaf(2, 2)})
check("cat many", function(...)
  local xs = {...}
  local parts = {}
  for i = 1, 10 do parts[i] = xs[(i - 1) % #xs + 1] end
  return rt.cat(parts, -1)
end, {leaf(2, 1), leaf(2, 2)})
check("stack", function(a, b) return rt.stack({a, b}, 2) end, {leaf(2, 3), leaf(2, 3)})
check("split", function(a)
  local p = a:split(2, 2)
  return p[1] * 2 + p[2] * 3
end, {leaf(3, 4)})
check("chunk", function(a)
  local p = a:chunk(3, 1)
  return rt.cat({p[3], p[1]}, 1)
end, {leaf(3, 4)})
check("index_select", function(a) return a:index_select(1, rt.tensor({2, 0, 2}, "i64")) end, {leaf(3, 4)})
check("index_select dim 2", function(a) return a:index_select(2, rt.tensor({3, 1}, "i64")) end, {transposed(3, 4)})
check("gather", function(a) return a:gather(2, rt.tensor({{0, 0, 3}, {1, 2, 2}, {3, 0, 1}}, "i64")) end, {leaf(3, 4)})
check("gather dim 1", function(a) return a:gather(1, rt.tensor({{2, 0, 1, 1}}, "i64")) end, {leaf(3, 4)})

-- a small graph that uses a tensor twice (gradient accumulation)
check("diamond", function(a, b)
  local h = (a * b):tanh()
  return (h + a:exp()) * h:sigmoid() - b:mean(1, true)
end, {leaf(3, 4), leaf(3, 4)})
