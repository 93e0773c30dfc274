-- create_pretraining_data.lua — NEZHA-TensorFlow/utils/create_pretraining_data.py
-- (Google BERT's script) with the same flags and defaults:
--
--   retort lua/recipes/create_pretraining_data.lua --input_file=./sample_text.txt \
--     --output_file=/tmp/tf_examples.tfrecord --vocab_file=./vocab.txt \
--     --do_lower_case=True --max_seq_length=128 --max_predictions_per_seq=20 \
--     --masked_lm_prob=0.15 --random_seed=12345 --dupe_factor=5
--
-- Library form: rt.pretrain.create{...} (lua/retort/pretrain/create.lua).
local rt = rt or require "retort"
local flags = require "retort.flags"

local SPEC = {
  { "input_file", nil, "input raw text file (or comma-separated list of files / globs)", required = true },
  { "output_file", nil, "output TF example file (or comma-separated list of files, written round-robin)", required = true },
  { "vocab_file", nil, "the vocabulary file the BERT model was trained on", required = true },
  { "do_lower_case", true, "lower case the input text (True for uncased models)", type = "bool" },
  { "do_whole_word_mask", false, "mask whole words: '##' pieces with their word; Chinese words by --segmenter_dict", type = "bool" },
  { "max_seq_length", 128, "maximum sequence length", type = "int" },
  { "max_predictions_per_seq", 20, "maximum number of masked LM predictions per sequence", type = "int" },
  { "random_seed", 12345, "random seed for data generation", type = "int" },
  { "dupe_factor", 10, "number of times to duplicate the input data (with different masks)", type = "int" },
  { "masked_lm_prob", 0.15, "masked LM probability", type = "float" },
  { "short_seq_prob", 0.1, "probability of creating sequences shorter than the maximum length", type = "float" },
  { "rng", "python", "python: CPython's random.Random (upstream's instances, in order) | fast: splitmix64",
    choices = { "python", "fast" } },
  { "segmenter_dict", nil, "word dictionary (jieba dict.txt format) for Chinese whole-word masking", metavar = "FILE" },
  { "shuffle_buffer_mb", 64, "documents are read, shuffled and written in blocks of this many MB of input (0 = all)", type = "float" },
  { "format", "tfrecord", "tfrecord | shards (retort's safetensors shards that pretrain.lua maps without decoding)",
    choices = { "tfrecord", "shards" } },
  { "quiet", false, "no progress bar and no summary", type = "bool" },
}

local META = {
  prog = "create_pretraining_data.lua",
  upstream = "NEZHA-TensorFlow/utils/create_pretraining_data.py",
  about = "Create masked-LM / next-sentence TFRecords (tf.train.Example) from raw text: one sentence per line,\n"
    .. "a blank line between documents.",
  departures = {
    "--do_whole_word_mask (Google BERT's later version of the script; NEZHA's has none) and Chinese whole-word\n"
      .. "    masking by dictionary segmentation (--segmenter_dict): the characters of a word are masked together,\n"
      .. "    labels stay characters",
    "--rng fast draws from splitmix64 instead of the Mersenne Twister: a little faster (most time goes to\n"
      .. "    tokenizing and encoding), the same distribution, deterministic\n"
      .. "    for a seed (the pipeline is single-threaded, so the thread count never changes the output); the default\n"
      .. "    --rng python reproduces upstream's instances in upstream's order",
    "streaming: the corpus is processed in blocks of --shuffle_buffer_mb of input text (documents shuffled, and\n"
      .. "    random next sentences drawn, within a block; instances shuffled per block); a corpus smaller than one\n"
      .. "    block gives exactly the upstream output",
    "no per-instance INFO log of the first 20 instances; a summary (counts, mask rates, MB/s) instead",
    "--format shards (an addition): per output file one safetensors file with the Example features as\n"
      .. "    [N, S] / [N, P] / [N] columns (I32, weights F32), the same instances in the same order",
    "each Example's feature map is written in one fixed order (upstream's protobuf runtime starts it at a feature\n"
      .. "    that varies per record; readers do not care)",
  },
}

local function main(args)
  local o = flags.parse(SPEC, args, META)
  if o.help then return end
  local s = rt.pretrain.create{
    input_file = o.input_file, output_file = o.output_file, vocab_file = o.vocab_file,
    do_lower_case = o.do_lower_case, do_whole_word_mask = o.do_whole_word_mask,
    max_seq_length = o.max_seq_length, max_predictions_per_seq = o.max_predictions_per_seq,
    random_seed = o.random_seed, dupe_factor = o.dupe_factor, masked_lm_prob = o.masked_lm_prob,
    short_seq_prob = o.short_seq_prob, rng = o.rng, segmenter_dict = o.segmenter_dict,
    shuffle_buffer_mb = o.shuffle_buffer_mb, progress = not o.quiet, format = o.format,
  }
  if not o.quiet then
    print(string.format("*** Wrote %d instances to %d output file(s) from %d input file(s) ***",
      s.instances, #s.outputs, s.input_files))
    print(string.format("documents %d  sentences %d  tokens %d  blocks %d", s.documents, s.sentences, s.tokens, s.blocks))
    print(string.format("masked %.4f of real tokens (%d): [MASK] %.4f  kept %.4f  random %.4f  whole-word share %.4f",
      s.mask_rate, s.masked, s.frac_mask, s.frac_keep, s.frac_random, s.whole_word_share))
    print(string.format("random next %.4f  %.1f MB in %.2f s (%.2f MB/s)", s.random_next_rate, s.bytes_read / 1e6,
      s.seconds, s.mb_s))
  end
  return s
end

return flags.script("create_pretraining_data.lua", main, ...)
