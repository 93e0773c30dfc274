-- pretrain_fortunes.lua — evidence for the pretraining pipeline on Debian's fortunes.
--
--   retort scripts/experiments/pretrain_fortunes.lua stats [--out DIR]
--     create_pretraining_data statistics: English fortunes (cased English vocab), Chinese
--     fortunes-zh per character and with whole-word masking (jieba's dict.txt from
--     python3-jieba as --segmenter_dict): mask rate, 80/10/10, NSP balance, length
--     histogram, share of masked positions whose whole word is masked, MB/s.
--   retort scripts/experiments/pretrain_fortunes.lua pretrain [--out DIR] [--steps N] [--threads 1]
--     pretrain a small NEZHA (relative positions, 2 x 128) on the English fortunes outside the
--     demo's six topic collections (own WordPiece vocabulary of 4000), plot MLM/NSP accuracy;
--   retort scripts/experiments/pretrain_fortunes.lua finetune [--out DIR] [--epochs 8] [--lr 1e-3]
--     then fine-tune on the demo's topic task from the pretrained weights and from random
--     initialisation (same vocabulary, model, data, budget and seed). Separate processes.
local rt = rt or require "retort"
local Trainer = require "retort.trainer"
local FORT = "/usr/share/games/fortunes"
local SEED = os.getenv("RETORT_SEED") or "../shared/seed"
local TOPICS = { "computers", "science", "politics", "food", "love", "sports" }

local function opt(args, name, def)
  for i, a in ipairs(args) do
    if a == "--" .. name then return args[i + 1] end
    local v = a:match("^%-%-" .. name .. "=(.*)$")
    if v then return v end
  end
  return def
end

local function read(p) local f = io.open(p, "rb"); if not f then return nil end local s = f:read("a"); f:close(); return s end

-- fortune files -> one fortune per document (each line a sentence), "%" -> blank line
local function corpus(files, path)
  local out = {}
  for _, f in ipairs(files) do
    local s = read(f)
    if s then
      for entry in (s .. "\n%\n"):gmatch("(.-)\n%%\n") do
        entry = entry:gsub("\27%[[%d;]*m", "")              -- ANSI colours in fortunes-zh
        for line in entry:gmatch("[^\n]+") do
          if line:match("%S") then out[#out + 1] = line end
        end
        out[#out + 1] = ""
      end
    end
  end
  rt.sys.atomic_write(path, table.concat(out, "\n") .. "\n")
  return path
end

local function english_files(exclude)
  local skip = {}
  for _, t in ipairs(exclude or {}) do skip[t] = true end
  local files = {}
  for _, e in ipairs(rt.sys.listdir(FORT) or {}) do
    if not e:find("%.") and e ~= "chinese" and not skip[e] and not rt.sys.isdir(FORT .. "/" .. e) then
      files[#files + 1] = FORT .. "/" .. e
    end
  end
  table.sort(files)
  return files
end

local function summarize(name, s, S)
  local pct = {}
  local cum, tot = 0, s.instances
  local marks = { 0.1, 0.5, 0.9 }
  local k = 1
  for L = 0, S do
    cum = cum + s.len_hist[L + 1]
    while k <= #marks and cum >= marks[k] * tot do pct[k] = L; k = k + 1 end
  end
  local buckets = {}
  for b = 0, (S - 1) // 16 do
    local c, hi = 0, b * 16 + 15
    if hi >= S - 1 then hi = S end
    for L = b * 16, hi do c = c + s.len_hist[L + 1] end
    buckets[#buckets + 1] = string.format("%d-%d:%d", b * 16, hi, c)
  end
  local full = s.len_hist[S + 1]
  print(string.format("%-22s %8d inst  mask %.4f  [MASK]/keep/rand %.3f/%.3f/%.3f  random-next %.3f  whole-word %.4f  " ..
    "len p10/p50/p90 %d/%d/%d full %.3f  %.2f MB in %.2fs (cpu %.2fs) = %.2f MB/s (%.2f cpu)",
    name, s.instances, s.mask_rate, s.frac_mask, s.frac_keep, s.frac_random, s.random_next_rate, s.whole_word_share,
    pct[1] or 0, pct[2] or 0, pct[3] or 0, full / tot, s.bytes_read / 1e6, s.seconds, s.cpu_seconds, s.mb_s, s.mb_s_cpu))
  print("    length histogram " .. table.concat(buckets, " "))
  return { name = name, instances = s.instances, mask_rate = s.mask_rate, frac_mask = s.frac_mask, frac_keep = s.frac_keep,
           frac_random = s.frac_random, random_next = s.random_next_rate, whole_word_share = s.whole_word_share,
           p10 = pct[1], p50 = pct[2], p90 = pct[3], full = full / tot, mb = s.bytes_read / 1e6, seconds = s.seconds,
           mb_s = s.mb_s, cpu_seconds = s.cpu_seconds, mb_s_cpu = s.mb_s_cpu, len_hist = s.len_hist }
end

local function stats(args)
  local out = opt(args, "out", "build/pretrain_evidence")
  rt.sys.mkdir(out)
  local en = corpus(english_files(), out .. "/fortunes_en.txt")
  local zh = corpus({ FORT .. "/chinese" }, out .. "/fortunes_zh.txt")
  local dict = opt(args, "dict", "/usr/lib/python3/dist-packages/jieba/dict.txt")
  local res = {}
  local function run(name, o)
    o.progress = false
    o.output_file = out .. "/" .. name .. ".tfrecord"
    local s = rt.pretrain.create(o)
    res[#res + 1] = summarize(name, s, o.max_seq_length or 128)
  end
  local dupe = tonumber(opt(args, "dupe_factor", "5"))
  run("en", { input_file = en, vocab_file = SEED .. "/nezha-en-base/vocab.txt", do_lower_case = false, dupe_factor = dupe })
  run("en_wwm", { input_file = en, vocab_file = SEED .. "/nezha-en-base/vocab.txt", do_lower_case = false,
                  dupe_factor = dupe, do_whole_word_mask = true })
  run("en_fast_rng", { input_file = en, vocab_file = SEED .. "/nezha-en-base/vocab.txt", do_lower_case = false,
                       dupe_factor = dupe, rng = "fast" })
  local have_dict = rt.sys.exists(dict)
  local zhv = SEED .. "/nezha-cn-base/vocab.txt"
  run("zh_chars", { input_file = zh, vocab_file = zhv, dupe_factor = dupe, segmenter_dict = have_dict and dict or nil })
  if have_dict then
    run("zh_wwm", { input_file = zh, vocab_file = zhv, dupe_factor = dupe, do_whole_word_mask = true, segmenter_dict = dict })
  else
    print("zh_wwm: skipped, no dictionary at " .. dict .. " (apt-get install python3-jieba, or --dict)")
  end
  rt.log.write_json(out .. "/stats.json", res)
  print("wrote " .. out .. "/stats.json")
end

---------------------------------------------------------------------------
-- learn: pretrain, plot, fine-tune vs random init
---------------------------------------------------------------------------
local function topic_data(seed)
  local train, test = {}, {}
  for id, name in ipairs(TOPICS) do
    local s = read(FORT .. "/" .. name)
    local entries = {}
    for entry in (s .. "\n%\n"):gmatch("(.-)\n%%\n") do
      local t = entry:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
      if utf8.len(t) and #t >= 10 then entries[#entries + 1] = t end
    end
    local perm = Trainer.permutation(#entries, seed + id)
    local n = math.min(350, #entries)
    local ntest = math.floor(n * 0.2 + 0.5)
    for j = 1, n do
      local ex = { text = entries[perm[j]], label = id - 1 }
      if j <= ntest then test[#test + 1] = ex else train[#train + 1] = ex end
    end
  end
  return train, test
end

local function finetune(model, tok, train, test, o)
  local max_len = 64
  local function collate(list)
    local a, y = {}, {}
    for i, e in ipairs(list) do a[i] = e.text; y[i] = e.label end
    local b = tok:batch({ a, max_len = max_len, pad = "longest" })
    b.labels = rt.tensor(y, "i64")
    b.size = #list
    return b
  end
  local function accuracy(m)
    local hit = 0
    rt.no_grad(function()
      for s = 1, #test, 64 do
        local list = {}
        for j = s, math.min(s + 63, #test) do list[#list + 1] = test[j] end
        local b = collate(list)
        local out = m:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids, attention_mask = b.attention_mask })
        local p = out.logits:argmax(2)
        for i = 1, #list do if p[i]:item() == list[i].label then hit = hit + 1 end end
      end
    end)
    return hit / #test
  end
  local tr = Trainer.new({
    model = model, train = train, collate = collate, batch_size = 32, epochs = o.epochs, seed = o.seed,
    desc = o.desc, progress = false,
    optim = { name = "adamw", lr = o.lr, weight_decay = 0.01, warmup = 0.1, schedule = "warmup_linear" },
    step_fn = function(m, b)
      local out = m:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids,
                              attention_mask = b.attention_mask, labels = b.labels })
      return out.loss, nil, b.attention_mask:sum():item(), b.size
    end,
    eval = { name = "test", fn = function(m) return { acc = accuracy(m) } end }, metric = "acc",
    output_dir = o.output_dir, save_best = false, save_every = false,
  })
  tr:fit()
  model:eval()
  local evals = {}
  for _, e in ipairs(tr.evals) do evals[#evals + 1] = e.acc end
  return accuracy(model), evals
end

local function pretrain(args)
  local out = opt(args, "out", "build/pretrain_evidence")
  local steps = tonumber(opt(args, "steps", "1500"))
  local threads = tonumber(opt(args, "threads", "1"))
  rt.set_threads(threads)
  rt.sys.mkdir(out)
  local resume = rt.sys.exists(out .. "/pretrain.tfrecord") and rt.sys.exists(out .. "/bert_config.json")
  local en = out .. "/pretrain_corpus.txt"
  if not resume then en = corpus(english_files(TOPICS), en) end
  local lines = {}
  for l in io.lines(en) do if l ~= "" then lines[#lines + 1] = l end end
  local s = { instances = -1 }
  if not resume then     -- a second call continues the interrupted pretraining (--resume)
    local n = rt.vocab.build_wordpiece({ lines = lines }, { size = 4000, lower = true, min_frequency = 2, out = out .. "/vocab.txt" })
    print(string.format("pretraining corpus: %d lines (fortunes outside %s); vocab %s", #lines, table.concat(TOPICS, ","),
      tostring(type(n) == "table" and #n or n)))
    s = rt.pretrain.create{ input_file = en, output_file = out .. "/pretrain.tfrecord", vocab_file = out .. "/vocab.txt",
      max_seq_length = 64, max_predictions_per_seq = 10, dupe_factor = 2, progress = false }
    print(string.format("instances %d (seq 64, 10 predictions, dupe 2) in %.1fs", s.instances, s.seconds))
  end
  local tok = rt.tokenizer.load(out .. "/vocab.txt", { lower = true })
  local cfg = { vocab_size = tok:vocab_size(), hidden_size = 128, num_hidden_layers = 2, num_attention_heads = 4,
                intermediate_size = 256, hidden_act = "gelu", use_relative_position = true, max_relative_position = 64,
                max_position_embeddings = 512, type_vocab_size = 2 }
  rt.log.write_json(out .. "/bert_config.json", cfg)
  local recipe = assert(loadfile("lua/recipes/pretrain.lua"))
  local t0 = rt.sys.now()
  local r = recipe("--bert_config_file=" .. out .. "/bert_config.json", "--input_file=" .. out .. "/pretrain.tfrecord",
    "--output_dir=" .. out .. "/pretrained", "--do_train=True", "--do_eval=True", "--train_batch_size=32",
    "--max_seq_length=64", "--max_predictions_per_seq=10", "--num_train_steps=" .. steps,
    "--num_warmup_steps=" .. math.floor(steps / 10), "--learning_rate=2e-3", "--save_checkpoints_steps=100",
    "--save_formats=safetensors", "--threads=" .. threads, "--progress=false", "--seed=1", "--resume=" .. tostring(resume))
  local secs = rt.sys.now() - t0
  if r.stopped then print("interrupted at step " .. r.step .. ": run the same command again to continue"); return end
  print(string.format("pretrained %d steps in %.0fs: eval MLM acc %.4f, NSP acc %.4f, loss %.4f", r.step, secs,
    r.eval.masked_lm_accuracy, r.eval.next_sentence_accuracy, r.eval.loss))
  if rt.plot.available() then
    rt.plot.curves{ log = out .. "/pretrained/log.jsonl", out = out .. "/pretrain_accuracy.png",
                    keys = { "mlm_acc", "nsp_acc" }, smooth = 0.95, title = "NEZHA 2x128 on fortunes: MLM / NSP accuracy" }
    rt.plot.curves{ log = out .. "/pretrained/log.jsonl", out = out .. "/pretrain_loss.png",
                    keys = { "mlm_loss", "nsp_loss", y2 = { "lr" } }, smooth = 0.95, title = "pretraining losses" }
  end
  rt.log.write_json(out .. "/pretrain.json", { steps = r.step, seconds = secs, eval = r.eval, instances = s.instances })
end

local function finetune_both(args)
  local out = opt(args, "out", "build/pretrain_evidence")
  rt.set_threads(tonumber(opt(args, "threads", "1")))
  local train, test = topic_data(1234)
  local tok = rt.tokenizer.load(out .. "/vocab.txt", { lower = true })
  local cfg = rt.log.read_json(out .. "/bert_config.json")
  local res = { pretrain = rt.log.read_json(out .. "/pretrain.json") }
  local ft = { epochs = tonumber(opt(args, "epochs", "8")), lr = tonumber(opt(args, "lr", "1e-3")), seed = 1 }
  for _, init in ipairs { "pretrained", "random" } do
    local m
    if init == "pretrained" then
      m = rt.model.load(out .. "/pretrained", { heads = { "classifier" }, num_labels = #TOPICS, quiet = true })
    else
      local c = {}
      for k, v in pairs(cfg) do c[k] = v end
      c.heads = { "classifier" }; c.num_labels = #TOPICS
      m = rt.model.new(c, { seed = 1 })
    end
    rt.manual_seed(1)
    local f = {}
    for k, v in pairs(ft) do f[k] = v end
    f.desc = init
    local acc, curve = finetune(m, tok, train, test, f)
    print(string.format("topic task from %-10s (lr %g): test accuracy %.4f (per epoch %s)", init, ft.lr, acc,
      table.concat((function() local t = {} for i, a in ipairs(curve) do t[i] = string.format("%.3f", a) end return t end)(), " ")))
    res[init] = { acc = acc, curve = curve }
  end
  rt.log.write_json(out .. "/learn_lr" .. tostring(ft.lr) .. ".json", res)
end

local mode = arg and arg[1] or "stats"
local rest = {}
for i = 2, #(arg or {}) do rest[#rest + 1] = arg[i] end
if mode == "stats" then stats(rest) elseif mode == "pretrain" then pretrain(rest)
elseif mode == "finetune" then finetune_both(rest)
else io.stderr:write("usage: pretrain_fortunes.lua stats|pretrain|finetune [--out DIR]\n"); os.exit(2) end
