-- Tokenizer throughput: retort's C tokenizer on a large mixed English/Chinese corpus
-- (the text of Debian's fortunes + fortunes-zh packages, repeated to ~20 MB; the same
-- file scripts/bench/tokenizer.py reads). Prints:
--   bench tokenizer impl=retort vocab=cn-lower mb=... mb_per_s=... tok_per_s=... tokens=...
-- Options: --mb N (corpus size, default 20), --corpus PATH (use a given file).
local rt = require "retort"

local opts = { mb = 20 }
local i = 1
while arg and arg[i] do
  if arg[i] == "--mb" then opts.mb = tonumber(arg[i + 1]); i = i + 1
  elseif arg[i] == "--corpus" then opts.corpus = arg[i + 1]; i = i + 1 end
  i = i + 1
end

local FORTUNES = "/usr/share/games/fortunes"

-- Build the corpus: every fortunes text file (sorted names, no .dat/.u8), concatenated,
-- repeated until >= mb megabytes. Deterministic, shared with tokenizer.py.
local function corpus_path(mb)
  local path = os.getenv("RETORT_BENCH_CORPUS") or ("/tmp/retort-tokenizer-corpus-" .. mb .. "mb.txt")
  local f = io.open(path, "rb")
  if f then f:close(); return path end
  local p = io.popen("ls " .. FORTUNES .. " 2>/dev/null")
  local names = {}
  for n in p:lines() do
    if not n:match("%.dat$") and not n:match("%.u8$") then names[#names + 1] = n end
  end
  p:close()
  table.sort(names)
  local parts = {}
  for _, n in ipairs(names) do
    local h = io.open(FORTUNES .. "/" .. n, "rb")
    if h then parts[#parts + 1] = h:read("a"); h:close() end
  end
  local one = table.concat(parts)
  if #one == 0 then error("no fortunes found in " .. FORTUNES .. " (apt-get install fortunes fortunes-zh)") end
  local out = assert(io.open(path .. ".tmp", "wb"))
  local size = 0
  while size < mb * 1000000 do out:write(one); size = size + #one end
  out:close()
  os.rename(path .. ".tmp", path)
  return path
end

local path = opts.corpus or corpus_path(opts.mb)
local lines, bytes = {}, 0
for line in io.lines(path) do lines[#lines + 1] = line; bytes = bytes + #line + 1 end

local function run(name, tok)
  local t0 = os.clock()
  local ntok = 0
  for k = 1, #lines do ntok = ntok + #tok:encode_ids(lines[k]) end
  local dt = os.clock() - t0
  print(("bench tokenizer impl=retort vocab=%s mb=%.1f lines=%d tokens=%d s=%.2f mb_per_s=%.2f tok_per_s=%.0f")
    :format(name, bytes / 1e6, #lines, ntok, dt, bytes / 1e6 / dt, ntok / dt))
end

local seed = os.getenv("RETORT_SEED") or "../shared/seed"
run("cn-lower", rt.tokenizer.load(seed .. "/nezha-cn-base/vocab.txt", { lower = true }))
run("en-cased", rt.tokenizer.load(seed .. "/nezha-en-base/vocab.txt", { lower = false }))

-- Vocabulary learning on one copy of the corpus (about 5 MB): WordPiece and characters.
do
  local one, size = {}, 0
  for k = 1, #lines do
    one[#one + 1] = lines[k]; size = size + #lines[k] + 1
    if size >= 5e6 then break end
  end
  local t0 = os.clock()
  local toks, info = rt.vocab.build_wordpiece({ lines = one }, { size = 8000, min_frequency = 2 })
  local dt = os.clock() - t0
  print(("bench vocab_build impl=retort kind=wordpiece mb=%.1f words=%d size=%d s=%.2f mb_per_s=%.2f")
    :format(size / 1e6, info.words, #toks, dt, size / 1e6 / dt))
  t0 = os.clock()
  toks = rt.vocab.build_chars({ lines = one }, { size = 21128 })
  dt = os.clock() - t0
  print(("bench vocab_build impl=retort kind=chars mb=%.1f size=%d s=%.2f mb_per_s=%.2f")
    :format(size / 1e6, #toks, dt, size / 1e6 / dt))
end
