-- retort.fortunes (rt.fortunes): the fortune-cookie topic task that `make run` uses,
-- built offline from Debian's `fortunes` package: each collection in
-- /usr/share/games/fortunes is a label (computers, science, politics, food, love,
-- sports), a per-class sample is split into train / test, and a small WordPiece
-- vocabulary is learned on the training split.
--
--   local F = rt.fortunes
--   local train, test, labels = F.build{per_class = 350, test_fraction = 0.2, seed = 1234}
--   local vocab, how = F.vocab(train, 3000)            -- token list
--   F.write_task(dir, train, test, labels)             -- dir/train.tsv, dir/dev.tsv (label<TAB>text)
--
-- Examples are {text=, label=0-based id}. The TSV files use the label names in the
-- single-sentence "label<TAB>text" layout (after a header line) that rt.data.read_task
-- reads as task "text-clf" (labels in order of first appearance: the --labels order).
local F = {}

F.DEFAULTS = { fortune_dir = "/usr/share/games/fortunes", labels = "computers,science,politics,food,love,sports",
               per_class = 350, test_fraction = 0.2, seed = 1234 }

local function permutation(n, seed) return require("retort.trainer").permutation(n, seed) end

--- F.read_collection(path) -> list of entries (whitespace collapsed, >= 10 bytes, UTF-8), or nil.
function F.read_collection(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local out = {}
  for entry in (s .. "\n%\n"):gmatch("(.-)\n%%\n") do
    local t = entry:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
    if utf8.len(t) and #t >= 10 then out[#out + 1] = t end
  end
  return out
end

--- F.build(o) -> train, test, labels: o = {fortune_dir, labels ("a,b,c" or list),
--- per_class, test_fraction, seed} (defaults F.DEFAULTS). The test split is shuffled.
function F.build(o)
  o = o or {}
  for k, v in pairs(F.DEFAULTS) do if o[k] == nil then o[k] = v end end
  local labels = {}
  if type(o.labels) == "table" then for i, l in ipairs(o.labels) do labels[i] = l end
  else for l in tostring(o.labels):gmatch("[^,]+") do labels[#labels + 1] = l end end
  local train, test = {}, {}
  local per = tonumber(o.per_class)
  for id, name in ipairs(labels) do
    local entries = F.read_collection(o.fortune_dir .. "/" .. name)
    if not entries then
      error(string.format("fortunes: %s/%s not found: install the Debian package `fortunes` "
        .. "(scripts/install-deps.sh does)", o.fortune_dir, name), 0)
    end
    local perm = permutation(#entries, tonumber(o.seed) + id)
    local n = math.min(per, #entries)
    local ntest = math.floor(n * tonumber(o.test_fraction) + 0.5)
    for j = 1, n do
      local ex = { text = entries[perm[j]], label = id - 1 }
      if j <= ntest then test[#test + 1] = ex else train[#train + 1] = ex end
    end
  end
  local p = permutation(#test, tonumber(o.seed))
  local shuffled = {}
  for i = 1, #test do shuffled[i] = test[p[i]] end
  return train, shuffled, labels
end

local SPECIAL = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }

-- A small WordPiece vocabulary without rt.vocab: specials, every character (and
-- its ## form), then the most frequent lower-cased words.
local function simple_vocab(texts, size)
  local wc, cc = {}, {}
  for _, t in ipairs(texts) do
    for w in t:lower():gsub("(%p)", " %1 "):gmatch("%S+") do
      wc[w] = (wc[w] or 0) + 1
      for _, c in utf8.codes(w) do local ch = utf8.char(c); cc[ch] = (cc[ch] or 0) + 1 end
    end
  end
  local vocab, seen = {}, {}
  local function add(t) if not seen[t] then seen[t] = true; vocab[#vocab + 1] = t end end
  for _, s in ipairs(SPECIAL) do add(s) end
  local chars = {}
  for c in pairs(cc) do chars[#chars + 1] = c end
  table.sort(chars)
  for _, c in ipairs(chars) do add(c); add("##" .. c) end
  local words = {}
  for w, n in pairs(wc) do if n >= 2 then words[#words + 1] = w end end
  table.sort(words, function(a, b) if wc[a] ~= wc[b] then return wc[a] > wc[b] end return a < b end)
  for _, w in ipairs(words) do if #vocab >= size then break end add(w) end
  return vocab
end

--- F.vocab(examples_or_texts, size) -> tokens, how: WordPiece learned with
--- rt.vocab.build_wordpiece when it exists, else a word + character fallback.
function F.vocab(list, size)
  local texts = {}
  for i, e in ipairs(list) do texts[i] = type(e) == "table" and e.text or e end
  local rt = require "retort"
  local vb = rawget(rt, "vocab") or rt.vocab
  if vb and vb.build_wordpiece then
    local tokens = vb.build_wordpiece({ lines = texts }, { size = size, lower = true, min_frequency = 2 })
    return tokens, "WordPiece learned with rt.vocab.build_wordpiece"
  end
  return simple_vocab(texts, size), "word+character fallback"
end

--- F.write_task(dir, train, test, labels): dir/train.tsv and dir/dev.tsv as a header line
--- and "label-name<TAB>text" lines (task "text-clf"), written atomically.
function F.write_task(dir, train, test, labels)
  local rt = require "retort"
  rt.sys.mkdir(dir)
  for name, list in pairs({ ["train.tsv"] = train, ["dev.tsv"] = test }) do
    local lines = { "label\ttext" }
    for _, e in ipairs(list) do lines[#lines + 1] = labels[e.label + 1] .. "\t" .. e.text:gsub("\t", " ") end
    rt.log.write_atomic(dir .. "/" .. name, table.concat(lines, "\n") .. "\n")
  end
end

return F
