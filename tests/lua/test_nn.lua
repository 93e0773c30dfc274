-- rt.F / rt.matmul behaviour beyond gradients: errors name the op and the
-- shapes, dropout semantics, attention layout, help text.
local T = require "retort.test"
local rt = rt or require "retort"

T.test("matmul errors name op and shapes", function()
  T.raises(function() rt.matmul(rt.zeros(2, 3), rt.zeros(4, 5)) end, "matmul: [2,3] x [4,5]: inner sizes differ")
  T.raises(function() rt.matmul(rt.zeros(2, 2, 3), rt.zeros(3, 3, 4)) end, "batch dims do not broadcast")
  T.raises(function() rt.matmul(rt.zeros(2, 3), rt.tensor({{1, 2}}, "i64")) end, "must be f32")
end)

T.test("matmul shapes like torch.matmul", function()
  T.eq(table.concat(rt.matmul(rt.ones(3), rt.ones(3)):shape(), ","), "")
  T.eq(table.concat(rt.matmul(rt.ones(3), rt.ones(2, 3, 4)):shape(), ","), "2,4")
  T.eq(table.concat(rt.matmul(rt.ones(2, 1, 5, 3), rt.ones(4, 3, 2)):shape(), ","), "2,4,5,2")
  T.near(rt.matmul(rt.tensor{{1, 2}, {3, 4}}, rt.tensor{{5, 6}, {7, 8}}), {{19, 22}, {43, 50}}, 1e-6)
  local a = rt.tensor{{1, 2, 3}, {4, 5, 6}}
  T.near(a:transpose(1, 2):matmul(a), {{17, 22, 27}, {22, 29, 36}, {27, 36, 45}}, 1e-6)
end)

T.test("linear and layer_norm errors", function()
  T.raises(function() rt.F.linear(rt.zeros(2, 3), rt.zeros(4, 5)) end, "linear: input [2,3] and weight [4,5]")
  T.raises(function() rt.F.linear(rt.zeros(2, 3), rt.zeros(4, 3), rt.zeros(5)) end, "linear: bias [5]")
  T.raises(function() rt.F.layer_norm(rt.zeros(2, 3), {4}) end, "layer_norm")
  T.raises(function() rt.F.layer_norm(rt.zeros(2, 3), {3}, rt.ones(4)) end, "layer_norm: weight [4]")
end)

T.test("layer_norm normalises", function()
  local y = rt.F.layer_norm(rt.tensor{{1, 2, 3, 4}}, {4}, nil, nil, 0)
  T.near(y, {{-1.3416408, -0.4472136, 0.4472136, 1.3416408}}, 1e-5)
end)

T.test("softmax dims and errors", function()
  local x = rt.tensor{{1, 2}, {3, 5}}
  T.near(x:softmax(1), {{0.11920292, 0.04742587}, {0.88079708, 0.95257413}}, 1e-6)
  T.near(x:softmax(), {{0.26894142, 0.73105858}, {0.11920292, 0.88079708}}, 1e-6)
  T.raises(function() x:softmax(3) end, "out of range")
end)

T.test("embedding errors name the bad id and the vocabulary size", function()
  local w = rt.zeros(10, 4)
  T.raises(function() rt.F.embedding(w, rt.tensor({1, 10}, "i64")) end, "id 10")
  T.raises(function() rt.F.embedding(w, rt.tensor({1, 10}, "i64")) end, "vocabulary size 10")
  T.raises(function() rt.F.embedding(w, rt.tensor({-1}, "i32")) end, "id -1")
  T.raises(function() rt.F.embedding(w, rt.tensor{1.5}) end, "ids must be i32 or i64")
  local e = rt.F.embedding(rt.arange(12):reshape(4, 3):float(), rt.tensor({{3, 0}}, "i32"))
  T.near(e, {{{9, 10, 11}, {0, 1, 2}}}, 0)
end)

T.test("cross_entropy errors and ignore_index", function()
  T.raises(function() rt.F.cross_entropy(rt.zeros(3, 4), rt.tensor({0, 4, 1}, "i64")) end, "label 4")
  T.raises(function() rt.F.cross_entropy(rt.zeros(3, 4), rt.tensor({0, 1}, "i64")) end, "cross_entropy: logits [3,4] and labels [2]")
  T.raises(function() rt.F.cross_entropy(rt.zeros(3, 4), rt.tensor({0, 1, 1}, "i64"), {reduction = "avg"}) end, "reduction")
  -- uniform logits: loss = log(4) on the counted rows
  local l = rt.F.cross_entropy(rt.zeros(3, 4), rt.tensor({0, -100, 3}, "i64"))
  T.near(l:item(), math.log(4), 1e-6)
  local s = rt.F.cross_entropy(rt.zeros(3, 4), rt.tensor({0, -100, 3}, "i64"), {reduction = "sum"})
  T.near(s:item(), 2 * math.log(4), 1e-6)
  local n = rt.F.cross_entropy(rt.zeros(3, 4), rt.tensor({7, 0, 3}, "i64"), {ignore_index = 7, reduction = "none"})
  T.near(n, {0, math.log(4), math.log(4)}, 1e-6)
end)

T.test("dropout: eval and p = 0 return the input, train scales and is seeded", function()
  local x = rt.ones(1000)
  T.ok(rt.F.dropout(x, 0.5, false) == x, "eval returns x itself")
  T.ok(rt.F.dropout(x, 0, true) == x, "p = 0 returns x itself")
  rt.manual_seed(5)
  local a = rt.F.dropout(x, 0.25, true)
  rt.manual_seed(5)
  local b = rt.F.dropout(x, 0.25, true)
  local c = rt.F.dropout(x, 0.25, true)
  local va, vb, vc = a:totable(), b:totable(), c:totable()
  local kept, same, samec = 0, true, true
  for i = 1, 1000 do
    T.ok(va[i] == 0 or math.abs(va[i] - 1 / 0.75) < 1e-6, "kept values are scaled by 1/(1-p)")
    if va[i] ~= 0 then kept = kept + 1 end
    if va[i] ~= vb[i] then same = false end
    if va[i] ~= vc[i] then samec = false end
  end
  T.ok(same, "same seed, same mask")
  T.ok(not samec, "the next call draws a new mask")
  T.ok(kept > 690 and kept < 810, "about 75% kept, got " .. kept)
  T.raises(function() rt.F.dropout(x, 1.5, true) end, "dropout: probability 1.5")
end)

T.test("attention core shapes, layout and errors", function()
  local q, k, v = rt.randn(2, 3, 5, 4), rt.randn(2, 3, 5, 4), rt.randn(2, 3, 5, 4)
  local s = rt.F.attention_scores(q, k)
  T.eq(table.concat(s:shape(), ","), "2,3,5,5")
  T.near(s, rt.matmul(q, k:transpose(3, 4)) * 0.5, 1e-5)
  local ctx, probs = rt.F.attention_context(s, v)
  T.near(probs:sum(-1), rt.ones(2, 3, 5), 1e-5)
  T.near(ctx, rt.matmul(probs, v), 1e-5)
  -- heads merge back without a copy: [B,H,S,D] -> [B,S,H,D] is contiguous
  T.ok(ctx:transpose(2, 3):is_contiguous(), "context is stored as [B,S,H,D]")
  T.raises(function() rt.F.attention_scores(q, rt.randn(2, 3, 5, 3)) end, "attention_scores: q [2,3,5,4] and k [2,3,5,3]")
  T.raises(function() rt.F.attention_scores(q, k, rt.randn(5, 5, 3)) end, "rel [5,5,3]")
  T.raises(function() rt.F.attention_scores(q, k, nil, rt.zeros(2, 1, 1, 4)) end, "mask [2,1,1,4] does not broadcast")
  T.raises(function() rt.F.attention_context(s, rt.randn(2, 3, 4, 4)) end, "attention_context: scores [2,3,5,5] and v [2,3,4,4]")
end)

T.test("help text on every nn function", function()
  for _, n in ipairs{"linear", "layer_norm", "gelu", "relu", "softmax", "log_softmax", "dropout", "embedding",
                     "cross_entropy", "mse", "soft_cross_entropy", "kl_div", "attention_scores",
                     "attention_context"} do
    T.ok(type(rt.F[n]) == "function", "rt.F." .. n)
    if rt.doc then T.ok(rt.doc(rt.F[n]), "help for rt.F." .. n) end
  end
  if rt.doc then T.ok(rt.doc(rt.matmul), "help for rt.matmul") end
end)
