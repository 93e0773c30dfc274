-- retort.plot (rt.plot): training curves as PNG (or SVG, or text) through gnuplot.
--   rt.plot.curves{log = "runs/x/log.jsonl", out = "runs/x/loss.png", keys = {"loss", "lr"}}
--   rt.plot.curves{series = {loss = {1.0, 0.5, 0.2}}, out = "-"}   -- ASCII art on stdout
-- keys on a second axis: {"loss", y2 = {"lr"}}. Smoothing: smooth = 0.9 (EMA).
local log = require "retort.log"
local plot = {}

local function gnuplot_path()
  for _, p in ipairs({ "/usr/bin/gnuplot", "/usr/local/bin/gnuplot" }) do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  return nil
end

--- rt.plot.available() -> whether gnuplot is installed.
function plot.available() return gnuplot_path() ~= nil end

local function ema(v, a)
  if not a or a <= 0 then return v end
  local out, s = {}, nil
  for i, x in ipairs(v) do s = s and (a * s + (1 - a) * x) or x; out[i] = s end
  return out
end

--- rt.plot.curves{log=, series=, keys=, y2=, x="step", out=, title=, smooth=, logy=}
--- Plots columns of a JSONL training log (records with the x key) or given series;
--- out ending in .svg writes SVG, "-" prints ASCII art, anything else PNG. Returns out.
function plot.curves(o)
  local gp = gnuplot_path()
  if not gp then error("rt.plot: gnuplot not found (Debian package gnuplot-nox)", 2) end
  local xkey = o.x or "step"
  local series, xs = {}, {}
  local keys = {}
  for _, k in ipairs(o.keys or { "loss" }) do keys[#keys + 1] = { k, 1 } end
  for _, k in ipairs(o.y2 or {}) do keys[#keys + 1] = { k, 2 } end
  if o.series then
    for k, v in pairs(o.series) do
      series[k] = v
      local found = false
      for _, e in ipairs(keys) do if e[1] == k then found = true end end
      if not found and not o.keys then keys[#keys + 1] = { k, 1 } end
    end
  else
    local recs = log.read_jsonl(assert(o.log, "rt.plot.curves: log= or series= needed"))
    for _, e in ipairs(keys) do
      local k = e[1]
      series[k], xs[k] = {}, {}
      for _, r in ipairs(recs) do
        if type(r[k]) == "number" and r[xkey] then
          series[k][#series[k] + 1] = r[k]
          xs[k][#xs[k] + 1] = r[xkey]
        end
      end
    end
  end
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  local plots = {}
  local idx = 0
  for _, e in ipairs(keys) do
    local k, axis = e[1], e[2]
    local v = series[k]
    if v and #v > 0 then
      v = ema(v, o.smooth)
      for i = 1, #v do f:write(string.format("%.10g %.10g\n", xs[k] and xs[k][i] or i, v[i])) end
      f:write("\n\n")
      plots[#plots + 1] = string.format("'%s' index %d using 1:2 with lines title '%s'%s", tmp, idx,
        k:gsub("'", ""), axis == 2 and " axes x1y2" or "")
      idx = idx + 1
    end
  end
  f:close()
  if #plots == 0 then os.remove(tmp); error("rt.plot.curves: nothing to plot", 2) end
  local out = o.out or "curves.png"
  local term
  if out == "-" then term = "set terminal dumb size 100,30"
  elseif out:match("%.svg$") then term = "set terminal svg size 900,500"
  else term = "set terminal png size 900,500" end
  local script = { term }
  if out ~= "-" then script[#script + 1] = string.format("set output '%s'", out) end
  script[#script + 1] = string.format("set title '%s'", (o.title or ""):gsub("'", ""))
  script[#script + 1] = string.format("set xlabel '%s'", xkey)
  script[#script + 1] = "set grid"
  if o.logy then script[#script + 1] = "set logscale y" end
  if o.y2 then script[#script + 1] = "set y2tics"; script[#script + 1] = "set ytics nomirror" end
  script[#script + 1] = "plot " .. table.concat(plots, ", ")
  local p = assert(io.popen(gp .. " 2>&1", "w"))
  p:write(table.concat(script, "\n"), "\n")
  local ok = p:close()
  os.remove(tmp)
  if not ok then error("rt.plot.curves: gnuplot failed", 2) end
  return out
end

log.autodoc(plot, "rt.plot")
return plot
