-- pregenerate.lua — TinyBERT's pregenerate_training_data.py: a text corpus (one
-- sentence per line, a blank line between documents) -> epoch_{k}.json (one JSON
-- instance per line) + epoch_{k}_metrics.json, the input of general_distill.lua.
--
--   retort lua/recipes/pregenerate.lua --train_corpus corpus.txt --bert_model bert-base-uncased \
--          --reduce_memory --do_lower_case --epochs_to_generate 3 --output_dir json/
--
-- Loaded as a chunk (loadfile(path)(args...)) it returns rt.pretrain.pregenerate's summary.
local rt = rt or require "retort"
local flags = require "retort.flags"

local SPEC = {
  { "train_corpus", nil, "corpus file: one sentence per line, blank line = document break (a comma list: several files)", required = true },
  { "output_dir", nil, "where epoch_{k}.json and epoch_{k}_metrics.json go", required = true },
  { "bert_model", nil, "folder with vocab.txt (or a vocab.txt file)", required = true },
  { "do_lower_case", false, "lower-case the text (uncased vocabularies)", type = "bool" },
  { "do_whole_word_mask", false, "mask whole words (a word's ## pieces together)", type = "bool" },
  { "reduce_memory", false, "accepted; retort always streams (no /cache/ needed)", type = "bool" },
  { "num_workers", 1, "accepted; retort uses --threads", type = "int" },
  { "epochs_to_generate", 3, "number of epoch files", type = "int" },
  { "max_seq_len", 128, "maximum tokens per instance, [CLS]/[SEP] included", type = "int" },
  { "short_seq_prob", 0.1, "probability of a shorter target length", type = "float" },
  { "masked_lm_prob", 0.0, "masked share of the tokens (0.0 still masks one per instance)", type = "float" },
  { "max_predictions_per_seq", 20, "maximum masked positions per instance", type = "int" },
  { "one_seq", false, "single sequences: never a random next segment", type = "bool" },
  -- retort additions
  { "seed", 42, "random seed (retort; upstream is unseeded)", type = "int" },
  { "threads", 0, "threads for tokenization and generation (retort; 0 = all cores)", type = "int" },
  { "segment_dict", nil, "jieba-format dictionary: with --do_whole_word_mask, Chinese words are masked whole (retort)" },
  { "quiet", false, "no progress output (retort)", type = "bool" },
}

local META = {
  prog = "pregenerate.lua",
  upstream = "TinyBERT/pregenerate_training_data.py",
  about = "TinyBERT general-distillation data: documents -> [CLS] A [SEP] B [SEP] instances with\n"
    .. "sentence-weighted random next segments and masked positions, one JSON object per line.",
  departures = {
    "--seed (default 42): each (seed, epoch, document) has its own random stream, so the output is the same "
      .. "for any --threads; upstream uses Python's unseeded `random` (the numbers differ, the distribution is the same)",
    "the corpus is always streamed through memory-mapped temporary files in --output_dir (bounded memory); "
      .. "--reduce_memory is accepted and needs no /cache/ directory; --num_workers is accepted, --threads sets the cores",
    "--segment_dict: Chinese whole-word masking through rt.segment (upstream only groups ## pieces)",
    "a corpus with fewer than two documents is an error naming the file (upstream exits with a message)",
    "files are written atomically (temp file + rename); progress shows bytes loaded and documents per epoch",
  },
}

local function main(args)
  local o = flags.parse(SPEC, args, META)
  if o.help then return end
  local vocab = o.bert_model
  if not vocab:match("%.txt$") then vocab = vocab .. "/vocab.txt" end
  local corpora = {}
  for p in o.train_corpus:gmatch("[^,]+") do corpora[#corpora + 1] = p end
  if o.threads > 0 then rt.set_threads(o.threads) end
  local s = rt.pretrain.pregenerate {
    train_corpus = corpora, output_dir = o.output_dir, vocab_file = vocab, do_lower_case = o.do_lower_case,
    do_whole_word_mask = o.do_whole_word_mask, epochs_to_generate = o.epochs_to_generate,
    max_seq_len = o.max_seq_len, short_seq_prob = o.short_seq_prob, masked_lm_prob = o.masked_lm_prob,
    max_predictions_per_seq = o.max_predictions_per_seq, one_seq = o.one_seq, seed = o.seed,
    threads = o.threads > 0 and o.threads or nil, segment_dict = o.segment_dict, quiet = o.quiet,
  }
  print(string.format("pregenerate: %d documents, %d epochs, %.1f MB in %.1f s (%.1f MB/s)", s.documents,
    #s.epochs, s.bytes / 1e6, s.seconds, s.mb_per_s))
  return s
end

return flags.script("pregenerate.lua", main, ...)
