-- retort.clue (rt.clue): readers for the CLUE classification tasks that ship as JSON
-- lines (one object per line): TNEWS, IFLYTEK, AFQMC and CMNLI, with the label lists of
-- the CLUE baseline processors (CLUEbenchmark baselines/models/bert/run_classifier.py).
--
--   local ex, labels, info = rt.clue.read("tnews", dir, "train")   -- dir/train.json
--   rt.clue.read("afqmc", dir, "train", {file = "train_aug.json"})
--
-- examples {guid=, text_a=, text_b=, label=} as rt.data.read_task returns them.
-- CMNLI rows whose label is "-" (no gold label) are skipped, as upstream.
local M = {}

local function tnews_labels()
  local l = {}
  for i = 0, 16 do if i ~= 5 and i ~= 11 then l[#l + 1] = tostring(100 + i) end end
  return l
end

local function iflytek_labels()
  local l = {}
  for i = 0, 118 do l[#l + 1] = tostring(i) end
  return l
end

M.TASKS = {
  tnews = { a = "sentence", labels = tnews_labels() },
  iflytek = { a = "sentence", labels = iflytek_labels() },
  afqmc = { a = "sentence1", b = "sentence2", labels = { "0", "1" } },
  cmnli = { a = "sentence1", b = "sentence2", labels = { "contradiction", "entailment", "neutral" }, skip = "-" },
}

--- rt.clue.names() -> the task names rt.clue.read knows.
function M.names()
  local t = {}
  for k in pairs(M.TASKS) do t[#t + 1] = k end
  table.sort(t)
  return t
end

--- rt.clue.known(task) -> true when task is one of the JSON-lines CLUE tasks.
function M.known(task) return M.TASKS[tostring(task):lower()] ~= nil end

--- rt.clue.read(task, dir, split="train", {file=}) -> examples, labels, info
--- Reads <dir>/<split>.json (or <dir>/<file>); a bad line is an error naming file:line.
function M.read(task, dir, split, opts)
  split = split or "train"
  local spec = M.TASKS[tostring(task):lower()]
  if not spec then error("rt.clue.read: unknown task '" .. tostring(task) .. "' (" .. table.concat(M.names(), " ") .. ")", 2) end
  local fname = (opts and opts.file) or ((split == "eval" or split == "validation") and "dev" or split) .. ".json"
  local path = dir .. "/" .. fname
  local f, err = io.open(path, "rb")
  if not f then error("rt.clue.read: " .. tostring(err), 2) end
  local text = f:read("a")
  f:close()
  if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end
  local ids = {}
  for i, l in ipairs(spec.labels) do ids[l] = i end
  local json = require("retort.log").json_decode
  local out, skipped, lineno = {}, 0, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:match("%S") then
      local ok, obj = pcall(json, line)
      if not ok or type(obj) ~= "table" then
        error(string.format("%s:%d: not a JSON object (%s)", path, lineno, tostring(obj)), 0)
      end
      local a = obj[spec.a]
      if type(a) ~= "string" then error(string.format("%s:%d: %s has no string field '%s'", path, lineno, task, spec.a), 0) end
      local label = obj.label
      if label ~= nil then label = tostring(math.tointeger(label) or label) end
      if spec.skip and label == spec.skip then
        skipped = skipped + 1
      else
        if label ~= nil and split ~= "test" and not ids[label] then
          error(string.format("%s:%d: %s label '%s' is not one of the task's labels", path, lineno, task, label), 0)
        end
        out[#out + 1] = { guid = string.format("%s-%d", split, #out), text_a = a,
                          text_b = spec.b and tostring(obj[spec.b] or "") or nil, label = label }
      end
    end
  end
  local labels = {}
  for i, l in ipairs(spec.labels) do labels[i] = l end
  return out, labels, { file = path, skipped = skipped, regression = false, n = #out }
end

return M
