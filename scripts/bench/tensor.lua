-- Core tensor op benchmarks: build/retort scripts/bench/tensor.lua --threads 2
-- One `bench tensor_<op> ...` line per op (best of several runs, wall clock);
-- scripts/bench/tensor.py prints the same lines for PyTorch.
local threads = 2
for i = 1, #arg do if arg[i] == "--threads" then threads = tonumber(arg[i + 1]) end end
rt.set_threads(threads)
local now = rt._bench and rt._bench.now or os.clock

local function best(reps, fn)
  fn()
  local b = math.huge
  for _ = 1, reps do
    local t0 = now()
    fn()
    b = math.min(b, now() - t0)
  end
  return b
end

local function line(name, shape, ms)
  print(string.format("bench tensor_%s impl=retort threads=%d shape=%s ms=%.3f", name, threads, shape, ms))
  io.stdout:flush()
end

rt.manual_seed(0)
local R, H, F = 32 * 128, 768, 3072
local x = rt.randn(R, H)
local y = rt.randn(R, H)
local b = rt.randn(H)
local f = rt.randn(R, F)
local g = rt.randn(R, F)

line("add_bias", "4096x768+768", best(20, function() return x + b end) * 1e3)
line("add", "4096x768", best(20, function() return x + y end) * 1e3)
line("mul_scalar", "4096x768", best(20, function() return x * 0.5 end) * 1e3)
local xg, bg = x:clone():requires_grad(), b:clone():requires_grad()
line("add_bias_fwdbwd", "4096x768+768", best(10, function()
  local o = xg + bg; o:backward(y); xg:zero_grad(); bg:zero_grad()
end) * 1e3)
line("gelu", "4096x3072", best(10, function() return f:gelu() end) * 1e3)
local fg = f:clone():requires_grad()
line("gelu_fwdbwd", "4096x3072", best(5, function() local o = fg:gelu(); o:backward(g); fg:zero_grad() end) * 1e3)
line("gelu_tanh", "4096x3072", best(10, function() return f:gelu_tanh() end) * 1e3)
line("tanh", "4096x3072", best(10, function() return f:tanh() end) * 1e3)
line("exp", "4096x3072", best(10, function() return f:exp() end) * 1e3)
line("sum_lastdim", "4096x3072", best(10, function() return f:sum(2) end) * 1e3)
line("sum_firstdim", "4096x3072", best(10, function() return f:sum(1) end) * 1e3)
line("mean_all", "4096x3072", best(10, function() return f:mean() end) * 1e3)
line("max_lastdim", "4096x3072", best(10, function() return f:max(2) end) * 1e3)
line("transpose_copy", "4096x768", best(10, function() return x:transpose(1, 2):contiguous() end) * 1e3)
line("cat_dim2", "2x4096x768", best(10, function() return rt.cat({x, y}, 2) end) * 1e3)
line("randn", "4096x3072", best(10, function() return rt.randn(R, F) end) * 1e3)
