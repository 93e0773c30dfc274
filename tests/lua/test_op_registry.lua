-- rt.ops(): the op table (src/autograd/registry.c) seen from Lua, and help("ops")
-- built from it. The gradient checks of every row run in tests/unit/test_op_registry.c.
local T = require "retort.test"

T.test("rt.ops lists every op once, with a node name, a case and a help line", function()
  local ops, seen = rt.ops(), {}
  T.ok(#ops >= 60, "only " .. #ops .. " rows")
  local doc = rt.doc("rt.ops")
  for _, r in ipairs(ops) do
    T.ok(not seen[r.op], "duplicate row " .. r.op); seen[r.op] = true
    T.ok(#r.node > 0 and #r.case > 0 and #r.help > 3, r.op)
    T.ok(doc:find("  " .. r.op .. " ", 1, true), "help('ops') misses " .. r.op)
  end
  for _, name in ipairs{"add", "linear", "layer_norm", "cross_entropy", "attention_context", "transpose"} do
    T.ok(seen[name], name)
  end
end)

T.test("a row's node name is what t:grad_fn() reports", function()
  local byop = {}
  for _, r in ipairs(rt.ops()) do byop[r.op] = r end
  local x = rt.randn(3, 4):requires_grad()
  T.eq(x:softmax(2):grad_fn(), byop.softmax.node)
  T.eq((x + 1):grad_fn(), byop.add_scalar.node)
  T.eq(x:transpose(1, 2):grad_fn(), byop.transpose.node)
  T.eq(rt.F.layer_norm(x, {4}):grad_fn(), byop.layer_norm.node)
end)
