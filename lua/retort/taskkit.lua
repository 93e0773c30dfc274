-- retort.taskkit: the pieces ner.lua and cmrc.lua share (model from a checkpoint
-- or from scratch, the optimizer of the TF fine-tuning scripts, teacher checks
-- for task distillation, the shared flag rows). Internal; the public entry points
-- are rt.tasks.ner and rt.tasks.cmrc.
local rt = require "retort"
local M = {}

--- SCRATCH_FLAGS: the flag rows both recipes end with (a model from scratch, threads,
--- progress); append_flags(spec, rows) adds them to a recipe's flag table.
M.SCRATCH_FLAGS = {
  { "from_scratch", false, "random initialisation (size from --bert_config_file or the flags below)", type = "bool" },
  { "hidden_size", 64, "--from_scratch: hidden size", type = "int" },
  { "num_hidden_layers", 2, "--from_scratch: layers", type = "int" },
  { "num_attention_heads", 2, "--from_scratch: heads", type = "int" },
  { "intermediate_size", nil, "--from_scratch: FFN size (4 x hidden)", type = "int" },
  { "dropout", 0.1, "--from_scratch: dropout", type = "float" },
  { "use_relative_position", false, "--from_scratch: NEZHA relative positions", type = "bool" },
  { "threads", nil, "CPU threads", type = "int" },
  { "progress", "auto", "progress bar: auto | true | false", choices = { "auto", "true", "false" } },
}

function M.append_flags(spec, rows)
  for _, r in ipairs(rows) do spec[#spec + 1] = r end
  return spec
end

--- read_lines(path) -> list of lines (nil when the file is absent).
function M.read_lines(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local out = {}
  for l in f:lines() do out[#out + 1] = (l:gsub("\r$", "")) end
  f:close()
  return out
end

-- "model.ckpt-100" / "x/model.safetensors" / a folder -> what rt.model.load takes
local function ckpt_path(p)
  if rt.sys.isdir(p) then return p end
  for _, suf in ipairs({ "", ".index" }) do
    local f = io.open(p .. suf, "rb")
    if f then f:close(); return p .. suf end
  end
  return p
end

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

--- vocab_of(o) -> the vocab.txt path: --vocab_file, else next to the checkpoint.
function M.vocab_of(o, prog)
  if o.vocab_file then return o.vocab_file end
  local src = o.init_checkpoint or o.model_dir
  if src then
    local d = rt.sys.isdir(src) and src or dirname(src)
    return d .. "/vocab.txt"
  end
  error(prog .. ": --vocab_file is required (or --init_checkpoint next to a vocab.txt)", 0)
end

--- build_model(o, tok, {head=, num_labels=, max_len=, fit_size=}) -> model
--- From --init_checkpoint (a folder or a checkpoint file, upstream's flag) or
--- --model_dir; with --from_scratch a fresh model from --bert_config_file or the
--- --hidden_size ... flags.
function M.build_model(o, tok, a)
  local src = o.init_checkpoint or o.model_dir
  if o.from_scratch or not src then
    if not o.from_scratch then error(a.prog .. ": give --init_checkpoint (or --model_dir) or --from_scratch", 0) end
    local cfg
    if o.bert_config_file then
      local ok, c = pcall(rt.log.read_json, o.bert_config_file)
      if not ok or type(c) ~= "table" then
        error(string.format("%s: --bert_config_file %s: %s", a.prog, o.bert_config_file,
          tostring(c):gsub("^.-:%d+: ", "")), 0)
      end
      cfg = c
    else
      local H = o.hidden_size
      cfg = { hidden_size = H, num_hidden_layers = o.num_hidden_layers, num_attention_heads = o.num_attention_heads,
              intermediate_size = o.intermediate_size or 4 * H, hidden_act = "gelu",
              max_position_embeddings = math.max(512, a.max_len), type_vocab_size = 2,
              hidden_dropout_prob = o.dropout, attention_probs_dropout_prob = o.dropout, initializer_range = 0.02,
              use_relative_position = o.use_relative_position or nil }
    end
    cfg.vocab_size = tok:vocab_size()
    cfg.heads = { a.head }
    cfg.num_labels = a.num_labels
    if a.fit_size and a.fit_size ~= cfg.hidden_size then cfg.fit_size = a.fit_size end
    return rt.model.new(cfg, { seed = o.seed })
  end
  local m = rt.model.load(ckpt_path(src), { heads = { a.head }, num_labels = a.num_labels, quiet = true })
  local V, n = m.config.vocab_size, tok:vocab_size()
  if V and n > V then
    error(string.format("%s: the vocabulary has %d tokens but the checkpoint %s embeds %d (wrong --vocab_file?)",
      a.prog, n, src, V), 0)
  elseif V and n < V then
    io.stderr:write(string.format("%s: warning: the vocabulary has %d tokens, the checkpoint %s embeds %d\n", a.prog,
      n, src, V))
  end
  return m
end

--- check_length(model, max_len, prog): the model's position table must cover max_len.
function M.check_length(model, max_len, prog)
  local P = model.config.max_position_embeddings
  if P and max_len > P then
    error(string.format("%s: --max_seq_length %d is longer than the model's max_position_embeddings %d",
      prog, max_len, P), 0)
  end
end

--- optimizer(tr, model, o) -> optimizer: TF AdamWeightDecay (no bias correction),
--- linear warmup over warmup_proportion then linear decay, global clip 1.0 (the
--- upstream TF optimization.py); --optimizer picks another rt.optim algorithm.
function M.optimizer(tr, model, o)
  local T = tr:total_steps()
  local name = o.optimizer or "adam_weight_decay"
  local oo = { lr = o.learning_rate, weight_decay = o.weight_decay or 0.01, total_steps = T }
  local wp = o.warmup_proportion or 0.1
  if name == "bertadam" then oo.warmup = wp
  else
    oo.warmup_steps = math.floor(T * wp)
    if name == "adamw" then oo.schedule = "warmup_linear" end
  end
  return rt.optim.new(name, model, oo)
end

--- teacher(o, tok_vocab, {head=, labels=, prog=}) -> teacher model (eval mode)
--- Pre-checks before any distillation step: the teacher folder holds a fine-tuned
--- model with the task head (and, for NER, a label_list.txt equal to the
--- student's label order), its vocabulary is the student's, line for line.
function M.teacher(o, student_vocab, a)
  local dir = o.teacher_model
  local prog = a.prog
  if not rt.sys.isdir(dir) then error(prog .. ": --teacher_model " .. dir .. " is not a folder", 0) end
  local DC = require "retort.distill_checks"
  local tv = dir .. "/vocab.txt"
  local fh = io.open(tv, "rb")
  if not fh then error(prog .. ": teacher " .. dir .. " has no vocab.txt", 0) end
  fh:close()
  local ok, err = pcall(DC.vocab, tv, student_vocab, { teacher_name = dir, student_name = student_vocab })
  if not ok then error(prog .. ": " .. tostring(err), 0) end
  local cfg = rt.log.read_json(dir .. "/config.json")
  local heads = {}
  for _, h in ipairs(cfg.heads or {}) do heads[h] = true end
  if not heads[a.head] then
    error(string.format("%s: teacher %s is not fine-tuned for this task (config heads: %s; need '%s')", prog, dir,
      table.concat(cfg.heads or {}, ","), a.head), 0)
  end
  if a.labels then
    local tl = M.read_lines(dir .. "/label_list.txt")
    if not tl then error(prog .. ": teacher " .. dir .. " has no label_list.txt (fine-tune it with this recipe)", 0) end
    if #tl ~= #a.labels then
      error(string.format("%s: teacher %s has %d labels, the student %d", prog, dir, #tl, #a.labels), 0)
    end
    for i = 1, #tl do
      if tl[i] ~= a.labels[i] then
        error(string.format("%s: label order differs at %d: teacher '%s', student '%s' (pass --labels %s)", prog, i,
          tl[i], a.labels[i], table.concat(tl, ",")), 0)
      end
    end
    if cfg.num_labels and cfg.num_labels ~= #a.labels + 1 then
      error(string.format("%s: teacher %s has num_labels %d, expected %d", prog, dir, cfg.num_labels, #a.labels + 1), 0)
    end
  end
  local t = rt.model.load(dir, { quiet = true })
  t:eval()
  return t
end

--- distill_maps(student, teacher, {teacher_name=, student_name=, teacher_vocab=, student_vocab=,
--- stage1=, max_seq_len=, prog=}) -> {att_map=, hidden_map=} (TinyBERT's uniform map).
--- Stage 1 (att + rep) runs retort.distill_checks.check: layer counts, head counts,
--- fit_dense shape, positions for max_seq_len.
function M.distill_maps(student, teacher, o)
  o = o or {}
  local DC = require "retort.distill_checks"
  if o.stage1 then
    local ok, maps, warnings = pcall(DC.check, { teacher = teacher, student = student, teacher_name = o.teacher_name,
      student_name = o.student_name, teacher_vocab = o.teacher_vocab, student_vocab = o.student_vocab,
      att = true, rep = true, max_seq_len = o.max_seq_len })
    if not ok then error((o.prog or "distill") .. ": " .. tostring(maps), 0) end
    for _, w in ipairs(warnings or {}) do io.stderr:write((o.prog or "distill"), ": warning: ", w, "\n") end
    return maps
  end
  return DC.layer_map(student.config.num_hidden_layers, teacher.config.num_hidden_layers)
end

--- fit_size_for(o) -> the teacher's hidden size (a from-scratch student gets fit_dense to it).
function M.fit_size_for(o)
  if not o.teacher_model then return nil end
  local cfg = rt.log.read_json(o.teacher_model .. "/config.json")
  return cfg.hidden_size
end

--- gather_rows(x, idx) -> rows of a [N, C] tensor at 0-based positions idx (a Lua list).
function M.gather_rows(x, idx)
  return x:index_select(1, rt.tensor(idx, "i64"))
end

return M
