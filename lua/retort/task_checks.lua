-- retort.task_checks (rt.task_checks): the task-level checks before TinyBERT task
-- distillation, the usual reasons a student ends "far below the paper" (the
-- teacher/student compatibility checks -- vocabularies, layer maps, heads, fit_dense --
-- are retort.distill_checks, shared with general distillation). Each check returns problems
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
