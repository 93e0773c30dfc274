-- retort.task_checks (rt.task_checks): what to check before TinyBERT task distillation,
-- the usual reasons a student ends "far below the paper". Each check returns problems
-- {level = "error" | "warning", check = name, msg = text naming the model folders}.
--
--   local TC = rt.task_checks
--   local problems = TC.run{ stage = 1 | 2, task = "mrpc", labels = {...}, regression = false,
--     teacher = m_t, teacher_dir = dir, student = m_s, student_dir = dir, student_report = rep,
--     layer_map = nil, teacher_eval = {metric = 0.85, name = "acc", baseline = 0.68}, margin = 0.05 }
--   TC.report(problems, force)  -- prints warnings; raises one error listing every error
--                               -- unless force (then they are printed as warnings)
local TC = {}

local function has(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- TC.teacher_head(teacher, dir, task, num_labels) -> problems: the teacher must carry a
--- classifier with the task's label count (a pre-trained BERT is not a fine-tuned teacher).
function TC.teacher_head(t, dir, task, nl)
  local c = t.config
  if not has(c.heads, "classifier") then
    return { { level = "error", check = "teacher_finetuned", msg = string.format(
      "teacher %s has no sequence classifier: it is not fine-tuned for %s (fine-tune it first, e.g. "
      .. "lua/recipes/finetune.lua --model_dir %s --task %s, and pass that output as --teacher_model)",
      dir, task, dir, task) } }
  end
  if c.num_labels ~= nl then
    return { { level = "error", check = "teacher_finetuned", msg = string.format(
      "teacher %s has a classifier with %d labels but %s has %d: it was fine-tuned for another task",
      dir, c.num_labels or -1, task, nl) } }
  end
  return {}
end

--- TC.teacher_quality(dir, task, eval, margin) -> problems: the teacher's dev metric must
--- beat the majority-class baseline (acc) or 0 (mcc, corr) by margin.
function TC.teacher_quality(dir, task, ev, margin)
  local need = (ev.baseline or 0) + margin
  if not (ev.metric == ev.metric) or ev.metric < need then
    return { { level = "error", check = "teacher_quality", msg = string.format(
      "teacher %s scores dev %s = %.4f on %s, not above the majority-class baseline %.4f by %.2f: "
      .. "it is not fine-tuned for this task (or not trained enough)", dir, ev.name, ev.metric, task,
      ev.baseline or 0, margin) } }
  end
  return {}
end

--- TC.label_orders(task_labels, t_labels, t_src, s_labels, s_src, tdir, sdir) -> problems:
--- the label lists saved with the models must equal the task's (same order).
function TC.label_orders(task, labels, tl, tsrc, sl, ssrc, tdir, sdir)
  local out = {}
  local want = table.concat(labels, ",")
  if tl and table.concat(tl, ",") ~= want then
    out[#out + 1] = { level = "error", check = "label_order", msg = string.format(
      "teacher %s was trained with labels [%s] (%s) but %s's label list is [%s]: class ids would be swapped",
      tdir, table.concat(tl, ","), tsrc, task, want) }
  end
  if tl and sl and table.concat(sl, ",") ~= table.concat(tl, ",") then
    out[#out + 1] = { level = "error", check = "label_order", msg = string.format(
      "teacher %s labels [%s] and student %s labels [%s] (%s) are in different orders: "
      .. "the student would learn swapped classes", tdir, table.concat(tl, ","), sdir, table.concat(sl, ","), ssrc) }
  elseif sl and not tl and table.concat(sl, ",") ~= want then
    out[#out + 1] = { level = "error", check = "label_order", msg = string.format(
      "student %s labels [%s] (%s) differ from %s's [%s]", sdir, table.concat(sl, ","), ssrc, task, want) }
  end
  if not tl then
    out[#out + 1] = { level = "warning", check = "label_order", msg = string.format(
      "teacher %s saves no label list (label_list.txt or id2label): the label order cannot be checked", tdir) }
  end
  return out
end

--- TC.vocabularies(tdir, sdir) -> problems: teacher and student vocab.txt must be identical.
function TC.vocabularies(tdir, sdir, t_vocab, s_vocab)
  local a = read_all(tdir .. "/vocab.txt")
  local b = read_all(sdir .. "/vocab.txt")
  if a and b and a ~= b then
    local na, nb = select(2, a:gsub("\n", "")), select(2, b:gsub("\n", ""))
    local line = 0
    -- first differing line
    local ia, ib = a:gmatch("([^\n]*)\n"), b:gmatch("([^\n]*)\n")
    local wa, wb
    repeat
      line = line + 1
      wa, wb = ia(), ib()
    until wa ~= wb or wa == nil
    return { { level = "error", check = "vocabulary", msg = string.format(
      "teacher %s/vocab.txt (%d entries) and student %s/vocab.txt (%d entries) differ (line %d: '%s' vs '%s'): "
      .. "the same ids would mean different tokens", tdir, na, sdir, nb, line, tostring(wa), tostring(wb)) } }
  end
  local out = {}
  if t_vocab and s_vocab and t_vocab ~= s_vocab then
    out[#out + 1] = { level = "error", check = "vocabulary", msg = string.format(
      "teacher %s has vocab_size %d but student %s has %d: the vocabularies are not the same",
      tdir, t_vocab, sdir, s_vocab) }
  end
  return out
end

--- TC.architecture(t, tdir, s, sdir, layer_map) -> problems for the stage-1 losses: layer
--- counts divisible (or a map), equal head counts (attention loss), hidden sizes matched
--- by fit_dense (rep loss).
function TC.architecture(t, tdir, s, sdir, layer_map)
  local tc, sc, out = t.config, s.config, {}
  local nt, ns = tc.num_hidden_layers, sc.num_hidden_layers
  if layer_map then
    if #layer_map ~= ns then
      out[#out + 1] = { level = "error", check = "layers", msg = string.format(
        "--layer_map has %d entries but student %s has %d layers", #layer_map, sdir, ns) }
    end
  elseif nt % ns ~= 0 then
    out[#out + 1] = { level = "error", check = "layers", msg = string.format(
      "teacher %s has %d layers, not a multiple of student %s's %d: give --layer_map (one teacher layer per "
      .. "student layer, e.g. %s)", tdir, nt, sdir, ns, ns == 4 and "3,6,9,12" or "...") }
  end
  if tc.num_attention_heads ~= sc.num_attention_heads then
    out[#out + 1] = { level = "error", check = "heads", msg = string.format(
      "teacher %s has %d attention heads but student %s has %d: the attention loss compares "
      .. "[batch, heads, seq, seq] scores head by head", tdir, tc.num_attention_heads, sdir, sc.num_attention_heads) }
  end
  local fit = sc.fit_size and sc.fit_size > 0 and sc.fit_size or sc.hidden_size
  if fit ~= tc.hidden_size then
    out[#out + 1] = { level = "error", check = "hidden", msg = string.format(
      "student %s maps hidden states to %d (%s) but teacher %s has hidden size %d: the rep loss needs "
      .. "fit_dense [%d -> %d]", sdir, fit, (sc.fit_size and sc.fit_size > 0) and "fit_dense" or "no fit_dense",
      tdir, tc.hidden_size, sc.hidden_size, tc.hidden_size) }
  end
  return out
end

--- TC.student_init(sdir, s, report, stage) -> warnings when the student's encoder was
--- randomly initialised, or stage 2 starts from something that is not a stage-1 output.
function TC.student_init(sdir, s, report, stage)
  local out = {}
  local missing = 0
  for line in tostring(report or ""):gmatch("[^\n]+") do
    if line:match("^%s+bert%.encoder") or line:match("^%s+bert%.embeddings") then missing = missing + 1 end
  end
  if missing > 0 then
    out[#out + 1] = { level = "warning", check = "student_init", msg = string.format(
      "student %s: %d encoder/embedding tensors were missing and are randomly initialised: start from a "
      .. "general-distilled TinyBERT (general_distill.lua) or a stage-1 output", sdir, missing) }
  elseif stage == 2 and s.config.tinybert_stage ~= "intermediate" then
    out[#out + 1] = { level = "warning", check = "student_init", msg = string.format(
      "student %s is not a stage-1 (intermediate-layer distillation) output of this recipe: stage 2 "
      .. "alone usually ends below the two-stage student", sdir) }
  end
  return out
end

--- TC.report(problems, force, log) -> number of errors; prints each problem (to io.stderr or
--- log(msg)); raises "checks failed" listing the errors unless force.
function TC.report(problems, force, log)
  log = log or function(s) io.stderr:write(s, "\n") end
  local errs = {}
  for _, p in ipairs(problems) do
    if p.level == "error" then errs[#errs + 1] = p
    else log("warning: " .. p.msg) end
  end
  if #errs == 0 then return 0 end
  if force then
    for _, p in ipairs(errs) do log("warning (--force): " .. p.msg) end
    return #errs
  end
  local lines = {}
  for _, p in ipairs(errs) do lines[#lines + 1] = "  [" .. p.check .. "] " .. p.msg end
  error("checks failed before training (pass --force to train anyway):\n" .. table.concat(lines, "\n"), 0)
end

return TC
