-- TinyBERT task distillation against scripts/golden/task_distill.py (PyTorch, written from
-- TinyBERT/task_distill.py): the stage-1 att/rep terms per layer, one BertAdam step with
-- schedule 'none', the stage-2 soft cross-entropy at T = 2 and two warmup_linear steps,
-- the regression MSE to gold labels and its steps, and retort's kd_loss / alpha variants.
-- Tolerances: losses 2e-5 relative (float32 sums over different orders), parameters after
-- the updates 1e-5 of the tensor's largest magnitude.
local T = require "retort.test"
local TD = rt.task_distill
local dir = T.golden("task_distill")
local ref = rt.load(dir .. "/ref.safetensors")

local function batch()
  return { input_ids = ref.input_ids, token_type_ids = ref.token_type_ids, attention_mask = ref.attention_mask }
end

local function flat(x, o)
  o = o or {}
  if type(x) == "table" then for _, y in ipairs(x) do flat(y, o) end else o[#o + 1] = x end
  return o
end

local function params_match(m, prefix, what)
  local worst = 0
  for name, p in pairs(m:named_parameters()) do
    local want = ref[prefix .. name]
    T.ok(want, what .. ": fixture has no " .. prefix .. name)
    local a, b = flat(p:totable()), flat(want:totable())
    T.eq(#a, #b, name)
    local scale = 1e-30
    for i = 1, #b do scale = math.max(scale, math.abs(b[i])) end
    for i = 1, #a do worst = math.max(worst, math.abs(a[i] - b[i]) / scale) end
  end
  T.ok(worst < 1e-5, string.format("%s: parameters differ by %.3g (relative to the tensor max) > 1e-5", what, worst))
  return worst
end

local function teacher_out()
  local t = rt.model.load(dir .. "/teacher", { quiet = true })
  t:eval()
  return rt.no_grad(function() return TD.forward(t, batch()) end)
end

local function student(name)
  local s = rt.model.load(dir .. "/" .. name, { quiet = true })
  s:eval()        -- the fixture has no dropout
  return s
end

T.test("task_distill stage 1: att and rep per layer, one BertAdam step (schedule none)", function()
  local to = teacher_out()
  T.near(to.logits, ref.teacher_logits, 2e-5, "teacher logits")
  local s = student("student")
  local maps = TD.maps(2, 4)
  T.eq(table.concat(maps.att_map, ","), "2,4")
  T.eq(table.concat(maps.hidden_map, ","), "1,3,5")
  local loss, terms = TD.stage1(TD.forward(s, batch()), to, maps)
  for i = 1, 2 do T.near(terms["att_" .. i], ref["s1.att." .. (i - 1)]:item(), 2e-5, "att_" .. i) end
  for j = 0, 2 do T.near(terms["rep_" .. j], ref["s1.rep." .. j]:item(), 2e-5, "rep_" .. j) end
  T.near(loss:item(), ref["s1.loss"]:item(), 2e-5, "stage-1 loss")
  T.near(terms.att + terms.rep, ref["s1.loss"]:item(), 2e-5, "att + rep")
  local opt = rt.optim.bertadam(s, { lr = 1e-2, schedule = "none", total_steps = 100 })
  loss:backward()
  opt:step()
  params_match(s, "s1.after.", "stage 1 step")
end)

T.test("task_distill stage 2: soft cross-entropy at T=2, two BertAdam warmup_linear steps", function()
  local to = teacher_out()
  local s = student("student")
  -- start from the stage-1 parameters of the fixture
  for name, p in pairs(s:named_parameters()) do rt._optim.copy_(p, ref["s1.after." .. name]) end
  local Tmp = ref.temperature:item()
  local opt = rt.optim.bertadam(s, { lr = 1e-2, schedule = "warmup_linear", warmup = 0.1, total_steps = 4 })
  local lrs = ref["s2.lrs"]:totable()
  for step = 0, 1 do
    local so = TD.forward(s, batch())
    local loss, terms = TD.stage2(so, to.logits, ref.labels, { kd_loss = "soft_ce", temperature = Tmp })
    T.near(terms.pred, ref["s2.pred." .. step]:item(), 2e-5, "soft CE at step " .. step)
    if step == 0 then
      local sl = so.logits:detach()
      T.near(TD.kd(sl, to.logits, "kl", Tmp):item(), ref["s2.kl"]:item(), 2e-5, "kl")
      T.near(TD.kd(sl, to.logits, "soft_ce", 1.0):item(), ref["s2.soft_ce_T1"]:item(), 2e-5, "soft CE T=1")
      T.near(TD.kd(sl, to.logits, "mse"):item(), ref["s2.mse"]:item(), 2e-5, "logit mse")
      local mixed = TD.stage2({ logits = sl }, to.logits, ref.labels, { temperature = Tmp, alpha = 0.3 })
      T.near(mixed:item(), ref["s2.alpha_0.3"]:item(), 2e-5, "alpha 0.3")
    end
    T.near(opt:get_lr(), lrs[step + 1], 1e-9, "lr at step " .. step)
    loss:backward()
    opt:step()
    opt:zero_grad()
  end
  params_match(s, "s2.after.", "stage 2 steps")
end)

T.test("task_distill stage 2 regression: MSE to the gold labels, two BertAdam steps", function()
  local s = student("student_reg")
  T.eq(s.config.num_labels, 1)
  local opt = rt.optim.bertadam(s, { lr = 1e-2, schedule = "warmup_linear", warmup = 0.1, total_steps = 4 })
  for step = 0, 1 do
    local so = TD.forward(s, batch())
    local loss, terms = TD.stage2(so, nil, ref.gold, { regression = true })
    T.near(terms.pred, ref["reg.mse." .. step]:item(), 2e-5, "regression MSE at step " .. step)
    loss:backward()
    opt:step()
    opt:zero_grad()
  end
  params_match(s, "reg.after.", "regression steps")
end)

