"""Helpers shared by the benchmark scripts: building, starting and stopping
servers, and driving them with souk-load."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
CONCURRENCY = [1, 16, 64]


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ok(port, path="/hello", timeout=120.0, proc=None):
    """Waits for a 200 from `path`; with `proc`, fails as soon as it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with status {proc.returncode} before answering {path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.001)
            continue
        if proc is not None:
            time.sleep(0.05)  # up, but not 200 yet (a slow first answer): ask again shortly
    raise RuntimeError(f"no 200 from {path} on port {port} within {timeout}s")


def cpu_seconds(pid):
    """User and system CPU time `pid` has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(proc):
    proc.terminate()
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def souk_cmd(app, port, state, extra=(), copy_config=True):
    """`souk up` for `app` on `state`. runtime-config.toml's paths are relative
    to its folder, so (unless `copy_config` is false, for showing the command)
    a copy of it goes in the state dir and every store lives under it."""
    cmd = [TARGET / "release/souk", "up", "--from", app, "--listen", f"127.0.0.1:{port}",
           "--state-dir", state, "--quiet", *extra]
    app_dir = Path(app) if Path(app).is_dir() else Path(app).parent
    config = app_dir / "runtime-config.toml"
    if config.is_file():
        if copy_config:
            Path(state).mkdir(parents=True, exist_ok=True)
            shutil.copy(config, Path(state) / "runtime-config.toml")
        cmd += ["--runtime-config-file", Path(state) / "runtime-config.toml"]
    return cmd


def load(port, connections, duration, path="/hello", warmup="2s"):
    """Drives `path` with souk-load; returns (requests/s, p50 us, p99 us)."""
    out = subprocess.run(
        [TARGET / "release/souk-load", "--url", f"http://127.0.0.1:{port}", "--scenario", "hello",
         "--path", path, "--connections", str(connections), "--duration", f"{duration}s",
         "--warmup", warmup, "--json", "--quiet", "--expect-status", "200"],
        check=True, capture_output=True, text=True).stdout
    total = json.loads(out)["total"]
    return total["rps"], total["p50_us"], total["p99_us"]
