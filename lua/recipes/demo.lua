-- demo.lua — what `make run` runs: the whole TinyBERT pipeline on built-in data, a
-- teacher distilled into a student, with the numbers and pictures that show it worked.
--
-- On the fortune-cookie topic task (Debian's `fortunes` package: six collections are
-- six labels; lua/retort/fortunes.lua) it runs lua/recipes/tinybert.lua:
--   1. the teacher: a 4-layer BERT fine-tuned on the task (finetune.lua), from random
--      initialisation (MLM pre-training of a model this small on this little text did
--      not help it: scripts/experiments/pretrain_fortunes.lua measures that);
--   2. a small BERT trained here as a masked language model on the training texts
--      (there is no pre-trained BERT offline): the "pre-trained" model that general
--      distillation and augmentation need;
--   3. general distillation of a smaller student from the pre-trained model
--      (pregenerate.lua + general_distill.lua);
--   4. augmentation of the training set with the MLM (augment.lua's rt.augment);
--   5. task distillation, stage 1 (attention + hidden states) and stage 2 (soft labels)
--      (task_distill.lua), and evaluation;
--   6. the baseline: the same student architecture fine-tuned directly, no teacher.
-- It prints the teacher-vs-student table (parameters, file size, latency measured here,
-- dev accuracy) and writes a teacher-vs-student attention page and picture for one dev
-- sentence. Finished stages are kept in --output_dir: a second run only reprints.
--
--   retort lua/recipes/demo.lua [--output_dir build/demo] [--threads 2] [--fresh]
local rt = rt or require "retort"
local flags = require "retort.flags"

local SPEC = {
  { "output_dir", "build/demo", "where every stage, the table and the pictures go", metavar = "DIR" },
  { "seed", 42, "random seed of every stage", type = "int" },
  { "threads", nil, "CPU threads (default: all cores)", type = "int" },
  { "fresh", false, "remove --output_dir first (rerun every stage)", type = "bool" },
  { "progress", "auto", "progress bars: auto | true | false" },
}

local function recipe_path(name)
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "lua/recipes"
  return here .. "/" .. name
end

local function first_dev_sentence(data_dir)
  local rows = rt.data.read_tsv(data_dir .. "/dev.tsv", {})
  for _, r in ipairs(rows) do
    local text = r[#r]
    if text and #text > 40 then return text end
  end
  return rows[1][#rows[1]]
end

-- teacher vs student attention for one sentence, as HTML and PNG
local function attention_views(summary, out, max_len)
  local teacher = rt.model.load(summary.teacher.dir, { quiet = true }):eval()
  local student = rt.model.load(summary.student.dir, { quiet = true }):eval()
  local tok = rt.tokenizer.load(summary.teacher.dir .. "/vocab.txt", { lower = true })
  local text = first_dev_sentence(out .. "/data")
  local pieces = tok:tokenize(text)
  while #pieces > max_len - 2 do table.remove(pieces) end
  local toks = { "[CLS]" }
  for _, p in ipairs(pieces) do toks[#toks + 1] = p end
  toks[#toks + 1] = "[SEP]"
  local b = tok:batch { { text }, max_len = max_len }
  local batch = { input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask }
  local t = rt.no_grad(function() return teacher:forward(batch) end)
  local s = rt.no_grad(function() return student:forward(batch) end)
  local title = "teacher vs distilled student: \"" .. text:sub(1, 60) .. (#text > 60 and "...\"" or "\"")
  local html = rt.viz.attention_html { teacher = t, student = s, tokens = toks, out = out .. "/attention.html",
                                       title = title }
  local png = nil
  if rt.plot.available() then
    png = rt.viz.attention_png { teacher = t, student = s, tokens = toks, out = out .. "/attention.png",
                                 title = "teacher vs distilled student attention" }
  end
  local sim = rt.viz.hidden_similarity { teacher = t, student = s, tokens = toks }
  return html, png, sim
end

local function main(args)
  local o = flags.parse(SPEC, args, {
    prog = "demo.lua",
    about = "The TinyBERT pipeline on the fortunes topic task (what `make run` runs): pre-trained MLM, "
      .. "fine-tuned teacher, general distillation, augmentation, task distillation, a directly trained "
      .. "baseline student, the teacher-vs-student table and an attention comparison.",
  })
  if o.help then return { help = true } end
  local t0 = rt.sys.now()
  if o.fresh and rt.sys.isdir(o.output_dir) then rt.sys.remove_tree(o.output_dir) end
  -- fewer augmented copies (3, upstream 30) and MLM epochs (12) than tinybert.lua's defaults
  -- keep the whole run within a few minutes on two cores
  local targs = { "--output_dir", o.output_dir, "--general", "true", "--aug", "true", "--direct_baseline",
                  "--aug_n", "3", "--mlm_epochs", "12", "--seed", tostring(o.seed), "--progress", o.progress }
  if o.threads then targs[#targs + 1] = "--threads"; targs[#targs + 1] = tostring(o.threads) end
  local chunk = assert(loadfile(recipe_path("tinybert.lua")))
  local summary = chunk(table.unpack(targs))
  local html, png, sim = attention_views(summary, o.output_dir, 32)

  local t, s = summary.teacher, summary.student
  local direct
  for _, c in ipairs(summary.compare or {}) do if c.name:find("directly", 1, true) then direct = c.metric end end
  local ratio = s.metric / t.metric
  print("")
  print(string.format("demo: the distilled student (%d x %d, %.2fx the teacher's parameters) reaches %.1f %% of the "
    .. "teacher's dev accuracy (%.4f vs %.4f; the goal is >= 90 %%)", s.layers, s.hidden, s.params / t.params,
    100 * ratio, s.metric, t.metric))
  if direct then
    print(string.format("demo: the same student trained without distillation reaches %.4f: distillation %s%.4f",
      direct, s.metric >= direct and "+" or "-", math.abs(s.metric - direct)))
  end
  local cos = {}
  for _, r in ipairs(sim) do cos[#cos + 1] = string.format("%.2f", r.cos) end
  print(string.format("demo: hidden-state cosine, student vs teacher per mapped layer: %s", table.concat(cos, " ")))
  print(string.format("demo: attention comparison in %s%s; table in %s/summary.txt (%.0f s)", html,
    png and (" and " .. png) or "", o.output_dir, rt.sys.now() - t0))
  summary.direct = direct
  summary.attention_html, summary.attention_png = html, png
  return summary
end

return flags.script("demo.lua", main, ...)
