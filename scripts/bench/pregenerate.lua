-- bench pregenerate: TinyBERT pregeneration (tokenize + instances + masking + JSON) of
-- a Debian-fortunes corpus (one fortune = one document, lines = sentences, repeated to
-- --mb megabytes; build/bench/fortunes.txt, made by scripts/pregen/fortune_corpus.py),
-- one epoch, upstream defaults (max_seq_len 128, masked_lm_prob 0.0). Throughput in
-- corpus MB/s; the peer is the plain-Python re-implementation (pregenerate.py here,
-- scripts/golden/pregenerate.py). Writes build/bench/pregen_vocab.txt (WordPiece learned
-- on the corpus) for the peer, so run this one first (run.sh does).
--   build/retort scripts/bench/pregenerate.lua --threads 2 [--mb 20]
local rt = rt or require "retort"
local o = { threads = 2, mb = 20 }
local a = { ... }
if #a == 0 and arg then for i = 1, #arg do a[i] = arg[i] end end
for i = 1, #a - 1, 2 do local k = a[i]:match("^%-%-(%w+)$"); if k then o[k] = tonumber(a[i + 1]) or a[i + 1] end end
rt.set_threads(o.threads)
local dir = "build/bench"
rt.sys.mkdir(dir)
local corpus = string.format("%s/fortunes_%gmb.txt", dir, o.mb)
if not io.open(corpus, "rb") then
  assert(os.execute(string.format("/usr/bin/python3 scripts/pregen/fortune_corpus.py --out %s --mb %g > /dev/null", corpus, o.mb)),
         "bench pregenerate: needs Debian's fortunes package")
end
local vocab = dir .. "/pregen_vocab.txt"
if not io.open(vocab, "rb") then
  rt.vocab.build_wordpiece(corpus, { size = 8000, lower = true, min_frequency = 2, out = vocab })
end
local out = dir .. "/pregen_retort"
local s = rt.pretrain.pregenerate { train_corpus = corpus, output_dir = out, vocab_file = vocab, do_lower_case = true,
                                    epochs_to_generate = 1, seed = 42, quiet = true }
local st = s.epochs[1].stats
print(string.format("bench pregenerate impl=retort mb=%.1f threads=%d epochs=1 s=%.2f mb_per_s=%.2f instances=%d "
  .. "random_next=%.4f masked_per_instance=%.3f", s.bytes / 1e6, o.threads, s.seconds, s.mb_per_s, st.instances,
  st.random_next / st.instances, st.masked / st.instances))
