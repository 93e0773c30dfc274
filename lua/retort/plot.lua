-- retort.plot (rt.plot): training curves as PNG (or SVG, or text) through gnuplot.
--   rt.plot.curves{log = "runs/x/log.jsonl", out = "runs/x/loss.png", keys = {"loss", "lr"}}
--   rt.plot.curves{series = {loss = {1.0, 0.5, 0.2}}, out = "-"}   -- ASCII art on stdout
-- keys on a second axis: keys = {"loss", y2 = {"lr"}}. Smoothing: smooth = 0.9 (EMA, dense
-- series only). Without out= the picture goes to a temporary file (its path is returned).
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

-- which keys the records carry numbers for (for the "unknown key" error)
local function numeric_keys(recs, xkey)
  local seen, list = {}, {}
  for _, r in ipairs(recs) do
    for k, v in pairs(r) do
      if type(v) == "number" and k ~= xkey and not seen[k] then seen[k] = true; list[#list + 1] = k end
    end
  end
  table.sort(list)
  return list
end

--- rt.plot.prepare(opts) -> {script = gnuplot commands, data = data-file text, out = path, keys = {...}}
--- What rt.plot.curves runs, without running it (options as for curves).
function plot.prepare(o)
  local xkey = o.x or "step"
  local series, xs = {}, {}
  local keys = {}
  -- second-axis keys: y2 = {...} in the options or inside keys ({"loss", y2 = {"lr"}})
  local y2 = o.y2 or (type(o.keys) == "table" and o.keys.y2) or nil
  local default = { "loss" }
  if o.series and not o.keys then           -- series alone: plot every series given
    default = {}
    for k in pairs(o.series) do default[#default + 1] = k end
    table.sort(default)
  end
  for _, k in ipairs(o.keys or default) do keys[#keys + 1] = { k, 1 } end
  for _, k in ipairs(y2 or {}) do keys[#keys + 1] = { k, 2 } end
  if o.series then
    for k, v in pairs(o.series) do series[k] = v end
    for _, e in ipairs(keys) do
      if not series[e[1]] then
        local have = {}
        for k in pairs(o.series) do have[#have + 1] = k end
        table.sort(have)
        error(string.format("rt.plot.curves: no series '%s' (series: %s)", e[1], table.concat(have, ", ")), 3)
      end
    end
  else
    local path = assert(o.log, "rt.plot.curves: log= or series= needed")
    local recs = log.read_jsonl(path)
    for _, e in ipairs(keys) do
      local k = e[1]
      series[k], xs[k] = {}, {}
      for _, r in ipairs(recs) do
        if type(r[k]) == "number" and r[xkey] then
          series[k][#series[k] + 1] = r[k]
          xs[k][#xs[k] + 1] = r[xkey]
        end
      end
      if #series[k] == 0 then
        error(string.format("rt.plot.curves: %s has no key '%s' (keys: %s)", path, k,
          table.concat(numeric_keys(recs, xkey), ", ")), 3)
      end
    end
  end
  -- smoothing applies to dense series (one value per step, like loss), not to
  -- sparse ones (eval metrics logged every eval_every steps)
  local longest = 0
  for _, e in ipairs(keys) do local v = series[e[1]]; if v and #v > longest then longest = #v end end
  local data, plots, idx = {}, {}, 0
  local datafile = o.datafile or os.tmpname()
  for _, e in ipairs(keys) do
    local k, axis = e[1], e[2]
    local v = series[k]
    if v and #v > 0 then
      if #v * 2 >= longest then v = ema(v, o.smooth) end
      for i = 1, #v do data[#data + 1] = string.format("%.10g %.10g\n", xs[k] and xs[k][i] or i, v[i]) end
      data[#data + 1] = "\n\n"
      local style = (xs[k] and #v * 2 < longest) and "linespoints" or "lines"
      plots[#plots + 1] = string.format("'%s' index %d using 1:2 with %s title '%s'%s", datafile, idx, style,
        k:gsub("'", ""), axis == 2 and " axes x1y2" or "")
      idx = idx + 1
    end
  end
  if #plots == 0 then error("rt.plot.curves: nothing to plot", 3) end
  -- no file lands in the working directory unless asked: the default is a temporary PNG
  local out = o.out
  if not out then local base = os.tmpname(); os.remove(base); out = base .. ".png" end
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
  if y2 and #y2 > 0 then script[#script + 1] = "set y2tics"; script[#script + 1] = "set ytics nomirror" end
  script[#script + 1] = "plot " .. table.concat(plots, ", ")
  return { script = table.concat(script, "\n") .. "\n", data = table.concat(data), datafile = datafile, out = out }
end

--- rt.plot.curves{log=, series=, keys=, y2=, x="step", out=, title=, smooth=, logy=}
--- Plots columns of a JSONL training log (records with the x key) or given series;
--- out ending in .svg writes SVG, "-" prints ASCII art, anything else PNG (default:
--- a temporary .png, never the working directory). keys = {"loss", y2 = {"lr"}} (or
--- y2 = {...} beside keys) puts keys on a second axis; smooth = 0.9 (EMA) smooths the
--- dense series only (eval points stay as they are). Returns out.
function plot.curves(o)
  local gp = gnuplot_path()
  if not gp then error("rt.plot: gnuplot not found (Debian package gnuplot-nox)", 2) end
  local job = plot.prepare(o)
  local f = assert(io.open(job.datafile, "w"))
  f:write(job.data)
  f:close()
  local p = assert(io.popen(gp .. " 2>&1", "w"))
  p:write(job.script)
  local ok = p:close()
  os.remove(job.datafile)
  if not ok then error("rt.plot.curves: gnuplot failed", 2) end
  return job.out
end

log.autodoc(plot, "rt.plot")
return plot
