-- rt.sys: whole-file reads, atomic writes (old file kept on failure), mkdir -p,
-- sorted listdir, remove_tree that never follows symlinks, clock, isatty, and
-- the deprecated rt._optim aliases.
local T = require "retort.test"
local rt = require "retort"

local BIN = os.getenv("RETORT_BIN") or "build/retort"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local function put(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end
local function temps(dir)   -- leftover "<name>.tmp.XXXXXX" files of atomic writes
  local n = 0
  for _, e in ipairs(rt.sys.listdir(dir)) do if e:find(".tmp.", 1, true) then n = n + 1 end end
  return n
end

T.test("rt.sys.atomic_write then read_file round trip (binary, empty, replace)", function()
  local dir = T.tmpdir()
  local p = dir .. "/a.bin"
  local bytes = "\0\1\2hello\255\n" .. string.rep("x", 100000)
  rt.sys.atomic_write(p, bytes)
  T.eq(rt.sys.read_file(p), bytes)
  T.eq(rt.sys.file_size(p), #bytes)
  rt.sys.atomic_write(p, "")
  T.eq(rt.sys.read_file(p), "")
  rt.sys.atomic_write(p, "new")
  T.eq(slurp(p), "new")
  T.eq(temps(dir), 0)
  T.raises(function() rt.sys.read_file(dir .. "/missing") end, dir .. "/missing")
  T.raises(function() rt.sys.read_file(dir) end, dir)
  rt.sys.remove_tree(dir)
end)

T.test("rt.sys.atomic_write failures name the path and leave the old file", function()
  local dir = T.tmpdir()
  -- a directory as the target: the rename fails, the directory and its contents stay
  rt.sys.mkdir(dir .. "/d")
  put(dir .. "/d/keep", "kept")
  T.raises(function() rt.sys.atomic_write(dir .. "/d", "x") end, dir .. "/d")
  T.ok(rt.sys.isdir(dir .. "/d")); T.eq(slurp(dir .. "/d/keep"), "kept")
  T.eq(temps(dir), 0)
  -- a missing parent directory
  T.raises(function() rt.sys.atomic_write(dir .. "/no/such/f", "x") end, dir .. "/no/such/f")
  -- a write that fails half way (file size limit): the old contents survive
  local p = dir .. "/f.txt"
  put(p, "old contents")
  local code = string.format("rt.sys.atomic_write(%q, string.rep('y', 1 << 20))", p)
  local f = io.popen("sh -c " .. q("trap '' XFSZ; ulimit -f 8; exec " .. q(BIN) .. " -e " .. q(code)) .. " 2>&1; echo \"::rc=$?\"")
  local out = f:read("a"); f:close()
  T.ok(not out:find("::rc=0", 1, true), "a failing write must exit non-zero: " .. out)
  T.ok(out:find(p, 1, true), "the message names the path: " .. out)
  T.eq(slurp(p), "old contents")
  T.eq(temps(dir), 0)
  -- rt.log.write_atomic goes through rt.sys.atomic_write
  rt.log.write_json(dir .. "/s.json", {a = 1})
  T.eq(rt.log.read_json(dir .. "/s.json").a, 1)
  T.raises(function() rt.log.write_atomic(dir .. "/d", "x") end, "write_atomic: ")
  rt.sys.remove_tree(dir)
end)

T.test("rt.sys.mkdir is mkdir -p; listdir is sorted; exists/isdir", function()
  local dir = T.tmpdir()
  rt.sys.mkdir(dir .. "/a/b/c/")
  rt.sys.mkdir(dir .. "/a/b/c")          -- again: fine
  T.ok(rt.sys.isdir(dir .. "/a/b/c"))
  for _, n in ipairs{"zeta", "Alpha", "beta", "10", "9"} do put(dir .. "/a/" .. n, n) end
  T.eq(table.concat(rt.sys.listdir(dir .. "/a"), ","), "10,9,Alpha,b,beta,zeta")
  local none, msg = rt.sys.listdir(dir .. "/nope")
  T.eq(none, nil); T.ok(msg:find(dir .. "/nope", 1, true), msg)
  T.raises(function() rt.sys.mkdir(dir .. "/a/zeta/x") end, dir .. "/a/zeta")
  T.ok(rt.sys.exists(dir .. "/a/zeta")); T.ok(not rt.sys.isdir(dir .. "/a/zeta"))
  T.ok(not rt.sys.exists(dir .. "/a/nope"))
  rt.sys.remove_tree(dir)
  T.ok(not rt.sys.exists(dir))
end)

T.test("rt.sys.remove_tree unlinks symlinks and never descends into them", function()
  local dir = T.tmpdir()
  local outside = T.tmpdir()
  put(outside .. "/precious", "p")
  rt.sys.mkdir(dir .. "/t/sub")
  put(dir .. "/t/sub/f", "f")
  os.execute("ln -s " .. q(outside) .. " " .. q(dir .. "/t/link"))
  os.execute("ln -s " .. q(outside) .. " " .. q(dir .. "/toplink"))
  os.execute("ln -s " .. q(dir .. "/gone") .. " " .. q(dir .. "/t/dangling"))
  T.ok(rt.sys.exists(dir .. "/t/dangling"))
  rt.sys.remove_tree(dir .. "/toplink")    -- a link given directly: the link goes
  T.ok(not rt.sys.exists(dir .. "/toplink"))
  rt.sys.remove_tree(dir .. "/t")
  T.ok(not rt.sys.exists(dir .. "/t"))
  T.eq(slurp(outside .. "/precious"), "p")
  rt.sys.remove_tree(dir .. "/missing")    -- nothing there: fine
  rt.sys.remove_tree(dir); rt.sys.remove_tree(outside)
end)

T.test("rt.sys.now is monotonic; isatty answers booleans; rt._optim aliases", function()
  local a = rt.sys.now(); local b = rt.sys.now()
  T.ok(type(a) == "number" and b >= a)
  T.eq(type(rt.sys.isatty(1)), "boolean")
  T.eq(rt.sys.isatty(987), false)
  for _, n in ipairs{"mkdir", "now", "listdir", "isatty", "isdir", "fsync"} do
    T.eq(rt._optim[n], rt.sys[n], "rt._optim." .. n .. " is rt.sys." .. n)
  end
end)

os.exit(T.summary() and 0 or 1)
