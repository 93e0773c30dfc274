-- Hostile sizes and files, interrupted saves: no crash, no silent mix of old and new.
-- Every crafted file is built here.
local T = require "retort.test"
local rt = require "retort"

local RETORT = os.getenv("RETORT_BIN") or "build/retort"

local function write(path, bytes)
  local f = assert(io.open(path, "wb")); f:write(bytes); f:close(); return path
end
local function ls(dir)
  local out, p = {}, io.popen("ls -A '" .. dir .. "'")
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

T.test("rt.zeros/empty with sizes whose product wraps: an error, not a crash", function()
  T.raises(function() rt.zeros(4611686018427387905, 4) end, "shape [4611686018427387905,4] is too large")
  T.raises(function() rt.zeros(0, 9000000000000000, 9000000000000000) end, "is too large")
  T.raises(function() rt.zeros(1, 4):expand(4611686018427387905, 4) end, "is too large")
  T.raises(function() rt.ones(2 ^ 40, 2 ^ 30) end, "is too large")
end)

T.test("safetensors shapes that overflow name the file and the tensor", function()
  local dir = T.tmpdir()
  local function st(name, shape, nbytes)
    local hdr = '{"big":{"dtype":"F32","shape":' .. shape .. ',"data_offsets":[0,' .. nbytes .. ']}}'
    return write(dir .. "/" .. name, string.pack("<I8", #hdr) .. hdr .. string.rep("\0", nbytes))
  end
  local p = st("zero.safetensors", "[0,9000000000000000,9000000000000000]", 0)
  T.raises(function() rt.load(p) end, "zero.safetensors: tensor 'big': shape [0,9000000000000000,9000000000000000] is too large")
  p = st("wrap.safetensors", "[4503599627370496,1048576]", 16)
  T.raises(function() rt.load(p) end, "wrap.safetensors: tensor 'big': shape [4503599627370496,1048576] is too large")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("config limits and a size estimate before allocating", function()
  local dir = T.tmpdir()
  write(dir .. "/config.json", '{"vocab_size":100,"hidden_size":768,"num_hidden_layers":10000,"num_attention_heads":12}')
  write(dir .. "/model.safetensors", string.pack("<I8", 2) .. "{}")
  T.raises(function() rt.model.load(dir, {quiet = true}) end, "config.json: num_hidden_layers 10000 is above the limit 1024")
  write(dir .. "/config.json", '{"vocab_size":100,"hidden_size":8192,"num_hidden_layers":1000,"num_attention_heads":8,"intermediate_size":32768}')
  T.raises(function() rt.model.load(dir, {quiet = true}) end, "GiB for its parameters alone")
  T.raises(function() rt.model.new({vocab_size = 2 ^ 30, hidden_size = 8, num_attention_heads = 2}) end, "vocab_size")
  os.execute("rm -rf '" .. dir .. "'")
end)

local cfgA = {vocab_size = 30, hidden_size = 8, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 16,
              max_position_embeddings = 16}
local cfgB = {vocab_size = 30, hidden_size = 8, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 16,
              max_position_embeddings = 16}

-- "A" or "B" when the loaded model equals one of them exactly (config and every tensor)
local function which(m, A, B)
  for tag, ref in pairs{A = A, B = B} do
    if m.config.num_hidden_layers == ref.config.num_hidden_layers then
      local pa, pb, same = m:named_parameters(), ref:named_parameters(), true
      for k, v in pairs(pb) do
        if not pa[k] or (pa[k] - v):abs():max():item() ~= 0 then same = false end
      end
      for k in pairs(pa) do if not pb[k] then same = false end end
      if same then return tag end
    end
  end
  return "neither"
end

T.test("m:save is atomic as a whole: kill -9 at every step loads exactly the old or the new model", function()
  local dir = T.tmpdir()
  local target = dir .. "/model"
  local A = rt.model.new(cfgA, {seed = 1})
  local B = rt.model.new(cfgB, {seed = 2})
  local child = write(dir .. "/save_b.lua", string.format(
    "local rt = require 'retort'\nlocal m = rt.model.new(%s, {seed = 2})\nm:save(%q)\n",
    "{vocab_size = 30, hidden_size = 8, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 16, max_position_embeddings = 16}",
    target))
  local seen, kills = {}, 0
  for k = 1, 20 do
    os.execute("rm -rf '" .. target .. "'")
    A:save(target)
    local ok, how, code = os.execute("RETORT_CRASH_AT=" .. k .. " exec '" .. RETORT .. "' '" .. child .. "' 2>/dev/null")
    local m = rt.model.load(target, {quiet = true})
    local got = which(m, A, B)
    T.ok(got ~= "neither", "kill at step " .. k .. ": the folder loads as neither the old nor the new model")
    seen[got] = true
    if ok then T.eq(got, "B", "a finished save"); break end
    T.eq(how, "signal"); T.eq(code, 9)
    kills = kills + 1
    -- the next save to that place finishes or discards the interrupted one
    local before = ls(target)
    B:save(target)
    T.eq(which(rt.model.load(target, {quiet = true}), A, B), "B")
    for _, f in ipairs(ls(target)) do
      T.ok(not f:find("retort") and not f:find("%.tmp%."), "left behind after step " .. k .. ": " .. f .. " (before: " .. table.concat(before, " ") .. ")")
    end
  end
  T.ok(kills >= 5, "only " .. kills .. " kill points")
  print("kill points: " .. kills)
  T.ok(seen.A and seen.B, "both outcomes seen")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("rt.model.load refuses config and weights that disagree, even quiet", function()
  local dir = T.tmpdir()
  local A = rt.model.new(cfgA, {seed = 1})
  local B = rt.model.new(cfgB, {seed = 2})
  A:save(dir .. "/a"); B:save(dir .. "/b")
  os.execute("cp '" .. dir .. "/b/config.json' '" .. dir .. "/a/config.json'")   -- new config beside old weights
  T.raises(function() rt.model.load(dir .. "/a", {quiet = true}) end, "config and weights disagree")
  -- stale temporary files of an old-style killed save are removed by the next save
  write(dir .. "/b/config.json.tmp.AbC123", "{")
  write(dir .. "/b/.model.safetensors.retort-new.tmp.XyZ789", "junk")
  B:save(dir .. "/b")
  for _, f in ipairs(ls(dir .. "/b")) do T.ok(not f:find("tmp"), "left behind: " .. f) end
  -- a safetensors save over a .bin one rewrites the .bin in the same commit (never stale)
  A:save(dir .. "/c", {format = "bin"}); B:save(dir .. "/c")
  T.eq(which(rt.model.load(dir .. "/c", {quiet = true}), A, B), "B")
  T.eq(which(rt.model.load(dir .. "/c/pytorch_model.bin", {quiet = true}), A, B), "B")
  os.execute("rm -rf '" .. dir .. "'")
end)

local function peak_rss_mb()
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmHWM:%s+(%d+)")
    if v then return tonumber(v) / 1024 end
  end
  return 0
end

T.test("SQuAD: a long context shared by many questions is stored once (memory proportional to the file)", function()
  local dir = T.tmpdir()
  local qs = {}
  for i = 1, 2000 do qs[i] = string.format('{"id":"q%d","question":"q?","answers":[{"text":"a","answer_start":0}]}', i) end
  local ctx = string.rep("a", 200000)
  local p = write(dir .. "/squad.json", '{"data":[{"title":"t","paragraphs":[{"context":"' .. ctx .. '","qas":[' ..
                  table.concat(qs, ",") .. ']},{"context":"other","qas":[{"id":"z","question":"?","answers":[]}]}]}]}')
  local before = peak_rss_mb()
  local d = rt.data.read_squad(p)
  T.eq(#d, 2001); T.eq(#d[2000].context, 200000); T.eq(d[2001].context, "other"); T.eq(d[2001].title, "t")
  -- 2000 copies of the context would be 400 MB (C) + 400 MB (Lua)
  T.ok(peak_rss_mb() - before < 150, string.format("peak RSS grew by %.0f MB for a %.1f MB file", peak_rss_mb() - before, (#ctx + 2000 * 70) / 1e6))
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("indexed lookups keep their meaning: duplicates, metadata, many entries", function()
  local dir = T.tmpdir()
  local parts = {}
  for i = 1, 3000 do parts[i] = string.format('"t%d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}', i, 4 * (i - 1), 4 * i) end
  parts[#parts + 1] = '"__metadata__":{"a":"1","b":"2"}'
  local hdr = "{" .. table.concat(parts, ",") .. "}"
  local data = {}
  for i = 1, 3000 do data[i] = string.pack("<f", i) end
  local p = write(dir .. "/many.safetensors", string.pack("<I8", #hdr) .. hdr .. table.concat(data))
  local t, meta = rt.load(p)
  T.eq(t.t1:item(), 1); T.eq(t.t2999:item(), 2999); T.eq(meta.a, "1"); T.eq(meta.b, "2")
  hdr = '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},' ..
        '"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
  p = write(dir .. "/dup.safetensors", string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 8))
  T.raises(function() rt.load(p) end, "tensor 'x' appears twice")
  -- torch.save with 300 storages: every tensor finds its own
  local many = {}
  for i = 1, 300 do many["w" .. i] = rt.tensor({i, -i}) end
  rt.io.save_bin(dir .. "/many.bin", many)
  local back = rt.io.load_bin(dir .. "/many.bin")
  for i = 1, 300, 37 do T.near(back["w" .. i], {i, -i}, 0) end
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("rt.load keeps no mapping: truncating or rewriting the file after a load changes nothing", function()
  local dir = T.tmpdir()
  local path = dir .. "/w.safetensors"
  local child = write(dir .. "/child.lua", string.format([[
local rt = require "retort"
local path = %q
rt.save(path, {w = rt.arange(4096):float()})
local w = rt.load(path).w
local f = assert(io.open(path, "r+b")); f:seek("set", 200); f:write(string.rep("\255", 4000)); f:close()
assert(w[3]:item() == 2 and w[500]:item() == 499, "a rewrite in place changed the loaded tensor")
f = assert(io.open(path, "wb")); f:close()         -- truncated in place (same inode)
assert(w:sum():item() == 4095 * 4096 / 2, "values changed")
print("survived")
]], path))
  local p = io.popen("'" .. RETORT .. "' '" .. child .. "' 2>&1; echo rc=$?")
  local out = p:read("a"); p:close()
  T.ok(out:find("survived") and out:find("rc=0"), "child: " .. out)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("loaded files count as tensor memory: 40 loads of a 16 MB file are collected", function()
  local dir = T.tmpdir()
  local path = dir .. "/big.safetensors"
  rt.save(path, {w = rt.zeros(4 * 1024 * 1024)})
  local function vmsize()
    for l in io.lines("/proc/self/status") do
      local v = l:match("^VmSize:%s+(%d+)")
      if v then return tonumber(v) / 1024 end
    end
  end
  collectgarbage(); collectgarbage()
  local before, top = vmsize(), 0
  for _ = 1, 40 do
    local t = rt.load(path)
    T.eq(t.w:shape()[1], 4 * 1024 * 1024)
    top = math.max(top, vmsize() - before)
  end
  T.ok(top < 320, string.format("address space grew by %.0f MB (40 x 16 MB loads)", top))
  os.execute("rm -rf '" .. dir .. "'")
end)

-- Runs `code` in a child retort whose files may not grow past `kb` KiB (ulimit -f, SIGXFSZ
-- ignored): every write beyond fails with EFBIG, the way a full disk fails with ENOSPC.
local function run_full_disk(dir, kb, code)
  local child = write(dir .. "/full_child.lua", "local rt = require 'retort'\n" .. code)
  local p = io.popen(string.format("sh -c 'trap \"\" XFSZ; ulimit -f %d; exec \"%s\" \"%s\"' 2>&1; echo rc=$?", kb, RETORT, child))
  local out = p:read("a"); p:close()
  return out
end

T.test("a full disk: write_json and m:save raise, naming the path, and keep the old files", function()
  local dir = T.tmpdir()
  local state = dir .. "/trainer_state.json"
  rt.log.write_json(state, {step = 1})
  local out = run_full_disk(dir, 8, string.format([[
local big = {}
for i = 1, 5000 do big[i] = i end
local ok, e = pcall(rt.log.write_json, %q, {step = 2, big = big})
print(ok and "wrote" or ("error: " .. tostring(e)))
]], state))
  T.ok(out:find("error: .*trainer_state.json") and out:find("rc=0"), out)
  T.eq(rt.log.json_decode(io.open(state):read("a")).step, 1)
  for _, f in ipairs(ls(dir)) do T.ok(not f:find("%.tmp%."), "left behind: " .. f) end
  -- a model save that runs out of space in the weights keeps the old model, whole
  local A = rt.model.new(cfgA, {seed = 1})
  local B = rt.model.new(cfgB, {seed = 2})
  A:save(dir .. "/model")
  out = run_full_disk(dir, 8, string.format([[
local m = rt.model.new(%s, {seed = 2})
local ok, e = pcall(m.save, m, %q)
print(ok and "saved" or ("error: " .. tostring(e)))
]], "{vocab_size = 30, hidden_size = 8, num_hidden_layers = 2, num_attention_heads = 2, intermediate_size = 16, max_position_embeddings = 16}",
    dir .. "/model"))
  T.ok(out:find("error: .*model") and out:find("rc=0"), out)
  T.eq(which(rt.model.load(dir .. "/model", {quiet = true}), A, B), "A")
  for _, f in ipairs(ls(dir .. "/model")) do T.ok(not f:find("retort") and not f:find("tmp"), "left behind: " .. f) end
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("checkpoint rotation never follows a symlink and deletes only checkpoint-N folders", function()
  local Trainer = require "retort.trainer"
  local dir = T.tmpdir()
  local outside = dir .. "/precious"
  os.execute("mkdir -p '" .. outside .. "'")
  write(outside .. "/keep.txt", "mine")
  local W = rt.zeros(2, 2):requires_grad()
  local tr = Trainer.new{ model = { named_parameters = function() return { w = W } end }, train = {1, 2},
    batch_size = 1, epochs = 1, output_dir = dir .. "/out", progress = false, keep_last = 1,
    collate = function(l) return l end, optim = { name = "adamw", lr = 0.01 },
    step_fn = function() return (W * W):sum() end }
  tr.step = 1
  local c1 = tr:save_checkpoint()
  os.execute("ln -s '" .. outside .. "' '" .. c1 .. "/link'")                 -- a link inside a checkpoint
  os.execute("mkdir -p '" .. dir .. "/out/checkpoint-2.tmp' && ln -s '" .. outside .. "' '" .. dir .. "/out/checkpoint-2.tmp/l2'")
  tr.step = 2
  tr:save_checkpoint()                                                       -- rotates checkpoint-1 away
  T.ok(not rt.sys.exists(c1), "checkpoint-1 still there")
  T.eq(io.open(outside .. "/keep.txt"):read("a"), "mine")
  os.execute("ln -s '" .. outside .. "' '" .. dir .. "/out/checkpoint-3'")   -- a checkpoint that is a link
  tr.step = 4
  tr:save_checkpoint()
  T.eq(io.open(outside .. "/keep.txt"):read("a"), "mine")
  T.ok(rt.sys.exists(dir .. "/out/checkpoint-4") and not rt.sys.exists(dir .. "/out/checkpoint-3"))
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("--notebook run keeps every byte of cells it does not run, and integers of any size", function()
  local dir = T.tmpdir()
  local nb = [[{"cells": [
  {"cell_type": "markdown", "id": "m1", "metadata": {"n": 12345678901234567891}, "source": ["a\u0000b after the NUL\n", "x"]},
  {"cell_type": "code", "execution_count": null, "id": "c1", "metadata": {}, "outputs": [], "source": ["print(1 + 1)"]},
  {"cell_type": "raw", "id": "r1", "metadata": {}, "source": "\u0000 raw"}
 ],
 "metadata": {"big": -98765432109876543210, "f": 0.1},
 "nbformat": 4, "nbformat_minor": 5}
]]
  local path = write(dir .. "/t.ipynb", nb)
  local p = io.popen("'" .. RETORT .. "' --notebook run '" .. path .. "' 2>&1; echo rc=$?")
  local out = p:read("a"); p:close()
  T.ok(out:find("rc=0"), out)
  local got = io.open(path):read("a")
  T.ok(got:find('"a\\u0000b after the NUL\\n"', 1, true), got)
  T.ok(got:find('"\\u0000 raw"', 1, true), got)
  T.ok(got:find("12345678901234567891", 1, true) and got:find("-98765432109876543210", 1, true), got)
  T.ok(got:find('"2\\n"', 1, true), "the code cell ran: " .. got)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("NUL bytes in TSV/BIO files and a vocabulary without [UNK] are errors naming the file", function()
  local dir = T.tmpdir()
  write(dir .. "/train.tsv", "1\tgood\n0\tba\0d rest\n")
  T.raises(function() rt.data.read_task("chnsenti", dir, "train") end, "train.tsv:2: NUL byte at column 5")
  T.raises(function() rt.data.read_tsv(dir .. "/train.tsv") end, "train.tsv:2: NUL byte")
  local bio = write(dir .. "/ner.txt", "中 B-LOC\n国 I-LOC\n\n北\0 B-LOC\n")
  T.raises(function() rt.data.read_ner(bio) end, "ner.txt:4: NUL byte")
  local v = write(dir .. "/vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n")
  T.raises(function() rt.tokenizer.load(v) end, "vocab.txt has no [UNK] token")
  T.raises(function() rt.tokenizer.load({"a", "b"}) end, "has no [UNK] token")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("out of memory while reading names the file and the tensor", function()
  local dir = T.tmpdir()
  local n = 1024 * 1024
  local hdr = '{"big":{"dtype":"F16","shape":[' .. n .. '],"data_offsets":[0,' .. 2 * n .. ']}}'
  local st = write(dir .. "/h.safetensors", string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 2 * n))
  local child = write(dir .. "/oom.lua", string.format("local rt = require 'retort'\nprint(pcall(rt.load, %q))\n", st))
  local p = io.popen("RETORT_MEMORY_LIMIT_MB=3 '" .. RETORT .. "' '" .. child .. "' 2>&1")
  local out = p:read("a"); p:close()
  T.ok(out:find("h.safetensors: tensor 'big': out of memory allocating 4194304 bytes", 1, true), out)
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("TFRecord: a record longer than the file is refused before allocating it", function()
  local tab = {}
  for i = 0, 255 do
    local c = i
    for _ = 1, 8 do c = (c & 1) ~= 0 and (0x82F63B78 ~ (c >> 1)) or (c >> 1) end
    tab[i] = c
  end
  local function crc32c(s)
    local c = 0xFFFFFFFF
    for i = 1, #s do c = tab[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
    c = c ~ 0xFFFFFFFF
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xa282ead8) & 0xFFFFFFFF
  end
  local dir = T.tmpdir()
  local len = string.pack("<I8", 2 ^ 31 - 1)
  local path = write(dir .. "/huge.tfrecord", len .. string.pack("<I4", crc32c(len)) .. "abcd")
  -- under a 1.5 GB address-space limit an allocation of the claimed 2 GB would fail first
  local child = write(dir .. "/tfr.lua", string.format(
    "local rt = require 'retort'\nprint(pcall(function() for _ in rt.io.tfrecord(%q, {raw = true}) do end end))\n", path))
  -- (AddressSanitizer reserves terabytes of shadow memory: no address-space limit there)
  local limit = os.getenv("RETORT_ASAN") and "" or "ulimit -v 1500000; "
  local p = io.popen("sh -c '" .. limit .. "exec \"" .. RETORT .. "\" \"" .. child .. "\"' 2>&1")
  local out = p:read("a"); p:close()
  T.ok(out:find("huge.tfrecord", 1, true) and out:find("truncated record data", 1, true), out)
  os.execute("rm -rf '" .. dir .. "'")
end)
