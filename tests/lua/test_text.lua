-- Tokenizer API, vocabulary builders and the Chinese segmenter.
local T = require "retort.test"
local rt = require "retort"

local cn = rt.tokenizer.load(T.seed("nezha-cn-base/vocab.txt"))

T.test("upstream test vectors (BERT tokenization.py)", function()
  T.eq(table.concat(cn:tokenize("大品牌， 硬件配置很好， 系统换成xp,不加内存就跑的很快！"), " "),
    "大 品 牌 ， 硬 件 配 置 很 好 ， 系 统 换 成 xp , 不 加 内 存 就 跑 的 很 快 ！")
  T.eq(table.concat(cn:encode_ids("Hello, World! naïve café 123abc"), " "), "8701 117 8572 106 11469 8857 8377 8604 12072")
  T.eq(table.concat(cn:tokenize("我爱北京天安门。UNwanted running"), " "), "我 爱 北 京 天 安 门 。 u ##n ##wan ##ted running")
  local tiny = rt.tokenizer.load({ "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", "," })
  T.eq(table.concat(tiny:tokenize("UNwant\u{E9}d,running"), " "), "un ##want ##ed , runn ##ing")
  T.eq(table.concat(tiny:tokenize("unwantedX running"), " "), "[UNK] runn ##ing")
  T.eq(#tiny:tokenize(""), 0)
end)

T.test("encode: layout, truncation, padding", function()
  local e = cn:encode("我爱北京", "天安门", { max_len = 12 })
  T.eq(table.concat(e.input_ids:totable(), ","), "101,2769,4263,1266,776,102,1921,2128,7305,102,0,0")
  T.eq(table.concat(e.token_type_ids:totable(), ","), "0,0,0,0,0,0,1,1,1,1,0,0")
  T.eq(table.concat(e.attention_mask:totable(), ","), "1,1,1,1,1,1,1,1,1,1,0,0")
  T.eq(e.input_ids:dtype(), "i64")
  -- pair truncation pops the longer list's last token (b on ties): 4+3 -> room 5 -> a 3? no: 4>3 pop a -> 3,3 -> pop b -> 3,2
  e = cn:encode("我爱北京", "天安门", { max_len = 8 })
  T.eq(table.concat(e.input_ids:totable(), ","), "101,2769,4263,1266,102,1921,2128,102")
  -- single: cut to max_len - 2; no padding without pad
  e = cn:encode("我爱北京天安门", { max_len = 5, pad = false })
  T.eq(table.concat(e.input_ids:totable(), ","), "101,2769,4263,1266,102")
  e = cn:encode("我爱", nil, { max_len = 6, pad = "longest" })
  T.eq(e.input_ids:numel(), 4)
  e = cn:encode("我爱")
  T.eq(table.concat(e.input_ids:totable(), ","), "101,2769,4263,102")
  T.raises(function() cn:encode("我爱北京", { max_len = 4, truncation = false }) end, "do not fit")
  -- token/id lists are accepted in place of text
  e = cn:encode({ "我", "爱" }, { 1266 }, { max_len = 7 })
  T.eq(table.concat(e.input_ids:totable(), ","), "101,2769,4263,102,1266,102,0")
end)

T.test("batch: [B, L] tensors, fixed or longest padding", function()
  local b = cn:batch { { "a b", "我爱" }, { "c", "北京天安门" } }
  T.eq(table.concat(b.input_ids:shape(), "x"), "2x10")
  T.eq(table.concat(b.attention_mask:totable()[1], ","), "1,1,1,1,1,1,0,0,0,0")
  b = cn:batch { { "a", "bb", "ccc" }, max_len = 16 }
  T.eq(table.concat(b.input_ids:shape(), "x"), "3x16")
  b = cn:batch { { "a", "我爱北京天安门" }, max_len = 16, pad = "longest" }
  T.eq(table.concat(b.input_ids:shape(), "x"), "2x9")
  T.raises(function() cn:batch { { "a" }, { "b", "c" } } end, "texts_b")
  T.raises(function() cn:batch { { "a", true } } end, "string expected")   -- freed by the scratch's __gc
  T.raises(function() cn:encode("a", { "b", true }) end, "token 2")
end)

T.test("decode, ids <-> tokens, vocab lookups, save/load", function()
  local ids = cn:encode_ids("unaffable running 北京")
  T.eq(cn:decode(ids), "unaffable running 北 京")
  local e = cn:encode("hello world")
  T.eq(cn:decode(e.input_ids), "hello world")
  T.eq(cn:decode(e.input_ids, { skip_special = false }), "[CLS] hello world [SEP]")
  T.eq(table.concat(cn:convert_ids_to_tokens({ 101, 102 }), " "), "[CLS] [SEP]")
  T.eq(cn:convert_tokens_to_ids({ "[CLS]", "not-a-token" })[2], 100)
  T.raises(function() cn:convert_ids_to_tokens({ 99999 }) end, "out of range")
  T.eq(cn.vocab["[MASK]"], 103); T.eq(cn.vocab[103], "[MASK]"); T.eq(cn.vocab["nope-nope"], nil)
  T.eq(#cn.vocab, 21128); T.eq(cn:vocab_size(), 21128)
  T.eq(cn.cls_id, 101); T.eq(cn.pad_id, 0); T.eq(cn.lower, true)
  local dir = T.tmpdir()
  local f = cn:save(dir .. "/")
  local again = rt.tokenizer.load(f)
  T.eq(again:vocab_size(), 21128)
  T.eq(table.concat(again:encode_ids("今天天气不错"), ","), table.concat(cn:encode_ids("今天天气不错"), ","))
  T.raises(function() rt.tokenizer.load(dir .. "/missing.txt") end, "missing.txt")
  T.eq(cn:save(dir), dir .. "/vocab.txt")
  os.remove(f); os.remove(dir)
end)

T.test("never_split, basic_tokenize, wordpiece, cased", function()
  T.eq(table.concat(cn:tokenize("[CLS] x [MASK] [mask]"), " "), "[CLS] x [MASK] [ ma ##sk ]")
  T.eq(table.concat(cn:basic_tokenize("Ünïcode,中文"), " "), "unicode , 中 文")
  T.eq(table.concat(cn:wordpiece("unaffable"), " "), "u ##na ##ff ##able")
  local en = rt.tokenizer.load(T.seed("nezha-en-base/vocab.txt"), { lower = false })
  T.eq(table.concat(en:tokenize("Naïve Café"), " "), "Na ##ï ##ve Café")
  T.eq(en.lower, false)
  local chars, classes = rt.tokenizer.char_class("a 中,\t")
  T.eq(table.concat(classes, " "), "other space cjk punct space")
  T.eq(chars[3], "中")
end)

T.test("vocab.build_wordpiece: learner round trip", function()
  local lines = {}
  for line in io.lines(T.seed("pretrain-toy/sample_text.txt")) do lines[#lines + 1] = line end
  local toks, info = rt.vocab.build_wordpiece({ lines = lines }, { size = 600, min_frequency = 2 })
  T.eq(toks[1], "[PAD]"); T.eq(toks[2], "[UNK]"); T.eq(toks[5], "[MASK]")
  T.ok(#toks <= 600 and #toks > 300, "size " .. #toks)
  T.ok(info.words > 100)
  local tok = rt.tokenizer.load(toks)
  local unk = 0
  for _, l in ipairs(lines) do
    for _, id in ipairs(tok:encode_ids(l)) do if id == tok.unk_id then unk = unk + 1 end end
  end
  T.eq(unk, 0, "a learned vocabulary covers its corpus")
  -- deterministic, writes vocab.txt
  local dir = T.tmpdir()
  local toks2 = rt.vocab.build_wordpiece({ lines = lines }, { size = 600, min_frequency = 2, out = dir .. "/vocab.txt" })
  T.eq(table.concat(toks2, " "), table.concat(toks, " "))
  T.eq(rt.tokenizer.load(dir .. "/vocab.txt"):vocab_size(), #toks)
  os.remove(dir .. "/vocab.txt"); os.remove(dir)
  -- from a file path, custom specials
  local t3 = rt.vocab.build_wordpiece(T.seed("pretrain-toy/sample_text.txt"), { size = 100, special = { "[UNK]" } })
  T.eq(t3[1], "[UNK]"); T.ok(#t3 <= 100)
end)

T.test("vocab.build_chars", function()
  local toks = rt.vocab.build_chars({ lines = { "我爱北京，北京爱我。", "abc" } }, { size = 100 })
  local set = {}
  for i, t in ipairs(toks) do set[t] = i end
  T.ok(set["北"] and set["京"] and set["，"] and set["a"] and set["##b"], "chars present")
  T.ok(set["北"] < set["，"], "more frequent characters first")
  T.eq(toks[1], "[PAD]")
end)

T.test("segment: DAG + max probability, FMM, dictionary file", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/dict.txt", "w"))
  f:write("北京 100 ns\n天安门 50\n北京大学 80 nt\n大学 60\n学生 40\n我 200\n爱 100\n来到 30\n")
  f:close()
  local seg = rt.segment.load(dir .. "/dict.txt")
  T.eq(seg:size(), 8)
  T.eq(table.concat(seg:cut("我爱北京天安门"), "/"), "我/爱/北京/天安门")
  T.eq(table.concat(seg:cut("我来到北京大学 abc12！"), "/"), "我/来到/北京大学/ /abc12/！")
  T.eq(table.concat(seg:cut("北京大学生", { mode = "fmm" }), "/"), "北京大学/生")
  local s2 = rt.segment.load({ ["中国"] = 10, ["人民"] = 10 })
  T.eq(table.concat(s2:cut("中国人民"), "/"), "中国/人民")
  s2:add_word("中国人民", 1000)
  T.eq(table.concat(s2:cut("中国人民"), "/"), "中国人民")
  local bad = assert(io.open(dir .. "/bad.txt", "w")); bad:write("词 1\n坏 x\n"); bad:close()
  T.raises(function() rt.segment.load(dir .. "/bad.txt") end, "bad.txt:2")
  os.remove(dir .. "/dict.txt"); os.remove(dir .. "/bad.txt"); os.remove(dir)
end)
