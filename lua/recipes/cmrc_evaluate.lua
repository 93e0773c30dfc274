-- cmrc_evaluate.lua — the CMRC 2018 official evaluation (ymcui/cmrc2018
-- cmrc2018_evaluate.py): F1 from the longest common run of mixed segments (each
-- Chinese character a segment, other runs word-tokenised), EM after punctuation
-- removal, AVERAGE = (EM + F1) / 2, unanswered questions scored 0 and counted in SKIP.
--
--   retort lua/recipes/cmrc_evaluate.lua dev.json dev_predictions.json [metric.txt]
--
-- Prints {"AVERAGE": "..", "F1": "..", "EM": "..", "TOTAL": n, "SKIP": n, "FILE": ".."}
-- as the script does and writes the same line to metric.txt when given. The
-- non-Chinese runs go through rt.metrics.word_tokenize, the rules of NLTK 3.8's
-- NLTKWordTokenizer (what nltk.word_tokenize applies per sentence). What differs
-- from nltk.word_tokenize: no Punkt sentence split (a "." inside a run followed by
-- another sentence stays on its word: "u.s. army. the" -> "u.s.", "army.", "the";
-- Punkt may split "army" "." there), and \w, \b, \d are ASCII (other non-ASCII
-- characters count as letters). Words, numbers and punctuation within a sentence
-- give the same segments.
local rt = rt or require "retort"
local flags = require "retort.flags"

local USAGE = "usage: retort lua/recipes/cmrc_evaluate.lua dataset_file prediction_file [output_file]"

local function main(args)
  if args[1] == "--help" or args[1] == "-h" then print(USAGE); return { help = true } end
  if #args < 2 or #args > 3 then flags.error(USAGE) end
  local ds, pf, out = args[1], args[2], args[3]
  local data = rt.log.read_json(ds)
  local preds = rt.log.read_json(pf)
  if type(data) ~= "table" or type(data.data) ~= "table" then error(ds .. ": expected {\"data\": [...]}", 0) end
  if type(preds) ~= "table" then error(pf .. ": expected {\"id\": \"answer\", ...}", 0) end
  for _, art in ipairs(data.data) do
    for _, para in ipairs(art.paragraphs or {}) do
      for _, qa in ipairs(para.qas or {}) do
        if preds[qa.id] == nil then io.stderr:write("Unanswered question: ", tostring(qa.id), "\n") end
      end
    end
  end
  local r = rt.metrics.cmrc(data, preds)
  local J = rt.log.json_encode
  local line = string.format('{"AVERAGE": "%.3f", "F1": "%.3f", "EM": "%.3f", "TOTAL": %d, "SKIP": %d, "FILE": %s}',
    r.AVERAGE, r.F1, r.EM, r.TOTAL, r.SKIP, J(pf))
  print(line)
  if out then
    rt.sys.atomic_write(out, line .. "\n")
  end
  return r
end

return flags.script("cmrc_evaluate.lua", main, ...)
