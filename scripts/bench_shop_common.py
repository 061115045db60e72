"""What the shop benchmarks share: building the shop, the server's
environment (secrets, a rate limit out of the way) and souk-load's command
line per scenario. Used by scripts/bench-shop and scripts/bench-ab."""

import os
import secrets
import subprocess

from bench_common import ROOT, TARGET, run

ADMIN_EMAIL = "admin@souk.local"
# The gateway's token bucket would refuse a load generator's traffic (all
# from one client) at its default 50/s: set far above what the host serves.
RATE_LIMIT = "1000000"
# What scripts/up passes to `souk up`.
DEFAULT_SOUK_ARGS = (f"--max-concurrent-requests users={os.cpu_count()} "
                     "--max-instance-reuse-count 128 --max-instance-concurrent-reuse-count 16")


def build():
    # The command scripts/test builds with (souk, souk-load, shop-floor and
    # shop-keys are default members): any other would compile wasmtime again
    # with other crate features.
    run(["cargo", "test", "--release", "--no-run", "--quiet"], cwd=ROOT)
    # The load generators are not built by tests; they do not use wasmtime.
    run(["cargo", "build", "--release", "-p", "souk-load", "-p", "shop-floor"], cwd=ROOT)
    run(["bash", "scripts/build-components"], cwd=ROOT)


def generated_keys():
    """A fresh signing key, its public key set and a rate-limit key, from
    `shop-keys generate` (its `export NAME='value'` lines)."""
    out = subprocess.run([TARGET / "release/shop-keys", "generate", "--kid", "bench"], check=True, capture_output=True, text=True)
    keys = {}
    for line in out.stdout.splitlines():
        name, value = line.removeprefix("export ").split("=", 1)
        keys[name] = value.strip("'")
    return keys


def server_env(admin_password):
    env = dict(os.environ)
    env.update(generated_keys())
    env.update({
        # What builds from before the Ed25519 keys sign tokens with, so
        # bench-ab can run them (--a-app) beside this one.
        "SPIN_VARIABLE_SECRET": secrets.token_hex(32),
        "SPIN_VARIABLE_ADMIN_PASSWORD": admin_password,
        "SPIN_VARIABLE_ADMIN_EMAIL": ADMIN_EMAIL,
        "SPIN_VARIABLE_RATE_LIMIT_RPS": RATE_LIMIT,
        "SPIN_VARIABLE_RATE_LIMIT_BURST": RATE_LIMIT,
    })
    return env


def load_cmd(port, scenario, connections, duration, warmup):
    cmd = [TARGET / "release/souk-load", "--url", f"http://127.0.0.1:{port}", "--scenario", scenario,
           "-c", str(connections), "--duration", f"{duration}s", "--warmup", f"{warmup}s", "--json", "--quiet"]
    if scenario == "hello":
        cmd += ["--path", "/hello", "--expect-status", "200"]
    else:
        # The password goes in SOUK_ADMIN_PASSWORD (souk-load reads it), not on the command line.
        cmd += ["--admin-email", ADMIN_EMAIL]
    return cmd
