-- retort.pretrain.pregenerate: TinyBERT's pregenerate_training_data.py as a library
-- call (rt.pretrain.pregenerate{...}); lua/recipes/pregenerate.lua is its command line.
--
--   rt.pretrain.pregenerate{ train_corpus = "corpus.txt", output_dir = "json/",
--     bert_model = "bert-base-uncased/" (or vocab_file =), do_lower_case = true,
--     epochs_to_generate = 3, max_seq_len = 128, short_seq_prob = 0.1,
--     masked_lm_prob = 0.0, max_predictions_per_seq = 20, do_whole_word_mask = false,
--     one_seq = false, seed = 42, threads = n, segment_dict = "dict.txt" (Chinese words
--     for whole-word masking), quiet = false }
--   --> { documents=, sentences=, tokens=, bytes=, seconds=, epochs = {{file=, metrics=,
--         instances=, stats = {...}}} }
--
-- The hot loop (tokenization, instances, masking, JSON) is C (rt.data.pregen_corpus);
-- see src/data/pregenerate.h for the algorithm and where it departs from upstream.
local M = {}

local BLOCK = 4 << 20          -- corpus bytes per tokenization block
local DOCS_PER_CHUNK = 4096    -- documents per generate call (bounds the output buffer)

local function mkdir(p) return rt.sys.mkdir(p) end
local function now() return rt.sys.now() end

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function file_size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

--- M.run(o) -> summary (see the header)
function M.run(o)
  assert(type(o) == "table", "rt.pretrain.pregenerate{...}: options table expected")
  if not o.train_corpus then fail("pregenerate: train_corpus is required") end
  if not o.output_dir then fail("pregenerate: output_dir is required") end
  local vocab = o.vocab_file or (o.bert_model and (o.bert_model .. "/vocab.txt"))
  if not vocab then fail("pregenerate: bert_model (a folder with vocab.txt) or vocab_file is required") end
  if not io.open(vocab, "rb") then fail("pregenerate: cannot read the vocabulary %s", vocab) end
  local lower = o.do_lower_case and true or false
  local tok = type(o.tokenizer) == "userdata" and o.tokenizer or rt.tokenizer.load(vocab, { lower = lower })
  local seg
  if o.segment_dict then seg = rt.segment.load(o.segment_dict) end
  local threads = o.threads or rt.get_threads()
  local opts = {
    max_seq_len = o.max_seq_len or 128, max_predictions_per_seq = o.max_predictions_per_seq or 20,
    short_seq_prob = o.short_seq_prob or 0.1, masked_lm_prob = o.masked_lm_prob or 0.0,
    do_whole_word_mask = o.do_whole_word_mask and true or false, one_seq = o.one_seq and true or false,
    seed = o.seed or 42,
  }
  if opts.max_seq_len < 5 then fail("pregenerate: max_seq_len %d is too small (>= 5)", opts.max_seq_len) end
  local epochs = o.epochs_to_generate or 3
  if epochs < 1 then fail("pregenerate: epochs_to_generate must be >= 1 (got %d)", epochs) end
  local say = o.quiet and function() end or function(...) io.stderr:write(string.format(...), "\n") end
  mkdir(o.output_dir)
  local t0 = now()

  -- 1. tokenize the corpus (documents -> memory-mapped token files)
  local corpora = type(o.train_corpus) == "table" and o.train_corpus or { o.train_corpus }
  local total = 0
  for _, p in ipairs(corpora) do
    local n = file_size(p)
    if not n then fail("pregenerate: cannot read the corpus %s", p) end
    total = total + n
  end
  local corpus = rt.data.pregen_corpus(tok, o.output_dir)
  local bar = (not o.quiet) and rt.progress.new { total = math.max(total, 1), desc = "Loading Dataset", unit = "B" }
  local done = 0
  for _, p in ipairs(corpora) do
    local f = assert(io.open(p, "rb"))
    while true do
      local block = f:read(BLOCK)
      if not block then break end
      if block:sub(-1) ~= "\n" then
        local rest = f:read("L")
        if rest then block = block .. rest end
      end
      corpus:feed(tok, block, seg, threads)
      done = done + #block
      if bar then bar:update(done) end
    end
    f:close()
    -- a file that does not end with a newline still ends its last line; documents
    -- continue across files as upstream's single corpus file would
  end
  if bar then bar:close() end
  local ndoc, nsent, ntok = corpus:finish()
  if ndoc < 2 then
    fail("pregenerate: %s has %d document(s) but at least 2 are needed: separate documents with a blank line "
         .. "(upstream: \"No document breaks were found in the input file!\")", table.concat(corpora, ","), ndoc)
  end
  say("pregenerate: %d documents, %d sentences, %d tokens (%.1f MB) in %.1f s", ndoc, nsent, ntok, total / 1e6,
      now() - t0)

  -- 2. epochs: documents in order, instances as JSON lines
  local summary = { documents = ndoc, sentences = nsent, tokens = ntok, bytes = total, epochs = {} }
  for e = 0, epochs - 1 do
    local path = string.format("%s/epoch_%d.json", o.output_dir, e)
    local tmp = path .. ".tmp"
    local f = assert(io.open(tmp, "wb"))
    local stats
    local eb = (not o.quiet) and rt.progress.new { total = ndoc, desc = string.format("Epoch %d/%d", e + 1, epochs) }
    for lo = 0, ndoc - 1, DOCS_PER_CHUNK do
      local hi = math.min(ndoc, lo + DOCS_PER_CHUNK)
      local okg, _, st = pcall(corpus.generate, corpus, e, lo, hi, opts, threads, f)
      if not okg then f:close(); os.remove(tmp); fail("pregenerate: writing %s: %s", tmp, tostring(_)) end
      if not stats then stats = st
      else
        for k, v in pairs(st) do
          if type(v) == "number" then stats[k] = stats[k] + v end
        end
        for i, v in ipairs(st.len_hist) do stats.len_hist[i] = stats.len_hist[i] + v end
      end
      if eb then eb:update(hi, { instances = stats.instances }) end
    end
    if eb then eb:close() end
    local okc, cerr = f:close()
    if not okc then os.remove(tmp); fail("pregenerate: writing %s: %s", tmp, tostring(cerr)) end
    local okr, err = os.rename(tmp, path)
    if not okr then os.remove(tmp); fail("pregenerate: %s", tostring(err)) end
    local mpath = string.format("%s/epoch_%d_metrics.json", o.output_dir, e)
    -- json.dumps({"num_training_examples": n, "max_seq_len": L}), no newline, as upstream
    local mt = mpath .. ".tmp"
    local mf = assert(io.open(mt, "wb"))
    mf:write(string.format('{"num_training_examples": %d, "max_seq_len": %d}', stats.instances, opts.max_seq_len))
    mf:close()
    assert(os.rename(mt, mpath))
    summary.epochs[e + 1] = { file = path, metrics = mpath, instances = stats.instances, stats = stats }
    say("pregenerate: %s: %d instances", path, stats.instances)
  end
  summary.seconds = now() - t0
  summary.mb_per_s = total / 1e6 / summary.seconds
  return summary
end

return M
