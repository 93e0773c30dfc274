-- CMRC 2018 reading comprehension (rt.tasks.cmrc, lua/recipes/cmrc.lua):
-- get_final_text, the reader's answer_start check and the no-window error, and
-- the recipe end to end on a generated set (scripts/data/synth_cmrc.lua):
-- training, predictions, n-best file, best model, both distillation stages.
local T = require "retort.test"
local Q = rt.tasks.cmrc

T.test("cmrc final_text maps back to the original characters", function()
  local tok = rt.tokenizer.load({ "[PAD]", "[UNK]", "[CLS]", "[SEP]", "ip", "##hone" }, { lower = true })
  T.eq(Q.final_text("iphone", "iPhone", tok), "iPhone")
  T.eq(Q.final_text("steve", "Steve Jobs", tok), "Steve")
  T.eq(Q.final_text("zzz", "Steve Jobs", tok), "Steve Jobs")
end)

local S = dofile("scripts/data/synth_cmrc.lua")
local Trainer = require "retort.trainer"

local function recipe(args)
  local chunk = assert(loadfile("lua/recipes/cmrc.lua"))
  return chunk(table.unpack(args))
end

T.test("cmrc span logits: query, [SEP] and padding masked; loss = mean of start and end CE", function()
  local tok = rt.tokenizer.load({ "[PAD]", "[UNK]", "[CLS]", "[SEP]", "北", "京", "首", "都" }, { lower = false })
  local qas = { { id = "a", question = "首都", context = "北京", answers = { { text = "北京", start = 0 } } },
                { id = "b", question = "首", context = "北京北京", answers = { { text = "京", start = 1 } } } }
  local feats = Q.features(qas, tok, { max_len = 16, training = true })
  local b = Q.collate(feats)
  T.eq(table.concat(b.span_mask:totable()[1], ","), "1,0,0,0,1,1,0,0")
  T.eq(table.concat(b.start_positions:totable(), ","), "4,4")
  T.eq(table.concat(b.end_positions:totable(), ","), "5,4")
  rt.manual_seed(3)
  local out = { start_logits = rt.randn(2, 8), end_logits = rt.randn(2, 8) }
  local s, e = Q.masked_logits(out, b)
  T.near(s:get(1, 2), out.start_logits:get(1, 2) - 10000, 1e-3)
  T.near(e:get(2, 8), out.end_logits:get(2, 8) - 10000, 1e-3)
  T.near(s:get(1, 5), out.start_logits:get(1, 5), 0)
  local want = (rt.F.cross_entropy(s, b.start_positions):item() + rt.F.cross_entropy(e, b.end_positions):item()) / 2
  T.near(Q.loss(s, e, b):item(), want, 1e-6)
end)

T.test("cmrc reader: answer_start that misses its text names file:line", function()
  local dir = T.tmpdir()
  local p = dir .. "/bad.json"
  local f = io.open(p, "w")
  f:write('{"data": [{"paragraphs": [{"context": "北京是中国的首都。",\n "qas": [\n',
          '{"id": "ok1", "question": "首都？", "answers": [{"text": "北京", "answer_start": 0}]},\n',
          '{"id": "bad2", "question": "哪里？", "answers": [{"text": "中国", "answer_start": 2}]}]}]}]}\n')
  f:close()
  T.raises(function() Q.read(p) end, "bad.json:4: question bad2 answer 1: answer_start 2")
  T.eq(#Q.read(p, { check_answer_start = "ignore" }), 2)
  local tok = rt.tokenizer.load({ "[PAD]", "[UNK]", "[CLS]", "[SEP]", "北", "京" }, { lower = false })
  local qas = Q.read(p, { check_answer_start = "ignore" })
  T.raises(function() Q.features(qas, tok, { max_len = 4, max_query = 64, training = false }) end,
    "bad.json:3: question ok1: max_seq_length 4 leaves no window")
  Trainer.remove_tree(dir)
end)

T.test("cmrc recipe: train, predict, evaluate, distil", function()
  local dir = T.tmpdir()
  S.write(dir .. "/data", { n_train = 40, n_dev = 10, seed = 2 })
  local vf = dir .. "/vocab.txt"
  local f = io.open(vf, "w"); f:write(table.concat(S.vocab(), "\n"), "\n"); f:close()
  local common = { "--vocab_file", vf, "--train_file", dir .. "/data/train.json", "--predict_file",
    dir .. "/data/dev.json", "--max_seq_length", "96", "--doc_stride", "32", "--train_batch_size", "16",
    "--learning_rate", "3e-3", "--progress", "false", "--threads", "1" }
  local function args(extra)
    local a = { table.unpack(common) }
    for _, x in ipairs(extra) do a[#a + 1] = x end
    return a
  end
  local t = dir .. "/teacher"
  local res = recipe(args({ "--output_dir", t, "--do_train", "--do_predict", "--from_scratch", "--num_train_epochs", "4",
    "--hidden_size", "32", "--eval_steps", "10" }))
  T.ok(res.TOTAL == 70 and res.SKIP == 0, "70 dev questions answered")
  local preds = rt.log.read_json(t .. "/dev_predictions.json")
  local nb = rt.log.read_json(t .. "/dev_nbest_predictions.json")
  T.ok(type(preds["SYN_100001_QUERY_0"]) == "string", "a prediction per question")
  local e = nb["SYN_100001_QUERY_0"]
  T.ok(#e >= 1 and #e <= 20 and e[1].probability and e[1].start_logit, "n-best entries")
  T.ok(io.open(t .. "/best/config.json") ~= nil, "best model kept")
  local s1 = dir .. "/s1"
  local d1 = recipe(args({ "--output_dir", s1, "--do_train", "--from_scratch", "--num_hidden_layers", "1",
    "--hidden_size", "16", "--teacher_model", t .. "/best", "--max_steps", "3" }))
  T.eq(d1.global_step, 3)
  T.ok(rt.log.read_jsonl(s1 .. "/log.jsonl")[1].att_loss, "stage 1 logs att_loss")
  local d2 = recipe(args({ "--output_dir", dir .. "/s2", "--do_train", "--do_predict", "--init_checkpoint", s1 .. "/best",
    "--teacher_model", t .. "/best", "--pred_distill", "--max_steps", "3" }))
  T.ok(d2.F1 ~= nil, "stage 2 predicted")
  T.ok(rt.log.read_jsonl(dir .. "/s2/log.jsonl")[1].pred_loss, "stage 2 logs pred_loss")
  Trainer.remove_tree(dir)
end)
