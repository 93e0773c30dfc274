-- cmrc_step benchmark: scripts/bench/ner.lua --tasks cmrc (NEZHA-base span head,
-- batch 4 x seq 512, forward + masked start/end CE + backward + AdamWeightDecay).
--   build/retort scripts/bench/cmrc.lua --threads 2 [--layers 12 --hidden 768 --steps 2]
local bin = os.getenv("RETORT_BIN") or (arg and arg[-1]) or "build/retort"
local dir = (arg and arg[0] or "scripts/bench/cmrc.lua"):match("^(.*)/[^/]*$") or "scripts/bench"
local rest = {}
for i = 1, #arg do rest[#rest + 1] = "'" .. arg[i]:gsub("'", "'\\''") .. "'" end
local ok = os.execute(string.format("%s %s/ner.lua --tasks cmrc %s", bin, dir, table.concat(rest, " ")))
if not ok then os.exit(1) end
