-- Golden parity of the nn ops against PyTorch (fixtures: scripts/golden/ops_nn.py).
-- Each case: run the op on in.*, backward with gout, compare out and grad.*.
-- Tolerances (T.near: absolute, relative to max(1, |ref|)): 1e-5 elementwise
-- (softmax, layer_norm, embedding, dropout-free attention probs), 1e-4 for
-- matmul/linear, reductions (losses) and the attention core.
local T = require "retort.test"
local rt = rt or require "retort"

-- rt.load comes from the io module; until it is there, read our own fixtures
-- (F32/I64 safetensors written by scripts/golden/common.py) here.
local function load_local(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  local hlen = string.unpack("<I8", data)
  local header, base, out = data:sub(9, 8 + hlen), 8 + hlen, {}
  for name, dt, shape, o0 in header:gmatch('"([^"]+)":{"dtype":"(%w+)","shape":%[([%d,]*)%],"data_offsets":%[(%d+),%d+%]}') do
    local dims, n = {}, 1
    for d in shape:gmatch("%d+") do dims[#dims + 1] = tonumber(d); n = n * tonumber(d) end
    local fmt, size = dt == "F32" and "<f" or "<i8", dt == "F32" and 4 or 8
    local vals, pos = {}, base + tonumber(o0) + 1
    for i = 1, n do vals[i] = string.unpack(fmt, data, pos); pos = pos + size end
    local t = rt.tensor(vals, dt == "F32" and "f32" or "i64")
    if #dims == 0 then t = t:reshape() elseif #dims > 1 then t = t:reshape(table.unpack(dims)) end
    out[name] = t
  end
  return out
end
local load = rt.load or load_local

local function case(name)
  local t = load(T.golden("ops_nn/" .. name .. ".safetensors"))
  assert(t, "missing fixture " .. name)
  return t
end

-- differentiable copies of the float inputs
local function leaves(t, names)
  local x = {}
  for _, n in ipairs(names) do
    local v = t["in." .. n]
    x[n] = v:dtype() == "f32" and v:clone():requires_grad() or v
  end
  return x
end

local function check(name, tol, inputs, fn, grad_tol)
  T.test("golden " .. name, function()
    local t = case(name)
    local x = leaves(t, inputs)
    local out = fn(x, t)
    local loss
    if type(out) == "table" and not out.dtype then
      for _, k in ipairs{"scores", "context"} do
        local o = out[k]
        T.near(o, t["out." .. k], tol, name .. " out." .. k)
        local l = (o * t["gout." .. k]):sum()
        loss = loss and loss + l or l
      end
    else
      T.near(out, t.out, tol, name .. " out")
      loss = (out * t.gout):sum()
    end
    loss:backward()
    for _, n in ipairs(inputs) do
      local ref = t["grad." .. n]
      if ref then
        T.ok(x[n].grad, name .. ": no gradient for " .. n)
        T.near(x[n].grad, ref, grad_tol or tol, name .. " grad." .. n)
      end
    end
  end)
end

local MM = 1e-4
check("matmul_2d", MM, {"a", "b"}, function(x) return rt.matmul(x.a, x.b) end)
check("matmul_batched", MM, {"a", "b"}, function(x) return x.a:matmul(x.b) end)
check("matmul_bcast_weight", MM, {"a", "b"}, function(x) return rt.matmul(x.a, x.b) end)
check("matmul_bcast_batch", MM, {"a", "b"}, function(x) return rt.matmul(x.a, x.b) end)
check("matmul_vec_mat", MM, {"a", "b"}, function(x) return rt.matmul(x.a, x.b) end)
check("matmul_mat_vec", MM, {"a", "b"}, function(x) return rt.matmul(x.a, x.b) end)
check("matmul_dot", MM, {"a", "b"}, function(x) return rt.matmul(x.a, x.b) end)
check("matmul_transposed", MM, {"at", "bt"}, function(x)
  return rt.matmul(x.at:transpose(-1, -2), x.bt:transpose(-1, -2))
end)
check("linear", MM, {"x", "w", "b"}, function(x) return rt.F.linear(x.x, x.w, x.b) end)
check("linear_nobias", MM, {"x", "w"}, function(x) return rt.F.linear(x.x, x.w) end)

check("softmax_last", 1e-5, {"x"}, function(x) return rt.F.softmax(x.x, -1) end)
check("softmax_mid", 1e-5, {"x"}, function(x) return x.x:softmax(2) end)
check("log_softmax_last", 1e-5, {"x"}, function(x) return x.x:log_softmax(-1) end)
check("log_softmax_first", 1e-5, {"x"}, function(x) return rt.F.log_softmax(x.x, 1) end)

check("layer_norm", 1e-5, {"x", "w", "b"}, function(x)
  return rt.F.layer_norm(x.x, {16}, x.w, x.b, 1e-12)
end, 1e-4)
check("layer_norm_2d", 1e-5, {"x", "w", "b"}, function(x)
  return rt.F.layer_norm(x.x, {3, 8}, x.w, x.b, 1e-5)
end, 1e-4)
check("layer_norm_noaffine", 1e-5, {"x"}, function(x)
  return rt.F.layer_norm(x.x, {10}, nil, nil, 1e-5)
end, 1e-4)

check("embedding", 1e-6, {"w", "ids"}, function(x) return rt.F.embedding(x.w, x.ids) end)

for _, red in ipairs{"mean", "sum", "none"} do
  check("cross_entropy_" .. red, 1e-4, {"x", "labels"}, function(x)
    return rt.F.cross_entropy(x.x, x.labels, {ignore_index = -100, reduction = red})
  end)
  check("mse_" .. red, 1e-4, {"a", "b"}, function(x) return rt.F.mse(x.a, x.b, red) end)
end
check("cross_entropy_3d", 1e-4, {"x", "labels"}, function(x) return rt.F.cross_entropy(x.x, x.labels) end)
check("soft_cross_entropy", 1e-4, {"s", "t"}, function(x)
  return rt.F.soft_cross_entropy(x.s, x.t:detach(), 2.0)
end)
for _, red in ipairs{"batchmean", "sum", "mean", "none"} do
  check("kl_div_" .. red, 1e-4, {"x", "t"}, function(x) return rt.F.kl_div(x.x, x.t, red) end)
end

for _, c in ipairs{"plain", "rel", "mask", "rel_mask"} do
  check("attention_" .. c, 1e-4, {"q", "k", "v"}, function(x, t)
    local rel, mask = t["in.rel"], t["in.mask"]
    local s = rt.F.attention_scores(x.q, x.k, rel, mask, 0.5)
    local ctx, probs = rt.F.attention_context(s, x.v, rel, 0.1, false)
    T.near(probs, t["out.probs"], 1e-5, "probs")
    return {scores = s, context = ctx}
  end)
end

T.test("golden NEZHA relative table (modeling_nezha.py test vector)", function()
  local t = load(T.golden("ops_nn/rel_table.safetensors"))
  local row = t.rel_6_32_4:totable()[1][1]
  local want = {-0.756802, -0.653644, 0.778472, -0.627680, 0.953581, 0.301137, 0.652828, 0.757506}
  for i = 1, 8 do T.near(row[i], want[i], 1e-6) end
end)
