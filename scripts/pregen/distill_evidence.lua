-- The evidence run for TinyBERT general distillation on Debian's fortunes (a few
-- minutes at --threads 1):
--   1. corpus: every fortune collection except the six the demo classifies
--      (one fortune = one document, lines = sentences); WordPiece vocabulary on it;
--   2. pregenerate.lua data twice: masked_lm_prob 0.15 (teacher MLM) and the
--      upstream default 0.0 (distillation);
--   3. a 4-layer, hidden-128 teacher trained from scratch with MLM;
--   4. general_distill.lua into a 2-layer hidden-64 student (att + rep curves: PNG);
--   5. the ablation: fine-tune the distilled student and the same student from random
--      init on the demo's fortune topic task, same data, steps and learning rate.
--   nice -n 10 build/retort scripts/pregen/distill_evidence.lua --out build/gd_evidence --threads 1
local Trainer = require "retort.trainer"
local M = rt.metrics

local o = { out = "build/gd_evidence", threads = "1", teacher_steps = "1200", distill_epochs = "1", ft_epochs = "6",
            seed = "1234", fortune_dir = "/usr/share/games/fortunes", max_len = "64", distill_lr = "5e-4",
            ft_lr = "5e-4", vocab_size = "3000" }
local a = { ... }
if #a == 0 and arg then for i = 1, #arg do a[i] = arg[i] end end
for i = 1, #a, 2 do o[(a[i]:gsub("^%-%-", ""))] = a[i + 1] end
rt.set_threads(tonumber(o.threads))
local OUT, L, seed = o.out, tonumber(o.max_len), tonumber(o.seed)
local LABELS = { "computers", "science", "politics", "food", "love", "sports" }
local mkdir = rt.sys.mkdir
local now = rt.sys.now
mkdir(OUT)
local t_all = now()
local report = {}

local function read_entries(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a"); f:close()
  local out = {}
  for entry in (s .. "\n%\n"):gmatch("(.-)\n%%\n") do
    local lines = {}
    for l in entry:gmatch("[^\n]+") do
      l = l:gsub("^%s+", ""):gsub("%s+$", "")
      if l ~= "" and utf8.len(l) then lines[#lines + 1] = l end
    end
    if #lines > 0 then out[#out + 1] = lines end
  end
  return out
end

-- 1. corpus and vocabulary
local skip = {}
for _, l in ipairs(LABELS) do skip[l] = true end
local docs = {}
local p = io.popen("ls '" .. o.fortune_dir .. "'")
for name in p:lines() do
  if not name:match("%.dat$") and not name:match("%.u8$") and not skip[name] then
    for _, e in ipairs(read_entries(o.fortune_dir .. "/" .. name) or {}) do docs[#docs + 1] = table.concat(e, "\n") end
  end
end
p:close()
local corpus = OUT .. "/corpus.txt"
local function exists(f) local h = io.open(f, "rb"); if h then h:close() end; return h ~= nil end
-- each stage is skipped when its output exists, so a run cut by the 10-minute limit
-- continues where it stopped (distillation resumes from its newest checkpoint)
if not exists(OUT .. "/vocab.txt") then
  rt.sys.atomic_write(corpus, table.concat(docs, "\n\n") .. "\n")
  rt.vocab.build_wordpiece(corpus, { size = tonumber(o.vocab_size), lower = true, min_frequency = 2, out = OUT .. "/vocab.txt" })
end
local tok = rt.tokenizer.load(OUT .. "/vocab.txt", { lower = true })
print(string.format("evidence: corpus %d documents (%.1f MB, labelled collections excluded), vocabulary %d",
  #docs, #table.concat(docs) / 1e6, tok:vocab_size()))

-- 2. pregenerated data
local function pregen(dir, prob)
  return rt.pretrain.pregenerate { train_corpus = corpus, output_dir = dir, vocab_file = OUT .. "/vocab.txt",
    do_lower_case = true, epochs_to_generate = 1, max_seq_len = L, masked_lm_prob = prob, seed = seed, quiet = true }
end
if not exists(OUT .. "/gd_data/epoch_0_metrics.json") then
  local s1 = pregen(OUT .. "/mlm_data", 0.15)
  local s2 = pregen(OUT .. "/gd_data", 0.0)
  report.pregenerate = { mlm_instances = s1.epochs[1].instances, gd_instances = s2.epochs[1].instances }
end

-- 3. teacher: MLM from scratch
local V = tok:vocab_size()
-- a log.jsonl read leniently: a line cut by a hard kill is skipped, a step logged again
-- after a resume keeps its last record
local function read_log(path)
  local by, steps = {}, {}
  for line in io.lines(path) do
    local ok, r = pcall(rt.log.json_decode, line)
    if ok and type(r) == "table" and r.step then
      if not by[r.step] then steps[#steps + 1] = r.step end
      by[r.step] = r
    end
  end
  table.sort(steps)
  local out = {}
  for i, st in ipairs(steps) do out[i] = by[st] end
  return out
end
local function mean_loss(recs, a_, b_)
  local s_, n = 0, 0
  for i = math.max(1, a_), math.min(#recs, b_) do s_ = s_ + recs[i].loss; n = n + 1 end
  return n > 0 and s_ / n or 0
end
local tcfg = { vocab_size = V, hidden_size = 128, num_hidden_layers = 4, num_attention_heads = 4, intermediate_size = 512,
               max_position_embeddings = L }
local teacher = rt.model.new(tcfg, { seed = seed })
if not exists(OUT .. "/teacher/config.json") then
local D = rt.data.pregenerated_arrays(OUT .. "/mlm_data/epoch_0.json", tok, L)
local mb = 32
-- MLM logits only at the masked positions, decoder tied to the word embeddings (no
-- transform/bias): a few minutes on one core instead of a full [B*L, V] head
local function batches(epoch)
  local perm = Trainer.permutation(D.n, seed + epoch)
  return setmetatable({}, { __len = function() return D.n // mb end, __index = function(_, i)
    local idx = {}
    for j = (i - 1) * mb + 1, i * mb do idx[#idx + 1] = perm[j] - 1 end
    local it = rt.tensor(idx, "i64")
    local lab = D.lm_label_ids:index_select(1, it)
    local rows, ys = {}, {}
    for r, row in ipairs(lab:totable()) do
      for c, y in ipairs(row) do
        if y >= 0 then rows[#rows + 1] = (r - 1) * L + (c - 1); ys[#ys + 1] = y end
      end
    end
    return { input_ids = D.input_ids:index_select(1, it), token_type_ids = D.segment_ids:index_select(1, it),
             attention_mask = D.input_mask:index_select(1, it), rows = rt.tensor(rows, "i64"), ys = rt.tensor(ys, "i64"),
             size = mb }
  end })
end
local E = teacher:named_parameters()["bert.embeddings.word_embeddings.weight"]
local tsteps = tonumber(o.teacher_steps)
local t0 = now()
local tt = Trainer.new {
  model = teacher, train_batches = batches, epochs = 100, max_steps = tsteps, seed = seed, progress = false,
  optim = { name = "adamw", lr = 1e-3, weight_decay = 0.01, warmup = 0.06, schedule = "warmup_linear", total_steps = tsteps },
  output_dir = OUT .. "/teacher_run", save_every = 100, keep_last = 1, resume = true, desc = "teacher",
  step_fn = function(m, b)
    local out = m:forward { input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask }
    local h = out.hidden_states[#out.hidden_states]:reshape(mb * L, 128):index_select(1, b.rows)
    return rt.F.cross_entropy(rt.matmul(h, E:t()), b.ys), nil, mb * L, mb
  end,
}
local ts = tt:fit()
if ts.step < tsteps then error("evidence: teacher stopped at step " .. ts.step .. " (" .. tostring(ts.stopped) .. ")", 0) end
local tl = read_log(OUT .. "/teacher_run/log.jsonl")
report.teacher = { steps = ts.step, seconds = now() - t0, mlm_loss_first50 = mean_loss(tl, 1, 50),
                   mlm_loss_last50 = mean_loss(tl, #tl - 49, #tl) }
teacher:save(OUT .. "/teacher")
tok:save(OUT .. "/teacher/vocab.txt")
end
local tl = read_log(OUT .. "/teacher_run/log.jsonl")
report.teacher = { steps = #tl, mlm_loss_first50 = mean_loss(tl, 1, 50), mlm_loss_last50 = mean_loss(tl, #tl - 49, #tl),
                   seconds = report.teacher and report.teacher.seconds }
print(string.format("evidence: teacher %d steps in %s s, MLM loss %.3f -> %.3f", report.teacher.steps, tostring(report.teacher.seconds),
  report.teacher.mlm_loss_first50, report.teacher.mlm_loss_last50))
collectgarbage()

-- 4. general distillation into a 2-layer student
local scfg = { vocab_size = V, hidden_size = 64, num_hidden_layers = 2, num_attention_heads = 4, intermediate_size = 256,
               max_position_embeddings = L }
mkdir(OUT .. "/student_config")
rt.log.write_json(OUT .. "/student_config/config.json", scfg)
t0 = now()
local gargs = {
  "--pregenerated_data", OUT .. "/gd_data", "--teacher_model", OUT .. "/teacher", "--student_model", OUT .. "/student_config",
  "--output_dir", OUT .. "/distill", "--train_batch_size", "32", "--learning_rate", o.distill_lr,
  "--num_train_epochs", o.distill_epochs, "--max_seq_length", tostring(L), "--eval_step", "200", "--do_lower_case",
  "--progress", "false", "--seed", tostring(seed), "--resume" }
if o.distill_max_steps then gargs[#gargs + 1] = "--max_steps"; gargs[#gargs + 1] = o.distill_max_steps end
local gd = loadfile("lua/recipes/general_distill.lua")(table.unpack(gargs))
local gl = read_log(OUT .. "/distill/log.jsonl")
local function mean_key(recs, k, a_, b_)
  local s, n = 0, 0
  for i = math.max(1, a_), math.min(#recs, b_) do s = s + recs[i][k]; n = n + 1 end
  return n > 0 and s / n or 0
end
report.distill = { steps = gd.step, seconds = now() - t0,
  att_first20 = mean_key(gl, "att", 1, 20), att_last20 = mean_key(gl, "att", #gl - 19, #gl),
  rep_first20 = mean_key(gl, "rep", 1, 20), rep_last20 = mean_key(gl, "rep", #gl - 19, #gl) }
print(string.format("evidence: distillation %d steps in %.0f s: att %.4f -> %.4f, rep %.4f -> %.4f", gd.step,
  report.distill.seconds, report.distill.att_first20, report.distill.att_last20, report.distill.rep_first20,
  report.distill.rep_last20))
if rt.plot and rt.plot.available() then
  rt.plot.curves { log = OUT .. "/distill/log.jsonl", out = OUT .. "/distill_curves.png", keys = { "att", "rep" },
                   title = "general distillation: att and rep loss", smooth = 0.9, logy = true }
  report.plot = OUT .. "/distill_curves.png"
end

-- 5. ablation: fine-tune distilled vs random-init student on the fortune topic task
local train, test = {}, {}
for id, name in ipairs(LABELS) do
  local entries = {}
  for _, e in ipairs(read_entries(o.fortune_dir .. "/" .. name) or {}) do
    local t = table.concat(e, " ")
    if #t >= 10 then entries[#entries + 1] = t end
  end
  local perm = Trainer.permutation(#entries, seed + id)
  local n = math.min(350, #entries)
  local ntest = math.floor(n * 0.2 + 0.5)
  for j = 1, n do
    local ex = { text = entries[perm[j]], label = id - 1 }
    if j <= ntest then test[#test + 1] = ex else train[#train + 1] = ex end
  end
end
local function collate(list)
  local xs, y = {}, {}
  for i, e in ipairs(list) do xs[i] = e.text; y[i] = e.label end
  local b = tok:batch({ xs, max_len = L, pad = "longest" })
  b.labels = rt.tensor(y, "i64"); b.size = #list
  return b
end
local gold = {}
for i, e in ipairs(test) do gold[i] = e.label end
local function accuracy(m)
  local preds = {}
  rt.no_grad(function()
    for s = 1, #test, 64 do
      local list = {}
      for j = s, math.min(s + 63, #test) do list[#list + 1] = test[j] end
      local b = collate(list)
      local out = m:forward { input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask }
      for _, pr in ipairs(M.argmax(out.logits)) do preds[#preds + 1] = pr end
    end
  end)
  return M.accuracy(preds, gold)
end
local function finetune(model, name)
  local t1 = now()
  local tr = Trainer.new {
    model = model, train = train, collate = collate, batch_size = 32, epochs = tonumber(o.ft_epochs), seed = seed,
    progress = false, output_dir = OUT .. "/ft_" .. name, save_every = false, desc = name,
    optim = { name = "adamw", lr = tonumber(o.ft_lr), weight_decay = 0.01, warmup = 0.1, schedule = "warmup_linear" },
    step_fn = function(m, b)
      local out = m:forward { input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask,
                              labels = b.labels }
      return out.loss, nil, b.attention_mask:sum():item(), b.size
    end,
    eval = { name = "test", fn = function(m) return { acc = accuracy(m) } end }, metric = "acc", save_best = false,
  }
  local s = tr:fit()
  model:eval()
  return { final_acc = accuracy(model), best_acc = s.best, steps = s.step, seconds = now() - t1 }
end
local rcfg = {}
for k, v in pairs(scfg) do rcfg[k] = v end
rcfg.heads = { "classifier" }; rcfg.num_labels = #LABELS
local counts = {}
for _, e in ipairs(test) do counts[e.label] = (counts[e.label] or 0) + 1 end
local maj = 0
for _, c in pairs(counts) do maj = math.max(maj, c) end
report.finetune = { train = #train, test = #test, majority_baseline = maj / #test, epochs = tonumber(o.ft_epochs),
                    lr = tonumber(o.ft_lr), runs = {} }
local acc = { distilled = {}, random = {} }
for sd in tostring(o.ft_seeds or seed):gmatch("%d+") do
  local fs = tonumber(sd)
  seed = fs
  rt.manual_seed(fs)
  local distilled = rt.model.load(OUT .. "/distill", { heads = { "classifier" }, num_labels = #LABELS, quiet = true })
  local rd = finetune(distilled, "distilled")
  local random = rt.model.new(rcfg, { seed = fs })
  local rr = finetune(random, "random")
  report.finetune.runs[#report.finetune.runs + 1] = { seed = fs, distilled = rd, random = rr }
  acc.distilled[#acc.distilled + 1] = rd.final_acc
  acc.random[#acc.random + 1] = rr.final_acc
  print(string.format("evidence: fine-tuning seed %d (%d train / %d test, %d steps, lr %g): distilled acc %.3f (best %.3f), "
    .. "random-init acc %.3f (best %.3f)", fs, #train, #test, rd.steps, tonumber(o.ft_lr), rd.final_acc, rd.best_acc,
    rr.final_acc, rr.best_acc))
end
local function ms(v)
  local m = 0
  for _, x in ipairs(v) do m = m + x end
  m = m / #v
  local q = 0
  for _, x in ipairs(v) do q = q + (x - m) ^ 2 end
  return m, #v > 1 and math.sqrt(q / (#v - 1)) or 0
end
local dm, dsd = ms(acc.distilled)
local rm, rsd = ms(acc.random)
report.finetune.distilled_mean, report.finetune.distilled_sd = dm, dsd
report.finetune.random_mean, report.finetune.random_sd = rm, rsd
print(string.format("evidence: fine-tuning over %d seeds: distilled %.3f +- %.3f, random init %.3f +- %.3f, majority %.3f",
  #acc.distilled, dm, dsd, rm, rsd, maj / #test))
report.seconds = now() - t_all
rt.log.write_json(OUT .. "/evidence" .. (o.tag and ("_" .. o.tag) or "") .. ".json", report)
print("evidence: " .. OUT .. "/evidence" .. (o.tag and ("_" .. o.tag) or "") .. ".json")
