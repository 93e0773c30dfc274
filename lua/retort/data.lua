-- retort.data (rt.data): task readers (C, rt._data), feature builders and batching.
--
--   local ex, labels = rt.data.read_task("mrpc", dir, "train")
--   local ds = rt.data.dataset(ex, tok, {labels = labels, max_len = 128})
--   local loader = rt.data.loader(ds, {batch_size = 32, shuffle = true, seed = 1, bucket = true})
--   for batch in loader:iter() do ... batch.input_ids [B, L], batch.labels [B] ... end
--   #loader  --> number of batches per epoch
local C = require "retort.core"
local M = {}
for k, v in pairs(C._data) do M[k] = v end

local function rt() return require "retort" end

-- Item lists ---------------------------------------------------------------

--- rt.data.features(tok, a, b, max_len) -> {ids=, seg=} Lua lists with [CLS] a [SEP] (b [SEP]),
--- upstream truncation (single: a cut to max_len-2; pair: pop the longer list's last token).
function M.features(tok, a, b, max_len)
  local ia = type(a) == "table" and a or tok:encode_ids(a)
  local ib = b and (type(b) == "table" and b or tok:encode_ids(b)) or nil
  local na, nb = #ia, ib and #ib or 0
  if max_len then
    if ib then na, nb = M.truncate_pair(na, nb, max_len)
    elseif na > max_len - 2 then na = max_len - 2 end
  end
  local ids, seg = { tok.cls_id }, { 0 }
  for i = 1, na do ids[#ids + 1] = ia[i]; seg[#seg + 1] = 0 end
  ids[#ids + 1] = tok.sep_id; seg[#seg + 1] = 0
  if ib then
    for i = 1, nb do ids[#ids + 1] = ib[i]; seg[#seg + 1] = 1 end
    ids[#ids + 1] = tok.sep_id; seg[#seg + 1] = 1
  end
  return { ids = ids, seg = seg }
end

--- rt.data.dataset(examples, tok, {labels=, max_len=128, regression=false}) -> list of items
--- {ids=, seg=, label=, guid=} (label: 0-based class id, a number for regression, nil if absent).
function M.dataset(examples, tok, opts)
  opts = opts or {}
  local max_len = opts.max_len or 128
  local lid = {}
  for i, l in ipairs(opts.labels or {}) do lid[l] = i - 1 end
  local out = {}
  for i, e in ipairs(examples) do
    local f = M.features(tok, e.text_a, e.text_b, max_len)
    if e.label ~= nil then
      if opts.regression or type(e.label) == "number" then f.label = tonumber(e.label)
      else
        f.label = lid[e.label]
        if f.label == nil then error(("dataset: example %d (%s): label '%s' not in the label list"):format(i, tostring(e.guid), tostring(e.label)), 2) end
      end
    end
    f.guid = e.guid
    out[i] = f
  end
  return out
end

--- rt.data.ner_dataset(sentences, tok, {max_len=256}) -> items {ids=, seg=, labels=, guid=}
--- Upstream alignment: each character is tokenized alone; its first piece gets the label,
--- further pieces "X"; [CLS]/[SEP] get their own labels; label ids are the positions in
--- the upstream list (O=1 ... [SEP]=10), padding 0 (collate pads labels with 0).
function M.ner_dataset(sentences, tok, opts)
  opts = opts or {}
  local max_len = opts.max_len or 256
  local names = opts.labels or { "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "X", "[CLS]", "[SEP]" }
  local lid = {}
  for i, l in ipairs(names) do lid[l] = i end
  local out = {}
  for s, sent in ipairs(sentences) do
    local toks, labs = {}, {}
    for i, w in ipairs(sent.words) do
      local pieces = tok:encode_ids(w)
      for k, p in ipairs(pieces) do
        toks[#toks + 1] = p
        local l = k == 1 and sent.labels[i] or "X"
        labs[#labs + 1] = lid[l] or error(("ner_dataset: sentence %d: unknown label '%s'"):format(s, l), 2)
      end
    end
    if #toks >= max_len - 1 then
      for i = #toks, max_len - 1, -1 do toks[i] = nil; labs[i] = nil end
    end
    local ids, seg, lab = { tok.cls_id }, { 0 }, { lid["[CLS]"] }
    for i = 1, #toks do ids[i + 1] = toks[i]; seg[i + 1] = 0; lab[i + 1] = labs[i] end
    ids[#ids + 1] = tok.sep_id; seg[#seg + 1] = 0; lab[#lab + 1] = lid["[SEP]"]
    out[s] = { ids = ids, seg = seg, labels = lab, guid = s }
  end
  return out, names
end

--- rt.data.word_groups(tok, seg, text) -> tokens, ids, groups
--- Whole-word masking support: the text is cut into words by the segmenter (rt.segment)
--- and each word is tokenized; groups[i] is the word index of token i, so every piece of a
--- word (Chinese characters of one segmented word, "##" pieces of an English word) shares
--- a group. Tokens are the concatenation of the per-word tokenizations.
function M.word_groups(tok, seg, text)
  local tokens, ids, groups, g = {}, {}, {}, 0
  for _, w in ipairs(seg:cut(text)) do
    local pieces = tok:tokenize(w)
    if #pieces > 0 then
      g = g + 1
      local pid = tok:convert_tokens_to_ids(pieces)
      for k, p in ipairs(pieces) do
        tokens[#tokens + 1] = p; ids[#ids + 1] = pid[k]; groups[#groups + 1] = g
      end
    end
  end
  return tokens, ids, groups
end

-- Batching -----------------------------------------------------------------

-- A small seeded generator (splitmix64), independent of rt.manual_seed.
local function rng(seed)
  local s = math.tointeger(seed) or 0
  local function nexti()
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    return z ~ (z >> 31)
  end
  return function(n)              -- uniform integer in [1, n]
    return ((nexti() >> 11) % n) + 1
  end
end

local function shuffle(t, rand)
  for i = #t, 2, -1 do
    local j = rand(i)
    t[i], t[j] = t[j], t[i]
  end
end

local function item_len(it)
  if it.ids then return #it.ids end
  if it.input_ids then return type(it.input_ids) == "table" and #it.input_ids or it.input_ids:numel() end
  return 1
end

--- rt.data.collate(items, {pad_to=nil}) -> {input_ids=, token_type_ids=, attention_mask=, labels=}
--- [B, L] i64 tensors, L = the longest item (or pad_to); labels [B] (i64 for integer class
--- ids, f32 when any label is a float or regression=true) or [B, L] for token labels (padded with 0).
function M.collate(items, opts)
  opts = opts or {}
  local R = rt()
  local ids, seg, mask = {}, {}, {}
  local width = opts.pad_to
  if not width then
    width = 0
    for _, it in ipairs(items) do width = math.max(width, #it.ids) end
  end
  for i, it in ipairs(items) do
    ids[i] = it.ids; seg[i] = it.seg or {}
    local m = {}
    for k = 1, #it.ids do m[k] = 1 end
    mask[i] = m
  end
  local pad = opts.pad_id or 0
  local b = {
    input_ids = M.pack_i64(ids, width, pad),
    token_type_ids = M.pack_i64(seg, width, 0),
    attention_mask = M.pack_i64(mask, width, 0),
  }
  local first = items[1]
  if first and first.labels then
    local ls = {}
    for i, it in ipairs(items) do ls[i] = it.labels end
    b.labels = M.pack_i64(ls, width, 0)
  elseif first and first.label ~= nil then
    local ls, float = {}, opts.regression
    for i, it in ipairs(items) do
      ls[i] = it.label
      if math.type(it.label) == "float" then float = true end
    end
    if float then b.labels = R.tensor(ls)
    else b.labels = M.pack_i64({ ls }, #ls, 0):reshape(#ls) end
  end
  return b
end

local Loader = {}
Loader.__index = Loader
Loader.__len = function(self) return self.nbatches end
Loader.__tostring = function(self)
  return ("[DataLoader %d items, batch %d, %d batches%s%s]"):format(#self.data, self.batch_size, self.nbatches,
    self.shuffle and ", shuffled" or "", self.bucket and ", bucketed" or "")
end

--- rt.data.loader(items, {batch_size=32, shuffle=false, seed=0, drop_last=false, bucket=false,
---   bucket_size=batch_size*50, collate=rt.data.collate, pad_to=nil}) -> loader
--- `for batch in loader:iter() do` (one epoch; each call reshuffles with the loader's own
--- seeded generator, so epochs differ and runs repeat); #loader = batches per epoch.
--- bucket=true sorts each pool of bucket_size shuffled items by length before cutting
--- batches (less padding), then shuffles the order of the batches.
function M.loader(data, opts)
  opts = opts or {}
  local bs = opts.batch_size or 32
  assert(math.type(bs) == "integer" and bs > 0, "loader: batch_size must be a positive integer")
  local n = #data
  local nb = opts.drop_last and n // bs or (n + bs - 1) // bs
  local self = setmetatable({
    data = data, batch_size = bs, shuffle = opts.shuffle or false, drop_last = opts.drop_last or false,
    bucket = opts.bucket or false, bucket_size = opts.bucket_size or bs * 50,
    collate = opts.collate or function(items) return M.collate(items, opts) end,
    nbatches = nb, epoch = 0, rand = rng(opts.seed or 0),
  }, Loader)
  return self
end

--- loader:batches() -> the list of index lists of the next epoch (advances the epoch).
function Loader:batches()
  local n, bs = #self.data, self.batch_size
  local order = {}
  for i = 1, n do order[i] = i end
  if self.shuffle then shuffle(order, self.rand) end
  if self.bucket then
    local data = self.data
    for s = 1, n, self.bucket_size do
      local e = math.min(n, s + self.bucket_size - 1)
      local pool = table.move(order, s, e, 1, {})
      table.sort(pool, function(x, y)
        local lx, ly = item_len(data[x]), item_len(data[y])
        if lx ~= ly then return lx < ly end
        return x < y
      end)
      table.move(pool, 1, #pool, s, order)
    end
  end
  local batches = {}
  for s = 1, n, bs do
    local e = math.min(n, s + bs - 1)
    if e - s + 1 == bs or not self.drop_last then batches[#batches + 1] = table.move(order, s, e, 1, {}) end
  end
  if self.bucket and self.shuffle then shuffle(batches, self.rand) end
  self.epoch = self.epoch + 1
  return batches
end

--- loader:iter() -> iterator over the batches of one epoch (collated).
function Loader:iter()
  local batches, k = self:batches(), 0
  return function()
    k = k + 1
    local idx = batches[k]
    if not idx then return nil end
    local items = {}
    for i, j in ipairs(idx) do items[i] = self.data[j] end
    return self.collate(items, idx)
  end
end

require("retort.log").autodoc(M, "rt.data", Loader)
return M
