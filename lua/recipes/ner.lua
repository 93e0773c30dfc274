-- ner.lua — sequence labelling (People's Daily NER, BIO) as NEZHA-TensorFlow's
-- run_classifier_ner.py with the scripts/run_seq_labelling.sh settings; with
-- --teacher_model it distils a fine-tuned NER teacher into the student (stage 1
-- att + rep, then --pred_distill: token-level soft cross-entropy).
--
--   retort lua/recipes/ner.lua --task_name=ner --do_train=true --do_eval=true \
--     --data_dir=data/peoples-daily-ner --init_checkpoint=nezha-base/ --output_dir=output/ner
--   retort lua/recipes/ner.lua --help
--
-- Writes <output_dir>/eval_results.txt (eval_f/eval_precision/eval_recall as
-- upstream, entity_* and <TYPE>_f1), dev_predictions.txt and test_predictions.txt
-- (conlleval "char gold pred"), label_test.txt (upstream layout), label_list.txt,
-- log.jsonl, best/ and checkpoint-<step>/. The functions are rt.tasks.ner.*.
local rt = rt or require "retort"
local flags = require "retort.flags"
local N = require "retort.ner"

local function main(args)
  local o = flags.parse(N.FLAGS, args, { prog = "ner.lua", upstream = "run_classifier_ner.py",
    about = "Fine-tunes (or distils) a token classifier on BIO data; entity and token-level metrics.",
    departures = N.DEPARTURES })
  if o.help then return { help = true } end
  local res = N.run(o)
  print(string.format("ner: done (step %s); results in %s/eval_results.txt", tostring(res.global_step or 0),
    o.output_dir))
  return res
end

return flags.script("ner.lua", main, ...)
