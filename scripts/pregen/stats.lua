-- Statistics of pregenerated data against the algorithm's expectation (and, with
-- --python STATS.json from scripts/golden/pregenerate.py --stats, against the Python
-- re-implementation's length histogram on the same corpus):
--   masked positions per instance = min(max_pred, max(1, round(n * p))) summed over the
--   length histogram; 80/10/10; random next = forced (one-sentence chunks) + 1/2 of the
--   rest; short targets = short_seq_prob of the documents.
--   build/retort scripts/pregen/stats.lua --corpus C --vocab V [--lower 1] [--prob 0.15] [--python S.json]
local o = { prob = 0.0, lower = 1, threads = 2, max_seq_len = 128, out = "build/pregen_stats" }
local a = { ... }
if #a == 0 and arg then for i = 1, #arg do a[i] = arg[i] end end
for i = 1, #a - 1, 2 do local k = a[i]:match("^%-%-([%w_]+)$"); if k then o[k] = tonumber(a[i + 1]) or a[i + 1] end end
rt.set_threads(o.threads)
local s = rt.pretrain.pregenerate { train_corpus = o.corpus, output_dir = o.out, vocab_file = o.vocab,
  do_lower_case = o.lower == 1, epochs_to_generate = 1, masked_lm_prob = o.prob, max_seq_len = o.max_seq_len,
  quiet = true, seed = 42 }
local st = s.epochs[1].stats
local n = st.instances
local function pyround(x)
  local f = math.floor(x); local d = x - f
  if d > 0.5 then return f + 1 elseif d < 0.5 then return f end
  return f % 2 == 0 and f or f + 1
end
local exp_masked, mean_len = 0, 0
for len0, c in ipairs(st.len_hist) do
  local L = len0 - 1
  exp_masked = exp_masked + c * math.min(20, math.max(1, pyround(L * o.prob)))
  mean_len = mean_len + c * L
end
mean_len = mean_len / n
local exp_rn = st.forced_random + 0.5 * (n - st.forced_random)
local sd_rn = math.sqrt(0.25 * (n - st.forced_random))
local function pct(x) return 100 * x end
print(string.format("corpus %.1f MB, %d documents, %d instances, %.1f s (%.2f MB/s, %d threads)", s.bytes / 1e6, s.documents,
  n, s.seconds, s.mb_per_s, o.threads))
print(string.format("masked positions: %d, expected %d (%.4f per instance); per token %.4f", st.masked, exp_masked,
  st.masked / n, st.masked / st.tokens))
print(string.format("[MASK] %.2f%%  kept %.2f%%  random %.2f%%  (expected 80/10/10, sd %.2f%% / %.2f%%)", pct(st.mask_token / st.masked),
  pct(st.kept / st.masked), pct(st.random_token / st.masked), pct(math.sqrt(0.16 / st.masked)), pct(math.sqrt(0.09 / st.masked))))
print(string.format("random next: %.2f%% (%d), expected %.2f%% = forced %d (one-sentence chunks) + half of %d; z = %.2f",
  pct(st.random_next / n), st.random_next, pct(exp_rn / n), st.forced_random, n - st.forced_random, (st.random_next - exp_rn) / sd_rn))
print(string.format("short targets: %.2f%% of documents (expected %.0f%%, sd %.2f%%)", pct(st.target_short / s.documents),
  100 * 0.1, pct(math.sqrt(0.09 / s.documents))))
local bins = { { 0, 16 }, { 17, 32 }, { 33, 64 }, { 65, o.max_seq_len - 1 }, { o.max_seq_len, o.max_seq_len } }
local py
if o.python then
  py = rt.log.read_json(o.python).epochs[1]
end
local parts = {}
local tv = 0
for _, b in ipairs(bins) do
  local c, pc = 0, 0
  for L = b[1], b[2] do
    c = c + (st.len_hist[L + 1] or 0)
    if py then pc = pc + (py.len_hist[tostring(L)] or 0) end
  end
  parts[#parts + 1] = string.format("%d-%d: %.2f%%%s", b[1], b[2], pct(c / n), py and string.format(" (python %.2f%%)", pct(pc / py.instances)) or "")
end
if py then
  for L = 0, o.max_seq_len do
    tv = tv + math.abs((st.len_hist[L + 1] or 0) / n - (py.len_hist[tostring(L)] or 0) / py.instances)
  end
end
print("lengths: mean " .. string.format("%.1f", mean_len) .. "; " .. table.concat(parts, ", "))
if py then
  print(string.format("python reference: %d instances, random next %.2f%%, [MASK] %.2f%%; length-histogram total variation %.4f",
    py.instances, pct(py.random_next / py.instances), pct(py.mask_token / py.masked), tv / 2))
end
