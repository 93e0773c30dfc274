-- Shared by the task distillation tests: a synthetic MNLI-format task (a pair task with
-- three labels decided by a cue word in the hypothesis), a word vocabulary and a small
-- teacher fine-tuned on it with lua/recipes/finetune.lua logic, built once per process
-- into a temporary folder.
local F = {}
local Trainer = require "retort.trainer"

local WORDS = { "the", "cat", "dog", "sat", "ran", "on", "a", "mat", "park", "big", "small", "red",
  "blue", "house", "tree", "bird", "sang", "ate", "fish", "man", "woman", "saw", "it", "was" }
local CUES = { contradiction = "never", entailment = "indeed", neutral = "perhaps" }
local LABELS = { "contradiction", "entailment", "neutral" }

local function sentence(rng, n)
  local t = {}
  for i = 1, n do t[i] = WORDS[rng() % #WORDS + 1] end
  return t
end

-- MNLI layout: 12 columns, text_a = 9th, text_b = 10th, label = last; header line
local function write_split(path, n, seed, genre)
  local s = seed
  local function rng() s = (s * 1103515245 + 12345) % 2147483648; return s >> 8 end
  local lines = { "index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label" }
  for i = 1, n do
    local lab = LABELS[rng() % 3 + 1]
    local a = table.concat(sentence(rng, 4 + rng() % 4), " ")
    local h = sentence(rng, 3 + rng() % 3)
    table.insert(h, rng() % #h + 1, CUES[lab])
    lines[#lines + 1] = table.concat({ i, i, i, genre, "x", "x", "x", "x", a, table.concat(h, " "), lab, lab }, "\t")
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

function F.vocab()
  local v = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
  for _, w in ipairs(WORDS) do v[#v + 1] = w end
  for _, w in pairs(CUES) do v[#v + 1] = w end
  table.sort(v, function(a, b) return a < b end)
  -- specials first, in the usual order
  local out = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
  for _, w in ipairs(v) do if not w:match("^%[") then out[#out + 1] = w end end
  return out
end

-- STS-B layout: header, text_a = 8th column, text_b = 9th, score = last
local function write_stsb(path, n, seed)
  local s = seed
  local function rng() s = (s * 1103515245 + 12345) % 2147483648; return s >> 8 end
  local score = { contradiction = "0.0", entailment = "5.0", neutral = "2.5" }
  local lines = { "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore" }
  for i = 1, n do
    local lab = LABELS[rng() % 3 + 1]
    local a = table.concat(sentence(rng, 4 + rng() % 4), " ")
    local h = sentence(rng, 3 + rng() % 3)
    table.insert(h, rng() % #h + 1, CUES[lab])
    lines[#lines + 1] = table.concat({ i, "x", "x", "x", i, "x", "x", a, table.concat(h, " "), score[lab] }, "\t")
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

--- F.task_stsb(dir) -> an STS-B-format data dir (train 192, dev 60): the cue word sets the score
function F.task_stsb(dir)
  rt.sys.mkdir(dir)
  write_stsb(dir .. "/train.tsv", 192, 21)
  write_stsb(dir .. "/dev.tsv", 60, 22)
  return dir
end

--- F.task(dir) -> data dir with train.tsv (192), dev_matched.tsv (60), dev_mismatched.tsv (48)
function F.task(dir)
  rt.sys.mkdir(dir)
  write_split(dir .. "/train.tsv", 192, 11, "fiction")
  write_split(dir .. "/dev_matched.tsv", 60, 12, "fiction")
  write_split(dir .. "/dev_mismatched.tsv", 48, 13, "travel")
  return dir
end

local function write_vocab(path)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(F.vocab(), "\n"), "\n")
  f:close()
end

--- F.build() -> {root, data, teacher, student, vocab} (cached for the process)
function F.build()
  if F.cached then return F.cached end
  local root = os.tmpname(); os.remove(root)
  rt.sys.mkdir(root)
  local data = F.task(root .. "/data")
  local vocab = root .. "/vocab.txt"
  write_vocab(vocab)
  -- teacher: fine-tuned from scratch (2 layers, hidden 32, 4 heads)
  local ft = assert(loadfile("lua/recipes/finetune.lua"))
  local tdir = root .. "/teacher_run"
  ft("--from_scratch", "--task", "mnli", "--data_dir", data, "--vocab_file", vocab, "--output_dir", tdir,
    "--max_seq_length", "16", "--train_batch_size", "16", "--num_train_epochs", "12", "--learning_rate", "1e-3",
    "--optimizer", "adamw", "--hidden_size", "32", "--num_hidden_layers", "2", "--num_attention_heads", "4",
    "--dropout", "0", "--progress", "false", "--seed", "3")
  local teacher = root .. "/teacher"
  os.rename(tdir .. "/best", teacher)
  local f = assert(io.open(teacher .. "/label_list.txt", "w"))
  f:write("contradiction\nentailment\nneutral\n")
  f:close()
  -- student: 1 layer, hidden 16, 4 heads, fit_dense -> 32, random init (a "general" student)
  local student = root .. "/student"
  local m = rt.model.new({ vocab_size = #F.vocab(), hidden_size = 16, num_hidden_layers = 1, num_attention_heads = 4,
    intermediate_size = 32, max_position_embeddings = 64, fit_size = 32, hidden_dropout_prob = 0,
    attention_probs_dropout_prob = 0 }, { seed = 5 })
  m:save(student)
  write_vocab(student .. "/vocab.txt")
  F.cached = { root = root, data = data, teacher = teacher, student = student, vocab = vocab }
  return F.cached
end

function F.cleanup()
  if F.cached then Trainer.remove_tree(F.cached.root); F.cached = nil end
end

return F
