-- rt.viz: the pictures of distillation. Each picture's content is checked, not
-- only its file: attention probabilities and the per-pair MSE against
-- rt.distill.losses, PNG sizes and non-uniform pixels (decoded by png_stats.py),
-- the HTML page's embedded data against the tensors, and the page rendered in
-- headless Chromium (its script marks data-rendered="ok"; a screenshot has content).
local T = require "retort.test"
local V = rt.viz

local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true end
local function skip(name, why) print("skipped: " .. name .. ": " .. why) end

local function cfg(L, H, N, fit)
  return { vocab_size = 60, hidden_size = H, num_hidden_layers = L, num_attention_heads = N,
           intermediate_size = 2 * H, max_position_embeddings = 32, type_vocab_size = 2, fit_size = fit }
end

rt.manual_seed(7)
local teacher = rt.model.new(cfg(4, 32, 4)):eval()
local student = rt.model.new(cfg(2, 16, 4, 32)):eval()
-- a peaked teacher: scale the query weights so its attention is far from uniform
for name, p in pairs(teacher:named_parameters()) do
  if name:find("attention.self.query.weight", 1, true) then rt._optim.scale_(p, 40) end
end
local batch = { input_ids = rt.tensor({ { 2, 5, 7, 9, 11, 3, 0, 0 } }, "i64"),
                attention_mask = rt.tensor({ { 1, 1, 1, 1, 1, 1, 0, 0 } }, "i64"),
                token_type_ids = rt.zeros(1, 8):to("i64") }
local tout = rt.no_grad(function() return teacher:forward(batch) end)
local sout = rt.no_grad(function() return student:forward(batch) end)
local toks = { "[CLS]", "the", "cat", "sat", "down", "[SEP]" }

local function png_stats(path)
  local p = io.popen("/usr/bin/python3 tests/lua/png_stats.py '" .. path .. "'")
  local line = p:read("a"); p:close()
  return rt.log.json_decode(line)
end

T.test("attention pairs: probabilities, real length, MSE = the att loss terms", function()
  local prs, map = V.attention_pairs { teacher = tout, student = sout, tokens = toks }
  T.eq(#prs, 2)
  T.eq(map.att_map[1], 2); T.eq(map.att_map[2], 4)
  local sum = 0
  for _, p in ipairs(prs) do
    T.eq(p.length, 6)
    T.eq(#p.t_heads, 4); T.eq(#p.s_heads, 4)
    for h = 1, 4 do
      for i = 1, 6 do
        local r = 0
        for j = 1, 6 do r = r + p.t_heads[h][i][j] end
        T.near(r, 1, 1e-5, "teacher rows over the real tokens sum to 1 (padding gets ~0)")
      end
    end
    local hm = 0
    for _, v in ipairs(p.head_mse) do hm = hm + v end
    T.near(hm / 4, p.mse, 1e-6, "per-head MSEs average to the pair MSE (batch of one)")
    sum = sum + p.mse
  end
  local L = rt.distill.losses(sout, tout, { att = true, rep = false })
  T.near(sum, L.att:item(), 1e-5 * math.max(1, sum), "pair MSEs sum to rt.distill.losses att")
end)

T.test("attention_text and heatmap_text: shades scale to the largest value", function()
  T.eq(V.heatmap_text({ { 0, 1 }, { 0.5, 0 } }, { tokens = { "a", "b" }, width = 2 }), "a   █\nb  ▒ ")
  local s = V.attention_text { teacher = tout, student = sout, tokens = toks }
  T.ok(s:find("teacher layer 2  |  student layer 1", 1, true), s)
  T.ok(s:find("[CLS]", 1, true) and s:find("█", 1, true), "labelled rows, a darkest cell")
end)

T.test("hidden similarity: cosine 1 for a model against itself, shape errors named", function()
  local r = V.hidden_similarity { teacher = tout, student = tout, layer_map = { hidden_map = { 1, 2, 3, 4, 5 } }, tokens = toks }
  T.eq(#r, 5)
  for _, x in ipairs(r) do T.near(x.cos, 1, 1e-5) end
  local r2 = V.hidden_similarity { teacher = tout, student = sout, tokens = toks }
  T.eq(#r2, 3); T.eq(r2[2].teacher, 3)
  T.ok(r2[2].cos < 0.99, "a random student is not the teacher")
  T.raises(function() V.hidden_similarity { teacher = tout, student = { hidden_states = tout.hidden_states,
    fit_hidden_states = sout.hidden_states } } end, "width 16 vs teacher 32")
end)

T.test("temperature: softmax at T, entropy grows with T", function()
  local r = V.temperature { logits = { 2, 1, 0.1 }, T = { 1, 2, 8 } }
  local e = { math.exp(2), math.exp(1), math.exp(0.1) }
  local z = e[1] + e[2] + e[3]
  T.near(r[1].probs[1], e[1] / z, 1e-9)
  T.ok(r[1].entropy < r[2].entropy and r[2].entropy < r[3].entropy)
  T.ok(r[3].entropy < math.log(3) + 1e-9)
  T.ok(r.text:find("T=8", 1, true))
end)

T.test("layer map text and word diff", function()
  local text, map = V.layer_map { teacher_layers = 12, student_layers = 4 }
  T.ok(text:find("student L2  hidden <- teacher L6   attention <- teacher layer 6", 1, true), text)
  T.eq(map.hidden_map[5], 13)
  local d = V.aug_diff("the film was very good", { "the movie was very good", "the film was very good" })
  T.eq(d, "  the film was very good\n~ the [film->movie] was very good\n= the film was very good")
  local ops = V.word_diff("a b c", "a x c d")
  T.eq(#ops, 4); T.eq(ops[2].op, "~"); T.eq(ops[4].op, "+")
end)

T.test("PNG pictures have the expected size and real content", function()
  if not (have("gnuplot") and have("python3")) then return skip("png", "gnuplot or python3 missing") end
  local dir = T.tmpdir()
  local out = V.attention_png { teacher = tout, student = sout, tokens = toks, out = dir .. "/att.png" }
  local s = png_stats(out)
  T.eq(s.width, 1200); T.eq(s.height, 330 * 2 + 40)
  T.ok(s.colors > 100 and s.std > 10, "heatmaps: many colours, not blank: " .. rt.log.json_encode(s))
  V.hidden_similarity { teacher = tout, student = sout, tokens = toks, out = dir .. "/cos.png" }
  T.eq(V.layer_map_png { teacher_layers = 12, student_layers = 4, out = dir .. "/map.png" }, dir .. "/map.png")
  V.temperature { logits = { 2, 1, 0.1 }, out = dir .. "/T.png" }
  local logf = dir .. "/log.jsonl"
  local f = io.open(logf, "w")
  for i = 1, 30 do f:write(string.format('{"step":%d,"att":%g,"rep":%g,"att_l1":%g,"lr":%g,"tokens_per_s":9}\n',
    i, 3 / i, 2 / i, 1 / i, 1e-4 * i)) end
  f:close()
  T.eq(table.concat(V.loss_terms(logf), ","), "att,att_l1,rep")
  V.curves { log = logf, out = dir .. "/curves.png" }
  V.heads_png { forward = tout, layer = 2, tokens = toks, out = dir .. "/heads.png" }
  local hs = png_stats(dir .. "/heads.png")
  T.eq(hs.width, 1200); T.eq(hs.height, 340)
  T.ok(hs.colors > 50 and hs.std > 10, "four heads drawn: " .. rt.log.json_encode(hs))
  V.matrix_png { m = rt.model.relative_table(8, 16), out = dir .. "/R.png", diverging = true }
  T.raises(function() V.heads_png { forward = tout, layer = 9, out = dir .. "/x.png" } end, "layer 9 of 4")
  for _, name in ipairs({ "cos", "map", "T", "curves", "R" }) do
    local st = png_stats(dir .. "/" .. name .. ".png")
    T.ok(st.width >= 500 and st.height >= 400 and st.colors > 5 and st.std > 5,
      name .. ".png has content: " .. rt.log.json_encode(st))
  end
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("attention HTML: standalone, data equal to the tensors, renders in Chromium", function()
  local dir = T.tmpdir()
  local out = V.attention_html { teacher = tout, student = sout, tokens = toks, out = dir .. "/att.html" }
  local html = assert(io.open(out)):read("a")
  T.ok(not html:find("http", 1, true) and not html:find("<script src", 1, true), "no network, no external scripts")
  local json = html:match('<script id="attention%-data" type="application/json">(.-)</script>')
  local data = rt.log.json_decode(json)
  T.eq(#data.tokens, 6); T.eq(data.tokens[3], "cat")
  T.eq(#data.pairs, 2); T.eq(data.pairs[2].teacher, 4)
  local probs = tout.attentions[4]:select(1, 1):softmax(-1):totable()     -- [N, L, L]
  for h = 1, 4 do for i = 1, 6 do for j = 1, 6 do
    T.near(data.pairs[2].t_heads[h][i][j], probs[h][i][j], 6e-4)
  end end end
  if not (have("chromium") and have("python3")) then return skip("html render", "chromium missing") end
  local flags = "--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1300,700"
  local p = io.popen("chromium " .. flags .. " --dump-dom 'file://" .. out .. "' 2>/dev/null")
  local dom = p:read("a"); p:close()
  T.ok(dom:find('data-rendered="ok"', 1, true), "the page's script ran without an error")
  os.execute("chromium " .. flags .. " --screenshot='" .. dir .. "/shot.png' 'file://" .. out .. "' >/dev/null 2>&1")
  local st = png_stats(dir .. "/shot.png")
  T.eq(st.width, 1300)
  T.ok(st.colors > 50 and st.std > 5, "screenshot not blank: " .. rt.log.json_encode(st))
  os.execute("rm -rf '" .. dir .. "'")
end)
