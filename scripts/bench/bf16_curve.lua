-- bf16 vs fp32 training curves: the same small MLM pretraining run (random init,
-- WordPiece vocabulary learned on the text, 15% of the tokens masked, AdamW) twice
-- from the same seed, once in fp32 and once under rt.autocast("bf16"); prints the
-- mean loss of each 50-step window of both and the largest relative difference.
--   build/retort scripts/bench/bf16_curve.lua [--steps 1000] [--text FILE] [--threads 2]
--                [--batch 16] [--seq 64] [--hidden 128] [--layers 2]
-- Goal of the issue: within 2 % over the first 1000 steps.
local rt = rt or require "retort"
local o = {steps = "1000", text = "/usr/share/games/fortunes/computers", threads = "2", batch = "16", seq = "64",
           hidden = "128", layers = "2", lr = "1e-3", window = "50"}
local i = 1
while arg and arg[i] do
  local k = arg[i]:match("^%-%-(.+)")
  if k then o[k] = arg[i + 1]; i = i + 2 else i = i + 1 end
end
for _, k in ipairs({"steps", "threads", "batch", "seq", "hidden", "layers", "lr", "window"}) do o[k] = tonumber(o[k]) end
rt.set_threads(o.threads)

local lines = {}
local f = assert(io.open(o.text, "rb"), "bf16_curve: cannot read " .. o.text)
for l in f:lines() do if l:match("%S") and l ~= "%" then lines[#lines + 1] = l end end
f:close()
assert(#lines >= o.batch, "bf16_curve: " .. o.text .. " has fewer than --batch lines")
local vocab = rt.vocab.build_wordpiece({lines = lines}, {size = 2000, lower = true, min_frequency = 2})
local tok = rt.tokenizer.load(vocab, {lower = true})
local MASK = tok:convert_tokens_to_ids({"[MASK]"})[1]

local function run(bf16)
  rt.manual_seed(1)
  local H = o.hidden
  local m = rt.model.new({vocab_size = tok:vocab_size(), hidden_size = H, num_hidden_layers = o.layers,
                          num_attention_heads = H // 64 > 0 and H // 64 or 1, intermediate_size = 4 * H,
                          max_position_embeddings = o.seq, hidden_dropout_prob = 0, attention_probs_dropout_prob = 0,
                          heads = {"mlm"}}, {seed = 1})
  m:train()
  local opt = rt.optim.adamw(m, {lr = o.lr, weight_decay = 0.01})
  local losses = {}
  local ac <close> = bf16 and rt.autocast("bf16") or nil
  for s = 1, o.steps do
    local list = {}
    for j = 1, o.batch do list[j] = lines[((s - 1) * o.batch + j - 1) % #lines + 1] end
    local b = tok:batch({list, max_len = o.seq, pad = "longest"})
    rt.manual_seed(1000 + s)   -- the same masks in both runs
    local ids = b.input_ids:totable()
    local r = rt.rand(#ids, #ids[1]):totable()
    local am = b.attention_mask:totable()
    local lab = {}
    for bi = 1, #ids do
      lab[bi] = {}
      for t = 1, #ids[bi] do
        local masked = am[bi][t] == 1 and t > 1 and r[bi][t] < 0.15
        lab[bi][t] = masked and ids[bi][t] or -100
        if masked then ids[bi][t] = MASK end
      end
    end
    local out = m:forward({input_ids = rt.tensor(ids, "i64"), attention_mask = b.attention_mask,
                           mlm_labels = rt.tensor(lab, "i64")})
    opt:zero_grad()
    out.loss:backward()
    opt:step()
    losses[s] = out.loss:item()
    out = nil
    if s % 20 == 0 then collectgarbage() end
  end
  return losses
end

local a, b = run(false), run(true)
local worst = 0
for w0 = 1, o.steps, o.window do
  local w1 = math.min(w0 + o.window - 1, o.steps)
  local sa, sb = 0, 0
  for s = w0, w1 do sa = sa + a[s]; sb = sb + b[s] end
  sa, sb = sa / (w1 - w0 + 1), sb / (w1 - w0 + 1)
  local rel = math.abs(sb - sa) / sa
  worst = math.max(worst, rel)
  print(string.format("bench bf16_curve_window steps=%d-%d fp32=%.4f bf16=%.4f rel=%.4f", w0, w1, sa, sb, rel))
end
print(string.format("bench bf16_curve impl=retort threads=%d steps=%d hidden=%d layers=%d batch=%d seq=%d "
  .. "max_window_rel_diff=%.4f native=%s", o.threads, o.steps, o.hidden, o.layers, o.batch, o.seq, worst,
  tostring(rt.cpu.features().avx512_bf16)))
