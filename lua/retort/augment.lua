-- retort.augment (rt.augment): TinyBERT's data augmentation (TinyBERT/data_augmentation.py)
-- — word replacement by a masked language model and by GloVe neighbours — batched.
--
--   local aug = rt.augment.new{mlm = "bert-base/", glove = "glove.6B.300d.txt", M = 15}
--   aug:candidates(tok:basic_tokenize("the cat sat"), 2)   --> {"dog", "cat", ...}
--   aug:augment("The cat sat on the mat.", {N = 30, p = 0.4, seed = 1})
--     --> {"The cat sat on the mat.", "the dog sat on the mat .", ...}
--   print(aug:diff(a, b))                                 --> the [cat→dog] sat ...
--
-- English (as upstream): the words are the basic-tokenised sentence; a word is a
-- candidate when it is all [a-z] and not in the stop-word list. A word of one
-- WordPiece is masked and the MLM reads the pair "[CLS] masked [SEP] original [SEP]"
-- (512 tokens at most); its top-M predictions, those starting with "##" dropped, are
-- the candidates. A word of several pieces takes its top-M GloVe cosine neighbours
-- (title-cased when the word is). No candidates: the word itself.
-- Retort batches what upstream does one forward at a time: every single-piece
-- position of a batch of sentences becomes one masked copy, copies are packed by
-- length into forwards of up to `batch_tokens` tokens, and the logits are computed
-- only at the mask; the GloVe neighbours of a batch's multi-piece words are one GEMM
-- against the normalised matrix (read once, kept in the object).
--
-- Chinese (lang = "zh", automatic for a vocabulary that is mostly CJK characters):
-- the words come from a segmenter (rt.segment; without one every character is a
-- word); candidates are words of CJK characters outside a Chinese stop-word list.
-- A one-character word goes through the MLM as above; a longer word is whole-word
-- masked (all its characters) and candidate j joins the j-th prediction of every
-- position (or, with `word_vectors`, its neighbours there). Chinese candidates are
-- kept only when they are CJK text ("##" stripped); sentences are joined without
-- spaces, so an output differs from the input only inside replaced words.
local C = require "retort.core"

local M = {}
local function rt() return require "retort" end

-- TinyBERT/data_augmentation.py StopWordsList (173 entries).
local STOP = { 'i', 'me', 'my', 'myself', 'we', 'our', 'ours', 'ourselves', 'you', "you're", "you've",
  "you'll", "you'd", 'your', 'yours', 'yourself', 'yourselves', 'he', 'him', 'his', 'himself', 'she',
  "she's", 'her', 'hers', 'herself', 'it', "it's", 'its', 'itself', 'they', 'them', 'their', 'theirs',
  'themselves', 'this', 'that', "that'll", 'these', 'those', 'am', 'is', 'are', 'was', 'were', 'be',
  'been', 'being', 'have', 'has', 'had', 'having', 'do', 'does', 'did', 'doing', 'a', 'an', 'the', 'and',
  'but', 'if', 'or', 'because', 'as', 'until', 'while', 'of', 'at', 'by', 'for', 'with', 'about',
  'against', 'between', 'into', 'through', 'during', 'before', 'after', 'above', 'below', 'to', 'from',
  'up', 'down', 'in', 'out', 'on', 'off', 'over', 'under', 'again', 'further', 'then', 'once', 'here',
  'there', 'all', 'any', 'both', 'each', 'few', 'more', 'most', 'other', 'some', 'such', 'no', 'nor',
  'not', 'only', 'own', 'same', 'so', 'than', 'too', 'very', 's', 't', 'can', 'will', 'just', 'don',
  "don't", 'should', "should've", 'now', 'd', 'll', 'm', 'o', 're', 've', 'y', 'ain', 'aren', "aren't",
  'couldn', "couldn't", 'didn', "didn't", 'doesn', "doesn't", 'hadn', "hadn't", 'hasn', "hasn't",
  'haven', "haven't", 'isn', "isn't", 'ma', 'mightn', "mightn't", 'mustn', "mustn't", 'needn',
  "needn't", 'shan', "shan't", 'shouldn', "shouldn't", 'wasn', "wasn't", 'weren', "weren't", 'won',
  "won't", 'wouldn', "wouldn't", "'s", "'re" }

-- Chinese function words (pronouns, particles, auxiliaries, conjunctions, common
-- prepositions and adverbs) and punctuation: never replaced.
local ZH_STOP = [[
的 地 得 了 着 过 吗 呢 吧 啊 呀 哦 嗯 哈 啦 么 嘛 呗 哇 喔 噢 之 乎 者 也 矣 焉 哉
我 你 您 他 她 它 咱 俺 我们 你们 他们 她们 它们 咱们 自己 大家 人家 别人 这 那 哪 这个 那个 哪个
这些 那些 这里 那里 这儿 那儿 这样 那样 这么 那么 怎么 怎样 什么 谁 几 多少 其 此 彼 某 每 各
是 不是 有 没 没有 无 不 别 非 在 于 为 以 与 及 和 跟 同 或 或者 而 而且 并 并且 且 但 但是 可是
却 然而 虽然 虽 尽管 因为 因 所以 于是 因此 如果 假如 若 要是 即使 即 就 才 都 也 还 又 再 更 最
很 太 挺 极 真 把 被 让 给 叫 对 从 向 往 到 由 自 比 按 照 关于 对于 至于 除了 以及 之后 之前 以后 以前
个 些 一 一个 一些 一下 一点 会 能 可 可以 要 应 该 应该 得 所 已 已经 曾 正 将 被 着 呃 哎 唉
， 。 、 ； ： ？ ！ “ ” ‘ ’ （ ） 《 》 〈 〉 【 】 … — ～ · ﹏ ＂ ＇
]]

local STOP_SET, ZH_STOP_SET = {}, {}
for _, w in ipairs(STOP) do STOP_SET[w] = true end
for w in ZH_STOP:gmatch("%S+") do ZH_STOP_SET[w] = true end
M.STOP_WORDS = STOP
M.ZH_STOP_WORDS = {}
for w in ZH_STOP:gmatch("%S+") do M.ZH_STOP_WORDS[#M.ZH_STOP_WORDS + 1] = w end

--- rt.augment.is_stop_word(word, lang="en") -> whether the word is never replaced.
function M.is_stop_word(w, lang)
  if lang == "zh" then return ZH_STOP_SET[w] == true end
  return STOP_SET[w] == true
end

-- CJK code points (the tokenizer's _is_chinese_char ranges).
local function is_cjk_cp(c)
  return (c >= 0x4E00 and c <= 0x9FFF) or (c >= 0x3400 and c <= 0x4DBF) or (c >= 0x20000 and c <= 0x2A6DF)
      or (c >= 0x2A700 and c <= 0x2B73F) or (c >= 0x2B740 and c <= 0x2B81F) or (c >= 0x2B820 and c <= 0x2CEAF)
      or (c >= 0xF900 and c <= 0xFAFF) or (c >= 0x2F800 and c <= 0x2FA1F)
end

--- rt.augment.is_cjk(s) -> true when s is non-empty and every character is CJK.
function M.is_cjk(s)
  if s == "" or not utf8.len(s) then return false end
  for _, c in utf8.codes(s) do if not is_cjk_cp(c) then return false end end
  return true
end

-- upstream _is_valid: no character outside [a-z]
local function is_valid_en(w) return not w:find("[^a-z]") end

-- Python str.istitle / str.title for the ASCII words GloVe holds.
local function istitle(w)
  local cased, prev_cased, ok = false, false, true
  for ch in w:gmatch(".") do
    if ch:match("%u") then
      if prev_cased then ok = false end
      prev_cased, cased = true, true
    elseif ch:match("%l") then
      if not prev_cased then ok = false end
      prev_cased, cased = true, true
    else
      prev_cased = false
    end
  end
  return ok and cased
end
local function title(w) return (w:gsub("%a+", function(s) return s:sub(1, 1):upper() .. s:sub(2):lower() end)) end
M._istitle, M._title = istitle, title

-- A small seeded generator (splitmix64): uniform() in [0, 1), choice(list).
local function rng(seed)
  local s = math.tointeger(seed) or math.floor(seed)
  local function next64()
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    return z ~ (z >> 31)
  end
  local r = {}
  function r.uniform() return (next64() >> 11) * (1.0 / 9007199254740992.0) end
  function r.choice(t) return t[math.floor(r.uniform() * #t) + 1] end
  return r
end
M._rng = rng

local Aug = {}
Aug.__index = Aug

local function detect_lang(tok)
  local n = tok:vocab_size()
  local ids = {}
  for i = 0, n - 1 do ids[#ids + 1] = i end
  local cjk = 0
  for _, t in ipairs(tok:convert_ids_to_tokens(ids)) do
    local s = t:gsub("^##", "")
    if utf8.len(s) == 1 and M.is_cjk(s) then cjk = cjk + 1 end
  end
  return cjk > 0.3 * n and "zh" or "en"
end
M._detect_lang = detect_lang

--- rt.augment.new{mlm = model | dir, tokenizer = tok | "vocab.txt", glove = path | Glove,
---   glove_limit = 100000, M = 15, lang = "en" | "zh" (default: from the vocabulary),
---   segmenter = seg | dict path (zh), word_vectors = path (zh, GloVe format),
---   batch_tokens = 4096, max_batch = 64, batched = true, do_lower_case = true,
---   cache = 4096 (sentences whose candidates are kept; 0: none),
---   att_bytes = 256 MiB (bound on a forward's attention scores)} -> augmentor
function M.new(o)
  o = o or {}
  local R = rt()
  local self = setmetatable({ M = o.M or 15, batch_tokens = o.batch_tokens or 4096, max_batch = o.max_batch or 64,
    batched = o.batched ~= false, stats = { forwards = 0, masked = 0, glove = 0, cached = 0 },
    cache_size = o.cache or 4096, cache = {}, ncache = 0, att_bytes = o.att_bytes or (256 << 20) }, Aug)
  local mlm = o.mlm
  if type(mlm) == "string" then
    self.dir = mlm
    local report
    mlm, report = R.model.load(mlm, { heads = { "mlm" }, quiet = true })
    if report and report:find("cls.predictions", 1, true) and report:find("missing", 1, true) then
      io.stderr:write("rt.augment: warning: ", self.dir, " has no (complete) MLM head; its weights are random:\n", report)
    end
  end
  if mlm == nil then error("rt.augment.new: mlm (a model with an MLM head, or its folder) is required", 2) end
  self.model = mlm
  mlm:eval()
  local tok = o.tokenizer
  if type(tok) == "string" or tok == nil then
    local path = tok or (self.dir and (self.dir .. "/vocab.txt"))
    if not path then error("rt.augment.new: tokenizer (or an mlm folder with vocab.txt) is required", 2) end
    tok = R.tokenizer.load(path, { lower = o.do_lower_case ~= false })
  end
  self.tok = tok
  self.lang = o.lang or detect_lang(tok)
  if self.lang ~= "en" and self.lang ~= "zh" then error("rt.augment.new: lang must be \"en\" or \"zh\"", 2) end
  local maxpos = mlm.config.max_position_embeddings or 512
  self.max_len = math.min(512, maxpos)          -- upstream truncates the pair to 512
  local gl = o.glove
  if self.lang == "zh" then gl = o.word_vectors or o.glove end
  if type(gl) == "string" then gl = C._augment.read_glove(gl, o.glove_limit or 100000) end
  if gl then
    self.glove = gl
    self.gvocab = {}
    for i, w in ipairs(gl:words()) do self.gvocab[w] = i - 1 end   -- a repeated word: its last line
  end
  if self.lang == "zh" then
    local seg = o.segmenter
    if type(seg) == "string" then seg = R.segment.load(seg) end
    self.seg = seg
  end
  return self
end

function Aug:__tostring()
  return string.format("[Augmentor lang=%s M=%d mlm=%s glove=%s]", self.lang, self.M,
    self.dir or "model", self.glove and tostring(self.glove) or "none")
end

--- aug:words(sentence) -> the word list candidates() and augment() work on
--- (English: basic tokens; Chinese: segmenter words, or characters without one).
function Aug:words(sent)
  if self.lang == "en" then return self.tok:basic_tokenize(sent) end
  if self.seg then return self.seg:cut(sent) end
  local w = {}
  for _, c in utf8.codes(sent) do w[#w + 1] = utf8.char(c) end
  return w
end

local function joiner(self) return self.lang == "zh" and "" or " " end

-- Whether word i is a replacement position.
function Aug:is_candidate(w)
  if self.lang == "zh" then return M.is_cjk(w) and not ZH_STOP_SET[w] end
  return is_valid_en(w) and not STOP_SET[w]
end

-- Pieces of a sentence and, per word (Lua position), its piece positions (1-based
-- into pieces). English follows upstream _word_augment: WordPiece the whole
-- sentence and start a new word at every piece without "##".
local function locate(self, words)
  local pieces, span = {}, {}
  if self.lang == "en" then
    for _, w in ipairs(words) do
      for _, p in ipairs(self.tok:wordpiece(w)) do pieces[#pieces + 1] = p end
    end
    local k = 0
    for i, p in ipairs(pieces) do
      if not p:find("##", 1, true) then k = k + 1; span[k] = { i } else if k > 0 then table.insert(span[k], i) end end
    end
  else
    for k, w in ipairs(words) do
      local s = {}
      for _, p in ipairs(self.tok:tokenize(w)) do pieces[#pieces + 1] = p; s[#s + 1] = #pieces end
      span[k] = s
    end
  end
  return pieces, span
end

-- The masked pair for positions `mask` (1-based into pieces): ids, segments, the
-- 0-based mask positions in the pair; nil when a mask falls past the length limit.
local function masked_pair(self, pieces, mask)
  local tok = self.tok
  local ids = tok:convert_tokens_to_ids(pieces)
  local L = #ids
  local seq, seg = { tok.cls_id }, { 0 }
  local masked = {}
  for _, m in ipairs(mask) do masked[m] = true end
  for i = 1, L do seq[#seq + 1] = masked[i] and tok.mask_id or ids[i]; seg[#seg + 1] = 0 end
  seq[#seq + 1] = tok.sep_id; seg[#seg + 1] = 0
  for i = 1, L do seq[#seq + 1] = ids[i]; seg[#seg + 1] = 1 end
  seq[#seq + 1] = tok.sep_id; seg[#seg + 1] = 1
  local lim = self.max_len
  if #seq > lim then
    for i = #seq, lim + 1, -1 do seq[i] = nil; seg[i] = nil end
  end
  local pos = {}
  for _, m in ipairs(mask) do
    if m >= lim then return nil end        -- upstream: [] when the mask index >= 512
    pos[#pos + 1] = m                      -- [CLS] first: piece m is at 0-based m
  end
  return { ids = seq, seg = seg, pos = pos }
end

-- Run MLM jobs (each {ids=, seg=, pos={...}}) in packed forwards; sets job.top =
-- per mask position the top-M token strings.
function Aug:_run_mlm(jobs)
  if #jobs == 0 then return end
  local R = rt()
  local order = {}
  for i = 1, #jobs do order[i] = i end
  if self.batched then table.sort(order, function(a, b) return #jobs[a].ids > #jobs[b].ids or (#jobs[a].ids == #jobs[b].ids and a < b) end) end
  local i = 1
  while i <= #order do
    local L = #jobs[order[i]].ids
    local n = 1
    if self.batched then
      -- the forward keeps every layer's attention scores: bound them too
      local cfg = self.model.config
      local att_row = (cfg.num_hidden_layers or 12) * (cfg.num_attention_heads or 12) * L * L * 4
      local max_n = math.max(1, math.min(self.max_batch, self.att_bytes // att_row))
      while i + n <= #order and n < max_n and (n + 1) * L <= self.batch_tokens do n = n + 1 end
    end
    local P = 0
    for j = i, i + n - 1 do P = math.max(P, #jobs[order[j]].pos) end
    local ids, seg, att, pos = {}, {}, {}, {}
    for j = i, i + n - 1 do
      local jb = jobs[order[j]]
      local a, s, m, p = {}, {}, {}, {}
      for t = 1, L do
        a[t] = jb.ids[t] or 0; s[t] = jb.seg[t] or 0; m[t] = jb.ids[t] and 1 or 0
      end
      for t = 1, P do p[t] = jb.pos[t] or 0 end
      ids[#ids + 1], seg[#seg + 1], att[#att + 1], pos[#pos + 1] = a, s, m, p
    end
    local model = self.model
    local out = R.no_grad(function()
      return model:forward{ input_ids = R.tensor(ids, "i64"), token_type_ids = R.tensor(seg, "i64"),
        attention_mask = R.tensor(att, "i64"), mlm_positions = R.tensor(pos, "i64"), output_fit = false }
    end)
    self.stats.forwards = self.stats.forwards + 1
    local top = C._augment.topk(out.mlm_logits, self.M)     -- [(n*P)] rows of M ids
    out = nil
    for j = 0, n - 1 do
      local jb = jobs[order[i + j]]
      jb.top = {}
      for t = 1, #jb.pos do jb.top[t] = self.tok:convert_ids_to_tokens(top[j * P + t]) end
    end
    self.stats.masked = self.stats.masked + n
    i = i + n
  end
end

-- GloVe neighbours for a list of words in one pass; -> {word -> candidates}.
function Aug:_run_glove(words)
  local res, rows, uniq = {}, {}, {}
  if not self.glove then return res end
  for _, w in ipairs(words) do
    local r = self.gvocab[w]
    if r and not uniq[w] then uniq[w] = #rows + 1; rows[#rows + 1] = r end
  end
  local nb = #rows > 0 and self.glove:neighbours(rows, self.M) or {}
  self.stats.glove = self.stats.glove + #rows
  local gw = self.gwords
  if not gw then gw = self.glove:words(); self.gwords = gw end
  for key, k in pairs(uniq) do
    local c = {}
    for _, r in ipairs(nb[k]) do c[#c + 1] = gw[r + 1] end
    res[key] = c
  end
  return res
end

local function strip_hash(t) return (t:gsub("^##", "")) end

--- aug:candidates_batch({words1, words2, ...} [, positions]) -> {{[i] = {cand, ...}}, ...}:
--- the candidate lists of every replacement position (or of positions[s] = {i, ...}
--- for sentence s) of every sentence, computed in batched forwards. Repeated
--- sentences (MNLI's premises, QQP's questions) are computed once: results are
--- cached (the last `cache` sentences, shared tables: do not modify them).
function Aug:candidates_batch(sents, positions)
  if positions or self.cache_size <= 0 then return self:_candidates_batch(sents, positions) end
  local out, todo, keys, where = {}, {}, {}, {}
  for s, words in ipairs(sents) do
    local key = table.concat(words, "\0")
    local hit = self.cache[key]
    if hit then
      out[s] = hit
      self.stats.cached = self.stats.cached + 1
    elseif where[key] then
      table.insert(where[key], s)
      self.stats.cached = self.stats.cached + 1
    else
      todo[#todo + 1], keys[#keys + 1], where[key] = words, key, { s }
    end
  end
  if #todo > 0 then
    for k, r in ipairs(self:_candidates_batch(todo)) do
      for _, s in ipairs(where[keys[k]]) do out[s] = r end
      if self.ncache >= self.cache_size then self.cache, self.ncache = {}, 0 end
      self.cache[keys[k]] = r
      self.ncache = self.ncache + 1
    end
  end
  return out
end

function Aug:_candidates_batch(sents, positions)
  local jobs, gl_words, plan = {}, {}, {}
  for s, words in ipairs(sents) do
    local pieces, span = locate(self, words)
    local p = {}
    local want = positions and positions[s]
    local list = {}
    if want then list = want else
      for i, w in ipairs(words) do if self:is_candidate(w) then list[#list + 1] = i end end
    end
    for _, i in ipairs(list) do
      local w, sp = words[i], span[i] or {}
      local e = { word = w }
      if #sp == 1 then
        e.job = masked_pair(self, pieces, sp)
        if e.job then jobs[#jobs + 1] = e.job end
      elseif #sp > 1 then
        if self.lang == "zh" and not (self.glove and self.gvocab[w]) then
          e.job = masked_pair(self, pieces, sp)          -- whole-word masking
          if e.job then jobs[#jobs + 1] = e.job end
        else
          e.glove = true
          gl_words[#gl_words + 1] = w
        end
      end
      p[#p + 1] = { i, e }
    end
    plan[s] = p
  end
  self:_run_mlm(jobs)
  local gn = self:_run_glove(gl_words)
  local out = {}
  for s, p in ipairs(plan) do
    local res = {}
    for _, ie in ipairs(p) do
      local i, e = ie[1], ie[2]
      local c = {}
      if e.job and self.lang == "en" then
        for _, t in ipairs(e.job.top[1]) do
          if t:sub(1, 2) ~= "##" then c[#c + 1] = t end     -- upstream: filter x.find("##") != 0
        end
      elseif e.job then                                     -- zh: join the j-th prediction of each position
        local seen = {}
        for j = 1, self.M do
          local parts = {}
          for t = 1, #e.job.top do parts[t] = strip_hash(e.job.top[t][j] or "") end
          local w = table.concat(parts)
          if utf8.len(w) == #e.job.top and M.is_cjk(w) and not seen[w] then seen[w] = true; c[#c + 1] = w end
        end
      elseif e.glove then
        c = gn[e.word] or {}
        if self.lang == "en" and istitle(e.word) then
          local t = {}
          for k, w in ipairs(c) do t[k] = title(w) end
          c = t
        elseif self.lang == "zh" then
          local t = {}
          for _, w in ipairs(c) do if M.is_cjk(w) then t[#t + 1] = w end end
          c = t
        end
      end
      if #c == 0 then c = { e.word } end
      res[i] = c
    end
    out[s] = res
  end
  return out
end

--- aug:candidates(words, i) -> {cand, ...}: the candidates of word i (Lua position)
--- of a word list (aug:words(sentence)), as upstream _word_augment.
function Aug:candidates(words, i)
  if type(words) == "string" then words = self:words(words) end
  if i < 0 then i = #words + 1 + i end
  if not words[i] then error(string.format("aug:candidates: word %d out of range (1..%d)", i, #words), 2) end
  return self:candidates_batch({ words }, { { i } })[1][i]
end

-- Upstream augment's generation loop over precomputed candidates.
local function generate(self, sent, words, cands, o)
  local N, p = o.N or 30, o.p or 0.4
  local r = rng(o.seed or os.time())
  local idx = {}
  for i in pairs(cands) do idx[#idx + 1] = i end
  table.sort(idx)                         -- upstream: dict insertion order = word order
  local outs, seen = { sent }, { [sent] = true }
  local j = joiner(self)
  for _ = 1, N do
    local new = table.move(words, 1, #words, 1, {})
    for _, i in ipairs(idx) do
      local c = r.choice(cands[i])
      if r.uniform() < p then new[i] = c end
    end
    local s = table.concat(new, j)
    if not seen[s] then seen[s] = true; outs[#outs + 1] = s end
  end
  return outs
end

--- aug:augment(sentence, {N=30, p=0.4, seed=}) -> {sentence, new1, ...}: the original
--- and up to N distinct new sentences (English: basic tokens joined by spaces).
function Aug:augment(sent, o)
  return self:augment_batch({ sent }, o)[1]
end

--- aug:augment_batch({s1, s2, ...}, {N=, p=, seed=}) -> {{s1, ...}, ...}; candidates of
--- all sentences in one batched pass; sentence k uses seed + k - 1.
function Aug:augment_batch(sents, o)
  o = o or {}
  local words = {}
  for k, s in ipairs(sents) do words[k] = self:words(s) end
  local cands = self:candidates_batch(words)
  local base = o.seed or os.time()
  local res = {}
  for k, s in ipairs(sents) do
    res[k] = generate(self, s, words[k], cands[k], { N = o.N, p = o.p, seed = o.seeds and o.seeds[k] or base + k - 1 })
  end
  return res, cands, words
end

-- Longest common subsequence alignment of two lists -> ops {"=", x} {"-", x} {"+", y}.
local function lcs_ops(a, b)
  local n, m = #a, #b
  local dp = {}
  for i = 0, n do dp[i] = {}; dp[i][m + 1] = 0 end
  for j = 0, m + 1 do dp[n + 1] = dp[n + 1] or {}; dp[n + 1][j] = 0 end
  for i = n, 1, -1 do
    for j = m, 1, -1 do
      if a[i] == b[j] then dp[i][j] = dp[i + 1][j + 1] + 1
      else dp[i][j] = math.max(dp[i + 1][j], dp[i][j + 1]) end
    end
  end
  local ops, i, j = {}, 1, 1
  while i <= n and j <= m do
    if a[i] == b[j] then ops[#ops + 1] = { "=", a[i] }; i, j = i + 1, j + 1
    elseif dp[i + 1][j] >= dp[i][j + 1] then ops[#ops + 1] = { "-", a[i] }; i = i + 1
    else ops[#ops + 1] = { "+", b[j] }; j = j + 1 end
  end
  for k = i, n do ops[#ops + 1] = { "-", a[k] } end
  for k = j, m do ops[#ops + 1] = { "+", b[k] } end
  return ops
end

--- aug:diff(a, b [, {color=false}]) -> text of b with replaced words marked
--- "[old→new]" (English: words; Chinese: runs of characters), and the count.
function Aug:diff(a, b, o)
  o = o or {}
  local sa, sb
  local L, Rb = o.color and "\27[1;31m[" or "[", o.color and "]\27[0m" or "]"
  if self.lang == "zh" and utf8.len(a) and utf8.len(a) == utf8.len(b) then
    -- same length (the usual case: candidates keep the word's length): word by word
    -- over the segmenter words of a
    local out, n, pos = {}, 0, 1
    for _, w in ipairs(self:words(a)) do
      local k = utf8.len(w)
      local stop = utf8.offset(b, k + 1, pos) or (#b + 1)
      local x = b:sub(pos, stop - 1)
      if x == w then out[#out + 1] = w else out[#out + 1] = L .. w .. "→" .. x .. Rb; n = n + 1 end
      pos = stop
    end
    return table.concat(out), n
  end
  if self.lang == "zh" then
    sa, sb = {}, {}
    for _, c in utf8.codes(a) do sa[#sa + 1] = utf8.char(c) end
    for _, c in utf8.codes(b) do sb[#sb + 1] = utf8.char(c) end
  else
    sa, sb = self.tok:basic_tokenize(a), self.tok:basic_tokenize(b)
  end
  local ops = lcs_ops(sa, sb)
  local out, del, ins, n = {}, {}, {}, 0
  local sep = joiner(self)
  local function flush()
    if #del == 0 and #ins == 0 then return end
    if #del == #ins then            -- word for word: one mark per replaced word
      for k = 1, #del do out[#out + 1] = L .. del[k] .. "→" .. ins[k] .. Rb end
      n = n + #del
    else
      out[#out + 1] = L .. table.concat(del, sep) .. "→" .. table.concat(ins, sep) .. Rb
      n = n + 1
    end
    del, ins = {}, {}
  end
  for _, op in ipairs(ops) do
    if op[1] == "=" then flush(); out[#out + 1] = op[2]
    elseif op[1] == "-" then del[#del + 1] = op[2]
    else ins[#ins + 1] = op[2] end
  end
  flush()
  return table.concat(out, sep), n
end

M.Augmentor = Aug
require("retort.log").autodoc(M, "rt.augment", Aug)
return M
