-- TinyBERT data augmentation benchmark (peer: scripts/bench/augment.py): sentences per
-- second of rt.augment on MRPC-length sentences (the seed MRPC sample when present,
-- else synthetic ones) with a BERT-base-sized random-init MLM (12L-768H, the 28,996-word
-- seed vocabulary or a synthetic one) and a synthetic GloVe file, in two modes:
--   batched   = all masked copies of --batch sentences packed into shared forwards,
--   per_word  = one forward per candidate word (upstream's schedule; logits at the mask only).
--   build/retort scripts/bench/augment.lua --threads 2 [--sentences 200] [--layers 12]
--          [--hidden 768] [--modes batched,per_word] [--batch 8] [--glove_words 20000]
-- prints  bench augment impl=retort mode=... sentences=... ms=... sent_per_s=... peak_rss_mb=...
-- (peak RSS is the process's, so the second mode's includes the first's)
local rt = rt or require "retort"

local opts = { threads = 2, sentences = 200, layers = 12, hidden = 768, modes = "batched,per_word", batch = 8,
  glove_words = 20000, glove_dim = 300, M = 15, N = 30 }
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k then opts[k] = arg[i + 1]; i = i + 2 else i = i + 1 end
end
for _, k in ipairs({ "threads", "sentences", "layers", "hidden", "batch", "glove_words", "glove_dim", "M", "N" }) do
  opts[k] = tonumber(opts[k])
end
if rt.set_threads then rt.set_threads(opts.threads) end
local seed_dir = os.getenv("RETORT_SEED") or "../shared/seed"

local function sentences(n)
  local out = {}
  for _, split in ipairs({ "train", "dev" }) do
    local f = io.open(seed_dir .. "/mrpc/" .. split .. ".tsv")
    if f then
      local first = true
      for line in f:lines() do
        if not first then
          local c = {}
          for x in (line .. "\t"):gmatch("(.-)\t") do c[#c + 1] = x end
          if c[4] then out[#out + 1] = c[4] end
          if c[5] then out[#out + 1] = c[5] end
        end
        first = false
      end
      f:close()
    end
  end
  if #out == 0 then                      -- synthetic MRPC-length sentences (about 22 words)
    local words = { "the", "company", "said", "shares", "fell", "percent", "market", "court", "judge", "police",
      "report", "yesterday", "billion", "government", "officials", "accused", "evidence", "of", "in", "and" }
    local s = 1
    for k = 1, n do
      local w = {}
      for j = 1, 22 do s = (s * 1103515245 + 12345) % 2147483648; w[j] = words[s % #words + 1] end
      out[k] = table.concat(w, " ") .. " ."
    end
  end
  local r = {}
  for k = 1, n do r[k] = out[(k - 1) % #out + 1] end
  return r
end

local function vocab()
  local p = seed_dir .. "/nezha-en-base/vocab.txt"
  if io.open(p) then return rt.tokenizer.load(p, { lower = true }) end
  local t = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
  for _, s in ipairs(sentences(50)) do for w in s:lower():gmatch("%S+") do t[#t + 1] = w end end
  local seen, u = {}, {}
  for _, w in ipairs(t) do if not seen[w] then seen[w] = true; u[#u + 1] = w end end
  for k = #u + 1, 28996 do u[k] = "w" .. k end
  return rt.tokenizer.load(u, { lower = true })
end

local function glove_file(tok, sents)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  local words, seen = {}, {}
  for _, s in ipairs(sents) do
    for _, w in ipairs(tok:basic_tokenize(s)) do if not seen[w] then seen[w] = true; words[#words + 1] = w end end
  end
  for k = #words + 1, opts.glove_words do words[k] = "g" .. k end
  local x = 7
  for k = 1, opts.glove_words do
    local v = {}
    for j = 1, opts.glove_dim do x = (x * 1103515245 + 12345) % 2147483648; v[j] = string.format("%.4f", x / 2147483648 - 0.5) end
    f:write(words[k], " ", table.concat(v, " "), "\n")
  end
  f:close()
  return path
end

local function peak_rss_mb()
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  for line in f:lines() do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then f:close(); return tonumber(kb) / 1024 end
  end
  f:close()
  return -1
end

local tok = vocab()
local sents = sentences(opts.sentences)
local gpath = glove_file(tok, sents)
local model = rt.model.new({ vocab_size = tok:vocab_size(), hidden_size = opts.hidden, num_hidden_layers = opts.layers,
  num_attention_heads = math.max(1, opts.hidden // 64), intermediate_size = 4 * opts.hidden,
  max_position_embeddings = 512, heads = { "mlm" } }, { seed = 1 })
model:eval()
local glove = rt._augment.read_glove(gpath)
os.remove(gpath)
for mode in opts.modes:gmatch("[^,]+") do
  local aug = rt.augment.new{ mlm = model, tokenizer = tok, glove = glove, M = opts.M, lang = "en",
    batched = mode == "batched", cache = 0 }
  local t0 = rt._bench.now()
  local nout = 0
  for k = 1, #sents, opts.batch do
    local chunk = {}
    for j = k, math.min(#sents, k + opts.batch - 1) do chunk[#chunk + 1] = sents[j] end
    for _, r in ipairs(aug:augment_batch(chunk, { N = opts.N, p = 0.4, seed = k })) do nout = nout + #r end
  end
  local s = rt._bench.now() - t0
  print(string.format("bench augment impl=retort mode=%s model=%dL-%dH sentences=%d threads=%d masked=%d forwards=%d " ..
    "outputs=%d ms=%.1f sent_per_s=%.3f peak_rss_mb=%.0f", mode, opts.layers, opts.hidden, #sents, opts.threads,
    aug.stats.masked, aug.stats.forwards, nout, s * 1e3, #sents / s, peak_rss_mb()))
end
