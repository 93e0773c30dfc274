#!/usr/bin/env python3
"""The retort Jupyter kernel, driven by Debian's jupyter_client and nbclient as
JupyterLab would: start it from its installed kernel spec, execute cells (streams,
results, errors, display_data), complete, inspect, is_complete, interrupt a long loop
(by signal and over the control channel), restart, run every notebook, shut down.
Prints one "ok <name>" line per check and "N passed, N failed"; exit status 1 on a
failure. Usage: test_kernel.py RETORT_BINARY"""
import glob, os, subprocess, sys, tempfile, traceback

import jupyter_client
import nbformat
from nbclient import NotebookClient

RETORT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/retort")
TMP = tempfile.mkdtemp(prefix="retort-kernel-")
subprocess.run([RETORT, "--install-kernel", "--prefix", TMP], check=True, stdout=subprocess.DEVNULL)
os.environ["JUPYTER_PATH"] = os.path.join(TMP, "share", "jupyter")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(TMP, "data")
os.environ.setdefault("NO_COLOR", "1")
TIMEOUT = 60
passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        print("ok", name)
        passed += 1
    except Exception:
        print("FAIL", name)
        traceback.print_exc()
        failed += 1


km = jupyter_client.KernelManager(kernel_name="retort")
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=TIMEOUT)


def run(code):
    """Execute code; return (reply content, list of iopub messages for it)."""
    outs = []
    reply = kc.execute_interactive(code, output_hook=outs.append, timeout=TIMEOUT)
    return reply["content"], outs


def kinds(outs, t):
    return [m["content"] for m in outs if m["msg_type"] == t]


def t_spec():
    spec = jupyter_client.kernelspec.KernelSpecManager().get_kernel_spec("retort")
    assert spec.language == "lua" and spec.argv[1:] == ["--kernel", "{connection_file}"], spec.argv
    assert spec.interrupt_mode == "signal"


def t_info():
    kc.kernel_info()
    msg = kc.get_shell_msg(timeout=TIMEOUT)
    c = msg["content"]
    assert msg["msg_type"] == "kernel_info_reply" and c["protocol_version"] == "5.3", c
    assert c["language_info"]["name"] == "lua" and c["implementation"] == "retort"


def t_execute():
    r, outs = run("x = 1 + 2\nprint('hello')")
    assert r["status"] == "ok", r
    assert any(s["name"] == "stdout" and "hello" in s["text"] for s in kinds(outs, "stream")), outs
    assert [m["content"]["execution_state"] for m in outs if m["msg_type"] == "status"][-1] == "idle"
    r, outs = run("x * 2")
    res = kinds(outs, "execute_result")
    assert res and res[0]["data"]["text/plain"] == "6" and res[0]["execution_count"] == r["execution_count"], outs
    r, outs = run("rt.tensor{{1, 2}, {3, 4}}:sum():item();")
    assert r["status"] == "ok" and not kinds(outs, "execute_result"), "a trailing ; hides the value"
    r, outs = run("io.stderr:write('warn\\n')")
    assert any(s["name"] == "stderr" and "warn" in s["text"] for s in kinds(outs, "stream")), outs


def t_error():
    r, outs = run("error('boom')")
    assert r["status"] == "error" and "boom" in r["evalue"], r
    e = kinds(outs, "error")
    assert e and e[0]["ename"] == "LuaError" and e[0]["traceback"], outs
    r, _ = run("x = = 1")
    assert r["status"] == "error" and r["ename"] == "SyntaxError", r
    r, outs = run("x")
    assert kinds(outs, "execute_result")[0]["data"]["text/plain"] == "3", "state survives errors"


def t_display():
    png = os.path.join(TMP, "t.png")
    r, outs = run(f"rt.viz.temperature{{logits = {{2, 1, 0.1}}, out = '{png}'}}; rt.display_png('{png}')")
    assert r["status"] == "ok", r
    d = kinds(outs, "display_data")
    assert d and d[0]["data"]["image/png"].startswith("iVBORw0KGgo"), outs


def t_complete():
    kc.complete("y = rt.tens", 11)
    c = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    assert "rt.tensor" in c["matches"] and c["cursor_start"] == 4 and c["cursor_end"] == 11, c
    kc.complete("wh", 2)
    assert "while" in kc.get_shell_msg(timeout=TIMEOUT)["content"]["matches"]


def t_inspect():
    kc.inspect("rt.tensor{1}", 5)
    c = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    assert c["status"] == "ok" and c["found"] and "rt.tensor" in c["data"]["text/plain"], c


def t_is_complete():
    for code, want in [("function f(x)", "incomplete"), ("x = 1", "complete"), ("x = = 1", "invalid"),
                       ("?rt.tensor", "complete")]:
        kc.is_complete(code)
        c = kc.get_shell_msg(timeout=TIMEOUT)["content"]
        assert c["status"] == want, (code, c)


def t_signature():
    # a message with a wrong HMAC is dropped: send one that would set a global, then
    # a signed one (processed after it, same socket) that checks the global is unset
    content = {"code": "bad_sig_ran = true", "silent": False, "store_history": True,
               "user_expressions": {}, "allow_stdin": False}
    frames = kc.session.serialize(kc.session.msg("execute_request", content))
    i = frames.index(b"<IDS|MSG>")
    frames[i + 1] = b"0" * len(frames[i + 1])
    kc.shell_channel.socket.send_multipart(frames)
    r, outs = run("bad_sig_ran == nil")
    assert kinds(outs, "execute_result")[0]["data"]["text/plain"] == "true", "bad signature was executed"


def interrupt_with(how):
    msg_id = kc.execute("local n = 0 while true do n = n + 1 end")
    while True:                      # wait (event-driven) until the loop has started
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
            break
    if how == "signal":
        km.interrupt_kernel()
    else:
        kc.control_channel.send(kc.session.msg("interrupt_request", {}))
    while True:
        m = kc.get_shell_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") == msg_id:
            break
    c = m["content"]
    assert c["status"] == "error" and c["ename"] == "Interrupted", c
    r, outs = run("x")
    assert kinds(outs, "execute_result")[0]["data"]["text/plain"] == "3", "the kernel lives on"


def t_restart():
    pid = km.provisioner.process.pid if hasattr(km, "provisioner") and km.provisioner else None
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=TIMEOUT)
    r, outs = run("x == nil")
    assert kinds(outs, "execute_result")[0]["data"]["text/plain"] == "true", "a restart starts a fresh state"
    if pid is not None:
        assert km.provisioner.process.pid != pid


def t_notebooks():
    for path in sorted(glob.glob("notebooks/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name="retort", timeout=600, resources={"metadata": {"path": "."}}).execute()
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert all(c.execution_count for c in code), path
        errs = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errs, (path, errs[:1])
        print("   ", os.path.basename(path), "ran", len(code), "cells")


for name, fn in [("kernel spec", t_spec), ("kernel_info", t_info), ("execute", t_execute), ("errors", t_error),
                 ("display_data", t_display), ("complete", t_complete), ("inspect", t_inspect),
                 ("is_complete", t_is_complete), ("bad signature dropped", t_signature),
                 ("interrupt by signal", lambda: interrupt_with("signal")),
                 ("interrupt over control", lambda: interrupt_with("control")), ("restart", t_restart)]:
    check(name, fn)
kc.stop_channels()


def t_shutdown():
    proc = km.provisioner.process if km.provisioner else None
    km.shutdown_kernel(now=False)
    if proc is not None:
        assert proc.wait(timeout=TIMEOUT) == 0, "clean exit after shutdown_request"


check("shutdown", t_shutdown)
check("every notebook through nbclient", t_notebooks)
subprocess.run(["rm", "-rf", TMP])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
