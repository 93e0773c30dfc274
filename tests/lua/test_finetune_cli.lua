-- finetune.lua as a new user runs it (issue 9, items 1, 2, 4, 5, 6): progress by
-- default (a bar on a terminal, plain lines when piped, eval lines in both), a real
-- SIGINT saves a checkpoint and exits 130 and --resume then ends exactly like an
-- uninterrupted run, flags typed as users type them, self-contained checkpoints,
-- and failures that fail. Every run is a separate `retort lua/recipes/finetune.lua`.
local T = require "retort.test"
local Trainer = require "retort.trainer"

local BIN = os.getenv("RETORT_BIN") or "build/retort"
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sh(cmd)
  local f = io.popen("(" .. cmd .. ") 2>&1; echo \"::rc=$?\"")
  local out = f:read("a")
  f:close()
  local body, rc = out:match("^(.-)::rc=(%d+)%s*$")
  return body, tonumber(rc)
end
local function has(out, s) T.ok(out:find(s, 1, true), "expected '" .. s .. "' in:\n" .. out) end
local function hasnt(out, s) T.ok(not out:find(s, 1, true), "did not expect '" .. s .. "' in:\n" .. out) end
local function exists(p) local f = io.open(p, "rb"); if f then f:close() end; return f ~= nil end
local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end

-- a tiny random model on the seed ChnSentiCorp sample
local function args(out, extra)
  local a = { "--from_scratch", "--task", "chnsenti", "--data_dir", T.seed("chnsenti"),
    "--vocab_file", T.seed("nezha-cn-base/vocab.txt"), "--output_dir", out, "--max_seq_length", "32",
    "--train_batch_size", "8", "--hidden_size", "16", "--num_hidden_layers", "1", "--num_attention_heads", "2",
    "--threads", "1", "--eval_step", "5", "--max_steps", "20" }
  for _, x in ipairs(extra or {}) do a[#a + 1] = x end
  local s = {}
  for i, x in ipairs(a) do s[i] = q(x) end
  return table.concat(s, " ")
end
local function finetune(out, extra) return q(BIN) .. " lua/recipes/finetune.lua " .. args(out, extra) end

local tmp = T.tmpdir()
local n = 0
local function fresh() n = n + 1; return tmp .. "/run" .. n end

-- item 1 ---------------------------------------------------------------------
T.test("piped: plain progress lines and eval lines by default, no \\r or escapes", function()
  local out, rc = sh(finetune(fresh()) .. " 2>&1 | cat")
  T.eq(rc, 0, out)
  has(out, "chnsenti: 10/20"); has(out, "chnsenti: 20/20")
  has(out, "eval step 5: acc=")
  has(out, "eval step 20: acc=")
  hasnt(out, "\r"); hasnt(out, "\27[")
end)

T.test("on a terminal: the bar by default, eval lines too", function()
  local ok = os.execute("command -v script >/dev/null 2>&1")
  if not ok then T.skip("util-linux `script` (a pty) not available") end
  local dir = fresh()
  local out, rc = sh("TERM=xterm script -qfec " .. q(finetune(dir)) .. " /dev/null")
  T.eq(rc, 0, out)
  has(out, "\r"); has(out, "chnsenti [")
  has(out, "eval step 10: acc=")
end)

T.test("--progress true forces the bar, --progress false plain lines", function()
  local out = sh(finetune(fresh(), { "--progress", "true" }) .. " 2>&1 | cat")
  has(out, "\rchnsenti ["); has(out, "eval step 5:")
  local out2, rc2 = sh(finetune(fresh(), { "--progress", "maybe" }))
  T.eq(rc2, 2, out2); T.ok(out2:find("--progress: expected auto, true or false", 1, true), out2)
  out = sh(finetune(fresh(), { "--progress", "FALSE" }) .. " 2>&1 | cat")
  has(out, "chnsenti: 10/20"); has(out, "chnsenti: 20/20"); has(out, "eval step 5:"); hasnt(out, "\r")
end)

-- items 2 and 3 (a real Ctrl-C) ------------------------------------------------
T.test("a real SIGINT saves a checkpoint and exits 130; --resume ends like the uninterrupted run", function()
  local full, part = fresh(), fresh()
  local extra = { "--max_steps", "300", "--num_train_epochs", "30", "--learning_rate", "1e-3", "--progress", "false" }
  local out, rc = sh(finetune(full, extra))
  T.eq(rc, 0, out)
  local pidfile = tmp .. "/pid"
  local cmd = "( sh -c " .. q("echo $$ > " .. q(pidfile) .. "; exec " .. finetune(part, extra)) ..
    " 2>&1; echo \"::exit=$?\" ) | while IFS= read -r l; do printf '%s\\n' \"$l\"; " ..
    "case \"$l\" in *'eval step 10:'*) kill -INT \"$(cat " .. q(pidfile) .. ")\";; esac; done"
  out = sh(cmd)
  has(out, "::exit=130")
  has(out, "finetune: interrupted")
  local step = tonumber(out:match("interrupted: saved " .. part:gsub("%p", "%%%0") .. "/checkpoint%-(%d+)"))
  T.ok(step and step >= 10 and step < 300, out)
  T.ok(not exists(part .. "/eval_results.txt"), "no results after Ctrl-C")
  out, rc = sh(finetune(part, { "--max_steps", "300", "--num_train_epochs", "30", "--learning_rate", "1e-3", "--progress", "false",
                                "--resume", "True" }))
  T.eq(rc, 0, out)
  has(out, string.format("resuming from %s/checkpoint-%d (step %d)", part, step, step))
  T.eq(slurp(part .. "/eval_results.txt"), slurp(full .. "/eval_results.txt"))
  local a, b = rt.load(full .. "/checkpoint-300/model.safetensors"), rt.load(part .. "/checkpoint-300/model.safetensors")
  local k = 0
  for name, t in pairs(a) do T.near(b[name], t, 0, name); k = k + 1 end
  T.ok(k > 10, "parameters compared: " .. k)
end)

-- item 4 ---------------------------------------------------------------------
T.test("flags: booleans in any case, bad words name the flag, output_dir rule, missing model_dir", function()
  local dir = fresh()
  local out, rc = sh(finetune(dir, { "--max_steps", "5" }))
  T.eq(rc, 0, out)
  out, rc = sh(finetune(dir, { "--max_steps", "5" }))
  T.eq(rc, 2, out); has(out, "--output_dir " .. dir .. " already exists and is not empty"); has(out, "--overwrite_output_dir")
  out, rc = sh(finetune(dir, { "--max_steps", "5", "--overwrite_output_dir" }))
  T.eq(rc, 0, out)
  out, rc = sh(finetune(dir, { "--max_steps", "10", "--resume", "YES" }))
  T.eq(rc, 0, out); has(out, "resuming from " .. dir .. "/checkpoint-5 (step 5)"); has(out, "global_step = 10")
  out, rc = sh(finetune(dir, { "--resume", "maybe" }))
  T.eq(rc, 2, out); has(out, "--resume: expected true/false")
  out, rc = sh(finetune(dir, { "--resume=Nope" }))
  T.eq(rc, 2, out); has(out, "--resume: expected true/false")
  out, rc = sh(q(BIN) .. " lua/recipes/finetune.lua --model_dir /nope/model --task chnsenti --data_dir "
    .. q(T.seed("chnsenti")) .. " --output_dir " .. q(fresh()))
  T.eq(rc, 2, out); has(out, "--model_dir /nope/model: no such directory")
end)

-- item 5 ---------------------------------------------------------------------
T.test("checkpoint-N/ and best/ are complete model folders", function()
  local dir = fresh()
  local out, rc = sh(finetune(dir, { "--max_steps", "10", "--save_steps", "5", "--keep_checkpoints", "5" }))
  T.eq(rc, 0, out)
  for _, sub in ipairs({ "checkpoint-5", "checkpoint-10", "best" }) do
    local d = dir .. "/" .. sub
    T.ok(exists(d .. "/vocab.txt"), sub .. "/vocab.txt")
    T.ok(exists(d .. "/model.safetensors"), sub .. "/model.safetensors")
    local cfg = rt.log.read_json(d .. "/config.json")
    T.eq(cfg.id2label["0"], "0", sub); T.eq(cfg.id2label["1"], "1", sub)
    T.eq(cfg.label2id["1"], 1, sub)
    T.eq(cfg.model_type, "bert", sub)
    T.eq(cfg.architectures[1], "BertForSequenceClassification", sub)
    local m = rt.model.load(d)
    T.ok(tostring(m):find("classifier", 1, true), sub)
  end
  -- --model_dir on a checkpoint: its config, weights and vocabulary
  out, rc = sh(q(BIN) .. " lua/recipes/finetune.lua --model_dir " .. q(dir .. "/checkpoint-5") ..
    " --task chnsenti --data_dir " .. q(T.seed("chnsenti")) .. " --output_dir " .. q(fresh()) ..
    " --max_steps 2 --max_seq_length 32 --threads 1")
  T.eq(rc, 0, out); has(out, "global_step = 2")
end)

-- item 6 ---------------------------------------------------------------------
T.test("failures fail: NaN stop, unknown label, empty training file", function()
  local dir = fresh()
  local out, rc = sh(finetune(dir, { "--learning_rate", "1e30", "--optimizer", "adamw", "--max_grad_norm", "0" }))
  T.eq(rc, 1, out)
  local _, count = out:gsub("training stopped: loss is", "")
  T.eq(count, 1, "one message:\n" .. out)
  T.ok(not exists(dir .. "/eval_results.txt"), "no eval_results.txt after a NaN stop")
  -- a label outside {0, 1}
  local data = fresh()
  os.execute("mkdir -p " .. q(data))
  local f = assert(io.open(data .. "/train.tsv", "w")); f:write("1\t好\n0\t差\npos\t很好\n"); f:close()
  f = assert(io.open(data .. "/dev.tsv", "w")); f:write("1\t好\n"); f:close()
  out, rc = sh(q(BIN) .. " lua/recipes/finetune.lua --from_scratch --task chnsenti --data_dir " .. q(data) ..
    " --vocab_file " .. q(T.seed("nezha-cn-base/vocab.txt")) .. " --output_dir " .. q(fresh()))
  T.eq(rc, 1, out)
  has(out, data .. "/train.tsv:3: chnsenti label 'pos' is not one of the task's labels (0, 1)")
  -- an empty training file
  f = assert(io.open(data .. "/train.tsv", "w")); f:close()
  out, rc = sh(q(BIN) .. " lua/recipes/finetune.lua --from_scratch --task chnsenti --data_dir " .. q(data) ..
    " --vocab_file " .. q(T.seed("nezha-cn-base/vocab.txt")) .. " --output_dir " .. q(fresh()))
  T.eq(rc, 1, out)
  has(out, "no training examples in " .. data .. "/train.tsv")
end)

Trainer.remove_tree(tmp)
