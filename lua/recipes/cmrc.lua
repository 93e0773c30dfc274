-- cmrc.lua — CMRC 2018 / SQuAD reading comprehension as NEZHA-TensorFlow's
-- run_squad.py with the scripts/run_reading.sh settings (windows of 512, stride
-- 128, queries of 64); with --teacher_model it distils a fine-tuned CMRC teacher
-- (stage 1 att + rep, then --pred_distill: start/end soft cross-entropy).
--
--   retort lua/recipes/cmrc.lua --do_train=true --do_predict=true \
--     --train_file=data/cmrc/cmrc2018_train.json --predict_file=data/cmrc/cmrc2018_dev.json \
--     --init_checkpoint=nezha-base/ --output_dir=output/cmrc
--   retort lua/recipes/cmrc_evaluate.lua data/cmrc/cmrc2018_dev.json output/cmrc/dev_predictions.json output/cmrc/metric.txt
--
-- Writes <output_dir>/dev_predictions.json ({id: text}), dev_nbest_predictions.json
-- ({id: [{text, probability, start_logit, end_logit}]}), log.jsonl, best/ and
-- checkpoint-<step>/. The functions are rt.tasks.cmrc.*.
local rt = rt or require "retort"
local flags = require "retort.flags"
local Q = require "retort.cmrc"

local function main(args)
  local o = flags.parse(Q.FLAGS, args, { prog = "cmrc.lua", upstream = "run_squad.py",
    about = "Fine-tunes (or distils) a span-extraction reader on SQuAD-format JSON; writes the predictions.",
    departures = Q.DEPARTURES })
  if o.help then return { help = true } end
  return Q.run(o)
end

return flags.script("cmrc.lua", main, ...)
