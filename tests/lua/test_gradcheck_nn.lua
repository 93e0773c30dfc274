-- Finite-difference gradient checks of the nn ops (matmul, linear, softmax,
-- log_softmax, layer_norm, dropout, embedding, losses, attention core).
-- Each check: L(x...) = Σ op(x...) * w with a fixed random w; the analytic
-- gradient from backward() is compared with central differences
-- (L(x+h) - L(x-h)) / 2h, h = 1e-2, losses summed in double precision in Lua.
-- The ops compute in f32, so the tolerance is 1e-2 absolute + relative to the
-- largest gradient entry (about 100x the f32 rounding noise of the quotient,
-- and far below the size of any real error: a wrong sign, a missing term or a
-- factor 2 all fail it). Attention and layer_norm use h = 5e-3.
local T = require "retort.test"
local rt = rt or require "retort"

local function flat(t, out)
  out = out or {}
  if type(t) == "number" then out[#out + 1] = t
  else for _, v in ipairs(t) do flat(v, out) end end
  return out
end

local function from_flat(v, shape)
  local t = rt.tensor(v)
  if #shape ~= 1 then t = t:reshape(table.unpack(shape)) end
  return t
end

-- inputs: list of {value = tensor, grad = bool, make = function(t) -> tensor}
-- (make turns the fresh contiguous leaf into the op's argument: a transpose etc.)
local function gradcheck(name, inputs, fn, opts)
  opts = opts or {}
  local h, tol = opts.h or 1e-2, opts.tol or 1e-2
  T.test("gradcheck " .. name, function()
    local vals, shapes = {}, {}
    for i, inp in ipairs(inputs) do
      vals[i] = flat(inp.value:totable())
      shapes[i] = inp.value:shape()
    end
    local weight
    local function build(req)
      local args, leaves = {}, {}
      for i, inp in ipairs(inputs) do
        if inp.grad then
          local l = from_flat(vals[i], shapes[i])
          if req then l:requires_grad() end
          leaves[i] = l
          args[i] = inp.make and inp.make(l) or l
        else
          args[i] = inp.value
        end
      end
      return args, leaves
    end
    local function loss(req)
      if opts.before then opts.before() end
      local args, leaves = build(req)
      local out = fn(table.unpack(args, 1, #inputs))
      if not weight then
        rt.manual_seed(99)
        weight = rt.randn(table.unpack(out:shape()))
        if out:dim() == 0 then weight = rt.tensor(1.5) end
      end
      return (out * weight):sum(), leaves
    end
    local L, leaves = loss(true)
    L:backward()
    for i, inp in ipairs(inputs) do
      if inp.grad then
        local g = leaves[i].grad
        T.ok(g, name .. ": no gradient for input " .. i)
        local ga = flat(g:totable())
        local gmax = 0
        for _, v in ipairs(ga) do gmax = math.max(gmax, math.abs(v)) end
        for j = 1, #vals[i] do
          local x0 = vals[i][j]
          vals[i][j] = x0 + h
          local lp = loss(false):item()
          vals[i][j] = x0 - h
          local lm = loss(false):item()
          vals[i][j] = x0
          local num = (lp - lm) / (2 * h)
          local err = math.abs(num - ga[j])
          if not (err <= tol * (1 + gmax)) then
            error(string.format("%s: input %d element %d: analytic %.6g numeric %.6g", name, i, j, ga[j], num), 0)
          end
        end
      end
    end
  end)
end

rt.manual_seed(7)
local R = rt.randn
local function X(...) return {value = R(...), grad = true} end
local function C(v) return {value = v, grad = false} end
local function tr(a, b) return function(t) return t:transpose(a, b) end end

-- matmul / linear
gradcheck("matmul 2-D", {X(3, 4), X(4, 5)}, rt.matmul)
gradcheck("matmul batched broadcast", {X(2, 1, 3, 4), X(3, 4, 2)}, rt.matmul)
gradcheck("matmul shared weight", {X(2, 3, 4), X(4, 5)}, rt.matmul)
gradcheck("matmul vec x batched", {X(4), X(2, 4, 3)}, rt.matmul)
gradcheck("matmul batched x vec", {X(2, 3, 4), X(4)}, rt.matmul)
gradcheck("matmul dot", {X(5), X(5)}, rt.matmul)
gradcheck("matmul transposed operands", {
  {value = R(4, 3), grad = true, make = tr(1, 2)},
  {value = R(2, 5, 4), grad = true, make = tr(2, 3)}}, rt.matmul)
gradcheck("linear", {X(2, 3, 4), X(5, 4), X(5)}, rt.F.linear)
gradcheck("linear no bias, transposed weight", {X(6, 4), {value = R(4, 3), grad = true, make = tr(1, 2)}},
  function(x, w) return rt.F.linear(x, w) end)
gradcheck("linear non-contiguous input", {{value = R(4, 3, 2), grad = true, make = tr(1, 3)}, X(5, 4), X(5)},
  rt.F.linear)

-- softmax family
gradcheck("softmax last dim", {X(3, 5)}, function(x) return rt.F.softmax(x, -1) end)
gradcheck("softmax middle dim", {X(2, 4, 3)}, function(x) return x:softmax(2) end)
gradcheck("log_softmax first dim", {X(4, 3)}, function(x) return x:log_softmax(1) end)
gradcheck("log_softmax non-contiguous", {{value = R(3, 4), grad = true, make = tr(1, 2)}},
  function(x) return rt.F.log_softmax(x, -1) end)

-- layer norm
gradcheck("layer_norm affine", {X(3, 6), X(6), X(6)},
  function(x, w, b) return rt.F.layer_norm(x, {6}, w, b, 1e-5) end, {h = 5e-3})
gradcheck("layer_norm 2 dims", {X(2, 3, 4), X(3, 4), X(3, 4)},
  function(x, w, b) return rt.F.layer_norm(x, {3, 4}, w, b, 1e-5) end, {h = 5e-3})
gradcheck("layer_norm no affine, non-contiguous", {{value = R(5, 3), grad = true, make = tr(1, 2)}},
  function(x) return rt.F.layer_norm(x, {5}, nil, nil, 1e-5) end, {h = 5e-3})

-- dropout (the same mask every evaluation: reseed first)
gradcheck("dropout train", {X(4, 6)}, function(x) return rt.F.dropout(x, 0.3, true) end,
  {before = function() rt.manual_seed(1234) end})

-- embedding (gradient to the weight; repeated ids accumulate)
gradcheck("embedding", {X(6, 3), C(rt.tensor({{1, 5, 1}, {0, 1, 2}}, "i64"))},
  function(w, ids) return rt.F.embedding(w, ids) end)

-- losses
local labels = rt.tensor({2, -100, 0, 4}, "i64")
for _, red in ipairs{"mean", "sum", "none"} do
  gradcheck("cross_entropy " .. red, {X(4, 5), C(labels)},
    function(x, y) return rt.F.cross_entropy(x, y, {reduction = red}) end)
  gradcheck("mse " .. red, {X(3, 4), X(3, 4)}, function(a, b) return rt.F.mse(a, b, red) end)
end
gradcheck("soft_cross_entropy T=2", {X(3, 5), C(R(3, 5))},
  function(s, t) return rt.F.soft_cross_entropy(s, t, 2) end)
for _, red in ipairs{"batchmean", "sum", "none"} do
  gradcheck("kl_div " .. red, {X(3, 4), C(rt.F.softmax(R(3, 4), -1))},
    function(x, t) return rt.F.kl_div(x, t, red) end)
end
gradcheck("kl_div target gradient", {C(R(2, 3)), {value = rt.F.softmax(R(2, 3), -1), grad = true}},
  function(x, t) return rt.F.kl_div(x, t, "sum") end, {h = 1e-3})

-- attention core: q as a permuted [B,S,H,D] view, rel and mask optional
local B, H, S, D = 2, 2, 3, 4
local rel = R(S, S, D)
-- (a mild mask: -10000 in the summed scores would drown the f32 differences;
-- the end-to-end check below uses the real -10000)
local mask = rt.tensor({{0, 0, 0}, {0, 0, -3}}):reshape(B, 1, 1, S)
local mask_big = rt.tensor({{0, 0, 0}, {0, 0, -10000}}):reshape(B, 1, 1, S)
local perm = function(t) return t:transpose(2, 3) end   -- [B,S,H,D] -> [B,H,S,D]
for _, c in ipairs{{"plain"}, {"rel", rel}, {"mask", nil, mask}, {"rel+mask", rel, mask}} do
  gradcheck("attention_scores " .. c[1], {
    {value = R(B, S, H, D), grad = true, make = perm}, X(B, H, S, D)},
    function(q, k) return rt.F.attention_scores(q, k, c[2], c[3], 0.5) end, {h = 5e-3})
  gradcheck("attention_context " .. c[1], {X(B, H, S, S), {value = R(B, S, H, D), grad = true, make = perm}},
    function(s, v) return (rt.F.attention_context(s, v, c[2], 0, false)) end, {h = 5e-3})
end
gradcheck("attention_context dropout", {X(B, H, S, S), X(B, H, S, D)},
  function(s, v) return (rt.F.attention_context(s, v, rel, 0.25, true)) end,
  {h = 5e-3, before = function() rt.manual_seed(4321) end})
gradcheck("attention core end to end", {X(B, H, S, D), X(B, H, S, D), X(B, H, S, D)},
  function(q, k, v)
    local s = rt.F.attention_scores(q, k, rel, mask_big, 0.5)
    return (rt.F.attention_context(s, v, rel, 0, false))
  end, {h = 5e-3})
