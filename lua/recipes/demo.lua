-- demo.lua — what `make run` runs: topic classification of Unix fortune cookies.
--
-- Builds a data set from Debian's `fortunes` package (each collection in
-- /usr/share/games/fortunes is a label: computers, science, politics, food, love,
-- sports; lua/retort/fortunes.lua), learns a WordPiece vocabulary on the training split, trains a small
-- BERT classifier from scratch with the Trainer, evaluates it on a held-out split
-- and saves it. Prints accuracy next to the majority-class baseline.
--
--   retort lua/recipes/demo.lua [--output_dir build/demo] [--epochs 12] [--per_class 350]
local rt = rt or require "retort"
local M = rt.metrics
local Trainer = require "retort.trainer"

local defaults = {
  fortune_dir = "/usr/share/games/fortunes",
  labels = "computers,science,politics,food,love,sports",
  per_class = "350", test_fraction = "0.2", seed = "1234",
  output_dir = "build/demo", epochs = "8", batch_size = "32", lr = "1e-3",
  max_len = "64", hidden = "128", layers = "2", heads = "4", vocab_size = "3000", threads = nil,
}

local function parse(args)
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  local i = 1
  while i <= #args do
    local k = args[i]:match("^%-%-([%w_]+)$")
    if args[i] == "--help" then
      print("usage: retort lua/recipes/demo.lua [--key value]...\noptions (defaults):")
      local ks = {}
      for key in pairs(defaults) do ks[#ks + 1] = key end
      table.sort(ks)
      for _, key in ipairs(ks) do print(string.format("  --%-14s %s", key, tostring(defaults[key]))) end
      os.exit(0)
    end
    if not k or args[i + 1] == nil then error("demo: bad argument '" .. tostring(args[i]) .. "'", 0) end
    o[k] = args[i + 1]
    i = i + 2
  end
  return o
end

---------------------------------------------------------------------------
-- data and vocabulary: lua/retort/fortunes.lua (shared with tinybert.lua)
---------------------------------------------------------------------------
local Fortunes = require "retort.fortunes"

local function build_dataset(o)
  return Fortunes.build({ fortune_dir = o.fortune_dir, labels = o.labels, per_class = o.per_class,
                          test_fraction = o.test_fraction, seed = o.seed })
end

local function make_vocab(texts, o) return Fortunes.vocab(texts, tonumber(o.vocab_size)) end

---------------------------------------------------------------------------
-- main
---------------------------------------------------------------------------
local function main(args)
  local o = parse(args)
  if o.threads then rt.set_threads(tonumber(o.threads)) end
  local t_start = rt._optim.now()
  local seed = tonumber(o.seed)
  rt.manual_seed(seed)
  local train, test, labels = build_dataset(o)
  local texts = {}
  for i, e in ipairs(train) do texts[i] = e.text end
  local vocab, how = make_vocab(texts, o)
  local tok = rt.tokenizer.load(vocab, { lower = true })
  print(string.format("demo: %d training and %d test fortunes, labels %s; vocabulary %d entries (%s)",
    #train, #test, table.concat(labels, "/"), tok:vocab_size(), how))

  local H = tonumber(o.hidden)
  local max_len = tonumber(o.max_len)
  local model = rt.model.new({
    vocab_size = tok:vocab_size(), hidden_size = H, num_hidden_layers = tonumber(o.layers),
    num_attention_heads = tonumber(o.heads), intermediate_size = 2 * H, hidden_act = "gelu",
    max_position_embeddings = max_len, type_vocab_size = 2, hidden_dropout_prob = 0.1,
    attention_probs_dropout_prob = 0.1, initializer_range = 0.02,
    heads = { "classifier" }, num_labels = #labels,
  }, { seed = seed })

  local function collate(list)
    local a, y = {}, {}
    for i, e in ipairs(list) do a[i] = e.text; y[i] = e.label end
    local b = tok:batch({ a, max_len = max_len, pad = "longest" })
    b.labels = rt.tensor(y, "i64")
    b.size = #list
    return b
  end
  local function predict(m, examples)
    local preds = {}
    rt.no_grad(function()
      for s = 1, #examples, 64 do
        local list = {}
        for j = s, math.min(s + 63, #examples) do list[#list + 1] = examples[j] end
        local b = collate(list)
        local out = m:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids,
                                attention_mask = b.attention_mask })
        for _, p in ipairs(M.argmax(out.logits)) do preds[#preds + 1] = p end
      end
    end)
    return preds
  end
  local gold = {}
  for i, e in ipairs(test) do gold[i] = e.label end

  local epochs = tonumber(o.epochs)
  local tr = Trainer.new({
    model = model, train = train, collate = collate, batch_size = tonumber(o.batch_size),
    epochs = epochs, seed = seed, output_dir = o.output_dir, desc = "demo",
    optim = { name = "adamw", lr = tonumber(o.lr), weight_decay = 0.01, warmup = 0.1, schedule = "warmup_linear" },
    step_fn = function(m, b)
      local out = m:forward({ input_ids = b.input_ids, token_type_ids = b.token_type_ids,
                              attention_mask = b.attention_mask, labels = b.labels })
      return out.loss, nil, b.attention_mask:sum():item(), b.size
    end,
    eval = { name = "test", fn = function(m) return { acc = M.accuracy(predict(m, test), gold) } end },
    metric = "acc", keep_last = 1,
    save_best = function(m, dir) m:save(dir); tok:save(dir .. "/vocab.txt") end,
  })
  local summary = tr:fit()
  if summary.stopped == "nonfinite" then error("demo: " .. tostring(summary.error), 0) end

  -- final evaluation of the model as trained
  model:eval()
  local preds = predict(model, test)
  local acc = M.accuracy(preds, gold)
  local _, _, macro_f1, per = M.precision_recall_f1(preds, gold, { average = "macro" })
  local counts = {}
  for _, e in ipairs(train) do counts[e.label] = (counts[e.label] or 0) + 1 end
  local maj, majn = 0, -1
  for l, n in pairs(counts) do if n > majn or (n == majn and l < maj) then maj, majn = l, n end end
  local base = {}
  for i = 1, #test do base[i] = maj end
  local base_acc = M.accuracy(base, gold)
  local final_dir = o.output_dir .. "/model"
  model:save(final_dir)
  tok:save(final_dir .. "/vocab.txt")

  local lines = {}
  local function add(s) lines[#lines + 1] = s end
  add("")
  add("  fortune topic classification (held-out test split)")
  add("  " .. string.rep("-", 50))
  add(string.format("  %-14s %8s %8s %8s %8s", "label", "support", "prec", "recall", "f1"))
  for _, e in ipairs(per) do
    add(string.format("  %-14s %8d %8.3f %8.3f %8.3f", labels[e.label + 1], e.support, e.precision, e.recall, e.f1))
  end
  add("  " .. string.rep("-", 50))
  add(string.format("  %-38s%8.3f", "accuracy", acc))
  add(string.format("  %-38s%8.3f", "macro F1", macro_f1))
  add(string.format("  %-38s%8.3f", "majority-class baseline (" .. labels[maj + 1] .. ")", base_acc))
  add(string.format("  %-38s%8.3f (step %s)", "best accuracy during training", summary.best or 0, tostring(summary.best_step)))
  add(string.format("  %d steps, %d epochs, %.1f s; model saved to %s", summary.step, epochs,
    rt._optim.now() - t_start, final_dir))
  print(table.concat(lines, "\n"))
  if acc <= base_acc then print("  (accuracy is not above the baseline: something is wrong)") end
  return { acc = acc, baseline = base_acc, macro_f1 = macro_f1, summary = summary }
end

local args = { ... }
if #args == 0 and arg and arg[0] and arg[0]:find("demo.lua", 1, true) then
  for i = 1, #arg do args[i] = arg[i] end
end
return main(args)
