"""Bulk sending against the sandbox over loopback with 20 ms added per request.

Every number comes from one run, so machine noise hits the baseline and clicksms alike:

* naive: one zeep call per number in series (zeep's default requests transport), the
  baseline every ratio is taken against;
* the same text to N numbers, and N personalised rows with the rate limit off: throughput
  (end to end, start-up included, and over the sending phase) and client CPU per message;
* ``--rate 100``: the sustained rate and the busiest one-second window, from the times the
  sandbox accepted each message;
* ``--dry-run`` on 100 000 and 1 000 000 generated rows: peak memory of each.

Run: python benchmarks/bulk.py [--rows 10000] [--naive 300] [--rated 2000] [--skip-dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path

LATENCY = 0.02
PASSWORD = "bench-password"


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    return [f"2782{n:07d}" for n in range(start, start + count)]


class SandboxProcess:
    """`clicksms sandbox` in its own process, so its CPU is not counted as ours."""

    def __init__(self, ledger: Path) -> None:
        env = dict(os.environ, CLICKSMS_SANDBOX_PASSWORD=PASSWORD)
        self.ledger = ledger
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clicksms", "sandbox", "--port", "0", "--latency",
             str(LATENCY), "--credits", "100000000", "--ledger", str(ledger)],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            found = re.search(r"CLICKSMS_ENDPOINT=(\S+)", line)
            if found:
                self.endpoint = found[1]
                break
        else:
            raise SystemExit("the sandbox did not start")

    def env(self, config_dir: Path) -> dict[str, str]:
        # An installed clicksms has .pyc files (pip compiles them): measure it that way even
        # where the environment turns bytecode caching off.
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return dict(
            base,
            PYTHONPYCACHEPREFIX=str(config_dir.parent / "pycache"),
            CLICKSMS_ENDPOINT=self.endpoint,
            CLICKSMS_API_ID="3512345",
            CLICKSMS_USER="sandbox",
            CLICKSMS_PASSWORD=PASSWORD,
            CLICKSMS_CONFIG_DIR=str(config_dir),
        )

    def accepted_times(self, since: int) -> list[float]:
        lines = self.ledger.read_text().splitlines()[since:]
        return sorted(json.loads(line)["time"] for line in lines)

    def ledger_size(self) -> int:
        return len(self.ledger.read_text().splitlines()) if self.ledger.exists() else 0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def naive_rate(sandbox: SandboxProcess, count: int) -> tuple[float, float]:
    """Messages per second and CPU ms per message of one zeep call per number, in series."""
    from importlib import resources

    import zeep

    wsdl = str(resources.files("clicksms").joinpath("data/document_literal.wsdl"))
    client = zeep.Client(wsdl)
    service = client.create_service(
        "{http://api.clickatell.com/soap/document_literal/webservice}Sms", sandbox.endpoint
    )
    session = service.auth(api_id=3512345, user="sandbox", password=PASSWORD)[4:]
    cpu0, wall0 = _cpu_self(), time.perf_counter()
    for number in numbers(count, start=5_000_000):
        service.sendmsg(session_id=session, to=[number], text="hello")
    wall, cpu = time.perf_counter() - wall0, _cpu_self() - cpu0
    return count / wall, cpu / count * 1000


def run_bulk(sandbox: SandboxProcess, workdir: Path, csv: Path, *args: str) -> dict[str, float]:
    """One `clicksms bulk` run: wall time, child CPU, and the sandbox's acceptance times."""
    before = sandbox.ledger_size()
    config = workdir / f"config-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "clicksms", "bulk", str(csv), *args]
    cpu0, wall0 = _cpu_children(), time.perf_counter()
    done = subprocess.run(cmd, env=sandbox.env(config), capture_output=True, text=True)
    wall, cpu = time.perf_counter() - wall0, _cpu_children() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"bulk failed ({done.returncode}): {done.stderr[-2000:]}")
    times = sandbox.accepted_times(before)
    return {"wall": wall, "cpu": cpu, "count": len(times), "first": times[0], "last": times[-1]}


def write_csv(path: Path, rows: int, personalised: bool) -> Path:
    with path.open("w") as out:
        out.write("phone,name\n")
        for i, number in enumerate(numbers(rows)):
            out.write(f"{number},{'person' + str(i) if personalised else 'x'}\n")
    return path


def busiest_window(times: list[float]) -> int:
    """Most acceptances within any one-second window (window starting at each acceptance)."""
    return max(bisect_right(times, t + 1.0 - 1e-9) - i for i, t in enumerate(times))


def peak_memory_mb(cmd: list[str], env: dict[str, str]) -> float:
    """Peak RSS of ``cmd`` alone, measured by a fresh wrapper process."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *cmd], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=300, help="numbers for the naive loop")
    parser.add_argument("--rated", type=int, default=2_000, help="messages for --rate 100")
    parser.add_argument("--skip-dry-run", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sandbox = SandboxProcess(work / "ledger.jsonl")
        try:
            # Warm-up: one small run writes the .pyc files every later run reads.
            run_bulk(sandbox, work, write_csv(work / "warm.csv", 10, True), "-t", "{name}")
            naive, naive_cpu = naive_rate(sandbox, args.naive)
            print(f"naive zeep loop: {naive:8.1f} msg/s, {naive_cpu:.2f} ms CPU/msg")

            same = run_bulk(
                sandbox, work, write_csv(work / "same.csv", args.rows, False), "-t", "Same",
                "--rate", "0",
            )  # fmt: skip
            report("same text", same, args.rows, naive, goal=300)

            personal = run_bulk(
                sandbox, work, write_csv(work / "personal.csv", args.rows, True),
                "-t", "Hi {name}", "--rate", "0", "--concurrency", "16",
            )  # fmt: skip
            report("personalised", personal, args.rows, naive, goal=10)
            small_rows = max(1, args.rows // 10)
            small = run_bulk(
                sandbox, work, write_csv(work / "small.csv", small_rows, True),
                "-t", "Hi {name}", "--rate", "0", "--concurrency", "16",
            )  # fmt: skip
            marginal = (personal["cpu"] - small["cpu"]) / (args.rows - small_rows) * 1000
            print(
                f"  client CPU {personal['cpu'] / args.rows * 1000:.3f} ms/msg for the whole "
                f"process (start-up included); {marginal:.3f} ms for each further message "
                f"(from {small_rows} vs {args.rows} rows); goal <= 0.5; naive {naive_cpu:.2f}"
            )

            rated_csv = write_csv(work / "rated.csv", args.rated, True)
            before = sandbox.ledger_size()
            run_bulk(sandbox, work, rated_csv, "-t", "Hi {name}", "--rate", "100")
            times = sandbox.accepted_times(before)
            sustained = (len(times) - 1) / (times[-1] - times[0])
            busiest = busiest_window(times)
            print(
                f"--rate 100: sustained {sustained:.1f} msg/s ({sustained:.0f}% of cap; "
                f"goal >= 95%), busiest 1 s window {busiest} (goal <= 105)"
            )
        finally:
            sandbox.stop()

        if not args.skip_dry_run:
            env = dict(os.environ, CLICKSMS_CONFIG_DIR=str(work / "dry-config"))
            sizes = {}
            for rows in (100_000, 1_000_000):
                csv = write_csv(work / f"dry-{rows}.csv", rows, True)
                cmd = [sys.executable, "-m", "clicksms", "bulk", str(csv), "-t", "Hi {name}",
                       "--dry-run", "-o", "json"]  # fmt: skip
                started = time.perf_counter()
                sizes[rows] = peak_memory_mb(cmd, env)
                print(
                    f"dry run {rows:>9} rows: peak {sizes[rows]:6.1f} MB "
                    f"in {time.perf_counter() - started:.1f} s"
                )
            print(
                f"  1M / 100k peak memory: {sizes[1_000_000] / sizes[100_000]:.2f}x (goal <= 1.2)"
            )


def report(name: str, run: dict[str, float], rows: int, naive: float, goal: float) -> None:
    end_to_end = rows / run["wall"]
    sending = rows / max(run["last"] - run["first"] + LATENCY, 1e-3)
    print(
        f"{name}: {rows} rows in {run['wall']:.2f} s: {end_to_end:8.0f} msg/s end to end "
        f"({end_to_end / naive:.0f}x naive), {sending:8.0f} msg/s while sending "
        f"({sending / naive:.0f}x naive; goal >= {goal:g}x)"
    )


if __name__ == "__main__":
    main()
