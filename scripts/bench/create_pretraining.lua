-- create_pretraining_data throughput (peer: scripts/bench/create_pretraining.py, the
-- faithful CPython re-implementation scripts/golden/create_pretraining_data.py):
-- the English Debian fortunes (one fortune a document), the cased English vocabulary
-- of the seed data, upstream defaults except --dupe_factor (default here 5).
--   build/retort scripts/bench/create_pretraining.lua [--dupe_factor 5] [--mb 0 (all)] [--threads N]
-- prints  bench create_pretraining impl=retort rng=python mb= seconds= cpu_seconds= mb_s= mb_s_cpu= instances=
local rt = rt or require "retort"
local o = { dupe_factor = "5", mb = "0", out = "build/bench_create_pretraining", threads = "1" }
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k then o[k] = arg[i + 1]; i = i + 2 else i = i + 1 end
end
local seed = os.getenv("RETORT_SEED") or "../shared/seed"
local vocab = seed .. "/nezha-en-base/vocab.txt"
if not rt.sys.exists(vocab) or not rt.sys.isdir("/usr/share/games/fortunes") then
  print("bench create_pretraining skipped=no_seed_or_fortunes")
  return
end
rt.sys.mkdir(o.out)
-- the corpus: fortunes (not the Chinese collection), "%" lines -> blank lines
local files = {}
for _, e in ipairs(rt.sys.listdir("/usr/share/games/fortunes") or {}) do
  if not e:find("%.") and e ~= "chinese" then files[#files + 1] = "/usr/share/games/fortunes/" .. e end
end
table.sort(files)
local parts, total, limit = {}, 0, tonumber(o.mb) * 1e6
for _, f in ipairs(files) do
  local h = io.open(f, "rb")
  if h then
    local s = h:read("a"):gsub("\n%%\n", "\n\n")
    h:close()
    parts[#parts + 1] = s
    total = total + #s
    if limit > 0 and total >= limit then break end
  end
end
local corpus = o.out .. "/corpus.txt"
rt.sys.atomic_write(corpus, table.concat(parts))
for _, rng in ipairs { "python", "fast" } do
  local s = rt.pretrain.create{ input_file = corpus, output_file = o.out .. "/out.tfrecord", vocab_file = vocab,
    do_lower_case = false, dupe_factor = tonumber(o.dupe_factor), rng = rng, progress = false }
  print(string.format("bench create_pretraining impl=retort rng=%s dupe_factor=%s mb=%.3f seconds=%.3f cpu_seconds=%.3f " ..
    "mb_s=%.3f mb_s_cpu=%.3f instances=%d", rng, o.dupe_factor, s.bytes_read / 1e6, s.seconds, s.cpu_seconds, s.mb_s,
    s.mb_s_cpu, s.instances))
end
