-- Parser time and peak memory on generated hostile inputs (issue: bounded memory and
-- time). Each case runs in a child process so its peak RSS (VmHWM) is its own.
--   build/retort scripts/bench/parsers.lua [--scale S]   (S multiplies every size; default 1)
-- Prints `bench parsers case=... n=... bytes=... seconds=... peak_rss_mb=...` lines.
local rt = require "retort"

local function arg_value(name, default)
  for i = 1, #arg do
    if arg[i] == name then return arg[i + 1] end
    local v = arg[i]:match("^" .. name:gsub("%-", "%%-") .. "=(.*)$")
    if v then return v end
  end
  return default
end

local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

-- a stored zip of {name, data} entries
local function zip(entries)
  local out, cd, pos = {}, {}, 0
  for _, e in ipairs(entries) do
    local name, data = e[1], e[2]
    local crc = crc32(data)
    local lh = string.pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, 0, 0, 0, crc, #data, #data, #name, 0) .. name
    cd[#cd + 1] = string.pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50, 20, 20, 0, 0, 0, 0, crc, #data, #data,
                              #name, 0, 0, 0, 0, 0, pos) .. name
    out[#out + 1] = lh .. data
    pos = pos + #lh + #data
  end
  local cds = table.concat(cd)
  return table.concat(out) .. cds .. string.pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #entries, #entries, #cds, pos, 0)
end

local function write(path, bytes) local f = assert(io.open(path, "wb")); f:write(bytes); f:close(); return #bytes end

local gen = {}
-- safetensors header with n tensors of one element
function gen.safetensors_entries(dir, n)
  local parts, data = {}, {}
  for i = 1, n do
    parts[i] = string.format('"t%d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}', i, 4 * (i - 1), 4 * i)
  end
  local hdr = "{" .. table.concat(parts, ",") .. "}"
  local p = dir .. "/e.safetensors"
  return p, write(p, string.pack("<I8", #hdr) .. hdr .. string.rep("\0", 4 * n)), function() rt.load(p) end
end
-- safetensors __metadata__ with n keys
function gen.safetensors_metadata(dir, n)
  local parts = {}
  for i = 1, n do parts[i] = string.format('"k%d":"v"', i) end
  local hdr = '{"__metadata__":{' .. table.concat(parts, ",") .. "}}"
  local p = dir .. "/m.safetensors"
  return p, write(p, string.pack("<I8", #hdr) .. hdr), function() rt.load(p) end
end
-- torch.save zip: a protocol-4 pickle dict of n (key -> int) pairs, each key MEMOIZEd
function gen.pickle_memoize(dir, n)
  local pk = {"\x80\x04}\x94("}
  for i = 1, n do
    local k = "k" .. i
    pk[#pk + 1] = "\x8c" .. string.char(#k) .. k .. "\x94K\x01"
  end
  pk[#pk + 1] = "u."
  local p = dir .. "/memo.bin"
  return p, write(p, zip{{"archive/data.pkl", table.concat(pk)}}), function() rt.io.load_bin(p) end
end
-- torch.save zip with n storages (n zip entries, one tensor each)
function gen.zip_entries(dir, n)
  local t = {}
  for i = 1, n do t["t" .. i] = rt.zeros(1) end
  local p = dir .. "/many.bin"
  rt.io.save_bin(p, t)
  local f = io.open(p, "rb"); local sz = f:seek("end"); f:close()
  return p, sz, function() rt.io.load_bin(p) end
end
-- SQuAD file: one paragraph with a long context and n short questions
function gen.squad(dir, n)
  local qs = {}
  for i = 1, n do qs[i] = string.format('{"id":"q%d","question":"q?","answers":[{"text":"a","answer_start":0}]}', i) end
  local ctx = string.rep("a", 200000)
  local p = dir .. "/squad.json"
  return p, write(p, '{"data":[{"title":"t","paragraphs":[{"context":"' .. ctx .. '","qas":[' .. table.concat(qs, ",") .. "]}]}]}"),
         function() rt.data.read_squad(p) end
end
-- ChnSentiCorp train.tsv with n rows (labels checked against the task's list)
function gen.task_labels(dir, n)
  local rows = {}
  for i = 1, n do rows[i] = (i % 2) .. "\tx" end
  local bytes = write(dir .. "/train.tsv", table.concat(rows, "\n") .. "\n")
  return dir, bytes, function() rt.data.read_task("chnsenti", dir, "train") end
end

local SIZES = {safetensors_entries = 80000, safetensors_metadata = 80000, pickle_memoize = 80000,
               zip_entries = 20000, squad = 5000, task_labels = 40000}
local ORDER = {"safetensors_entries", "safetensors_metadata", "pickle_memoize", "zip_entries", "squad", "task_labels"}

local case = arg_value("--case")
if case then   -- child: generate, time, report
  local n = tonumber(arg_value("--n"))
  local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p '" .. dir .. "'")
  local _, bytes, run = gen[case](dir, n)
  local t0 = os.clock()
  local ok, err = pcall(run)
  local secs = os.clock() - t0
  local hwm = 0
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmHWM:%s+(%d+)")
    if v then hwm = tonumber(v) / 1024 end
  end
  os.execute("rm -rf '" .. dir .. "'")
  print(string.format("bench parsers case=%s n=%d bytes=%d seconds=%.3f peak_rss_mb=%.0f ok=%s%s", case, n, bytes,
                      secs, hwm, tostring(ok), ok and "" or (" error=" .. tostring(err):sub(1, 80):gsub("%s", "_"))))
  os.exit(0)
end
local scale = tonumber(arg_value("--scale", "1"))
local self = arg[0]
local bin = os.getenv("RETORT_BIN") or "build/retort"
for _, c in ipairs(ORDER) do
  local n = math.max(1, math.floor(SIZES[c] * scale))
  os.execute(string.format("'%s' '%s' --case %s --n %d", bin, self, c, n))
end
