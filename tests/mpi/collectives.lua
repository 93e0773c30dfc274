-- rt.dist collectives on N ranks; prints "ok <name>" per check, errors on a mismatch.
-- Run as: mpirun -np N retort tests/mpi/collectives.lua
local D = rt.dist
local r, n = D.rank(), D.size()
local function check(name, cond, got)
  if not cond then error(string.format("%s: got %s", name, tostring(got)), 0) end
  if r == 0 then print("ok " .. name) end
end
local function eqt(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if math.abs(a[i] - b[i]) > 1e-6 * math.max(1, math.abs(b[i])) then return false end end
  return true
end
check("size", n >= 2, n)
local t = rt.tensor{ r + 1, 2 * r, -r }
D.allreduce(t, "sum")
local S = n * (n + 1) / 2
check("allreduce sum", eqt(t:totable(), { S, n * (n - 1), -n * (n - 1) / 2 }), table.concat(t:totable(), ","))
t = rt.tensor{ r + 1, 10 }
D.allreduce(t, "mean")
check("allreduce mean", eqt(t:totable(), { (n + 1) / 2, 10 }), table.concat(t:totable(), ","))
t = rt.tensor{ r, -r }
D.allreduce(t, "max")
check("allreduce max", eqt(t:totable(), { n - 1, 0 }), table.concat(t:totable(), ","))
t = rt.tensor{ r, -r }
D.allreduce(t, "min")
check("allreduce min", eqt(t:totable(), { 0, -(n - 1) }), table.concat(t:totable(), ","))
-- fusion: a bucket of 4096 bytes (1024 floats) holds a and b, not c (on its own), d next
local a, b = rt.full({ 300 }, r + 1), rt.full({ 2, 200 }, 2 * (r + 1))
local c, d = rt.full({ 5000 }, r), rt.full({ 7 }, 1)
D.allreduce_list({ a, b, c, d }, "mean", 4096)
check("fused mean", a:min():item() == (n + 1) / 2 and a:max():item() == (n + 1) / 2
  and b:min():item() == n + 1 and c:max():item() == (n - 1) / 2 and d:min():item() == 1, a:max():item())
local nums = D.allreduce_numbers({ r, 1, 2 ^ 40 + r }, "sum")
check("numbers sum", nums[1] == n * (n - 1) / 2 and nums[2] == n and nums[3] == n * 2 ^ 40 + n * (n - 1) / 2,
  table.concat(nums, ","))
local mm = D.allreduce_numbers({ 7 + r }, "max")
check("numbers max", mm[1] == 6 + n, mm[1])
local g = D.allgather_numbers({ r, 10 * r })
check("allgather", #g == 2 * n and g[2 * n - 1] == n - 1 and g[2 * n] == 10 * (n - 1), table.concat(g, ","))
local w = rt.full({ 3, 2 }, r + 5)
D.broadcast(w, 0)
check("broadcast", w:min():item() == 5 and w:max():item() == 5, w:max():item())
local ids = rt.tensor({ r, r }, "i64")
D.broadcast(ids, n - 1)
check("broadcast i64 from last", ids:totable()[1] == n - 1, ids:totable()[1])
local s = D.broadcast_string(r == 0 and ("x"):rep(100000) .. "end" or "other", 0)
check("broadcast_string", #s == 100003 and s:sub(-3) == "end", #s)
D.barrier()
check("barrier", true)
local st = D.stats()
check("stats", st.calls > 0 and st.bytes > 0 and st.seconds >= 0, st.calls)
