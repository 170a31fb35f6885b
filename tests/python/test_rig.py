"""examples/rig.py, the Python twin of rig.c, on the echo stub: the stub
echoes the command the rig types ("RIG-OK 42" is the marker) and "x" V
ends it with test-exit V, so a verdict of each kind is reached."""
import re
import subprocess
import sys


def rig(request, stubs, command, *args):
    return subprocess.run(
        [sys.executable, request.config.getoption("--rig"), "--prompt", "ready> ",
         "--command", command, "--timeout", "30", *args, stubs.echo],
        capture_output=True, text=True, timeout=120,
    )


def test_rig_passes_on_marker_and_exit_value(request, stubs):
    r = rig(request, stubs, "RIG-OK 42 x\x07")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert re.match(r"RIG: kvmlite \d+\.\d+\.\d+ \(Python\)\n", out), out
    # The console is copied to stdout (by the library's thread, so the
    # rig's own lines, each printed as "\nRIG: ...\n", may land inside it:
    # "r\nRIG: got the prompt...\neady> " was seen): the prompt, and the
    # echo, which lacks the "x" V that ends the stub.
    console = re.sub(r"\nRIG: [^\n]*\n", "", out)
    assert "ready> " in console and re.search(r"RIG-OK 42 (?!x)", console), out
    assert "RIG: saw the marker 'RIG-OK 42'\n" in out
    assert re.findall(r"RIG-VERDICT: .*", out) == ["RIG-VERDICT: PASS: marker seen, test-exit 7"], out


def test_rig_fails_on_a_wrong_exit_value(request, stubs):
    r = rig(request, stubs, "RIG-OK 1 x\x08", "--quiet")
    assert r.returncode == 1
    assert "ready> " not in r.stdout  # --quiet: no console copy
    assert r.stdout.splitlines()[-1].startswith(
        "RIG-VERDICT: FAIL: exit test-exit value 8 (status 8), wanted test-exit 7")


def test_rig_fails_when_the_marker_never_comes(request, stubs):
    r = rig(request, stubs, "nothing", "--quiet", "--timeout", "1")
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1].startswith("RIG-VERDICT: FAIL: no re.compile('RIG-OK (\\\\d+)\\\\s')")


def test_rig_reports_a_creation_error(request):
    r = subprocess.run([sys.executable, request.config.getoption("--rig"), "/nonexistent/bzImage"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == (
        "RIG-VERDICT: FAIL: create: kernel /nonexistent/bzImage: No such file or directory")
