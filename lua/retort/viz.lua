-- retort.viz (rt.viz): pictures for teaching distillation. PNGs through gnuplot
-- (Debian gnuplot-nox), Unicode renderings for the REPL, and a standalone HTML page.
--
--   local t = rt.no_grad(teacher.forward, teacher, batch)   -- any two m:forward results
--   local s = student:forward(batch)
--   rt.viz.attention_png{teacher = t, student = s, tokens = toks, out = "att.png"}
--   rt.viz.attention_html{teacher = t, student = s, tokens = toks, out = "att.html"}
--   rt.viz.attention_text{teacher = t, student = s, tokens = toks}  -- for the REPL
--   rt.viz.hidden_similarity{teacher = t, student = s, out = "cos.png"}
--   rt.viz.curves{log = "runs/x/log.jsonl", out = "terms.png"}
--   rt.viz.layer_map{teacher_layers = 12, student_layers = 4, out = "map.png"}
--   rt.viz.temperature{logits = {2.0, 1.0, 0.1}, T = {1, 2, 4, 8}, out = "T.png"}
--   rt.viz.aug_diff("the film was good", {"the movie was good"})
--   rt.viz.heads_png{forward = t, layer = 1, tokens = toks, out = "heads.png"}  -- one model
--   rt.viz.matrix_png{m = rt.model.relative_table(8, 16), out = "R.png"}       -- any matrix
--
-- Layer pairs follow TinyBERT's uniform map (rt.distill.layer_map) unless a map is
-- given: attention of student layer i against teacher layer att_map[i], hidden state
-- j (1 = embeddings) against teacher state hidden_map[j]. Attention pictures show
-- probabilities (softmax of the pre-softmax scores the models return); the MSE
-- printed beside them is the att loss term of that pair: the mean squared difference
-- of the scores with masked positions (scores <= -100) set to 0, as
-- TinyBERT/general_distill.py computes it.
local rt = require "retort"
local log = require "retort.log"
local viz = {}

---------------------------------------------------------------------------
-- small helpers
---------------------------------------------------------------------------
local function gnuplot()
  for _, p in ipairs({ "/usr/bin/gnuplot", "/usr/local/bin/gnuplot" }) do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  error("rt.viz: gnuplot not found (Debian package gnuplot-nox)", 3)
end

local function run_gnuplot(script)
  local gp = gnuplot()
  local p = assert(io.popen(gp .. " 2>&1", "w"))
  p:write(script, "\n")
  local ok = p:close()
  if not ok then error("rt.viz: gnuplot failed", 3) end
end

local function q(s) return "'" .. tostring(s):gsub("'", "`"):gsub("\\", "/") .. "'" end

local function need_out(o, what)
  if not o.out then error("rt.viz." .. what .. ": out = \"file.png\" is required", 3) end
  return o.out
end

-- matrix [L][L] of attention probabilities / masked scores for one sentence
-- att: [B, N, L, L] tensor of pre-softmax scores; returns per-head tables
local function heads_of(att, b, want_probs)
  local sh = att:shape()
  if #sh ~= 4 then error(string.format("rt.viz: attention must be [B, N, L, L], got [%s]",
    table.concat(sh, ", ")), 3) end
  local one = att:select(1, b)                           -- [N, L, L]
  local t = (want_probs and one:softmax(-1) or one):contiguous():totable()
  return t, sh[2], sh[3]
end

local function zmask(x) return x <= -100 and 0 or x end

local function mean_heads(h, n, L)
  local m = {}
  for i = 1, L do
    m[i] = {}
    for j = 1, L do
      local s = 0
      for k = 1, n do s = s + h[k][i][j] end
      m[i][j] = s / n
    end
  end
  return m
end

local function default_map(o, ns, nt)
  local map = o.layer_map or rt.distill.layer_map(ns, nt)
  return map
end

local function real_len(o, L, b)
  if o.length then return math.min(o.length, L) end
  if o.tokens then return math.min(#o.tokens, L) end
  if o.attention_mask then
    local row = o.attention_mask:select(1, b):totable()
    local n = 0
    for _, v in ipairs(row) do if v ~= 0 then n = n + 1 end end
    return n
  end
  return L
end

local function crop(m, n)
  local out = {}
  for i = 1, n do out[i] = {}; for j = 1, n do out[i][j] = m[i][j] end end
  return out
end

--- rt.viz.attention_pairs{teacher=, student=, layer_map=, batch=1, tokens=|length=}
--- -> list of {student = i, teacher = j, s_heads = [Ns][n][n], t_heads = [Nt][n][n]
--- (probabilities), s_mean, t_mean (head means), mse (att loss term of the pair over
--- the whole batch), head_mse = {per student head, when head counts agree}}.
--- n is the real (unpadded) length of the sentence.
function viz.attention_pairs(o)
  local T, S = o.teacher, o.student
  if not (T and T.attentions and S and S.attentions) then
    error("rt.viz: teacher= and student= must be m:forward results with attentions", 2)
  end
  local nt, ns = #T.attentions, #S.attentions
  local map = default_map(o, ns, nt)
  local b = o.batch or 1
  local pairs_ = {}
  for i = 1, ns do
    local j = map.att_map[i]
    local sa, ta = S.attentions[i], T.attentions[j]
    local sh_s, sh_t = sa:shape(), ta:shape()
    if sh_s[3] ~= sh_t[3] then
      error(string.format("rt.viz: student layer %d attention [%s] and teacher layer %d [%s] differ in length",
        i, table.concat(sh_s, ", "), j, table.concat(sh_t, ", ")), 2)
    end
    local sh, Ns, L = heads_of(sa, b, true)
    local th, Nt = heads_of(ta, b, true)
    local n = real_len(o, L, b)
    local p = { student = i, teacher = j, length = n }
    p.s_heads, p.t_heads = {}, {}
    for k = 1, Ns do p.s_heads[k] = crop(sh[k], n) end
    for k = 1, Nt do p.t_heads[k] = crop(th[k], n) end
    p.s_mean, p.t_mean = mean_heads(p.s_heads, Ns, n), mean_heads(p.t_heads, Nt, n)
    -- the att loss term: MSE of z(scores) over all of [B, N, L, L]
    if Ns == Nt then
      local zs = rt.no_grad(function()
        local function z(x) local m = x:gt(-100):float(); return x * m end
        local d = z(sa) - z(ta)
        return (d * d)
      end)
      p.mse = zs:mean():item()
      local per = zs:select(1, b):mean(-1):mean(-1):totable()   -- [N]
      p.head_mse = per
    end
    pairs_[#pairs_ + 1] = p
  end
  return pairs_, map
end

---------------------------------------------------------------------------
-- attention heatmaps
---------------------------------------------------------------------------
local function tics(tokens, n, axis)
  if not tokens then return "" end
  local parts = {}
  for i = 1, n do parts[#parts + 1] = string.format("%s %d", q(tokens[i] or ""), i - 1) end
  return string.format("set %stics (%s) font ',7'%s\n", axis, table.concat(parts, ", "),
    axis == "x" and " rotate by 90 right" or "")
end

local function write_matrix(f, m)
  for i = 1, #m do
    local row = {}
    for j = 1, #m[i] do row[j] = string.format("%.6g", m[i][j]) end
    f:write(table.concat(row, " "), "\n")
  end
  f:write("\n\n")
end

--- rt.viz.attention_png{teacher=, student=, tokens=, out=, layer_map=, batch=1,
--- head=nil (mean over heads) | k} -> out, pairs. One row per mapped layer pair:
--- teacher attention, student attention, and their difference (student - teacher),
--- with the pair's att-loss MSE (and per-head MSE) in the titles.
function viz.attention_png(o)
  local out = need_out(o, "attention_png")
  local prs = viz.attention_pairs(o)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  local idx = 0
  local script = {
    string.format("set terminal pngcairo size %d,%d font ',9'", o.width or 1200, o.height or (330 * #prs + 40)),
    "set output " .. q(out),
    string.format("set multiplot layout %d,3 title %s", #prs, q(o.title or "teacher vs student attention")),
    "set palette defined (0 '#fffff0', 0.25 '#fdbb84', 0.6 '#e34a33', 1 '#7f0000')",
    "set size ratio -1", "unset key", "set yrange [] reverse",
  }
  for _, p in ipairs(prs) do
    local tm = o.head and p.t_heads[o.head] or p.t_mean
    local sm = o.head and p.s_heads[o.head] or p.s_mean
    local diff = {}
    for i = 1, p.length do
      diff[i] = {}
      for j = 1, p.length do diff[i][j] = sm[i][j] - tm[i][j] end
    end
    write_matrix(f, tm); write_matrix(f, sm); write_matrix(f, diff)
    local ax = tics(o.tokens, p.length, "x") .. tics(o.tokens, p.length, "y")
    local hm = ""
    if p.head_mse then
      local hs = {}
      for k, v in ipairs(p.head_mse) do hs[k] = string.format("%.3g", v) end
      hm = "\\nper-head MSE " .. table.concat(hs, " ")
      if #hm > 90 then hm = hm:sub(1, 87) .. "..." end
    end
    local top, dmax = 1e-9, 1e-9
    for i = 1, p.length do
      for j = 1, p.length do
        top = math.max(top, tm[i][j], sm[i][j]); dmax = math.max(dmax, math.abs(diff[i][j]))
      end
    end
    script[#script + 1] = ax .. string.format("set cbrange [0:%.6g]", top)
    script[#script + 1] = string.format("set title %s", q(string.format("teacher layer %d", p.teacher)))
    script[#script + 1] = string.format("plot %s index %d matrix with image", q(tmp), idx)
    script[#script + 1] = string.format("set title %s", q(string.format("student layer %d", p.student)))
    script[#script + 1] = string.format("plot %s index %d matrix with image", q(tmp), idx + 1)
    script[#script + 1] = string.format("set cbrange [%.6g:%.6g]", -dmax, dmax)
    script[#script + 1] = "set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')"
    script[#script + 1] = string.format("set title \"%s\"", string.format("difference (MSE of scores %s)%s",
      p.mse and string.format("%.4g", p.mse) or "n/a: head counts differ", hm))
    script[#script + 1] = string.format("plot %s index %d matrix with image", q(tmp), idx + 2)
    script[#script + 1] = "set palette defined (0 '#fffff0', 0.25 '#fdbb84', 0.6 '#e34a33', 1 '#7f0000')"
    idx = idx + 3
  end
  f:close()
  script[#script + 1] = "unset multiplot"
  local ok, err = pcall(run_gnuplot, table.concat(script, "\n"))
  os.remove(tmp)
  if not ok then error(err, 2) end
  return out, prs
end

--- rt.viz.matrix_png{m = [R][C] table or 2-D tensor, out=, title=, xlabel=, ylabel=,
--- xtokens=, ytokens=, diverging=false} -> out: one matrix as a heatmap (diverging:
--- blue-white-red around 0, else white to dark red).
function viz.matrix_png(o)
  local out = need_out(o, "matrix_png")
  local m = o.m
  if type(m) == "userdata" then m = m:contiguous():totable() end
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  write_matrix(f, m)
  f:close()
  local R, C = #m, #m[1]
  local w = o.width or math.max(500, math.min(1200, 60 + 14 * C))
  local h = o.height or math.max(400, math.min(900, 80 + 14 * R))
  local s = { string.format("set terminal pngcairo size %d,%d font ',9'", w, h), "set output " .. q(out),
    "set title " .. q(o.title or ""), "unset key", "set yrange [] reverse",
    o.diverging and "set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')"
      or "set palette defined (0 '#fffff0', 0.25 '#fdbb84', 0.6 '#e34a33', 1 '#7f0000')" }
  if o.diverging then
    local mx = 1e-12
    for i = 1, R do for j = 1, C do mx = math.max(mx, math.abs(m[i][j])) end end
    s[#s + 1] = string.format("set cbrange [%.6g:%.6g]", -mx, mx)
  end
  if o.xlabel then s[#s + 1] = "set xlabel " .. q(o.xlabel) end
  if o.ylabel then s[#s + 1] = "set ylabel " .. q(o.ylabel) end
  s[#s + 1] = tics(o.xtokens, C, "x") .. tics(o.ytokens, R, "y")
  s[#s + 1] = string.format("plot %s matrix with image", q(tmp))
  local ok, err = pcall(run_gnuplot, table.concat(s, "\n"))
  os.remove(tmp)
  if not ok then error(err, 2) end
  return out
end

--- rt.viz.heads_png{forward = m:forward(...) result, layer = 1, tokens=, batch = 1, out=}
--- -> out: every head's attention probabilities of one layer of one model, in a grid.
function viz.heads_png(o)
  local out = need_out(o, "heads_png")
  local fwd = o.forward
  if not (fwd and fwd.attentions) then error("rt.viz.heads_png: forward = m:forward{...} result needed", 2) end
  local layer = o.layer or 1
  local att = fwd.attentions[layer]
  if not att then error(string.format("rt.viz.heads_png: layer %d of %d", layer, #fwd.attentions), 2) end
  local hs, N, L = heads_of(att, o.batch or 1, true)
  local n = real_len(o, L, o.batch or 1)
  local cols = math.min(N, o.columns or 4)
  local rows = math.ceil(N / cols)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  for k = 1, N do write_matrix(f, crop(hs[k], n)) end
  f:close()
  local s = { string.format("set terminal pngcairo size %d,%d font ',8'", 300 * cols, 300 * rows + 40),
    "set output " .. q(out), string.format("set multiplot layout %d,%d title %s", rows, cols,
      q(o.title or string.format("layer %d attention, %d heads", layer, N))),
    "set palette defined (0 '#fffff0', 0.25 '#fdbb84', 0.6 '#e34a33', 1 '#7f0000')",
    "set size ratio -1", "unset key", "unset colorbox", "set yrange [] reverse",
    tics(o.tokens, n, "x") .. tics(o.tokens, n, "y") }
  for k = 1, N do
    s[#s + 1] = string.format("set title 'head %d'", k)
    s[#s + 1] = string.format("plot %s index %d matrix with image", q(tmp), k - 1)
  end
  s[#s + 1] = "unset multiplot"
  local ok, err = pcall(run_gnuplot, table.concat(s, "\n"))
  os.remove(tmp)
  if not ok then error(err, 2) end
  return out
end

local SHADES = { " ", "·", "░", "▒", "▓", "█" }
local function shade(v)
  local k = math.floor(math.max(0, math.min(1, v)) * (#SHADES - 1) + 0.5) + 1
  return SHADES[k]
end

local function pad(s, w)
  local n = utf8.len(s) or #s
  if n > w then
    local cut = utf8.offset(s, w) or (w + 1)
    return s:sub(1, cut - 1) .. "…"
  end
  return s .. string.rep(" ", w - n)
end

--- rt.viz.heatmap_text(m, {tokens=, width=8, scale=max(m)}) -> string: a matrix of
--- values in [0, scale] as Unicode shades (rows labelled by tokens), for the REPL.
function viz.heatmap_text(m, o)
  o = o or {}
  local w, scale = o.width or 8, o.scale
  if not scale then         -- auto: the largest value is the darkest shade
    scale = 1e-12
    for i = 1, #m do for j = 1, #m[i] do scale = math.max(scale, m[i][j]) end end
  end
  local lines = {}
  for i = 1, #m do
    local cells = {}
    for j = 1, #m[i] do cells[j] = shade(m[i][j] / scale) end
    lines[i] = pad(o.tokens and o.tokens[i] or tostring(i), w) .. " " .. table.concat(cells)
  end
  return table.concat(lines, "\n")
end

--- rt.viz.attention_text{teacher=, student=, tokens=, ...} -> string: each mapped
--- layer pair as two Unicode heatmaps side by side (head means) with its MSE.
function viz.attention_text(o)
  local prs = viz.attention_pairs(o)
  local out = {}
  for _, p in ipairs(prs) do
    local a = viz.heatmap_text(p.t_mean, { tokens = o.tokens })
    local b = viz.heatmap_text(p.s_mean, {})
    out[#out + 1] = string.format("teacher layer %d  |  student layer %d   (att MSE %s)", p.teacher, p.student,
      p.mse and string.format("%.4g", p.mse) or "n/a")
    local la, lb = {}, {}
    for l in (a .. "\n"):gmatch("(.-)\n") do la[#la + 1] = l end
    for l in (b .. "\n"):gmatch("(.-)\n") do lb[#lb + 1] = l:match("^%S*%s(.*)$") or l end
    for i = 1, #la do out[#out + 1] = la[i] .. "  |  " .. (lb[i] or "") end
    out[#out + 1] = ""
  end
  return table.concat(out, "\n")
end

---------------------------------------------------------------------------
-- hidden-state similarity
---------------------------------------------------------------------------
--- rt.viz.hidden_similarity{teacher=, student=, layer_map=, batch=, tokens=|length=,
--- out=nil} -> list of {student = j, teacher = k, cos = mean cosine over real tokens,
--- per_token = {...}} comparing fit_dense(student state j) (or the raw state when no
--- fit_dense) with teacher state hidden_map[j]; with out, also a bar chart PNG.
function viz.hidden_similarity(o)
  local T, S = o.teacher, o.student
  local sh = S.fit_hidden_states or S.hidden_states
  if not (T and T.hidden_states and sh) then
    error("rt.viz.hidden_similarity: teacher= and student= m:forward results needed", 2)
  end
  local map = o.layer_map or rt.distill.layer_map(#S.hidden_states - 1, #T.hidden_states - 1)
  local b = o.batch or 1
  local res = {}
  for j = 1, #sh do
    local k = map.hidden_map[j]
    local s, t = sh[j]:select(1, b), T.hidden_states[k]:select(1, b)     -- [L, H]
    if s:shape()[2] ~= t:shape()[2] then
      error(string.format("rt.viz.hidden_similarity: student state %d width %d vs teacher %d (no fit_dense?)",
        j, s:shape()[2], t:shape()[2]), 2)
    end
    local cos = rt.no_grad(function()
      local dot = (s * t):sum(-1)
      local ns, nt = (s * s):sum(-1):sqrt(), (t * t):sum(-1):sqrt()
      return (dot / (ns * nt + 1e-12)):totable()
    end)
    local n = real_len(o, #cos, b)
    local sum = 0
    local per = {}
    for i = 1, n do per[i] = cos[i]; sum = sum + cos[i] end
    res[#res + 1] = { student = j, teacher = k, cos = sum / n, per_token = per }
  end
  if o.out then
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    for i, r in ipairs(res) do
      f:write(string.format("%d %.6g \"S%d<-T%d\"\n", i - 1, r.cos, r.student - 1, r.teacher - 1))
    end
    f:close()
    local ok, err = pcall(run_gnuplot, table.concat({
      "set terminal pngcairo size 800,450 font ',10'", "set output " .. q(o.out),
      "set title " .. q(o.title or "hidden-state cosine: fit_dense(student) vs teacher (0 = embeddings)"),
      "set yrange [-1:1]", "set style fill solid 0.7", "set boxwidth 0.6", "unset key", "set grid ytics",
      "set ylabel 'mean cosine over tokens'",
      string.format("plot %s using 1:2:xtic(3) with boxes lc rgb '#3182bd', '' using 1:2:(sprintf('%%.2f',$2)) with labels offset 0,1", q(tmp)),
    }, "\n"))
    os.remove(tmp)
    if not ok then error(err, 2) end
  end
  return res
end

---------------------------------------------------------------------------
-- loss curves, layer map, temperature
---------------------------------------------------------------------------
local NOT_TERMS = { step = true, epoch = true, lr = true, grad_norm = true, tokens_per_s = true,
  examples_per_s = true, mem_mb = true, peak_mb = true, time = true, elapsed = true, t = true }

--- rt.viz.loss_terms(log_path) -> sorted list of the loss-term keys in a log.jsonl
--- (numeric keys other than step, epoch, lr, throughput and memory).
function viz.loss_terms(path)
  local seen, keys = {}, {}
  for _, r in ipairs(log.read_jsonl(path)) do
    for k, v in pairs(r) do
      if type(v) == "number" and not NOT_TERMS[k] and not k:find("_s$") and not k:find("mb$")
        and not k:find("^eval") and not seen[k] then
        seen[k] = true; keys[#keys + 1] = k
      end
    end
  end
  table.sort(keys)
  return keys
end

--- rt.viz.curves{log=, keys=nil (every loss term), out=, smooth=, title=} -> out:
--- per-term loss curves (att, rep, pred, per layer) from a log.jsonl, lr on y2 when logged.
function viz.curves(o)
  local keys = o.keys or viz.loss_terms(assert(o.log, "rt.viz.curves: log= is required"))
  if #keys == 0 then error("rt.viz.curves: no loss terms in " .. o.log, 2) end
  local has_lr = false
  for _, r in ipairs(log.read_jsonl(o.log)) do if type(r.lr) == "number" then has_lr = true; break end end
  return rt.plot.curves({ log = o.log, keys = keys, y2 = (o.lr ~= false and has_lr) and { "lr" } or nil,
    out = need_out(o, "curves"), smooth = o.smooth, title = o.title or "distillation loss terms", logy = o.logy })
end

--- rt.viz.layer_map{teacher_layers=, student_layers=, map=nil (uniform), out=nil}
--- -> text diagram, map (and a PNG with out; rt.viz.layer_map_png returns its path):
--- which student layer learns from which teacher layer (attention: solid, hidden
--- states: dashed; 0 = embeddings).
function viz.layer_map(o)
  local nt, ns = o.teacher_layers, o.student_layers
  local map = o.map or rt.distill.layer_map(ns, nt)
  local lines = { string.format("layer map: teacher %d layers -> student %d layers", nt, ns) }
  for j = 1, ns + 1 do
    local s = j - 1
    local att = j > 1 and string.format("   attention <- teacher layer %d", map.att_map[j - 1]) or ""
    lines[#lines + 1] = string.format("  student %s  hidden <- teacher %s%s",
      s == 0 and "emb" or ("L" .. s), map.hidden_map[j] == 1 and "emb" or ("L" .. (map.hidden_map[j] - 1)), att)
  end
  local text = table.concat(lines, "\n")
  if o.out then
    local s = { "set terminal pngcairo size 700," .. (60 + 40 * (nt + 1)) .. " font ',10'",
      "set output " .. q(o.out), "unset border", "unset tics", "unset key",
      string.format("set xrange [-0.5:3.5]"), string.format("set yrange [-1:%d]", nt + 1),
      "set title " .. q(o.title or "TinyBERT layer map (solid: attention, dashed: hidden states)") }
    local tY = function(l) return l end
    local sY = function(l) return l * nt / math.max(ns, 1) end
    local objs = {}
    for l = 0, nt do
      objs[#objs + 1] = string.format("set object rect center 0.5,%g size 0.9,0.6 fc rgb '#fdd0a2' fs solid", tY(l))
      objs[#objs + 1] = string.format("set label %s at 0.5,%g center", q(l == 0 and "T emb" or ("T L" .. l)), tY(l))
    end
    for l = 0, ns do
      objs[#objs + 1] = string.format("set object rect center 2.5,%g size 0.9,0.6 fc rgb '#c6dbef' fs solid", sY(l))
      objs[#objs + 1] = string.format("set label %s at 2.5,%g center", q(l == 0 and "S emb" or ("S L" .. l)), sY(l))
    end
    for j = 1, ns + 1 do
      objs[#objs + 1] = string.format("set arrow from 0.95,%g to 2.05,%g lw 1.5 dt 2 lc rgb '#636363'",
        tY(map.hidden_map[j] - 1), sY(j - 1))
      if j > 1 then
        objs[#objs + 1] = string.format("set arrow from 0.95,%g to 2.05,%g lw 2 lc rgb '#e6550d'",
          tY(map.att_map[j - 1]) + 0.1, sY(j - 1) + 0.1)
      end
    end
    for _, x in ipairs(objs) do s[#s + 1] = x end
    s[#s + 1] = "plot NaN"
    run_gnuplot(table.concat(s, "\n"))
  end
  return text, map
end

--- rt.viz.layer_map_png{teacher_layers=, student_layers=, map=, out=} -> out: the
--- layer-map diagram as a PNG.
function viz.layer_map_png(o)
  need_out(o, "layer_map_png")
  viz.layer_map(o)
  return o.out
end

local function softmax(v, T)
  local m = -math.huge
  for _, x in ipairs(v) do m = math.max(m, x / T) end
  local e, s = {}, 0
  for i, x in ipairs(v) do e[i] = math.exp(x / T - m); s = s + e[i] end
  for i = 1, #e do e[i] = e[i] / s end
  return e
end

--- rt.viz.temperature{logits = {..} | [C] or [1, C] tensor, T = {1, 2, 4, 8},
--- labels = names, out = nil} -> {{T=, probs=, entropy= (nats)}, ...}: the teacher's
--- soft targets at several temperatures (what the pred loss matches), as text rows
--- and, with out, a clustered bar chart.
function viz.temperature(o)
  local logits = o.logits
  if type(logits) == "userdata" then logits = logits:reshape(-1):totable() end
  local Ts = o.T or { 1, 2, 4, 8 }
  local res = {}
  for _, T in ipairs(Ts) do
    local p = softmax(logits, T)
    local h = 0
    for _, x in ipairs(p) do if x > 0 then h = h - x * math.log(x) end end
    res[#res + 1] = { T = T, probs = p, entropy = h }
  end
  local lines = {}
  for _, r in ipairs(res) do
    local cells = {}
    for i, x in ipairs(r.probs) do cells[i] = string.format("%.3f", x) end
    lines[#lines + 1] = string.format("T=%-4g entropy %.3f  [%s]", r.T, r.entropy, table.concat(cells, " "))
  end
  res.text = table.concat(lines, "\n")
  if o.out then
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write("class")
    for _, r in ipairs(res) do f:write(string.format(" \"T=%g (H=%.2f)\"", r.T, r.entropy)) end
    f:write("\n")
    for i = 1, #logits do
      f:write(q(o.labels and o.labels[i] or ("class " .. (i - 1))):gsub("'", '"'))
      for _, r in ipairs(res) do f:write(string.format(" %.6g", r.probs[i])) end
      f:write("\n")
    end
    f:close()
    local cols = {}
    for k = 1, #res do cols[k] = string.format("'%s' using %d:xtic(1) title columnheader(%d)%s", tmp, k + 1, k + 1, "") end
    local ok, err = pcall(run_gnuplot, table.concat({
      "set terminal pngcairo size 800,450 font ',10'", "set output " .. q(o.out),
      "set title " .. q(o.title or "soft targets softmax(z / T) at several temperatures"),
      "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8",
      "set yrange [0:1]", "set ylabel 'probability'", "set key top right", "set grid ytics",
      "plot " .. table.concat(cols, ", "),
    }, "\n"))
    os.remove(tmp)
    if not ok then error(err, 2) end
  end
  return res
end

---------------------------------------------------------------------------
-- augmentation diff
---------------------------------------------------------------------------
local function words(s) local w = {}; for x in tostring(s):gmatch("%S+") do w[#w + 1] = x end; return w end

--- rt.viz.word_diff(a, b) -> list of {op = "=" | "~" | "+" | "-", a =, b =}: a word-level
--- alignment (longest common subsequence; adjacent delete+insert become a replacement).
function viz.word_diff(a, b)
  local A, B = words(a), words(b)
  local n, m = #A, #B
  local L = {}
  for i = 0, n do L[i] = {}; for j = 0, m do L[i][j] = 0 end end
  for i = n - 1, 0, -1 do
    for j = m - 1, 0, -1 do
      if A[i + 1]:lower() == B[j + 1]:lower() then L[i][j] = L[i + 1][j + 1] + 1
      else L[i][j] = math.max(L[i + 1][j], L[i][j + 1]) end
    end
  end
  local ops, i, j = {}, 0, 0
  while i < n or j < m do
    if i < n and j < m and A[i + 1]:lower() == B[j + 1]:lower() then
      ops[#ops + 1] = { op = "=", a = A[i + 1], b = B[j + 1] }; i = i + 1; j = j + 1
    elseif i < n and j < m and L[i + 1][j + 1] == L[i][j] then
      ops[#ops + 1] = { op = "~", a = A[i + 1], b = B[j + 1] }; i = i + 1; j = j + 1
    elseif j < m and (i == n or L[i][j + 1] >= L[i + 1][j]) then
      ops[#ops + 1] = { op = "+", b = B[j + 1] }; j = j + 1
    else
      ops[#ops + 1] = { op = "-", a = A[i + 1] }; i = i + 1
    end
  end
  return ops
end

--- rt.viz.aug_diff(original, augmented, {color=false}) -> string: each augmented
--- sentence with its replaced words marked [old->new] (inserted +w, deleted -w);
--- augmented may be one string or a list; color=true uses ANSI colours.
function viz.aug_diff(original, augmented, o)
  o = o or {}
  if type(augmented) == "string" then augmented = { augmented } end
  local lines = { "  " .. original }
  for _, s in ipairs(augmented) do
    local parts, changed = {}, 0
    for _, d in ipairs(viz.word_diff(original, s)) do
      if d.op == "=" then parts[#parts + 1] = d.b
      else
        changed = changed + 1
        local t = d.op == "~" and ("[" .. d.a .. "->" .. d.b .. "]") or (d.op == "+" and ("+" .. d.b) or ("-" .. d.a))
        if o.color then t = "\27[1;33m" .. t .. "\27[0m" end
        parts[#parts + 1] = t
      end
    end
    lines[#lines + 1] = string.format("%s %s", changed > 0 and "~" or "=", table.concat(parts, " "))
  end
  return table.concat(lines, "\n")
end

---------------------------------------------------------------------------
-- standalone HTML attention view
---------------------------------------------------------------------------
local function round_matrix(m)
  local out = {}
  for i = 1, #m do
    out[i] = {}
    for j = 1, #m[i] do out[i][j] = math.floor(m[i][j] * 1000 + 0.5) / 1000 end
  end
  return out
end

local HTML = [==[<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%TITLE%</title>
<style>
body{font-family:sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px} .row{display:flex;gap:24px;flex-wrap:wrap}
.panel{border:1px solid #ddd;padding:8px;border-radius:6px}
.panel h2{font-size:14px;margin:0 0 6px 0} canvas{display:block}
select{margin-right:12px} #hover{font-family:monospace;min-height:1.4em;margin:8px 0}
.mse{font-size:12px;color:#555}
</style></head><body>
<h1>%TITLE%</h1>
<div>layer pair <select id="pair"></select>
teacher head <select id="thead"></select> student head <select id="shead"></select></div>
<div id="hover">hover a token row to see where it attends</div>
<div class="row">
 <div class="panel"><h2 id="tname">teacher</h2><canvas id="tc"></canvas></div>
 <div class="panel"><h2 id="sname">student</h2><canvas id="sc"></canvas></div>
 <div class="panel"><h2>difference (student - teacher)</h2><canvas id="dc"></canvas></div>
</div>
<div class="mse" id="mse"></div>
<div id="status" data-rendered="no"></div>
<script id="attention-data" type="application/json">%DATA%</script>
<script>
(function(){
var status=document.getElementById('status');
try{
var D=JSON.parse(document.getElementById('attention-data').textContent);
var toks=D.tokens, n=toks.length, cell=Math.max(8,Math.min(22,Math.floor(560/Math.max(n,1)))), lab=70;
function opt(sel,list){sel.innerHTML='';list.forEach(function(t,i){var o=document.createElement('option');o.value=i;o.textContent=t;sel.appendChild(o);});}
var ps=document.getElementById('pair'), th=document.getElementById('thead'), sh=document.getElementById('shead');
opt(ps,D.pairs.map(function(p){return 'student L'+p.student+' <- teacher L'+p.teacher;}));
function heads(k){var l=['mean'];for(var i=0;i<k;i++)l.push('head '+(i+1));return l;}
function mat(heads,h){if(h>0)return heads[h-1];var k=heads.length,m=[];for(var i=0;i<n;i++){m.push([]);for(var j=0;j<n;j++){var s=0;for(var a=0;a<k;a++)s+=heads[a][i][j];m[i].push(s/k);}}return m;}
function col(v,diff){if(diff){var a=Math.max(-1,Math.min(1,v));if(a>=0)return 'rgb(255,'+Math.round(255-a*200)+','+Math.round(255-a*200)+')';return 'rgb('+Math.round(255+a*200)+','+Math.round(255+a*200)+',255)';}
 var x=Math.max(0,Math.min(1,v));return 'rgb('+Math.round(255-x*128)+','+Math.round(250-x*220)+','+Math.round(240-x*240)+')';}
function draw(id,m,diff,hi){var mx=1e-9;m.forEach(function(r){r.forEach(function(v){mx=Math.max(mx,Math.abs(v));});});var c=document.getElementById(id);c.width=lab+n*cell;c.height=lab+n*cell;var g=c.getContext('2d');
 g.fillStyle='#fff';g.fillRect(0,0,c.width,c.height);g.font='10px sans-serif';g.fillStyle='#222';
 for(var i=0;i<n;i++){g.save();g.textAlign='right';g.fillStyle=(i===hi)?'#c00':'#222';g.fillText(toks[i].slice(0,10),lab-4,lab+i*cell+cell*0.7);g.restore();
  g.save();g.translate(lab+i*cell+cell*0.7,lab-4);g.rotate(-Math.PI/2);g.fillText(toks[i].slice(0,10),0,0);g.restore();}
 for(var i=0;i<n;i++)for(var j=0;j<n;j++){g.fillStyle=col(m[i][j]/mx,diff);g.fillRect(lab+j*cell,lab+i*cell,cell-1,cell-1);}
 if(hi>=0){g.strokeStyle='#c00';g.lineWidth=2;g.strokeRect(lab,lab+hi*cell,n*cell,cell);}
 c.onmousemove=function(e){var r=c.getBoundingClientRect();var i=Math.floor((e.clientY-r.top-lab)/cell);if(i>=0&&i<n)render(i);};}
function render(hi){var p=D.pairs[+ps.value];var T=mat(p.t_heads,+th.value),S=mat(p.s_heads,+sh.value),X=[];
 for(var i=0;i<n;i++){X.push([]);for(var j=0;j<n;j++)X[i].push(S[i][j]-T[i][j]);}
 document.getElementById('tname').textContent='teacher layer '+p.teacher;document.getElementById('sname').textContent='student layer '+p.student;
 draw('tc',T,false,hi);draw('sc',S,false,hi);draw('dc',X,true,hi);
 document.getElementById('mse').textContent=(p.mse==null?'head counts differ: no per-head att loss':'att loss term (MSE of masked scores) '+p.mse.toFixed(5)+(p.head_mse?'; per head: '+p.head_mse.map(function(v){return v.toFixed(4);}).join(' '):''));
 if(hi>=0){var best=[];for(var j=0;j<n;j++)best.push([T[hi][j],S[hi][j],j]);best.sort(function(a,b){return b[0]-a[0];});
  document.getElementById('hover').textContent='"'+toks[hi]+'" attends to (teacher / student): '+best.slice(0,4).map(function(b){return toks[b[2]]+' '+b[0].toFixed(2)+'/'+b[1].toFixed(2);}).join(', ');}
}
function heads_sel(){var p=D.pairs[+ps.value];opt(th,heads(p.t_heads.length));opt(sh,heads(p.s_heads.length));}
ps.onchange=function(){heads_sel();render(-1);};th.onchange=sh.onchange=function(){render(-1);};
heads_sel();render(-1);
status.setAttribute('data-rendered','ok');status.textContent='';
}catch(e){status.setAttribute('data-rendered','error');status.textContent='error: '+e;}
})();
</script></body></html>
]==]

--- rt.viz.attention_html{teacher=, student=, tokens=, out=, layer_map=, batch=1, title=}
--- -> out, pairs: a standalone HTML page (no network, no external scripts) with
--- teacher and student attention side by side for every mapped layer pair, a head
--- selector and token hover. The data (probabilities rounded to 1e-3) is embedded
--- as JSON in <script id="attention-data">.
function viz.attention_html(o)
  local out = need_out(o, "attention_html")
  if not o.tokens then error("rt.viz.attention_html: tokens = {...} is required", 2) end
  local prs = viz.attention_pairs(o)
  local data = { tokens = {}, pairs = {} }
  local n = prs[1] and prs[1].length or 0
  for i = 1, n do data.tokens[i] = tostring(o.tokens[i]) end
  for k, p in ipairs(prs) do
    local th, sh = {}, {}
    for h = 1, #p.t_heads do th[h] = round_matrix(p.t_heads[h]) end
    for h = 1, #p.s_heads do sh[h] = round_matrix(p.s_heads[h]) end
    data.pairs[k] = { student = p.student, teacher = p.teacher, t_heads = th, s_heads = sh,
      mse = p.mse, head_mse = p.head_mse }
  end
  local json = log.json_encode(data):gsub("</", "<\\/")
  local title = (o.title or "teacher vs student attention"):gsub("[<>&]", "")
  local html = HTML:gsub("%%TITLE%%", function() return title end):gsub("%%DATA%%", function() return json end)
  rt.log.write_atomic(out, html)
  return out, prs
end

log.autodoc(viz, "rt.viz")
return viz
