-- Op benchmarks: build/retort scripts/bench/ops.lua --threads 2 [--quick]
-- Prints `bench <name> key=value ...` lines; scripts/bench/ops.py prints the
-- same lines for PyTorch. Times are the best of several runs (wall clock).
local rt = rt or require "retort"
local threads, quick = 2, false
for i = 1, #arg do
  if arg[i] == "--threads" then threads = tonumber(arg[i + 1]) end
  if arg[i] == "--quick" then quick = true end
end
if rt.set_threads then rt.set_threads(threads) end
local now = rt._bench.now

local function best(reps, fn)
  fn()   -- warm-up (allocator cache, page faults)
  collectgarbage()
  local b = math.huge
  for _ = 1, reps do
    local t0 = now()
    fn()
    b = math.min(b, now() - t0)
    collectgarbage()   -- free this rep's tensors (untimed), as refcounting does in PyTorch
  end
  return b
end

local function line(name, kv)
  local parts = {"bench", name, "impl=retort", "threads=" .. threads}
  for _, p in ipairs(kv) do parts[#parts + 1] = p[1] .. "=" .. (type(p[2]) == "number" and
    (math.type(p[2]) == "integer" and tostring(p[2]) or string.format("%.3f", p[2])) or tostring(p[2])) end
  print(table.concat(parts, " "))
  io.stdout:flush()
end

-- GEMM at BERT-base (768/3072) and TinyBERT-4L (312/1200) shapes, M = 4096 rows
local M = 4096
local pairs_nk = {{768, 768}, {3072, 768}, {768, 3072}, {312, 312}, {1200, 312}, {312, 1200}}
if quick then pairs_nk = {{768, 768}} end
for _, nk in ipairs(pairs_nk) do
  local N, K = nk[1], nk[2]
  for _, op in ipairs{"NT", "NN", "TN"} do
    local ta, tb = op:sub(1, 1) == "T", op:sub(2, 2) == "T"
    local a = ta and rt.randn(K, M):transpose(1, 2) or rt.randn(M, K)
    local b = tb and rt.randn(N, K):transpose(1, 2) or rt.randn(K, N)
    local flop = 2.0 * M * N * K
    local reps = flop > 1e10 and 3 or 6
    local t = best(reps, function() local c = rt.matmul(a, b) end)
    local traw = math.huge
    for _ = 1, 2 do traw = math.min(traw, rt._bench.sgemm(ta, tb, M, N, K, reps)) end
    line("op_matmul", {{"op", op}, {"M", M}, {"N", N}, {"K", K}, {"gflops", flop / t / 1e9},
                       {"raw_sgemm_gflops", flop / traw / 1e9}, {"ratio_raw", traw / t}})
  end
  collectgarbage()
end

local function fwd_bwd(name, kv, make, op, reps)
  local x = make()
  local tf = best(reps, function() local y = op(x) end)
  local y0 = op(x)
  local g = rt.randn(table.unpack(y0:shape()))
  local tb = best(reps, function()
    for _, v in ipairs(x) do pcall(function() v.grad = nil end) end
    local y = op(x)
    y:backward(g)
  end)
  kv[#kv + 1] = {"fwd_ms", tf * 1e3}
  kv[#kv + 1] = {"fwdbwd_ms", tb * 1e3}
  line(name, kv)
  collectgarbage()
end

local R = 32 * 128
fwd_bwd("op_layer_norm", {{"rows", R}, {"n", 768}},
  function() return {rt.randn(R, 768):requires_grad(), rt.randn(768):requires_grad(), rt.randn(768):requires_grad()} end,
  function(x) return rt.F.layer_norm(x[1], {768}, x[2], x[3], 1e-12) end, 10)
fwd_bwd("op_softmax", {{"shape", "32x12x128x128"}},
  function() return {rt.randn(32, 12, 128, 128):requires_grad()} end,
  function(x) return rt.F.softmax(x[1], -1) end, 5)
fwd_bwd("op_gelu", {{"rows", R}, {"n", 3072}},
  function() return {rt.randn(R, 3072):requires_grad()} end,
  function(x) return rt.F.gelu(x[1]) end, 5)
fwd_bwd("op_dropout", {{"rows", R}, {"n", 768}, {"p", 0.1}},
  function() return {rt.randn(R, 768):requires_grad()} end,
  function(x) return rt.F.dropout(x[1], 0.1, true) end, 10)

-- attention core, BERT-base: B=32, S=128, H=12, D=64; q/k/v as permuted [B,S,H,D] views
local B, S, H, D = 32, 128, 12, 64
local function rel_table(n, d, K)
  local rows = {}
  for i = 0, n - 1 do
    local row = {}
    for j = 0, n - 1 do
      local p = math.max(-K, math.min(K, j - i)) + K
      local v = {}
      for k = 0, d // 2 - 1 do
        local a = p / 10000 ^ (2 * k / d)
        v[2 * k + 1], v[2 * k + 2] = math.sin(a), math.cos(a)
      end
      row[j + 1] = v
    end
    rows[i + 1] = row
  end
  return rt.tensor(rows)
end
local rel = rel_table(S, D, 64)
local mask = rt.zeros(B, 1, 1, S)
for _, use_rel in ipairs{false, true} do
  fwd_bwd("op_attention", {{"B", B}, {"S", S}, {"H", H}, {"D", D}, {"rel", use_rel and 1 or 0}},
    function()
      local function p() return rt.randn(B, S, H, D):requires_grad() end
      return {p(), p(), p()}
    end,
    function(x)
      local q, k, v = x[1]:transpose(2, 3), x[2]:transpose(2, 3), x[3]:transpose(2, 3)
      local r = use_rel and rel or nil
      local s = rt.F.attention_scores(q, k, r, mask, 1 / math.sqrt(D))
      local ctx = rt.F.attention_context(s, v, r, 0.1, true)
      return ctx
    end, 3)
end

-- cross-entropy: token classification (9 labels) and MLM-sized vocabulary
for _, C in ipairs{9, 21128} do
  local labels = rt.randint and rt.randint(0, C, {R}) or
    rt.tensor((function() local t = {} for i = 1, R do t[i] = (i * 7919) % C end return t end)(), "i64")
  fwd_bwd("op_cross_entropy", {{"rows", R}, {"classes", C}},
    function() return {rt.randn(R, C):requires_grad()} end,
    function(x) return rt.F.cross_entropy(x[1], labels) end, C > 100 and 3 or 10)
end
