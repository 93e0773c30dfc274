-- rt.plot (issue 9, item 9): y2 given inside keys (where the help puts it) goes on the
-- second axis; smoothing touches dense series (loss per step) but not sparse eval
-- points; an unknown key lists the keys the log has; without out= nothing is written
-- to the working directory.
local T = require "retort.test"
local L = rt.log
local P = rt.plot

local tmp = T.tmpdir()
local logfile = tmp .. "/log.jsonl"
do
  local w = L.jsonl(logfile)
  for s = 1, 20 do
    w:write({ step = s, loss = 1 / s, lr = 0.001 * s })
    if s % 5 == 0 then w:write({ step = s, acc = s / 20, split = "dev" }) end
  end
  w:close()
end

local function lines_of(data)
  local blocks, cur = {}, nil
  for line in (data .. "\n"):gmatch("(.-)\n") do
    local x, y = line:match("^(%S+) (%S+)$")
    if x then
      if not cur then cur = {}; blocks[#blocks + 1] = cur end
      cur[#cur + 1] = { tonumber(x), tonumber(y) }
    else cur = nil end
  end
  return blocks
end

T.test("y2 inside keys goes on the second axis", function()
  local job = P.prepare{ log = logfile, keys = { "loss", y2 = { "lr" } }, out = tmp .. "/a.png" }
  T.ok(job.script:find("title 'lr' axes x1y2", 1, true), job.script)
  T.ok(not job.script:find("title 'loss' axes x1y2", 1, true), job.script)
  T.ok(job.script:find("set y2tics", 1, true), job.script)
end)

T.test("smoothing applies to dense series only", function()
  local job = P.prepare{ log = logfile, keys = { "loss", "acc" }, smooth = 0.9, out = tmp .. "/b.png" }
  local b = lines_of(job.data)
  T.eq(#b, 2)
  T.eq(#b[1], 20); T.eq(#b[2], 4)
  T.ok(b[1][20][2] > 1 / 20 + 0.1, "loss is smoothed: " .. b[1][20][2])
  for i, pt in ipairs(b[2]) do T.near(pt[2], (5 * i) / 20, 1e-9, "acc point " .. i) end
end)

T.test("an unknown key names the keys that exist", function()
  local err = T.raises(function() P.curves{ log = logfile, keys = { "accuracy" }, out = tmp .. "/c.png" } end,
    "no key 'accuracy'")
  T.ok(tostring(err):find("keys: acc, loss, lr", 1, true), tostring(err))
end)

T.test("series alone plots every series; a missing one is named", function()
  local job = P.prepare{ series = { att = { 3, 2, 1 }, rep = { 1, 1, 1 } }, out = tmp .. "/d.png" }
  T.ok(job.script:find("title 'att'", 1, true) and job.script:find("title 'rep'", 1, true), job.script)
  T.raises(function() P.prepare{ series = { att = { 1 } }, keys = { "loss" } } end, "no series 'loss' (series: att)")
end)

T.test("without out= no file lands in the working directory", function()
  if not P.available() then T.skip("gnuplot not installed") end
  local cwd = tmp .. "/cwd"
  os.execute("mkdir -p '" .. cwd .. "'")
  local bin = os.getenv("RETORT_BIN") or "build/retort"
  if bin:sub(1, 1) ~= "/" then bin = io.popen("pwd"):read("l") .. "/" .. bin end
  local p = io.popen("cd '" .. cwd .. "' && '" .. bin .. "' -e 'print(rt.plot.curves{log = \"" .. logfile .. "\"})' 2>&1")
  local out = p:read("a"); p:close()
  local path = out:match("(%S+%.png)")
  T.ok(path and path:sub(1, #cwd) ~= cwd and io.open(path, "rb"), "picture at " .. tostring(path) .. ":\n" .. out)
  T.eq(#rt._optim.listdir(cwd), 0, "files written to the working directory")
  os.remove(path)
end)

rt.trainer.remove_tree(tmp)
