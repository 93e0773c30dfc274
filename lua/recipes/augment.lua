-- augment.lua — TinyBERT's data augmentation (TinyBERT/data_augmentation.py): writes
-- <glue_dir>/<task_name>/train_aug.tsv beside train.tsv, one row per augmented
-- sentence, in the upstream layout.
--
--   retort lua/recipes/augment.lua --pretrained_bert_model bert-base/ \
--          --glove_embs glove.6B.300d.txt --glue_dir glue --task_name MRPC
--   retort lua/recipes/augment.lua ... --dry_run 5        # print 5 sentences with diffs
--   retort lua/recipes/augment.lua --help
--
-- Loaded as a chunk (loadfile(path)(args...)) it returns {rows=, written=, file=}.
local rt = rt or require "retort"
local flags = require "retort.flags"
local now = rt.sys.now

local SPEC = {
  { "pretrained_bert_model", nil, "BERT folder with the MLM (config, weights, vocab.txt)", required = true },
  { "glove_embs", nil, "GloVe text file for words of several word pieces (English)" },
  { "glue_dir", nil, "folder holding the task folders", required = true },
  { "task_name", nil, "CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE (GLUE), chnsenti lcqmc xnli (CLUE)", required = true },
  { "N", 30, "augmented sentences per input sentence (upper bound); per-task table above", type = "int" },
  { "M", 15, "candidates per word", type = "int" },
  { "p", 0.4, "probability of replacing each candidate word", type = "number" },
  { "glove_limit", 100000, "read only the first N lines of the GloVe file (0: all)", type = "int" },
  { "seed", nil, "random seed for reproducible output (default: the clock, kept for --resume)", type = "int" },
  { "dry_run", 0, "print K sentences with their augmentations and diffs; write nothing", type = "int" },
  { "lang", "auto", "en | zh | auto (zh for a vocabulary that is mostly CJK characters)", choices = { "auto", "en", "zh" } },
  { "seg_dict", nil, "zh: segmenter dictionary (jieba dict.txt format); without it every character is a word" },
  { "word_vectors", nil, "zh: word vectors in GloVe format for multi-character words (else whole-word MLM)" },
  { "do_lower_case", true, "lower-case the text (the upstream tokenizer default)", type = "bool" },
  { "pair_original", false, "pair tasks: keep the other column original (fixes the upstream quirk, see below)", type = "bool" },
  { "upstream_quoting", false, "write like Python's csv.writer: quote fields with '\"', CRLF line ends", type = "bool" },
  { "resume", true, "continue an interrupted run from train_aug.tsv.partial", type = "bool" },
  { "batch_rows", 8, "input rows whose sentences share the batched MLM forwards", type = "int" },
  { "batch_tokens", 4096, "tokens per MLM forward (masked copies packed by length)", type = "int" },
  { "stop_after", nil, "stop after this many input rows, leaving a resumable partial file (testing)", type = "int" },
  { "output", nil, "output file (default <glue_dir>/<task_name>/train_aug.tsv)" },
  { "threads", nil, "CPU threads", type = "int" },
  { "progress", "auto", "progress bar: auto | true | false", choices = { "auto", "true", "false" } },
}

-- Per-task N of upstream (its key "STS-b" does not match STS-B, which keeps --N).
local TASK_N = { CoLA = 30, MNLI = 10, MRPC = 30, ["SST-2"] = 20, ["STS-b"] = 30, QQP = 10, QNLI = 20, RTE = 30 }

-- Columns augmented (0-based as upstream) and whether line 1 is a header copied as is.
local TASKS = {
  mrpc = { cols = { 3, 4 }, header = true },
  mnli = { cols = { 8, 9 }, header = true },
  cola = { cols = { 3 }, header = false },
  ["sst-2"] = { cols = { 0 }, header = true },
  ["sts-b"] = { cols = { 7, 8 }, header = true },
  qqp = { cols = { 3, 4 }, header = true },
  qnli = { cols = { 1, 2 }, header = true },
  rte = { cols = { 1, 2 }, header = true },
  chnsenti = { cols = { 1 }, header = false },            -- label<TAB>text
  lcqmc = { cols = { 0, 1 }, header = "label" },           -- a header only when line 1 mentions "label"
  xnli = { cols = { 0, 1 }, header = true },               -- premise, hypo, label
}
local ALIAS = { sst2 = "sst-2", stsb = "sts-b" }

local META = {
  prog = "augment.lua",
  upstream = "TinyBERT/data_augmentation.py",
  about = "Augments a task's train.tsv with MLM / GloVe word replacement (TinyBERT) and writes train_aug.tsv\n" ..
    "beside it: for each row and each augmented column in order, one row per sentence (the original\n" ..
    "first, then up to N new ones). Per-task N: CoLA 30, MNLI 10, MRPC 30, SST-2 20, QQP 10, QNLI 20,\n" ..
    "RTE 30 (STS-B and the CLUE tasks use --N). Columns: MRPC 3,4  MNLI 8,9  CoLA 3  SST-2 0  STS-B 7,8\n" ..
    "QQP 3,4  QNLI 1,2  RTE 1,2  chnsenti 1  lcqmc 0,1  xnli 0,1 (0-based); the header row is copied for\n" ..
    "all but CoLA and chnsenti (lcqmc: when line 1 mentions \"label\").\n" ..
    "Pair-column quirk (kept by default, as upstream): the row is changed in place, so the rows of the\n" ..
    "second column carry the last augmented sentence of the first column; --pair_original keeps it original.",
  departures = {
    "--seed, --dry_run, --resume, --stop_after, --glove_limit, --lang/--seg_dict/--word_vectors (Chinese), --pair_original, " ..
      "--batch_rows/--batch_tokens, --output, --threads, --progress are retort's",
    "an explicit --N wins over the per-task table (upstream always applies the table)",
    "the MLM runs batched (all masked copies of a few rows packed per forward, logits only at the mask; a repeated sentence is computed once); " ..
      "candidates equal upstream's one-forward-per-word lists",
    "a zero GloVe row (\"<unk>\", an earlier line of a repeated word) is never a neighbour and has none " ..
      "(upstream: NaN scores); a ragged GloVe line is an error naming file:line",
    "fields are written unquoted with LF line ends (upstream's csv.writer quotes fields holding '\"', which its " ..
      "reader, quotechar=None, then keeps literally); --upstream_quoting restores that",
    "the CLUE tasks chnsenti, lcqmc, xnli (upstream: the GLUE eight only); a row missing an augmented " ..
      "column is an error naming file:line (upstream: IndexError); blank lines are skipped",
    "no GloVe file: multi-piece words keep themselves (upstream requires --glove_embs)",
  },
}

local function split_tabs(line)
  local t, i = {}, 1
  while true do
    local j = line:find("\t", i, true)
    if not j then t[#t + 1] = line:sub(i); return t end
    t[#t + 1] = line:sub(i, j - 1)
    i = j + 1
  end
end

-- The input rows: raw lines (CR stripped) with their line numbers.
local function read_lines(path)
  local f, err = io.open(path, "rb")
  if not f then error(err, 0) end
  local data = f:read("a")
  f:close()
  local rows, n = {}, 0
  for line in (data .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    line = line:gsub("\r$", "")
    rows[#rows + 1] = { line = line, no = n }
  end
  if rows[#rows] and rows[#rows].line == "" then rows[#rows] = nil end
  return rows
end

local function quote(cell)
  if cell:find('["\t\r\n]') then return '"' .. cell:gsub('"', '""') .. '"' end
  return cell
end

local function format_row(cells, o)
  if not o.upstream_quoting then return table.concat(cells, "\t") .. "\n" end
  local q = {}
  for i, c in ipairs(cells) do q[i] = quote(c) end
  return table.concat(q, "\t") .. "\r\n"
end

local function read_state(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = {}
  for line in f:lines() do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k then s[k] = v end
  end
  f:close()
  return s
end

local function write_state(path, s)
  local keys = {}
  for k in pairs(s) do keys[#keys + 1] = k end
  table.sort(keys)
  local t = {}
  for _, k in ipairs(keys) do t[#t + 1] = k .. "=" .. tostring(s[k]) .. "\n" end
  rt.sys.atomic_write(path, table.concat(t))
end

local function file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function main(args)
  local o = flags.parse(SPEC, args, META)
  if o.help then return o end
  if o.threads then rt.set_threads(o.threads) end
  local key = o.task_name:lower()
  key = ALIAS[key] or key
  local spec = TASKS[key]
  if not spec then
    flags.error("--task_name: unknown task '" .. o.task_name .. "' (CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE chnsenti lcqmc xnli)")
  end
  if o.p < 0 or o.p > 1 then flags.error("--p: expected a probability in [0, 1], got " .. o.p) end
  if o.M < 1 then flags.error("--M: expected at least 1, got " .. o.M) end
  if o.N < 0 then flags.error("--N: expected at least 0, got " .. o.N) end
  if o.batch_rows < 1 then flags.error("--batch_rows: expected at least 1") end
  local N = o.N
  if not o._given.N and TASK_N[o.task_name] then N = TASK_N[o.task_name] end
  local task_dir = o.glue_dir .. "/" .. o.task_name
  local input = task_dir .. "/train.tsv"
  if key == "xnli" and not file_size(input) and file_size(task_dir .. "/multinli/multinli.train.zh.tsv") then
    input = task_dir .. "/multinli/multinli.train.zh.tsv"
  end
  if not file_size(input) then error(input .. ": no such file", 0) end
  local out_path = o.output or (task_dir .. "/train_aug.tsv")

  local lang = o.lang ~= "auto" and o.lang or nil
  local aug = rt.augment.new{ mlm = o.pretrained_bert_model, glove = o.glove_embs, glove_limit = o.glove_limit,
    M = o.M, lang = lang, segmenter = o.seg_dict, word_vectors = o.word_vectors, do_lower_case = o.do_lower_case,
    batch_tokens = o.batch_tokens }

  if aug.lang == "zh" and not o.seg_dict then
    io.stderr:write("augment: --lang zh without --seg_dict: every character is a word\n")
  end
  local rows = read_lines(input)
  local first = 1
  local header
  if #rows > 0 and (spec.header == true or (spec.header == "label" and rows[1].line:find("label", 1, true))) then
    header = rows[1].line
    first = 2
  end
  local data = {}
  local need = 0
  for _, c in ipairs(spec.cols) do need = math.max(need, c + 1) end
  for r = first, #rows do
    if rows[r].line ~= "" then
      local cells = split_tabs(rows[r].line)
      if #cells < need then
        error(string.format("%s:%d: %s augments column %d but the row has %d columns", input, rows[r].no,
          o.task_name, need - 1, #cells), 0)
      end
      data[#data + 1] = cells
    end
  end
  local ncol = #spec.cols

  -- Dry run: the first K sentences with their augmentations.
  if o.dry_run > 0 then
    local sents = {}
    for _, cells in ipairs(data) do
      for _, c in ipairs(spec.cols) do
        if #sents < o.dry_run then sents[#sents + 1] = cells[c + 1] end
      end
    end
    local seed = o.seed or os.time()
    local res = aug:augment_batch(sents, { N = N, p = o.p, seed = seed })
    local color = rt.progress.is_tty(1) and not os.getenv("NO_COLOR")
    for k, s in ipairs(sents) do
      print(string.format("[%d] %s", k, s))
      for j = 2, #res[k] do
        local d, n = aug:diff(s, res[k][j], { color = color })
        print(string.format("  %2d (%d replaced) %s", j - 1, n, d))
      end
    end
    print(string.format("augment %s: dry run, %d sentences, N=%d M=%d p=%g seed=%d (nothing written)",
      o.task_name, #sents, N, o.M, o.p, seed))
    return { rows = 0, written = 0, dry_run = res }
  end

  -- Resumable output: rows are appended to <out>.partial and <out>.partial.state
  -- records how many input rows (and bytes) are complete.
  local partial, state_path = out_path .. ".partial", out_path .. ".partial.state"
  local sig = table.concat({ o.task_name, N, o.M, o.p, o.pair_original and 1 or 0, o.upstream_quoting and 1 or 0,
    aug.lang, input, file_size(input), o.pretrained_bert_model, o.glove_embs or "-", o.glove_limit, o.seg_dict or "-", o.word_vectors or "-" }, "|")
  local st = o.resume and read_state(state_path) or nil
  local done, seed, f = 0, o.seed, nil
  if st and st.sig == sig and (not o.seed or tonumber(st.seed) == o.seed) and file_size(partial) then
    done, seed = tonumber(st.rows), tonumber(st.seed)
    rt._augment.truncate(partial, tonumber(st.bytes))
    f = assert(io.open(partial, "ab"))
    io.stderr:write(string.format("augment: resuming %s after row %d of %d\n", partial, done, #data))
  else
    seed = seed or os.time()
    f = assert(io.open(partial, "wb"))
    if header then f:write(format_row(split_tabs(header), o)) end
    f:flush()
    write_state(state_path, { sig = sig, seed = seed, rows = 0, bytes = f:seek("cur") })
  end

  local show = o.progress == "true" or (o.progress == "auto")
  local bar = show and rt.progress.new{ total = #data, desc = "augment " .. o.task_name, start = done,
    tty = o.progress == "true" and true or nil } or nil
  local t0, nsent, written = now(), 0, 0
  local r = done + 1
  local stop = o.stop_after and math.min(#data, o.stop_after) or #data
  while r <= stop do
    local last = math.min(stop, r + o.batch_rows - 1)
    local sents, seeds = {}, {}
    for i = r, last do
      for k, c in ipairs(spec.cols) do
        sents[#sents + 1] = data[i][c + 1]
        seeds[#seeds + 1] = seed + (i - 1) * ncol + (k - 1)     -- independent of batching and resuming
      end
    end
    local res = aug:augment_batch(sents, { N = N, p = o.p, seeds = seeds })
    local buf, s = {}, 0
    for i = r, last do
      local line = data[i]
      for _, c in ipairs(spec.cols) do
        s = s + 1
        local orig = line[c + 1]
        for _, a in ipairs(res[s]) do
          line[c + 1] = a
          buf[#buf + 1] = format_row(line, o)
        end
        if o.pair_original then line[c + 1] = orig end
      end
    end
    f:write(table.concat(buf))
    f:flush()
    written = written + #buf
    nsent = nsent + #sents
    write_state(state_path, { sig = sig, seed = seed, rows = last, bytes = f:seek("cur") })
    if bar then
      local el = now() - t0
      bar:update(last, { ["sent/s"] = el > 0 and nsent / el or 0 })
    end
    r = last + 1
  end
  f:close()
  if bar then bar:close() end
  if stop < #data then
    print(string.format("augment %s: stopped after row %d of %d; %s is resumable", o.task_name, stop, #data, partial))
    return { rows = stop, written = written, partial = partial, seed = seed }
  end
  assert(os.rename(partial, out_path))
  os.remove(state_path)
  print(string.format("augment %s: %d rows -> %d rows in %s (N=%d M=%d p=%g seed=%d, %d MLM forwards)",
    o.task_name, #data, written, out_path, N, o.M, o.p, seed, aug.stats.forwards))
  return { rows = #data, written = written, file = out_path, seed = seed }
end

return flags.script("augment.lua", main, ...)
