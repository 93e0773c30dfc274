-- Command-line tests: -e, -l, -i, script args (the arg table), exit codes, stdin
-- mode, --version, lua/ lookup from another directory and from an install prefix,
-- help and rt.pretty, and the notebook runner (validated with nbformat).
local T = require "retort.test"

local BIN = os.getenv("RETORT_BIN") or "build/retort"
if BIN:sub(1, 1) ~= "/" then
  local pwd = io.popen("pwd"):read("l")
  BIN = pwd .. "/" .. BIN
end
local PY = "/usr/bin/python3"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Run a shell command; returns its output (stdout+stderr) and exit status.
local function sh(cmd)
  local f = io.popen("(" .. cmd .. ") 2>&1; echo \"::rc=$?\"")
  local out = f:read("a")
  f:close()
  local body, rc = out:match("^(.-)::rc=(%d+)%s*$")
  return body, tonumber(rc)
end

local tmp = T.tmpdir()
local function write(name, text)
  local path = tmp .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local function has(out, s) T.ok(out:find(s, 1, true), "expected '" .. s .. "' in:\n" .. out) end

T.test("-e runs statements in order", function()
  local out, rc = sh(BIN .. " -e 'x = 20' -e 'print(x + 22)'")
  T.eq(out, "42\n"); T.eq(rc, 0)
end)

T.test("-e error: traceback and exit status 1", function()
  local out, rc = sh(BIN .. " -e 'error(\"boom\")'")
  T.eq(rc, 1); has(out, "boom"); has(out, "stack traceback")
  out, rc = sh(BIN .. " -e 'x = = 1'")
  T.eq(rc, 1); has(out, "near '='")
end)

T.test("script gets the arg table like lua.c and ... args", function()
  local s = write("args.lua", [[
print(arg[-3], arg[-2], arg[-1], arg[0], #arg, arg[1], arg[2], select("#", ...), ...)
print(type(rt), type(help), type(rt.pretty))
]])
  local out, rc = sh(BIN .. " -e 'x=1' " .. s .. " a 'b c'")
  T.eq(rc, 0)
  T.eq(out, table.concat({ BIN, "-e", "x=1", s, 2, "a", "b c", 2, "a", "b c" }, "\t") ..
    "\ntable\ttable\ttable\n")
  out, rc = sh(BIN .. " " .. s .. " x")
  T.eq(rc, 0)
  has(out, table.concat({ "nil", "nil", BIN, s, 1, "x", "nil", 1, "x" }, "\t") .. "\n")
  out, rc = sh(BIN .. " -- " .. s)
  T.eq(rc, 0)
  has(out, table.concat({ "nil", BIN, "--", s, 0, "nil", "nil", 0 }, "\t") .. "\n")
end)

T.test("exit codes: error, os.exit(n), os.exit(false), missing file", function()
  local _, rc = sh(BIN .. " " .. write("fail.lua", "local t = nil\nreturn t.x\n"))
  T.eq(rc, 1)
  _, rc = sh(BIN .. " " .. write("exit3.lua", "os.exit(3)"))
  T.eq(rc, 3)
  _, rc = sh(BIN .. " -e 'os.exit(false)'")
  T.eq(rc, 1)
  local out
  out, rc = sh(BIN .. " " .. tmp .. "/does_not_exist.lua")
  T.eq(rc, 1); has(out, "does_not_exist.lua")
end)

T.test("-l requires into a global", function()
  local out, rc = sh(BIN .. " -l retort.test -e 'print(type(test.eq))'")
  T.eq(rc, 0); T.eq(out, "function\n")
  out, rc = sh(BIN .. " -l TT=retort.test -e 'print(type(TT.near))'")
  T.eq(rc, 0); T.eq(out, "function\n")
  _, rc = sh(BIN .. " -l no.such.module")
  T.eq(rc, 1)
end)

T.test("-i: script then REPL with its globals (stdin not a terminal)", function()
  local s = write("setg.lua", "g = 41\nfunction twice(x) return 2 * x end\n")
  local out, rc = sh("printf 'g + 1\\ntwice(g)\\nfunction h()\\n return \"multi\"\\nend\\nh()\\n7;\\n_ * 2\\n' | " ..
    BIN .. " -i " .. s)
  T.eq(rc, 0)
  has(out, "42\n82\nmulti\n14\n")
end)

T.test("stdin mode: the program comes from stdin", function()
  local out, rc = sh("printf 'print(\"from\" .. \" stdin\")' | " .. BIN)
  T.eq(rc, 0); T.eq(out, "from stdin\n")
  out, rc = sh("printf 'print(arg[1], ...)' | " .. BIN .. " - p q")
  T.eq(rc, 0); T.eq(out, "p\tp\tq\n")
  _, rc = sh("printf 'error(1)' | " .. BIN)
  T.eq(rc, 1)
end)

T.test("--version, -v, --help, bad option", function()
  local out, rc = sh(BIN .. " --version")
  T.eq(rc, 0); T.ok(out:match("^retort %S+ %(Lua 5%.4"), out)
  out, rc = sh(BIN .. " -v")
  T.eq(rc, 0); T.ok(out:match("^retort "), out)
  out, rc = sh(BIN .. " --help")
  T.eq(rc, 0); has(out, "--notebook run")
  out, rc = sh(BIN .. " --no-such-flag")
  T.ok(rc ~= 0); has(out, "usage:")
end)

T.test("lua/ is found from any directory and from an install prefix", function()
  local out, rc = sh("cd / && " .. BIN .. " -e 'require \"retort.test\"; print(\"ok\")'")
  T.eq(rc, 0); T.eq(out, "ok\n")
  -- What `make install PREFIX=p` lays out: p/bin/retort and p/share/retort/lua.
  local p = tmp .. "/prefix"
  local root = BIN:match("^(.*)/[^/]+/[^/]+$")             -- <repo>/build/retort -> <repo>
  _, rc = sh("mkdir -p " .. p .. "/bin " .. p .. "/share/retort && cp " .. BIN .. " " .. p ..
    "/bin/retort && cp -r " .. root .. "/lua " .. p .. "/share/retort/")
  T.eq(rc, 0)
  local f = io.open(root .. "/lua/retort/trainer.lua")
  local mod = f and "retort.trainer" or "retort.test"
  if f then f:close() end
  out, rc = sh("cd / && " .. p .. "/bin/retort -e 'require \"" .. mod ..
    "\"; print(package.path:match(\"share/retort/lua\") ~= nil)'")
  T.eq(rc, 0); T.eq(out, "true\n")
end)

T.test("help and rt.pretty", function()
  local out, rc = sh(BIN .. " -e 'help(rt.doc)' -e 'help(\"rt.doc_names\")' -e 'help(\"zz_no_such\")' -e 'help()'")
  T.eq(rc, 0)
  has(out, "registers help text"); has(out, "every documented name"); has(out, "no help for 'zz_no_such'")
  has(out, "?name or help(x)")
  out, rc = sh(BIN .. " -e 'help(print)' -e 'help(string)' -e 'help(\"table.concat\")'")
  T.eq(rc, 0)
  has(out, "tab-separated"); has(out, "  format "); has(out, "joined")
  T.eq(rt.pretty({ 1, 2, x = { y = "s" } }), '{1, 2, x = {y = "s"}}')
  T.eq(rt.pretty.format({ a = { b = { c = { d = 1 } } } }, { depth = 2 }), "{a = {b = {...}}}")
  T.ok(rt.doc(rt.pretty):find("readable text"))
end)

T.test("tensors: help lists methods, tables show the one-line summary", function()
  if not rt.tensor then return end
  local x = rt.tensor{{1, 2}, {3, 4}}
  local summary = tostring(x):gsub("%s+$", ""):match("([^\n]*)$")
  T.eq(rt.pretty({x}), "{" .. summary .. "}")
  local out, rc = sh(BIN .. " -e 'help(rt.tensor{1})' -e 'help(\"rt.Tensor.sum\")'")
  T.eq(rc, 0)
  has(out, "Members:"); has(out, "  sum ")
end)

-- A 1x1 PNG.
local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137" ..
  "\0\0\0\rIDATx\156c\248\15\0\1\1\1\0\24\221\141\176\0\0\0\0IEND\174B`\130"

local function nb_json(cells)
  local parts = {}
  for i, c in ipairs(cells) do
    local src = string.format("%q", c[2]):gsub("\\\n", "\\n")
    if c[1] == "markdown" then
      parts[i] = string.format('{"cell_type": "markdown", "id": "md%d", "metadata": {}, "source": %s}', i, src)
    else
      parts[i] = string.format('{"cell_type": "code", "execution_count": null, "id": "c%d", ' ..
        '"metadata": {"tags": ["t%d"]}, "outputs": [], "source": %s}', i, i, src)
    end
  end
  return '{"cells": [' .. table.concat(parts, ",\n") .. '], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
end

local function py(code, file)
  return sh(PY .. " -c " .. q(code) .. " " .. file)
end

local CHECK = [[
import json, sys, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
raw = open(sys.argv[1]).read()
assert raw.startswith('{\n "cells": [\n  {\n'), raw[:40]
ks = nb.metadata.kernelspec
assert (ks.name, ks.language, ks.display_name) == ("retort", "lua", "retort (Lua)"), ks
assert nb.metadata.language_info.name == "lua"
for c in nb.cells:
    kinds = [o.output_type for o in c.get("outputs", [])]
    print(c.id, c.get("execution_count"), ",".join(kinds))
]]

T.test("notebook runner: outputs, counts, ids, errors stop the run", function()
  local cells = {
    { "markdown", "# Title" },
    { "code", "x = 40\nprint('hello')\nio.write('w\\n')\nx + 2" },
    { "code", "rt.display_png(PNGPATH)\n{a = 1}" },
    { "code", "7;" },
    { "code", "" },
    { "code", "error('nb' .. 'fail')" },
    { "code", "print('after', _)" },
  }
  write("one.png", PNG)
  cells[2][2] = "PNGPATH = '" .. tmp .. "/one.png'\n" .. cells[2][2]
  local nb = write("t.ipynb", nb_json(cells))
  local out, rc = sh(BIN .. " --notebook run " .. nb)
  T.eq(rc, 1); has(out, "nbfail")
  out, rc = py(CHECK, nb)
  T.eq(rc, 0, out)
  T.eq(out, table.concat({
    "md1 None ",
    "c2 1 stream,execute_result",
    "c3 2 display_data,execute_result",
    "c4 3 ",
    "c5 None ",
    "c6 4 error",
    "c7 None ",                                        -- not run: stopped at the error
  }, "\n") .. "\n")
  out = py([[
import json, sys
nb = json.load(open(sys.argv[1]))
c = nb["cells"]
assert c[1]["outputs"][0] == {"name": "stdout", "output_type": "stream", "text": ["hello\n", "w\n"]}, c[1]
assert c[1]["outputs"][1]["data"]["text/plain"] == ["42"]
assert c[1]["outputs"][1]["execution_count"] == 1
assert c[1]["metadata"] == {"tags": ["t2"]}
assert c[2]["outputs"][0]["data"]["image/png"].startswith("iVBORw0KGgo")
assert c[2]["outputs"][1]["data"]["text/plain"] == ["{a = 1}"]
e = c[5]["outputs"][0]
assert e["ename"] == "LuaError" and "nbfail" in e["evalue"], e
assert any("stack traceback" in l for l in e["traceback"])
print("ok")
]], nb)
  T.eq(out, "ok\n")
end)

T.test("notebook runner: --allow-errors continues; --timeout stops a cell", function()
  local nb = write("e.ipynb", nb_json({
    { "code", "error('first')" },
    { "code", "1 + 1" },
    { "code", "while true do end" },
    { "code", "print('still here')" },
  }))
  local out, rc = sh(BIN .. " --notebook run " .. nb .. " --allow-errors --timeout 0.3")
  T.eq(rc, 0, out)
  out, rc = py(CHECK, nb)
  T.eq(rc, 0, out)
  T.eq(out, "c1 1 error\nc2 2 execute_result\nc3 3 error\nc4 4 stream\n")
  out = py([[
import json, sys
c = json.load(open(sys.argv[1]))["cells"]
assert c[2]["outputs"][0]["ename"] == "Timeout", c[2]
print("ok")
]], nb)
  T.eq(out, "ok\n")
  _, rc = sh(BIN .. " --notebook run " .. tmp .. "/missing.ipynb")
  T.eq(rc, 1)
  _, rc = sh(BIN .. " --notebook frobnicate x")
  T.ok(rc ~= 0)
end)

T.test("rt.display outside a notebook prints a line", function()
  local png = write("two.png", PNG)
  local out, rc = sh(BIN .. " -e 'rt.display_png(\"" .. png .. "\")' -e 'rt.display({1, 2})'")
  T.eq(rc, 0)
  has(out, "[image " .. png); has(out, "{1, 2}")
  out, rc = sh(BIN .. " -e 'rt.display_png(\"/nonexistent.png\")'")
  T.eq(rc, 1); has(out, "cannot open")
end)

os.execute("rm -rf " .. q(tmp))
