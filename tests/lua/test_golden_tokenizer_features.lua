-- Golden parity of model inputs: rt.data.dataset / tok:encode (classification),
-- rt.data.ner_dataset (NER label alignment) and rt.tasks.squad_features (CMRC windows)
-- vs the upstream feature logic re-implemented in scripts/golden/tokenizer_features.py.
local T = require "retort.test"
local rt = require "retort"

local tok = rt.tokenizer.load(T.seed("nezha-cn-base/vocab.txt"), { lower = true })

local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
local function fields(line)
  local out = {}
  for f in (line .. "\t"):gmatch("(.-)\t") do out[#out + 1] = f end
  return out
end
local function join(t) return table.concat(t, " ") end

T.test("golden features: classification (MRPC pairs, ChnSentiCorp singles)", function()
  local mrpc, lm = rt.data.read_task("mrpc", T.seed("mrpc"), "train")
  local chn, lc = rt.data.read_task("chnsenti", T.seed("chnsenti"), "train")
  local dm = rt.data.dataset(mrpc, tok, { max_len = 48, labels = lm })
  local dc = rt.data.dataset(chn, tok, { max_len = 64, labels = lc })
  local k = { mrpc = 0, chnsenti = 0 }
  for line in io.lines(T.golden("tokenizer_features/cls.tsv")) do
    local f = fields(line)
    local set = f[1]
    k[set] = k[set] + 1
    local item = (set == "mrpc" and dm or dc)[k[set]]
    local width = set == "mrpc" and 48 or 64
    local b = rt.data.collate({ item }, { pad_to = width })
    T.eq(join(b.input_ids:totable()[1]), f[2], set .. " " .. k[set] .. " ids")
    T.eq(join(b.token_type_ids:totable()[1]), f[3], set .. " " .. k[set] .. " segments")
    T.eq(join(b.attention_mask:totable()[1]), f[4], set .. " " .. k[set] .. " mask")
    local ex = (set == "mrpc" and mrpc or chn)[k[set]]
    local e = tok:encode(ex.text_a, ex.text_b, { max_len = width })
    T.eq(join(e.input_ids:totable()), f[2], set .. " encode")
    T.eq(join(e.token_type_ids:totable()), f[3])
  end
  T.eq(k.mrpc, 99); T.eq(k.chnsenti, 109)
end)

T.test("golden features: NER alignment", function()
  local n = 0
  for line in io.lines(T.golden("tokenizer_features/ner.tsv")) do
    n = n + 1
    local f = fields(line)
    local words, labels = {}, {}
    for w in f[1]:gmatch("%x+") do words[#words + 1] = unhex(w) end
    for l in f[2]:gmatch("%S+") do labels[#labels + 1] = l end
    local ds = rt.data.ner_dataset({ { words = words, labels = labels } }, tok, { max_len = 32 })
    local b = rt.data.collate(ds, { pad_to = 32 })
    T.eq(join(b.input_ids:totable()[1]), f[3], "ner " .. n .. " ids")
    T.eq(join(b.labels:totable()[1]), f[4], "ner " .. n .. " labels")
  end
  T.eq(n, 60)
end)

T.test("golden features: CMRC/SQuAD windows", function()
  local groups, order = {}, {}
  for line in io.lines(T.golden("tokenizer_features/squad.tsv")) do
    local f = fields(line)
    local key = f[1] .. "|" .. f[2] .. "|" .. f[3]
    if not groups[key] then
      groups[key] = { ctx = unhex(f[1]), q = unhex(f[2]), a = unhex(f[3]), feats = {} }
      order[#order + 1] = key
    end
    table.insert(groups[key].feats, f)
  end
  local nf = 0
  for gi, key in ipairs(order) do
    local g = groups[key]
    local qas = { { id = "q" .. gi, question = g.q, context = g.ctx, answers = { { text = g.a, start = -1 } } } }
    local feats, _, skipped = rt.tasks.squad_features(qas, tok, { max_len = 64, doc_stride = 24, max_query = 12 })
    T.eq(skipped, 0, "example " .. gi)
    T.eq(#feats, #g.feats, "example " .. gi .. " windows")
    for i, f in ipairs(g.feats) do
      local got = feats[i]
      local what = ("example %d window %d"):format(gi, i)
      T.eq(got.doc_span_index - 1, tonumber(f[4]), what)
      T.eq(join(got.ids), f[5], what .. " ids")
      T.eq(join(got.seg), f[6], what .. " segments")
      T.eq(join(got.span_mask), f[7], what .. " span mask")
      T.eq(got.start_position, tonumber(f[8]), what .. " start")
      T.eq(got.end_position, tonumber(f[9]), what .. " end")
      local t2o, mc = {}, {}
      for p = 0, #got.ids - 1 do
        if got.token_to_orig[p] then t2o[#t2o + 1] = p .. ":" .. (got.token_to_orig[p] - 1) end
        if got.max_context[p] then mc[#mc + 1] = tostring(p) end
      end
      T.eq(join(t2o), f[10], what .. " token_to_orig")
      T.eq(join(mc), f[11], what .. " max context")
      nf = nf + 1
    end
  end
  T.ok(nf > 50, "features " .. nf)
  print(("golden features: %d CMRC windows from %d examples equal"):format(nf, #order))
end)
