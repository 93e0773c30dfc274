-- Golden comparisons for the pretraining pipeline (run by `make test` against the committed
-- fixtures and by `make parity` against freshly generated ones):
--   create_pretraining_data --rng python vs the CPython re-implementation
--     (scripts/golden/create_pretraining_data.py: the same files, byte for byte);
--   one NEZHA pretraining step (losses, gradients, LAMB) vs PyTorch (scripts/golden/pretrain.py).
local T = require "retort.test"
local P = require "retort.pretrain.mlm"

local function seed_or_skip(rel)
  local p = T.seed(rel)
  local f = io.open(p, "rb")
  if not f then print("skipped: seed data not found at " .. p); return nil end
  f:close()
  return p
end

local function slurp(p)
  local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s
end

local function write(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end

local function cases()
  local out = {}
  for line in io.lines(T.golden "create_pretraining_data/cases.tsv") do
    local name, kv = line:match("^(%S+)\t(.*)$")
    local o = {}
    for k, v in kv:gmatch("(%S+)=(%S+)") do o[k] = v end
    out[#out + 1] = { name = name, o = o }
  end
  return out
end

local function create(o)
  local opts = { progress = false }
  for k, v in pairs(o) do opts[k] = v end
  return rt.pretrain.create(opts)
end

T.test("--rng python: the same files as the CPython re-implementation (golden), byte for byte", function()
  local text = seed_or_skip "pretrain-toy/sample_text.txt"
  if not text then return end
  local dir = T.tmpdir()
  for _, c in ipairs(cases()) do
    local o, outs = c.o, {}
    for k = 0, tonumber(o.outputs) - 1 do outs[#outs + 1] = string.format("%s/%s_%d.tfrecord", dir, c.name, k) end
    local b = function(k) return o[k] == "True" end
    local s = create{
      input_file = T.seed(o.input_file), vocab_file = T.seed(o.vocab_file), output_file = table.concat(outs, ","),
      do_lower_case = b "do_lower_case", do_whole_word_mask = b "do_whole_word_mask",
      max_seq_length = tonumber(o.max_seq_length or 128), max_predictions_per_seq = tonumber(o.max_predictions_per_seq or 20),
      masked_lm_prob = tonumber(o.masked_lm_prob or 0.15), random_seed = tonumber(o.random_seed or 12345),
      dupe_factor = tonumber(o.dupe_factor or 10), short_seq_prob = tonumber(o.short_seq_prob or 0.1), rng = "python",
    }
    T.ok(s.instances > 20, c.name .. ": instances")
    for k, p in ipairs(outs) do
      local want = slurp(T.golden(string.format("create_pretraining_data/%s_%d.tfrecord", c.name, k - 1)))
      T.ok(slurp(p) == want, c.name .. ": " .. p .. " differs from the golden file")
    end
  end
  os.execute("rm -rf '" .. dir .. "'")
end)

T.test("one step: mlm_loss, nsp_loss, gradients and the LAMB update match PyTorch", function()
  local ref = rt.load(T.golden "pretrain/ref.safetensors")
  local m = rt.model.load(T.golden "pretrain/model", { heads = { "mlm", "nsp" }, quiet = true })
  m:eval()
  local b = { input_ids = ref.input_ids, token_type_ids = ref.token_type_ids, attention_mask = ref.attention_mask,
              positions = ref.positions, labels = ref.labels, weights = ref.weights, nsp = ref.nsp, size = 3 }
  local loss, terms = P.losses(m, b)
  T.near(terms.mlm_loss, ref.mlm_loss:item(), 1e-5)
  T.near(terms.nsp_loss, ref.nsp_loss:item(), 1e-5)
  T.near(loss:item(), ref.mlm_loss:item() + ref.nsp_loss:item(), 1e-5)
  loss:backward()
  local params = m:named_parameters()
  local n = 0
  for name, t in pairs(params) do
    T.near(t.grad, ref["grad." .. name], 2e-5, "grad " .. name)
    n = n + 1
  end
  T.ok(n > 20)
  -- the update from PyTorch's gradients (at t = 1, m/sqrt(v) ~ sign(g) amplifies float noise in tiny g)
  for name, t in pairs(params) do t.grad = ref["grad." .. name] end
  local opt = rt.optim.lamb(m, { lr = 1e-2, total_steps = 10, warmup_steps = 0, schedule = "polynomial", max_grad_norm = 1.0 })
  opt:step()
  for name, t in pairs(params) do T.near(t, ref["final." .. name], 2e-5, "after LAMB " .. name) end
end)

os.exit(T.summary() and 0 or 1)
