-- Data-parallel benchmark (peer: scripts/bench/dist.py). Needs the MPI build
-- (build-mpi/retort, `make MPI=1`) and mpirun; prints `bench dist skipped=...` otherwise.
--   build/retort scripts/bench/dist.lua --threads 2 [--hidden 256] [--layers 4] [--seq 64]
--          [--batch 16] [--steps 12] [--mb 64] [--reps 5] [--bert_step_s S]
-- Runs, each as its own processes:
--   1 rank x T threads and T ranks x 1 thread: the same global batch through the
--     Trainer (a random BERT of --hidden/--layers, sequence classification): per-step
--     time and the share of it spent in the gradient allreduce;
--   2 ranks: rt.dist.allreduce_list of --mb MiB in BERT-like tensors (64 MiB fusion
--     buffer), --reps times: bytes/s and seconds per parameter byte.
-- Then projects the step efficiency of BERT-base (110M f32 parameters = 440 MB of
-- gradients per step) at 8 and 64 ranks over 10 and 100 Gb/s networks with the ring
-- allreduce model (no overlap of communication with the backward pass):
--   t_comm = 2 (n-1)/n x bytes x (1/bandwidth + c)  +  2 (n-1) x buckets x latency
-- c = this machine's measured allreduce seconds per parameter byte at 2 ranks (the
-- copies and the reduction, an upper bound), latency = 25 us per message (TCP), buckets =
-- bytes / 64 MiB; compute per step = --bert_step_s, else 6 x 110M x 32 x 128 FLOP
-- (batch 32/rank, seq 128) at the FLOP/s one 1-thread rank reached above;
-- efficiency = t_compute / (t_compute + t_comm); also at 1 s of compute per step (a fast
-- node), and with c = 0 (net_only_*: the network alone).
-- prints bench dist impl=retort case=... key=value ...
local rt = rt or require "retort"

local opts = { threads = 2, hidden = 256, layers = 4, seq = 64, batch = 16, steps = 12, mb = 64, reps = 5,
  vocab = 2000 }
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k then opts[k] = arg[i + 1]; i = i + 2 else i = i + 1 end
end
for _, k in ipairs({ "threads", "hidden", "layers", "seq", "batch", "steps", "mb", "reps", "vocab", "bert_step_s" }) do
  opts[k] = tonumber(opts[k])
end
local D = rt.dist
local SELF = (arg and arg[0]) or "scripts/bench/dist.lua"

---------------------------------------------------------------------------
-- workers (run under mpirun or alone)
---------------------------------------------------------------------------
local function worker_step()
  rt.set_threads(opts.threads)
  local Trainer = require "retort.trainer"
  local H, L, S, B = opts.hidden, opts.layers, opts.seq, opts.batch
  local cfg = { vocab_size = opts.vocab, hidden_size = H, num_hidden_layers = L, num_attention_heads = math.max(1, H // 64),
    intermediate_size = 4 * H, max_position_embeddings = 512, type_vocab_size = 2, hidden_dropout_prob = 0,
    attention_probs_dropout_prob = 0, hidden_act = "gelu", heads = { "classifier" }, num_labels = 2 }
  local model = rt.model.new(cfg, { seed = 1 })
  local n = B * (opts.steps + 1)
  local data = {}
  rt.manual_seed(5)
  local ids = rt.rand(n, S):totable()
  for j = 1, n do
    local row = {}
    for t = 1, S do row[t] = math.floor(ids[j][t] * (opts.vocab - 1)) end
    data[j] = { ids = row, label = j % 2 }
  end
  local comm, steps = 0, 0
  local tr = Trainer.new {
    model = model, train = data, batch_size = B, max_steps = opts.steps, epochs = 1, progress = false,
    shuffle = false, stats_skip = 2, optim = { name = "adamw", lr = 1e-4 },
    collate = function(list)
      local x, y = {}, {}
      for j, e in ipairs(list) do x[j], y[j] = e.ids, e.label end
      return { input_ids = rt.tensor(x, "i64"), labels = rt.tensor(y, "i64"), size = #list }
    end,
    step_fn = function(m, b)
      local out = m:forward { input_ids = b.input_ids, labels = b.labels }
      return out.loss, nil, b.size * S, b.size
    end,
    on_step = function(rec)
      if rec.step > 2 then comm = comm + (rec.comm_s or 0); steps = steps + 1 end
    end,
  }
  local s = tr:fit()
  local nparams = 0
  for _, t in pairs(model:named_parameters()) do nparams = nparams + t:numel() end
  if D.rank() == 0 then
    local step_s = s.stats.step_s / math.max(1, s.stats.steps)
    print(string.format("worker ranks=%d threads=%d step_s=%.6f comm_s=%.6f params=%d tokens_per_rank=%d",
      D.size(), opts.threads, step_s, comm / math.max(1, steps), nparams, (B // D.size()) * S))
  end
end

local function worker_allreduce()
  -- BERT-like tensor sizes: H x H matrices and H vectors until --mb MiB
  local H, total, list = 768, opts.mb * 1048576 // 4, {}
  local have = 0
  while have < total do
    local m = math.min(H * H, total - have)
    list[#list + 1] = rt.ones(m); have = have + m
    if have < total then list[#list + 1] = rt.ones(math.min(H, total - have)); have = have + list[#list]:numel() end
  end
  D.allreduce_list(list, "mean")   -- warm-up (fusion buffer, connections)
  D.barrier()
  local t0 = rt.sys.now()
  for _ = 1, opts.reps do D.allreduce_list(list, "mean") end
  local dt = (rt.sys.now() - t0) / opts.reps
  if D.rank() == 0 then
    print(string.format("worker ranks=%d bytes=%d tensors=%d allreduce_s=%.6f", D.size(), have * 4, #list, dt))
  end
end

if opts.worker == "step" then return worker_step() end
if opts.worker == "allreduce" then return worker_allreduce() end

---------------------------------------------------------------------------
-- driver
---------------------------------------------------------------------------
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function run(cmd)
  local f = io.popen(cmd .. " 2>&1")
  local out = f:read("a"); f:close()
  local rec = {}
  local line = out:match("worker ([^\n]+)")
  if not line then io.stderr:write("dist bench: no result from: ", cmd, "\n", out, "\n"); return nil end
  for k, v in line:gmatch("([%w_]+)=(%S+)") do rec[k] = tonumber(v) or v end
  return rec
end
local BIN = os.getenv("RETORT_BIN") or "build/retort"
local MPI_BIN = os.getenv("RETORT_MPI_BIN") or "build-mpi/retort"
local f = io.open(MPI_BIN, "rb")
if not f or not os.execute("command -v mpirun >/dev/null 2>&1") then
  if f then f:close() end
  print("bench dist impl=retort skipped=no_mpi_build (make MPI=1 and mpirun needed)")
  return
end
f:close()
local MPIRUN = "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_tcp_if_include=lo "
  .. "mpirun --oversubscribe --bind-to none -np "
local v = io.popen("mpirun --version 2>&1"):read("a")
if not (v:find("Open MPI", 1, true) or v:find("OpenRTE", 1, true)) then MPIRUN = "mpirun -np " end
local common = string.format("--hidden %d --layers %d --seq %d --batch %d --steps %d", opts.hidden, opts.layers,
  opts.seq, opts.batch, opts.steps)
local T = opts.threads

local one = run(string.format("OMP_NUM_THREADS=%d %s %s --worker step --threads %d %s", T, q(BIN), q(SELF), T, common))
local many = run(string.format("OMP_NUM_THREADS=1 %s%d %s %s --worker step --threads 1 %s", MPIRUN, T, q(MPI_BIN),
  q(SELF), common))
local ar = run(string.format("OMP_NUM_THREADS=1 %s2 %s %s --worker allreduce --mb %d --reps %d", MPIRUN, q(MPI_BIN),
  q(SELF), opts.mb, opts.reps))
if not (one and many and ar) then print("bench dist impl=retort failed=1"); return end

print(string.format("bench dist impl=retort case=step ranks=1 threads=%d hidden=%d layers=%d seq=%d batch=%d "
  .. "params=%d step_ms=%.2f", T, opts.hidden, opts.layers, opts.seq, opts.batch, one.params, one.step_s * 1e3))
print(string.format("bench dist impl=retort case=step ranks=%d threads=1 hidden=%d layers=%d seq=%d batch=%d "
  .. "params=%d step_ms=%.2f allreduce_ms=%.2f allreduce_share=%.3f speedup_vs_threads=%.3f", T, opts.hidden,
  opts.layers, opts.seq, opts.batch, many.params, many.step_s * 1e3, many.comm_s * 1e3,
  many.comm_s / many.step_s, one.step_s / many.step_s))
local per_byte = ar.allreduce_s / ar.bytes
print(string.format("bench dist impl=retort case=allreduce ranks=2 bytes=%d tensors=%d ms=%.2f bytes_per_s=%.4g "
  .. "s_per_param_byte=%.4g", ar.bytes, ar.tensors, ar.allreduce_s * 1e3, ar.bytes / ar.allreduce_s, per_byte))

-- projection for BERT-base
local P, bytes = 110e6, 110e6 * 4
local flops_per_s = 6 * many.params * many.tokens_per_rank / math.max(1e-9, many.step_s - many.comm_s)
local compute = opts.bert_step_s or (6 * P * 32 * 128 / flops_per_s)
local c = per_byte / (2 * (2 - 1) / 2)        -- per byte moved at 2 ranks (factor 2(n-1)/n = 1)
local latency, buckets = 25e-6, math.ceil(bytes / (64 * 1048576))
for _, nr in ipairs({ 8, 64 }) do
  for _, gbps in ipairs({ 10, 100 }) do
    local bw = gbps * 1e9 / 8
    local lat = 2 * (nr - 1) * buckets * latency
    local net = 2 * (nr - 1) / nr * bytes / bw + lat
    local comm = net + 2 * (nr - 1) / nr * bytes * c
    print(string.format("bench dist impl=retort case=projection model=bert-base grad_bytes=%d ranks=%d net_gbps=%d "
      .. "compute_s=%.3f comm_s=%.3f efficiency=%.3f efficiency_at_1s_compute=%.3f net_only_comm_s=%.3f "
      .. "net_only_efficiency_at_1s_compute=%.3f", bytes, nr, gbps, compute, comm, compute / (compute + comm),
      1 / (1 + comm), net, 1 / (1 + net)))
  end
end
