-- retort.progress (rt.progress): a progress bar for training loops.
--   local bar = rt.progress.new{total = 1000, desc = "train"}
--   bar:update(step, {loss = 0.42, acc = 0.81})   -- step/total, rate, ETA, values
--   bar:close()
-- On a terminal (stderr is a TTY and TERM is not "dumb") it redraws one line in
-- place; otherwise it prints a plain line (no "\r", no escape codes) every
-- `every_steps` steps (default: a tenth of the total) or `every` seconds (default 10),
-- whichever comes first, and at the end, so logs of batch jobs stay readable.
local progress = {}

local Bar = {}
Bar.__index = Bar

local function now()
  local rt = package.loaded["retort.core"]
  if rt and rt._optim then return rt._optim.now() end
  return os.clock()
end

--- rt.progress.is_tty(fd=2) -> whether fd is an interactive terminal.
function progress.is_tty(fd)
  local rt = package.loaded["retort.core"]
  local term = os.getenv("TERM")
  if term == "dumb" then return false end
  if rt and rt._optim then return rt._optim.isatty(fd or 2) end
  return false
end

local function fmt_time(s)
  if s ~= s or s == math.huge or s < 0 then return "--:--" end
  s = math.floor(s + 0.5)
  local h, m, sec = s // 3600, (s % 3600) // 60, s % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, sec) end
  return string.format("%02d:%02d", m, sec)
end
progress.fmt_time = fmt_time

local function fmt_val(v)
  if type(v) ~= "number" then return tostring(v) end
  if v ~= 0 and (math.abs(v) < 1e-3 or math.abs(v) >= 1e5) then return string.format("%.3e", v) end
  return string.format("%.4f", v)
end

--- rt.progress.new{total=, desc=, tty=auto, every=10, every_steps=total/10, out=io.stderr, width=} -> bar
function progress.new(o)
  o = o or {}
  local tty = o.tty
  if tty == nil then tty = progress.is_tty(2) end
  local self = setmetatable({
    total = o.total or 0, desc = o.desc or "", tty = tty, every = o.every or 10,
    out = o.out or io.stderr, width = o.width or tonumber(os.getenv("COLUMNS") or "") or 100,
    t0 = now(), last_print = -math.huge, start_step = o.start or 0, step = o.start or 0,
    keys = o.keys, every_steps = o.every_steps, last_step = o.start or 0,
  }, Bar)
  if self.every_steps == nil and self.total > 0 then self.every_steps = math.max(1, math.ceil(self.total / 10)) end
  return self
end

-- The text of the current state (no bar).
function Bar:text(final)
  local el = now() - self.t0
  local done = self.step - self.start_step
  local rate = el > 0 and done / el or 0
  local eta = (rate > 0 and self.total > 0) and (self.total - self.step) / rate or (0 / 0)
  local parts = {}
  if self.total > 0 then
    parts[#parts + 1] = string.format("%d/%d", self.step, self.total)
  else
    parts[#parts + 1] = tostring(self.step)
  end
  if rate >= 1 or rate == 0 then parts[#parts + 1] = string.format("%.2f it/s", rate)
  else parts[#parts + 1] = string.format("%.2f s/it", 1 / rate) end
  parts[#parts + 1] = final and ("elapsed " .. fmt_time(el)) or ("eta " .. fmt_time(eta))
  if self.values then
    local keys = self.keys
    if not keys then
      keys = {}
      for k in pairs(self.values) do keys[#keys + 1] = k end
      table.sort(keys)
    end
    for _, k in ipairs(keys) do
      local v = self.values[k]
      if v ~= nil then parts[#parts + 1] = k .. " " .. fmt_val(v) end
    end
  end
  return table.concat(parts, "  ")
end

--- bar:update(step, values): set the position (and the values shown after it).
function Bar:update(step, values)
  self.step = step
  if values then
    self.values = self.values or {}
    for k, v in pairs(values) do self.values[k] = v end
  end
  local t = now()
  if self.tty then
    if t - self.last_print < 0.1 and step < self.total then return end
    self.last_print = t
    local txt = self:text(false)
    local desc = self.desc ~= "" and (self.desc .. " ") or ""
    local bw = math.max(10, math.min(30, self.width - #txt - #desc - 4))
    local frac = self.total > 0 and math.min(1, step / self.total) or 0
    local fill = math.floor(frac * bw + 0.5)
    local line = desc .. "[" .. string.rep("#", fill) .. string.rep(".", bw - fill) .. "] " .. txt
    if #line > self.width - 1 then line = line:sub(1, self.width - 1) end
    self.out:write("\r", line, "\27[K")
    self.out:flush()
  elseif (self.total <= 0 or step < self.total) and (t - self.last_print >= self.every or   -- close() prints the last
         (self.every_steps and self.every_steps > 0 and step // self.every_steps > self.last_step // self.every_steps)) then
    self.last_print, self.last_step = t, step
    self.out:write((self.desc ~= "" and self.desc .. ": " or ""), self:text(false), "\n")
    self.out:flush()
  end
end

--- bar:note(text): print a message above the bar (a line of its own).
function Bar:note(text)
  if self.tty then self.out:write("\r\27[K") end
  self.out:write(text, "\n")
  if self.tty then self.last_print = -math.huge; self:update(self.step) end
  self.out:flush()
end

--- bar:close(): final line.
function Bar:close()
  if self.closed then return end
  self.closed = true
  if self.tty then self.out:write("\r\27[K") end
  self.out:write((self.desc ~= "" and self.desc .. ": " or ""), self:text(true), "\n")
  self.out:flush()
end

progress.Bar = Bar
require("retort.log").autodoc(progress, "rt.progress", Bar)
return progress
