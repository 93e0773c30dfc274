-- retort.pretrain.create: BERT/NEZHA create_pretraining_data as a library
-- (rt.pretrain.create{...}); the loop runs in C (src/data/create_pretraining.c).
--
--   local s = rt.pretrain.create{
--     input_file = "a.txt,b/*.txt",        -- comma-separated globs (or a list)
--     output_file = "out_0.tfrecord,out_1.tfrecord",   -- written round-robin
--     vocab_file = "vocab.txt", do_lower_case = true,
--     max_seq_length = 128, max_predictions_per_seq = 20, random_seed = 12345,
--     dupe_factor = 10, masked_lm_prob = 0.15, short_seq_prob = 0.1,
--     do_whole_word_mask = false, segmenter_dict = nil,   -- Chinese words for WWM
--     format = "tfrecord",                 -- or "shards": retort's safetensors shards (the columns
--                                          -- of the Example features; pretrain.lua maps them)
--     rng = "python",                      -- "python": CPython's random.Random, upstream's output
--                                          -- "fast": splitmix64, same distribution
--     shuffle_buffer_mb = 64,              -- documents are shuffled within blocks of this
--                                          -- much input text (0 = the whole corpus)
--     progress = true,                     -- rt.progress bar on stderr (MB/s, ETA)
--   }
--   -- s: counts (instances, masked, as_mask/as_keep/as_random, random_next, ...),
--   --    len_hist[L + 1] = instances of real length L, rates (mask_rate, ...), seconds, mb_s,
--   --    cpu_seconds, mb_s_cpu
local M = {}

local function list(v)
  if v == nil then return {} end
  if type(v) == "table" then return v end
  local out = {}
  for part in tostring(v):gmatch("[^,]+") do
    part = part:match("^%s*(.-)%s*$")
    if part ~= "" then out[#out + 1] = part end
  end
  return out
end

local function now() return (rt or require "retort").sys.now() end

--- rt.pretrain.create.run(opts) -> stats (see the header of retort.pretrain.create).
function M.run(o)
  local core = rt or require "retort"
  local data = core._data or require("retort.core")._data
  local inputs, outputs = list(o.input_file), list(o.output_file)
  if #inputs == 0 then error("create_pretraining_data: no --input_file", 0) end
  if #outputs == 0 then error("create_pretraining_data: no --output_file", 0) end
  if not o.vocab_file then error("create_pretraining_data: no --vocab_file", 0) end
  local lower = o.do_lower_case
  if lower == nil then lower = true end
  local tok = core.tokenizer.load(o.vocab_file, { lower = lower })
  local seg
  if o.segmenter_dict then seg = core.segment.load(o.segmenter_dict) end
  local buffer_mb = o.shuffle_buffer_mb
  if buffer_mb == nil then buffer_mb = 64 end
  local bar, t0, c0 = nil, now(), os.clock()
  local show = o.progress
  if show == nil then show = true end
  local function progress(bytes, total, instances)
    if not show then return end
    if not bar then bar = core.progress.new{ total = math.max(total, 1), desc = "create_pretraining_data" } end
    local el = now() - t0
    bar:update(bytes, { MB_s = el > 0 and bytes / el / 1e6 or 0, instances = instances })
  end
  local s = data.create_pretraining{
    tokenizer = tok, segmenter = seg, inputs = inputs, outputs = outputs,
    max_seq_length = o.max_seq_length or 128, max_predictions_per_seq = o.max_predictions_per_seq or 20,
    dupe_factor = o.dupe_factor or 10, masked_lm_prob = o.masked_lm_prob or 0.15,
    short_seq_prob = o.short_seq_prob or 0.1, random_seed = o.random_seed or 12345,
    do_whole_word_mask = o.do_whole_word_mask and true or false, rng = o.rng or "python", format = o.format,
    buffer_bytes = math.floor(buffer_mb * 1048576), progress = progress,
  }
  if bar then bar:close() end
  s.seconds = now() - t0
  s.cpu_seconds = os.clock() - c0                 -- without the wait for fsync and other processes
  s.mb_s = s.seconds > 0 and s.bytes_read / s.seconds / 1e6 or 0
  s.mb_s_cpu = s.cpu_seconds > 0 and s.bytes_read / s.cpu_seconds / 1e6 or 0
  s.outputs = outputs
  local m = math.max(s.masked, 1)
  s.mask_rate = s.masked / math.max(s.real_tokens, 1)
  s.frac_mask, s.frac_keep, s.frac_random = s.as_mask / m, s.as_keep / m, s.as_random / m
  s.random_next_rate = s.random_next / math.max(s.instances, 1)
  s.whole_word_share = s.masked_whole_words / m
  return s
end

return M
