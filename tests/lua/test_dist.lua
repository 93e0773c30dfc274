-- rt.dist and the data-parallel Trainer (issue 18). The first tests run in every
-- build (one process: rank 0 of 1, collectives are no-ops). The rest start 2 ranks
-- on this machine with the MPI build (build-mpi/retort, `make MPI=1`) and mpirun;
-- they are skipped when either is missing (`make test-mpi` installs Open MPI and
-- builds it). Dropout is off in the equivalence runs (each rank draws its own masks,
-- so masks cannot match a 1-process run); the data order, shards, loss weights and
-- gradient average are what is compared.
local T = require "retort.test"

local BIN = os.getenv("RETORT_BIN") or "build/retort"
local MPI_BIN = os.getenv("RETORT_MPI_BIN") or "build-mpi/retort"
-- e.g. RETORT_MPI_BIN=build-mpich/retort RETORT_MPIRUN=mpirun.mpich for an MPICH build
local MPIRUN_CMD = os.getenv("RETORT_MPIRUN") or "mpirun"
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sh(cmd)
  local f = io.popen("(" .. cmd .. ") 2>&1; echo \"::rc=$?\"")
  local out = f:read("a")
  f:close()
  local body, rc = out:match("^(.-)::rc=(%d+)%s*$")
  return body, tonumber(rc)
end
local function has(out, s) T.ok(out:find(s, 1, true), "expected '" .. s .. "' in:\n" .. out) end
local tmp = T.tmpdir()
local n = 0
local function fresh() n = n + 1; local d = tmp .. "/r" .. n; os.execute("mkdir -p " .. q(d)); return d end

---------------------------------------------------------------------------
-- one process
---------------------------------------------------------------------------
T.test("one process: rank 0 of 1, collectives leave their arguments as they are", function()
  local D = rt.dist
  T.eq(D.rank(), 0); T.eq(D.size(), 1)
  local t = rt.tensor{ 1, 2, 3 }
  T.ok(D.allreduce(t, "mean") == t)
  T.near(t, rt.tensor{ 1, 2, 3 }, 0)
  local a, b = rt.ones(4), rt.full({ 2, 2 }, 3)
  D.allreduce_list({ a, b }, "sum", 8)
  T.near(b, rt.full({ 2, 2 }, 3), 0)
  T.eq(D.allreduce_numbers({ 1.5, 2 }, "max")[1], 1.5)
  T.eq(#D.allgather_numbers({ 4, 5 }), 2)
  D.broadcast(t, 0)
  T.eq(D.broadcast_string("abc", 0), "abc")
  D.barrier()
  T.raises(function() D.allreduce(t, "prod") end, 'op must be "sum", "mean", "min" or "max"')
  T.raises(function() D.allreduce(rt.tensor({ 1 }, "i64")) end, "tensor must be f32")
  T.raises(function() D.broadcast(t, 1) end, "root 1 out of range for 1 process")
end)

T.test("one process: the Trainer has no data-parallel state", function()
  local Trainer = require "retort.trainer"
  local p = { w = rt.zeros(2):requires_grad() }
  local tr = Trainer.new{ model = p, train = { 1, 2 }, step_fn = function() end, progress = false }
  T.eq(tr.dist, nil)
end)

---------------------------------------------------------------------------
-- 2 ranks (MPI build)
---------------------------------------------------------------------------
local function exists(p) local f = io.open(p, "rb"); if f then f:close() end; return f ~= nil end
local MPIRUN
local function mpi(np)
  if not exists(MPI_BIN) then T.skip("MPI build not available: no " .. MPI_BIN .. " (make test-mpi)") end
  if MPIRUN == nil then
    local v, rc = sh(MPIRUN_CMD .. " --version")
    if rc ~= 0 then MPIRUN = false
    elseif v:find("Open MPI", 1, true) or v:find("OpenRTE", 1, true) then
      -- loopback only, no core binding (a shared machine), root allowed (CI containers)
      MPIRUN = "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_tcp_if_include=lo "
        .. MPIRUN_CMD .. " --oversubscribe --bind-to none -np "
    else
      MPIRUN = MPIRUN_CMD .. " -np "   -- MPICH's hydra
    end
  end
  if not MPIRUN then T.skip("MPI build not available: no mpirun (make test-mpi)") end
  return "timeout 60 " .. MPIRUN .. (np or 2) .. " " .. q(MPI_BIN) .. " "
end

local function rel_l2(fa, fb)
  local a, b = rt.load(fa), rt.load(fb)
  local num, den, cnt = 0, 0, 0
  for k, t in pairs(a) do
    T.ok(b[k], "missing " .. k .. " in " .. fb)
    local d = t - b[k]
    num = num + (d * d):sum():item(); den = den + (t * t):sum():item()
    cnt = cnt + 1
  end
  T.ok(cnt > 0, "no tensors in " .. fa)
  return math.sqrt(num / den)
end

T.test("MPI build without mpirun: one process", function()
  mpi()
  local out, rc = sh(q(MPI_BIN) .. " -e 'print(rt.dist.compiled(), rt.dist.rank(), rt.dist.size())'")
  T.eq(rc, 0, out)
  has(out, "true\t0\t1")
end)

T.test("2 and 3 ranks: allreduce (sum, mean, min, max), fused buckets, numbers, broadcast, barrier", function()
  local out, rc = sh(mpi(2) .. "tests/mpi/collectives.lua")
  T.eq(rc, 0, out)
  for _, s in ipairs({ "ok allreduce sum", "ok fused mean", "ok allgather", "ok broadcast_string", "ok stats" }) do
    has(out, s)
  end
  out, rc = sh(mpi(3) .. "tests/mpi/collectives.lua")
  T.eq(rc, 0, out)
  has(out, "ok fused mean")
end)

local function toy(d, mode, cfg, np, run)
  local args = q(d) .. " " .. mode .. " " .. cfg .. (run and (" " .. q(run)) or "")
  if np == 1 then return sh(q(BIN) .. " tests/mpi/toy_trainer.lua " .. args) end
  return sh(mpi(np) .. "tests/mpi/toy_trainer.lua " .. args)
end

T.test("Trainer: 2 ranks = 1 rank (uneven shards, an empty shard, accumulation), <= 1e-6", function()
  mpi()
  -- 61 examples: batch 15 leaves a last batch of 1 (rank 1 has none), 16 x accum 2
  -- gives micro-batches of 8 and a last one of 5 (3 + 2)
  for _, cfg in ipairs({ "15 1 10", "16 2 10", "32 1 10" }) do
    local a, b = fresh(), fresh()
    local o1, r1 = toy(a, "train", cfg, 1)
    T.eq(r1, 0, o1)
    local o2, r2 = toy(b, "train", cfg, 2)
    T.eq(r2, 0, o2)
    has(o2, "ranks 2")
    local e = rel_l2(a .. "/params.safetensors", b .. "/params.safetensors")
    T.ok(e <= 1e-6, string.format("batch/accum/steps %s: relative L2 difference %.3g", cfg, e))
  end
end)

T.test("Trainer with pre-built train_batches: rows split across 2 ranks = 1 rank, <= 1e-6", function()
  mpi()
  for _, cfg in ipairs({ "15 1 10", "16 2 10" }) do
    local a, b = fresh(), fresh()
    local o1, r1 = toy(a, "batches", cfg, 1)
    T.eq(r1, 0, o1)
    local o2, r2 = toy(b, "batches", cfg, 2)
    T.eq(r2, 0, o2)
    local e = rel_l2(a .. "/params.safetensors", b .. "/params.safetensors")
    T.ok(e <= 1e-6, string.format("batch/accum/steps %s: relative L2 difference %.3g", cfg, e))
    -- and the same as the example-list path
    local c = fresh()
    T.eq(select(2, toy(c, "train", cfg, 1)), 0)
    T.ok(rel_l2(a .. "/params.safetensors", c .. "/params.safetensors") <= 1e-6)
  end
end)

T.test("Trainer: 2 ranks stopped at step 5 and resumed end like an uninterrupted run", function()
  mpi()
  local a, b = fresh(), fresh()
  local o, rc = toy(a, "train", "14 2 10", 2, a .. "/run")
  T.eq(rc, 0, o)
  o, rc = toy(b, "interrupt", "14 2 10", 2, b .. "/run")
  T.eq(rc, 0, o)
  T.ok(exists(b .. "/run/checkpoint-5/trainer_state.json"), "no checkpoint-5:\n" .. o)
  o, rc = toy(b, "train", "14 2 10", 2, b .. "/run")
  T.eq(rc, 0, o)
  T.eq(rel_l2(a .. "/params.safetensors", b .. "/params.safetensors"), 0)
  -- rank 0 alone logged: one line per step
  local lines = 0
  for _ in io.lines(b .. "/run/log.jsonl") do lines = lines + 1 end
  T.eq(lines, 10)
end)

T.test("a model or option that differs across ranks is refused at the start, naming both", function()
  local d = fresh()
  local out, rc = toy(d, "mismatch", "16 1 4", 2)
  T.ok(rc ~= 0 and rc ~= 124, "rc " .. tostring(rc) .. "\n" .. out)
  has(out, "data parallel: the ranks differ")
  has(out, "parameter count: rank 0 has 15, rank 1 has 20")
  out, rc = toy(d, "seed", "16 1 4", 2)
  T.ok(rc ~= 0 and rc ~= 124, out)
  has(out, "seed: rank 0 has 7, rank 1 has 8")
end)

T.test("an error on rank 1 ends both ranks with the rank and the message (no hang)", function()
  local out, rc = toy(fresh(), "error", "16 1 10", 2)
  T.ok(rc ~= 0 and rc ~= 124, "rc " .. tostring(rc) .. " (124: still running after 60 s)\n" .. out)
  has(out, "rank 1/2:")
  has(out, "toy: a failure on purpose")
end)

T.test("kill -9 of rank 1: rank 0 is gone too, within the 60 s bound", function()
  local d = fresh()
  local out, rc = toy(d, "kill", "16 1 1000000", 2)
  T.ok(rc ~= 0 and rc ~= 124, "rc " .. tostring(rc) .. " (124: still running after 60 s)\n" .. out)
  local f = io.open(d .. "/rank0.pid")
  T.ok(f, "rank 0 wrote no pid:\n" .. out)
  local pid = f:read("l"); f:close()
  -- gone: no /proc entry, or a zombie waiting for a reaper (containers without an init)
  local st = io.open("/proc/" .. pid .. "/stat")
  local state = st and st:read("a"):match("%) (%a)")
  if st then st:close() end
  T.ok(state == nil or state == "Z" or state == "X", "rank 0 (pid " .. pid .. ") still runs: state " .. tostring(state))
  T.ok(out:find("signal 9", 1, true) or out:find("Killed", 1, true), "no word of the kill in:\n" .. out)
end)

-- the recipes ---------------------------------------------------------------
local function recipe_args(t)
  local s = {}
  for i, x in ipairs(t) do s[i] = q(x) end
  return table.concat(s, " ")
end

T.test("finetune.lua: 2 ranks x batch 16 = 1 rank x batch 32 after 10 steps (<= 1e-6, dropout 0)", function()
  mpi()
  local data, vocab = T.seed("chnsenti"), T.seed("nezha-cn-base/vocab.txt")
  local function a(out)
    return recipe_args({ "--from_scratch", "--task", "chnsenti", "--data_dir", data, "--vocab_file", vocab,
      "--output_dir", out, "--max_seq_length", "32", "--train_batch_size", "32", "--hidden_size", "32",
      "--num_hidden_layers", "2", "--num_attention_heads", "2", "--dropout", "0", "--threads", "1",
      "--max_steps", "10", "--learning_rate", "1e-3", "--progress", "false" })
  end
  local one, two = fresh() .. "/out", fresh() .. "/out"
  local o1, r1 = sh(q(BIN) .. " lua/recipes/finetune.lua " .. a(one))
  T.eq(r1, 0, o1)
  local o2, r2 = sh(mpi(2) .. "lua/recipes/finetune.lua " .. a(two))
  T.eq(r2, 0, o2)
  local e = rel_l2(one .. "/checkpoint-10/model.safetensors", two .. "/checkpoint-10/model.safetensors")
  T.ok(e <= 1e-6, string.format("relative L2 difference %.3g", e))
  -- one result line (rank 0 prints), the log says 2 ranks
  local _, count = o2:gsub("finetune chnsenti:", "")
  T.eq(count, 1, o2)
  local log = io.open(two .. "/log.jsonl"):read("a")
  has(log, '"ranks":2')
end)

T.test("task_distill.lua: 2 ranks x 16 = 1 rank x 32 after 10 steps, stages 1 and 2 (<= 1e-6, dropout 0)", function()
  mpi()
  -- tests/lua/td_fixture.lua: a synthetic MNLI task, a teacher fine-tuned from scratch
  -- without dropout, a random 1-layer student without dropout; the teacher is frozen
  -- and runs on every rank, only the student is synchronised
  local F = dofile("tests/lua/td_fixture.lua")
  local fx = F.build()
  local function a(student, out, extra)
    local t = { "--data_dir", fx.data, "--task_name", "mnli", "--max_seq_length", "16", "--train_batch_size", "32",
      "--do_lower_case", "--progress", "false", "--teacher_model", fx.teacher, "--max_steps", "10",
      "--learning_rate", "1e-3", "--student_model", student, "--output_dir", out }
    for _, x in ipairs(extra or {}) do t[#t + 1] = x end
    return recipe_args(t)
  end
  local d = fresh()
  for stage, extra in ipairs({ {}, { "--pred_distill", "--cache_teacher_logits" } }) do
    local student = stage == 1 and fx.student or (d .. "/one1")
    local one, two = d .. "/one" .. stage, d .. "/two" .. stage
    local o1, r1 = sh(q(BIN) .. " lua/recipes/task_distill.lua " .. a(student, one, extra))
    T.eq(r1, 0, o1)
    local o2, r2 = sh(mpi(2) .. "lua/recipes/task_distill.lua " .. a(student, two, extra))
    T.eq(r2, 0, o2)
    local e = rel_l2(one .. "/checkpoint-10/model.safetensors", two .. "/checkpoint-10/model.safetensors")
    T.ok(e <= 1e-6, string.format("stage %d: relative L2 difference %.3g", stage, e))
    local _, count = o2:gsub("task_distill stage " .. stage .. " mnli:", "")
    T.eq(count, 1, o2)   -- rank 0 alone prints
  end
  F.cleanup()
end)

T.test("general_distill.lua: 2 ranks = 1 rank after 6 steps (pre-built batches split by rows, dropout 0)", function()
  mpi()
  local G = T.golden("pregenerate")
  local V = 0
  for _ in io.lines(G .. "/vocab.txt") do V = V + 1 end
  local d = fresh()
  local t = rt.model.new({ vocab_size = V, hidden_size = 32, num_hidden_layers = 4, num_attention_heads = 2,
    intermediate_size = 64, max_position_embeddings = 64, heads = { "mlm", "nsp" }, hidden_dropout_prob = 0,
    attention_probs_dropout_prob = 0 }, { seed = 5 })
  t:save(d .. "/teacher", { format = "bin" })
  os.execute(string.format("cp %s %s", q(G .. "/vocab.txt"), q(d .. "/teacher/vocab.txt")))
  rt.sys.mkdir(d .. "/student")
  rt.log.write_json(d .. "/student/config.json", { vocab_size = V, hidden_size = 16, num_hidden_layers = 2,
    num_attention_heads = 2, intermediate_size = 32, max_position_embeddings = 64, hidden_dropout_prob = 0,
    attention_probs_dropout_prob = 0 })
  local function a(out)
    return recipe_args({ "--pregenerated_data", G .. "/retort", "--teacher_model", d .. "/teacher", "--student_model",
      d .. "/student", "--output_dir", out, "--train_batch_size", "8", "--eval_step", "3", "--max_seq_length", "64",
      "--progress", "false", "--learning_rate", "1e-3", "--num_train_epochs", "2", "--max_steps", "6" })
  end
  local o1, r1 = sh(q(BIN) .. " lua/recipes/general_distill.lua " .. a(d .. "/one"))
  T.eq(r1, 0, o1)
  local o2, r2 = sh(mpi(2) .. "lua/recipes/general_distill.lua " .. a(d .. "/two"))
  T.eq(r2, 0, o2)
  local e = rel_l2(d .. "/one/model.safetensors", d .. "/two/model.safetensors")
  T.ok(e <= 1e-6, string.format("relative L2 difference %.3g", e))
  T.eq(io.open(d .. "/one/log.txt"):read("a"):gsub("%d%.%d+", "x"), io.open(d .. "/two/log.txt"):read("a"):gsub("%d%.%d+", "x"))
end)

T.test("pretrain.lua --horovod on 2 ranks: the batch per process and the lr x 2, as upstream", function()
  mpi()
  local d = fresh()
  local words = { "the", "cat", "sat", "on", "mat", "dog", "ran", "far", "we", "like", "play", "ing", "a", "big" }
  local vocab = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "." }
  for _, w in ipairs(words) do vocab[#vocab + 1] = w end
  rt.sys.atomic_write(d .. "/vocab.txt", table.concat(vocab, "\n") .. "\n")
  local lines, s = {}, 7
  for _ = 1, 40 do
    for _ = 1, 4 do
      local ws = {}
      for _ = 1, 6 do s = (s * 1103515245 + 12345) % 2147483648; ws[#ws + 1] = words[(s >> 8) % #words + 1] end
      lines[#lines + 1] = table.concat(ws, " ") .. " ."
    end
    lines[#lines + 1] = ""
  end
  rt.sys.atomic_write(d .. "/corpus.txt", table.concat(lines, "\n"))
  rt.pretrain.create{ input_file = d .. "/corpus.txt", vocab_file = d .. "/vocab.txt", output_file = d .. "/data.tfrecord",
    max_seq_length = 24, max_predictions_per_seq = 4, dupe_factor = 2, progress = false }
  rt.log.write_json(d .. "/config.json", { vocab_size = #vocab, hidden_size = 16, num_hidden_layers = 2,
    num_attention_heads = 2, intermediate_size = 24, hidden_act = "gelu", max_position_embeddings = 64,
    type_vocab_size = 2, hidden_dropout_prob = 0, attention_probs_dropout_prob = 0 })
  local function a(out, bs, extra)
    local t = { "--bert_config_file=" .. d .. "/config.json", "--input_file=" .. d .. "/data.tfrecord",
      "--output_dir=" .. out, "--do_train=True", "--do_eval=True", "--train_batch_size=" .. bs, "--max_seq_length=24",
      "--max_predictions_per_seq=4", "--num_train_steps=6", "--num_warmup_steps=2", "--learning_rate=1e-3",
      "--progress=false", "--seed=3" }
    for _, x in ipairs(extra or {}) do t[#t + 1] = x end
    return recipe_args(t)
  end
  local o1, r1 = sh(q(BIN) .. " lua/recipes/pretrain.lua " .. a(d .. "/one", 8))
  T.eq(r1, 0, o1)
  local o2, r2 = sh(mpi(2) .. "lua/recipes/pretrain.lua " .. a(d .. "/two", 4, { "--horovod=True" }))
  T.eq(r2, 0, o2)
  local _, evals = o2:gsub("%*%*%*%*%* Eval results", "")
  T.eq(evals, 1, o2)   -- rank 0 alone evaluates and prints
  local l1, l2 = rt.log.read_jsonl(d .. "/one/log.jsonl"), rt.log.read_jsonl(d .. "/two/log.jsonl")
  T.eq(#l2, 6)
  for i = 2, 6 do T.near(l2[i].lr, 2 * l1[i].lr, 1e-9) end
  T.eq(l2[1].ranks, 2)
  T.ok(rt.sys.exists(d .. "/two/model.safetensors"), "no final model")
end)

os.execute("rm -rf " .. q(tmp))
