-- rt.load / rt.save (safetensors), pytorch_model.bin, TFRecords from Lua.
local T = require "retort.test"
local rt = require "retort"

local G = function(f) return "tests/golden/weights_io/" .. f end

T.test("rt.load safetensors: dtypes, values, metadata", function()
  local t, meta = rt.load(G "mixed.safetensors")
  T.eq(meta.format, "pt")
  T.eq(t.f32:dtype(), "f32"); T.eq(#t.f32:shape(), 2)
  T.near(t.f32, {{0, .25, .5, .75}, {1, 1.25, 1.5, 1.75}, {2, 2.25, 2.5, 2.75}}, 0)
  T.eq(t.i64:dtype(), "i64"); T.eq(t.i64:totable()[5], 4 * 2^33 // 1)
  T.eq(t.i32:dtype(), "i32"); T.near(t.i32, {-2, -1, 0, 1, 2}, 0)
  T.eq(t.bf16:dtype(), "bf16"); T.near(t.bf16:float(), {1.5, -2}, 0)
  T.eq(t.bool:dtype(), "bool")
  T.eq(t.f64:dtype(), "f32"); T.near(t.f64, {0.125, -8}, 0)
  T.eq(t.scalar:dim(), 0); T.eq(t.scalar:item(), 4)
end)

T.test("rt.save then rt.load round trip (atomic, metadata)", function()
  local dir = T.tmpdir()
  local path = dir .. "/w.safetensors"
  local a = rt.arange(6):reshape(2, 3)
  rt.save(path, {a = a, b = rt.tensor({7, 8}, "i64"), at = a:transpose(1, 2)}, {step = 3, note = "x"})
  local t, meta = rt.load(path)
  T.near(t.a, a, 0); T.near(t.at, a:transpose(1, 2), 0); T.near(t.b, {7, 8}, 0)
  T.eq(meta.step, "3"); T.eq(meta.note, "x")
  T.raises(function() rt.save(path, {a = 1}) end, "'a' is not a tensor")
  T.raises(function() rt.save(dir .. "/nodir/x.safetensors", {a = a}) end, "nodir/x.safetensors")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("rt.load: clear errors for bad files", function()
  local dir = T.tmpdir()
  local function write(name, bytes) local f = assert(io.open(dir .. "/" .. name, "wb")); f:write(bytes); f:close(); return dir .. "/" .. name end
  local hdr = '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'
  local p = write("trunc.safetensors", string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 10))
  T.raises(function() rt.load(p) end, "trunc.safetensors: truncated")
  hdr = '{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}'
  p = write("shape.safetensors", string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 16))
  T.raises(function() rt.load(p) end, "shape [3,2] of F32 needs 24 bytes")
  hdr = '{"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}'
  p = write("dtype.safetensors", string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 16))
  T.raises(function() rt.load(p) end, "unsupported dtype 'C64'")
  hdr = '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
  p = write("overlap.safetensors", string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 16))
  T.raises(function() rt.load(p) end, "overlap")
  p = write("junk.bin", "hello, not weights")
  T.raises(function() rt.load(p) end, "junk.bin: unknown weight file format")
  T.raises(function() rt.load(dir .. "/missing.safetensors") end, "missing.safetensors")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("rt.load pytorch_model.bin: shared storages, named folder", function()
  local exp = rt.load(G "expected.safetensors")
  for _, f in ipairs{"state.bin", "archive.bin"} do
    local t = rt.load(G(f))
    for k, v in pairs(exp) do
      if not (f == "archive.bin" and k:find("^extra%.")) then
        T.ok(t[k], f .. ": missing " .. k)
        T.eq(t[k]:dtype(), v:dtype(), k)
        T.near(t[k]:float(), v:float(), 0, k)
      end
    end
  end
  local _, extras = rt.io.load_bin(G "state.bin")
  T.eq(extras["extra.epoch"], "3")
end)

T.test("pytorch_model.bin: code and unsupported formats refused", function()
  T.raises(function() rt.load(G "evil_system.bin") end, "refusing to load global 'posix.system'")
  T.raises(function() rt.load(G "evil_eval.bin") end, "nothing was executed")
  T.raises(function() rt.load(G "legacy.bin") end, "legacy")
  T.raises(function() rt.load(G "deflated.bin") end, "compressed")
end)

T.test("rt.io.save_bin round trip", function()
  local dir = T.tmpdir()
  local w = rt.arange(12):reshape(3, 4)
  rt.io.save_bin(dir .. "/pytorch_model.bin", {w = w, tied = w, ids = rt.tensor({1, 2}, "i64")})
  local t = rt.load(dir .. "/pytorch_model.bin")
  T.near(t.w, w, 0); T.near(t.tied, w, 0); T.eq(t.ids:dtype(), "i64")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("rt.io.tfrecord reads the toy pretraining file", function()
  local n, nsp = 0, 0
  for ex in rt.io.tfrecord(T.seed "pretrain-toy/tf_examples_00.tfrecord") do
    n = n + 1
    T.eq(ex.input_ids:numel(), 128); T.eq(ex.input_ids:dtype(), "i64")
    T.eq(ex.masked_lm_weights:dtype(), "f32"); T.eq(ex.masked_lm_positions:numel(), 20)
    nsp = nsp + ex.next_sentence_labels:item()
    if n == 1 then
      T.near(ex.masked_lm_positions, {5, 7, 12, 13, 14, 24, 32, 55, 59, 60, 71, 94, 103, 104, 105, 109, 112, 114, 117, 0}, 0)
    end
  end
  T.eq(n, 60); T.eq(nsp, 32)
end)

T.test("rt.io.write_tfrecord round trip and corruption", function()
  local dir = T.tmpdir()
  local p = dir .. "/x.tfrecord"
  T.eq(rt.io.write_tfrecord(p, {
    {ids = rt.tensor({1, 2, 3}, "i64"), w = rt.tensor{0.5, 1}, s = "hi", l = {4, 5}, f = {0.25}, ss = {"a", "b"}},
    {ids = {9}},
  }), 2)
  local got = {}
  for ex in rt.io.tfrecord(p) do got[#got + 1] = ex end
  T.eq(#got, 2)
  T.near(got[1].ids, {1, 2, 3}, 0); T.near(got[1].w, {0.5, 1}, 0); T.eq(got[1].s[1], "hi")
  T.near(got[1].l, {4, 5}, 0); T.eq(got[1].l:dtype(), "i64"); T.near(got[1].f, {0.25}, 0)
  T.eq(got[1].ss[2], "b"); T.near(got[2].ids, {9}, 0)
  local f = assert(io.open(p, "rb")); local bytes = f:read("a"); f:close()
  f = assert(io.open(p, "wb")); f:write(bytes:sub(1, 20) .. string.char(bytes:byte(21) ~ 1) .. bytes:sub(22)); f:close()
  T.raises(function() for _ in rt.io.tfrecord(p) do end end, "x.tfrecord: record 0 at byte 0: data CRC mismatch")
  f = assert(io.open(p, "wb")); f:write(bytes:sub(1, #bytes - 3)); f:close()
  T.raises(function() for _ in rt.io.tfrecord(p) do end end, "record 1 at byte")
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("rt.io.tf_checkpoint: PyTorch names, transposes, skipped slots", function()
  local exp = rt.load("tests/golden/tfckpt/expected.safetensors")
  local t, skipped = rt.io.tf_checkpoint("tests/golden/tfckpt/model.ckpt")
  T.near(t["bert.encoder.layer.11.intermediate.dense.weight"], exp["bert/encoder/layer_11/intermediate/dense/kernel"]:transpose(1, 2), 0)
  T.near(t["bert.embeddings.word_embeddings.weight"], exp["bert/embeddings/word_embeddings"], 0)
  T.near(t["cls.seq_relationship.weight"], exp["cls/seq_relationship/output_weights"], 0)
  T.near(t["bert.embeddings.LayerNorm.bias"], exp["bert/embeddings/LayerNorm/beta"], 0)
  T.eq(t.global_step, nil)
  local s = table.concat(skipped, " ")
  T.ok(s:find("adam_m", 1, true) and s:find("global_step", 1, true) and s:find("loss_scale", 1, true), s)
  local raw = rt.io.tf_checkpoint("tests/golden/tfckpt/model.ckpt.index", {tf_names = true})
  T.near(raw["extra/half"], {1, -2.5, 65504}, 0)
  local list = rt.io.tf_list("tests/golden/tfckpt")
  T.eq(#list, 34)
  T.eq(rt.io.tf_to_torch_name("bert/encoder/layer_3/output/LayerNorm/gamma"), "bert.encoder.layer.3.output.LayerNorm.weight")
  T.eq(rt.io.tf_to_torch_name("bert/pooler/dense/kernel/adam_v"), nil)
  T.raises(function() rt.io.tf_checkpoint("tests/golden/tfckpt/nothing") end, "nothing.index")
end)

T.test("rt.io pregenerated JSON (TinyBERT) round trip and errors", function()
  local dir = T.tmpdir()
  local p = dir .. "/epoch_0.json"
  local recs = {
    {tokens = {"[CLS]", "hello", "[MASK]", "[SEP]", "w\"x", "[SEP]"}, segment_ids = {0, 0, 0, 0, 1, 1},
     is_random_next = false, masked_lm_positions = {2}, masked_lm_labels = {"world"}},
    {tokens = {"[CLS]", "a", "[SEP]", ".", "[SEP]"}, segment_ids = rt.tensor({0, 0, 0, 1, 1}, "i64"),
     is_random_next = true, masked_lm_positions = rt.tensor({1}, "i64"), masked_lm_labels = {"b"}},
  }
  T.eq(rt.io.write_pregenerated(p, recs, {metrics = dir .. "/epoch_0_metrics.json", max_seq_len = 128}), 2)
  local got = {}
  for r in rt.io.pregenerated(p) do got[#got + 1] = r end
  T.eq(#got, 2)
  T.eq(got[1].tokens[5], "w\"x"); T.near(got[1].segment_ids, {0, 0, 0, 0, 1, 1}, 0)
  T.eq(got[1].is_random_next, false); T.eq(got[2].is_random_next, true)
  T.near(got[2].masked_lm_positions, {1}, 0); T.eq(got[1].masked_lm_labels[1], "world")
  local f = assert(io.open(dir .. "/epoch_0_metrics.json")); local m = f:read("a"); f:close()
  T.eq(m, '{"num_training_examples": 2, "max_seq_len": 128}')
  f = assert(io.open(p, "a")); f:write('{"tokens": ["a"], "segment_ids": [0, 1], "is_random_next": false, "masked_lm_positions": [], "masked_lm_labels": []}\n'); f:close()
  T.raises(function() for _ in rt.io.pregenerated(p) do end end, "epoch_0.json:3: 'segment_ids' and 'tokens' differ")
  os.execute("rm -rf '" .. dir .. "'")
end)

-- Regression: a safetensors header whose length starts with bytes 0x80 0x02..0x05
-- (lengths 0x280..0x5ff) must not be mistaken for a legacy torch.save pickle.
T.test("safetensors with a 0x2xx-0x5xx header length loads", function()
  local dir = T.tmpdir()
  local path = dir .. "/h.safetensors"
  local found = false
  for pad = 500, 1500 do                  -- find a metadata size giving such a length
    rt.save(path, { x = rt.ones(2, 2) }, { pad = string.rep("p", pad) })
    local f = assert(io.open(path, "rb")); local head = f:read(2); f:close()
    if head:byte(1) == 0x80 and head:byte(2) >= 2 and head:byte(2) <= 5 then found = true; break end
  end
  T.ok(found, "no padding produced a 0x80-leading header length")
  local t = rt.load(path)
  T.eq(t.x:sum():item(), 4)
  os.remove(path)
end)
