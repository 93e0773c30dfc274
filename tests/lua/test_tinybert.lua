-- lua/recipes/tinybert.lua: the whole chain at a tiny size on the synthetic MNLI-format
-- task of tests/lua/td_fixture.lua (teacher fine-tuned from scratch, fresh student,
-- stages 1 and 2, the teacher-vs-student table, --compare), a rerun that skips every
-- finished stage, and the fortunes task builder (skipped without Debian's fortunes).
local T = require "retort.test"
local F = dofile("tests/lua/td_fixture.lua")
local Trainer = require "retort.trainer"

local function recipe(...)
  local chunk = assert(loadfile("lua/recipes/tinybert.lua"))
  return chunk(...)
end

local function capture(fn)
  local buf, old = {}, print
  print = function(...) local t = {} for i = 1, select("#", ...) do t[i] = tostring(select(i, ...)) end buf[#buf + 1] = table.concat(t, "\t") end
  local ok, r = pcall(fn)
  print = old
  if not ok then error(r, 0) end
  return r, table.concat(buf, "\n")
end

T.test("tinybert.lua: teacher, stages 1-2, table and comparisons; a rerun skips finished stages", function()
  local root = os.tmpname(); os.remove(root)
  local data = F.task(root .. "/data")
  local vocab = root .. "/vocab.txt"
  local f = assert(io.open(vocab, "w")); f:write(table.concat(F.vocab(), "\n"), "\n"); f:close()
  local out = root .. "/run"
  local args = { "--output_dir", out, "--task_name", "mnli", "--data_dir", data, "--vocab_file", vocab,
    "--max_seq_length", "16", "--train_batch_size", "16", "--teacher_hidden", "32", "--teacher_layers", "2",
    "--heads", "4", "--teacher_epochs", "12", "--student_hidden", "16", "--student_layers", "1",
    "--stage1_epochs", "2", "--stage2_epochs", "3", "--stage2_lr", "3e-3", "--eval_step", "12", "--compare",
    "--progress", "false", "--latency_runs", "2" }
  local r = recipe(table.unpack(args))
  T.eq(r.train, 192)
  T.eq(r.dev, 60)
  T.ok(r.teacher.metric > 0.9, "teacher learned the cue task: " .. r.teacher.metric)
  T.ok(r.student.params < r.teacher.params, "student is smaller")
  T.ok(r.student.lat32 > 0 and r.teacher.lat1 > 0, "latencies measured")
  T.near(r.ratio, r.student.metric / r.teacher.metric, 1e-12)
  T.eq(#r.compare, 3, "(b), (c), (d)")
  for _, d in ipairs({ "teacher", "student_init", "stage1", "stage2", "direct", "stage2_only" }) do
    T.ok(io.open(out .. "/" .. d .. "/DONE.json") ~= nil, d .. " finished")
  end
  local txt = assert(io.open(out .. "/summary.txt")):read("a")
  for _, k in ipairs({ "parameters", "weights file", "latency batch 1", "latency batch 32", "dev acc" }) do
    T.ok(txt:find(k, 1, true), k .. " in the table")
  end
  local r2, printed = capture(function() return recipe(table.unpack(args)) end)
  T.ok(select(2, printed:gsub("done earlier", "")) >= 6, "stages skipped on rerun:\n" .. printed)
  T.near(r2.student.metric, r.student.metric, 1e-12, "same student after the rerun")
  Trainer.remove_tree(root)
end)

-- a single-sentence task in the text-clf layout (label<TAB>text): the cue word decides the label
local function single_sentence_task()
  local root = os.tmpname(); os.remove(root)
  local data = root .. "/data"
  rt.sys.mkdir(data)
  for _, split in ipairs({ { "train.tsv", 96, 3 }, { "dev.tsv", 30, 4 } }) do
    local lines, s = { "label\ttext" }, split[3]
    local words, cues = { "the", "cat", "dog", "sat", "ran", "on", "a", "mat", "park", "big" }, { "never", "indeed", "perhaps" }
    for i = 1, split[2] do
      local t = {}
      for j = 1, 6 do s = (s * 1103515245 + 12345) % 2147483648; t[j] = words[(s >> 8) % #words + 1] end
      local c = i % 3 + 1
      t[3] = cues[c]
      lines[#lines + 1] = ({ "neg", "pos", "mid" })[c] .. "\t" .. table.concat(t, " ")
    end
    local f = assert(io.open(data .. "/" .. split[1], "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
  end
  local vocab = root .. "/vocab.txt"
  local f = assert(io.open(vocab, "w")); f:write(table.concat(F.vocab(), "\n"), "\n"); f:close()
  return root, data, vocab
end

T.test("tinybert.lua with augmentation (rt.augment): MLM, train_aug.tsv, stages on the augmented set", function()
  if not pcall(require, "retort.augment") then print("skipped: rt.augment is not in this checkout"); return end
  local root, data, vocab = single_sentence_task()
  local out = root .. "/run"
  local r = recipe("--output_dir", out, "--task_name", "text-clf", "--data_dir", data, "--vocab_file", vocab,
    "--max_seq_length", "16", "--train_batch_size", "16", "--teacher_hidden", "32", "--teacher_layers", "2",
    "--heads", "4", "--teacher_epochs", "10", "--student_hidden", "16", "--student_layers", "1",
    "--aug", "true", "--aug_n", "2", "--mlm_epochs", "2", "--aug_stage1_epochs", "1", "--aug_stage2_epochs", "1",
    "--progress", "false", "--latency_runs", "1")
  T.ok(r.augmented, "augmentation ran")
  local ex = rt.data.read_task("text-clf", out .. "/augment", "train", { file = "train_aug.tsv" })
  T.ok(#ex > 96 and #ex <= 96 * 3, "train_aug.tsv has the originals and new sentences: " .. #ex)
  Trainer.remove_tree(root)
end)

T.test("tinybert.lua --general true: MLM teacher, pregenerate.lua + general_distill.lua, then stages 1-2", function()
  if not (io.open("lua/recipes/general_distill.lua") and io.open("lua/recipes/pregenerate.lua")) then
    print("skipped: lua/recipes/general_distill.lua / pregenerate.lua are not in this checkout"); return
  end
  local root, data, vocab = single_sentence_task()
  local out = root .. "/run"
  local r = recipe("--output_dir", out, "--task_name", "text-clf", "--data_dir", data, "--vocab_file", vocab,
    "--max_seq_length", "16", "--train_batch_size", "16", "--teacher_hidden", "32", "--teacher_layers", "2",
    "--heads", "4", "--teacher_epochs", "10", "--student_hidden", "16", "--student_layers", "1", "--general", "true",
    "--mlm_epochs", "2", "--general_epochs", "1", "--aug", "false", "--progress", "false", "--latency_runs", "1")
  T.ok(io.open(out .. "/general/DONE.json") ~= nil, "general distillation ran")
  T.ok(io.open(out .. "/general/run/config.json") ~= nil, "general student written")
  T.ok(r.student.metric ~= nil, "student evaluated")
  Trainer.remove_tree(root)
end)

T.test("rt.fortunes: topic task files in the text-clf layout", function()
  local fdir = "/usr/share/games/fortunes"
  if not io.open(fdir .. "/computers") then print("skipped: fortunes not found at " .. fdir); return end
  local Fo = rt.fortunes
  local train, test, labels = Fo.build({ per_class = 20 })
  T.eq(#labels, 6)
  T.eq(#train + #test, 120)
  T.eq(#test, 24)
  local dir = os.tmpname(); os.remove(dir)
  Fo.write_task(dir, train, test, labels)
  local ex, names = rt.data.read_task("text-clf", dir, "train")
  T.eq(#ex, #train)
  T.eq(table.concat(names, ","), "computers,science,politics,food,love,sports", "labels in first-appearance order")
  Trainer.remove_tree(dir)
end)
