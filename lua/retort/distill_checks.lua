-- retort.distill_checks: teacher/student compatibility checks run before the first
-- distillation step (general and task distillation share them). Every error names
-- both models, so a wrong directory on the command line is obvious.
--
--   local DC = require "retort.distill_checks"
--   local maps, warnings = DC.check{
--     teacher = t_model, student = s_model,            -- rt.model objects (or nil: configs only)
--     teacher_name = "bert-base", student_name = "tinybert4",   -- used in messages (dirs)
--     teacher_vocab = "T/vocab.txt", student_vocab = "S/vocab.txt",   -- paths or token lists
--     layer_map = "att=2,5,8,11;rep=0,3,6,9,12",       -- optional (string or table), see below
--     att = true, rep = true,                          -- which losses are on
--     max_seq_len = 128,                               -- optional
--   }
--   -- maps = {att_map = {...}, hidden_map = {...}} in Lua positions for rt.distill.losses
--
-- Layer maps. TinyBERT's uniform map (TinyBERT/general_distill.py) with k = Lt / Ls:
-- student attention i (0-based) <- teacher layer i*k + k - 1; student hidden state j
-- (0 = embeddings) <- teacher state j*k. An explicit map is written in the same
-- 0-based upstream numbering:
--   "att=2,5,8,11;rep=0,3,6,9,12"   both parts
--   "att=1,3"                       rep follows: state 0 <- 0, state j <- att[j] + 1
--   "2,5,8,11"                      the same as "att=2,5,8,11"
--   "rep=0,6,12"                    att follows: layer i <- rep[i+1] - 1
-- DC.layer_map(Ls, Lt, spec) returns the Lua-position maps rt.distill.losses takes.
local M = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function label(name, who) return name and string.format("%s %s", who, name) or who end

--- DC.read_vocab(path_or_list) -> tokens (list), source: the vocabulary as a token list.
function M.read_vocab(v)
  if type(v) == "table" then return v, "(token list)" end
  local f, err = io.open(v, "rb")
  if not f then fail("cannot read vocabulary %s: %s", tostring(v), tostring(err)) end
  local toks = {}
  for line in f:lines() do
    line = line:gsub("\r$", "")
    toks[#toks + 1] = line:match("^%s*(.-)%s*$")   -- tokenization.load_vocab strips each line
  end
  f:close()
  -- a trailing empty line from a final "\n\n" is not a token either way for the readers
  return toks, v
end

--- DC.vocab(teacher_vocab, student_vocab, {teacher_name=, student_name=}): error unless
--- the two vocabularies have the same size and the same token at every line.
function M.vocab(tv, sv, o)
  o = o or {}
  local tn, sn = label(o.teacher_name, "teacher"), label(o.student_name, "student")
  local t, tsrc = M.read_vocab(tv)
  local s, ssrc = M.read_vocab(sv)
  if #t ~= #s then
    fail("vocabularies differ: %s has %d tokens (%s) but %s has %d (%s); distillation needs one vocabulary",
         tn, #t, tsrc, sn, #s, ssrc)
  end
  for i = 1, #t do
    if t[i] ~= s[i] then
      fail("vocabularies differ at line %d: %s has '%s' (%s), %s has '%s' (%s)", i, tn, t[i], tsrc, sn, s[i], ssrc)
    end
  end
  return #t
end

local function nums(s, what, spec)
  local out = {}
  for tok in s:gmatch("[^,%s]+") do
    local n = math.tointeger(tonumber(tok))
    if not n then fail("layer map '%s': %s entry '%s' is not an integer", spec, what, tok) end
    out[#out + 1] = n
  end
  return out
end

--- DC.parse_layer_map(spec) -> {att = {0-based...} | nil, rep = {0-based...} | nil}
function M.parse_layer_map(spec)
  if type(spec) == "table" then return spec end
  local r = {}
  for part in tostring(spec):gmatch("[^;]+") do
    local key, list = part:match("^%s*(%a+)%s*[=:]%s*(.-)%s*$")
    if not key then key, list = "att", part end
    key = key:lower()
    if key == "attention" then key = "att" elseif key == "hidden" or key == "rep" or key == "hid" then key = "rep" end
    if key ~= "att" and key ~= "rep" then fail("layer map '%s': unknown part '%s' (att= or rep=)", spec, key) end
    if r[key] then fail("layer map '%s': %s given twice", spec, key) end
    r[key] = nums(list, key, spec)
  end
  if not r.att and not r.rep then fail("layer map '%s' is empty", tostring(spec)) end
  return r
end

--- DC.layer_map(Ls, Lt [, spec, names]) -> {att_map=, hidden_map=} (Lua positions, as
--- rt.distill.losses takes them). spec nil: the uniform upstream map (Lt must be a
--- multiple of Ls); else a string or {att=, rep=} in 0-based upstream numbering.
function M.layer_map(ls, lt, spec, names)
  names = names or {}
  local tn, sn = label(names.teacher_name, "teacher"), label(names.student_name, "student")
  if ls < 1 or lt < 1 then fail("layer map: %s has %d layers and %s has %d", tn, lt, sn, ls) end
  local att, rep = {}, {}
  if spec == nil or spec == "" then
    if lt % ls ~= 0 then
      fail("%s has %d layers, not a multiple of the %d layers of %s: give --layer_map (e.g. att=...;rep=...)",
           tn, lt, ls, sn)
    end
    local k = lt // ls
    for i = 0, ls - 1 do att[i + 1] = i * k + k - 1 end
    for j = 0, ls do rep[j + 1] = j * k end
  else
    local p = M.parse_layer_map(spec)
    local s = type(spec) == "string" and spec or "(table)"
    if p.att and #p.att ~= ls then
      fail("layer map '%s': att has %d entries but %s has %d layers (one teacher layer per student layer)", s, #p.att, sn, ls)
    end
    if p.rep and #p.rep ~= ls + 1 then
      fail("layer map '%s': rep has %d entries but %s has %d hidden states (embeddings + %d layers)",
           s, #p.rep, sn, ls + 1, ls)
    end
    for i = 1, ls do
      att[i] = p.att and p.att[i] or (p.rep[i + 1] - 1)
    end
    for j = 1, ls + 1 do
      rep[j] = p.rep and p.rep[j] or (j == 1 and 0 or att[j - 1] + 1)
    end
    local function check_rep()
      for j = 1, ls + 1 do
        if rep[j] < 0 or rep[j] > lt then
          fail("layer map '%s': student state %d <- teacher state %d, but %s has states 0..%d (0 = embeddings)",
               s, j - 1, rep[j], tn, lt)
        end
      end
    end
    local function check_att()
      for i = 1, ls do
        if att[i] < 0 or att[i] >= lt then
          fail("layer map '%s': student layer %d <- teacher layer %d, but %s has layers 0..%d", s, i - 1, att[i], tn, lt - 1)
        end
      end
    end
    if p.att then check_att(); check_rep() else check_rep(); check_att() end   -- the given part first
  end
  local r = { att_map = {}, hidden_map = {}, att0 = att, rep0 = rep }
  for i, v in ipairs(att) do r.att_map[i] = v + 1 end
  for j, v in ipairs(rep) do r.hidden_map[j] = v + 1 end
  return r
end

--- DC.describe_map(maps) -> "att 2,5,8,11 rep 0,3,6,9,12" (0-based upstream numbering)
function M.describe_map(m)
  return "att " .. table.concat(m.att0, ",") .. " rep " .. table.concat(m.rep0, ",")
end

local function cfg_of(x)
  if x == nil then return nil end
  if type(x) == "table" and x.num_hidden_layers then return x end
  return x.config
end

local function fit_shape(m)
  if not m or type(m.named_parameters) ~= "function" then return nil end
  local p = m:named_parameters()
  local w = p["fit_dense.weight"]
  if not w then return false end
  return w:shape(), p["fit_dense.bias"] and p["fit_dense.bias"]:shape()
end

--- DC.check(o) -> maps, warnings: every check before the first distillation step (see
--- the header). Raises on an incompatibility; warnings is a list of strings.
function M.check(o)
  local tc, sc = cfg_of(o.teacher_config or o.teacher), cfg_of(o.student_config or o.student)
  if not tc or not sc then fail("distill_checks.check: need teacher and student models (or configs)") end
  local tn, sn = label(o.teacher_name, "teacher"), label(o.student_name, "student")
  local warnings = {}
  local att_on, rep_on = o.att ~= false, o.rep ~= false
  -- vocabulary: the embedding tables and the token lists
  if tc.vocab_size ~= sc.vocab_size then
    fail("vocab_size differs: %s has %d, %s has %d; the student must use the teacher's vocabulary",
         tn, tc.vocab_size, sn, sc.vocab_size)
  end
  if o.teacher_vocab and o.student_vocab then
    M.vocab(o.teacher_vocab, o.student_vocab, o)
  elseif o.student_vocab then
    -- (a student without vocab.txt uses the teacher's: the usual student config dir)
    warnings[#warnings + 1] = string.format("no teacher vocabulary file; %s vocab_size %d matches, tokens not compared",
                                            sn, sc.vocab_size)
  end
  if o.teacher_vocab then
    local t = M.read_vocab(o.teacher_vocab)
    if #t ~= tc.vocab_size then
      local msg = string.format("%s: vocabulary file has %d tokens but config vocab_size is %d", tn, #t, tc.vocab_size)
      if #t > tc.vocab_size then fail("%s (ids past the embedding table)", msg) end
      warnings[#warnings + 1] = msg
    end
  end
  -- layers
  local lt, ls = tc.num_hidden_layers, sc.num_hidden_layers
  local maps = M.layer_map(ls, lt, o.layer_map, o)
  -- attention heads and sequence length
  if att_on and tc.num_attention_heads ~= sc.num_attention_heads then
    fail("attention loss needs equal head counts: %s has %d heads, %s has %d (turn the attention loss off)",
         tn, tc.num_attention_heads, sn, sc.num_attention_heads)
  end
  if o.max_seq_len then
    for _, x in ipairs { { tc, tn }, { sc, sn } } do
      local mp = x[1].max_position_embeddings
      if not x[1].use_relative_position and mp and mp < o.max_seq_len then
        fail("max_seq_len %d is longer than the %d positions of %s (%s and %s)", o.max_seq_len, mp, x[2], tn, sn)
      end
    end
  end
  -- fit_dense: Linear(student_hidden -> teacher_hidden), weight [Ht, Hs]
  if rep_on then
    local ht, hs = tc.hidden_size, sc.hidden_size
    local w, b = fit_shape(o.student)
    if w == nil then
      if (sc.fit_size or 0) > 0 and sc.fit_size ~= ht then
        fail("%s fit_size %d does not match the hidden size %d of %s", sn, sc.fit_size, ht, tn)
      end
    elseif w == false then
      if hs ~= ht then
        fail("%s has no fit_dense but its hidden size %d differs from the %d of %s (build it with fit_size = %d)",
             sn, hs, ht, tn, ht)
      end
      warnings[#warnings + 1] = string.format("%s has no fit_dense; its hidden states are compared to %s as they are",
                                              sn, tn)
    else
      if #w ~= 2 or w[1] ~= ht or w[2] ~= hs then
        fail("%s fit_dense.weight is [%s] but must be [%d, %d] ([teacher hidden, student hidden] for %s)",
             sn, table.concat(w, ", "), ht, hs, tn)
      end
      if b and (#b ~= 1 or b[1] ~= ht) then
        fail("%s fit_dense.bias is [%s] but must be [%d] (the hidden size of %s)", sn, table.concat(b, ", "), ht, tn)
      end
    end
  end
  if not att_on and not rep_on then fail("both the attention and the representation loss are off: nothing to learn") end
  return maps, warnings
end

--- DC.corpus(dir, {max_seq_len=, vocab=tokens|path, epochs=, sample=200, names}) -> epochs, examples:
--- the pregenerated epoch files agree with the run: epoch_{k}_metrics.json present,
--- their max_seq_len <= max_seq_len, and the first `sample` records of each file use
--- only vocabulary tokens and fit in max_seq_len. Errors name file:line.
function M.corpus(dir, o)
  o = o or {}
  local n, examples = 0, {}
  while true do
    local mp = string.format("%s/epoch_%d_metrics.json", dir, n)
    local f = io.open(mp, "rb")
    if not f then break end
    local ok, m = pcall(rt.log.json_decode, f:read("a"))
    f:close()
    if not ok or type(m) ~= "table" or not math.tointeger(m.num_training_examples) then
      fail("%s: not a metrics file ({\"num_training_examples\": n, \"max_seq_len\": L})", mp)
    end
    if o.max_seq_len and m.max_seq_len and m.max_seq_len > o.max_seq_len then
      fail("%s: the data was generated with max_seq_len %d, longer than --max_seq_length %d",
           mp, m.max_seq_len, o.max_seq_len)
    end
    examples[n + 1] = m.num_training_examples
    n = n + 1
  end
  if n == 0 then
    fail("%s: no epoch_0_metrics.json (run pregenerate.lua --output_dir %s first)", dir, dir)
  end
  local set
  if o.vocab then
    set = {}
    for _, t in ipairs((M.read_vocab(o.vocab))) do set[t] = true end
  end
  for k = 0, n - 1 do
    local path = string.format("%s/epoch_%d.json", dir, k)
    local f = io.open(path, "rb")
    if not f then fail("%s: missing (its metrics file exists)", path) end
    f:close()
    local line = 0
    for r in rt.io.pregenerated(path) do
      line = line + 1
      if o.max_seq_len and #r.tokens > o.max_seq_len then
        fail("%s: record %d has %d tokens, more than max_seq_length %d", path, line, #r.tokens, o.max_seq_len)
      end
      if set then
        for i, t in ipairs(r.tokens) do
          if not set[t] then
            fail("%s: record %d token %d '%s' is not in the vocabulary of %s", path, line, i, t,
                 label(o.teacher_name, "teacher"))
          end
        end
      end
      if line >= (o.sample or 200) then break end
    end
  end
  return n, examples
end

return M
