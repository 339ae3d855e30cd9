"""Bulk sending against the sandbox over loopback, with 20 ms added per request by default.

Every number comes from one run, so machine noise hits the baselines and clicksms alike, and
every goal is judged as a ratio to a baseline of the same run (absolute times depend on the
machine; they are printed for reference only):

* naive: one zeep call per number in series (zeep's default requests transport), the
  baseline every throughput ratio and the CPU ratio are taken against;
* raw: one prebuilt sendmsg envelope POSTed over a kept-alive http.client connection, in
  series: the floor for a message's client CPU (no SOAP work at all). Both baselines are
  measured just before and just after the personalised runs, and the CPU ratios use the means,
  so load that drifts during the run weighs on both sides;
* the same text to N numbers, and N personalised rows with the rate limit off: throughput
  (end to end, start-up included, and over the sending phase) and client CPU per message;
  issue 4 puts the CPU goal at 0.5 ms where naive costs 1.2 ms and raw 0.2 ms, so the goals
  are <= 0.42x naive and <= 2.5x raw;
* ``--rate 100``: the sustained rate and the busiest one-second window, from the times the
  sandbox accepted each message;
* ``--dry-run`` on 100 000 and 1 000 000 generated rows: peak memory of each;
* the personalised runs again over RPC/Encoded (``webservice_vs.php``), when the sandbox
  serves it: client CPU per message for both SOAP styles, side by side.

Run: python benchmarks/bulk.py [--rows 10000] [--naive 300] [--rated 2000] [--latency 0.02]
     [--skip-dry-run]
"""

from __future__ import annotations

import argparse
import http.client
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
from typing import Any
from urllib.parse import urlsplit

LATENCY = 0.02
PASSWORD = "bench-password"
# Issue 4's CPU goal next to its two reference costs: 0.5 ms, naive 1.2 ms, raw POST 0.2 ms.
CPU_GOAL_VS_NAIVE = 0.5 / 1.2
CPU_GOAL_VS_RAW = 0.5 / 0.2
WARM_UP = 10  # baseline calls made before measuring, as clicksms's runs are warmed up too


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    return [f"2782{n:07d}" for n in range(start, start + count)]


class SandboxProcess:
    """`clicksms sandbox` in its own process, so its CPU is not counted as ours."""

    def __init__(self, ledger: Path, latency: float = LATENCY) -> None:
        env = dict(os.environ, CLICKSMS_SANDBOX_PASSWORD=PASSWORD)
        self.ledger = ledger
        self.latency = latency
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clicksms", "sandbox", "--port", "0", "--latency",
             str(latency), "--credits", "100000000", "--ledger", str(ledger)],
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


def naive_client(sandbox: SandboxProcess) -> tuple[Any, str]:
    """zeep's Client with its default requests transport, logged in: (service, session ID)."""
    from importlib import resources

    import zeep

    wsdl = str(resources.files("clicksms").joinpath("data/document_literal.wsdl"))
    client = zeep.Client(wsdl)
    service = client.create_service(
        "{http://api.clickatell.com/soap/document_literal/webservice}Sms", sandbox.endpoint
    )
    return service, service.auth(api_id=3512345, user="sandbox", password=PASSWORD)[4:]


def naive_rate(sandbox: SandboxProcess, count: int) -> tuple[float, float]:
    """Messages per second and CPU ms per message of one zeep call per number, in series."""
    service, session = naive_client(sandbox)
    for number in numbers(WARM_UP, start=4_000_000):  # zeep's first calls do one-off work
        service.sendmsg(session_id=session, to=[number], text="hello")
    cpu0, wall0 = _cpu_self(), time.perf_counter()
    for number in numbers(count, start=5_000_000):
        service.sendmsg(session_id=session, to=[number], text="hello")
    wall, cpu = time.perf_counter() - wall0, _cpu_self() - cpu0
    return count / wall, cpu / count * 1000


def raw_post_cpu(sandbox: SandboxProcess, session: str, count: int) -> float:
    """CPU ms per message of POSTing one prebuilt envelope on a kept-alive connection.

    No SOAP work at all, only HTTP: the floor any SOAP client's per-message CPU sits on.
    """
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap-env:Body><ns0:sendmsg xmlns:ns0="http://api.clickatell.com/soap/document_literal/'
        f'webservice"><session_id>{session}</session_id><text>hello</text>'
        "<to>27821234567</to></ns0:sendmsg></soap-env:Body></soap-env:Envelope>"
    ).encode()
    url = urlsplit(sandbox.endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=30)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendmsg"'}

    def post() -> None:
        conn.request("POST", url.path, body, headers)
        answer = conn.getresponse()
        if b"ID:" not in answer.read():
            raise SystemExit(f"raw POST: unexpected answer (HTTP {answer.status})")

    for _ in range(WARM_UP):
        post()
    cpu0 = _cpu_self()
    for _ in range(count):
        post()
    cpu = _cpu_self() - cpu0
    conn.close()
    return cpu / count * 1000


def baselines(sandbox: SandboxProcess, count: int, when: str) -> tuple[float, float, float]:
    """(naive msg/s, naive CPU ms/msg, raw POST CPU ms/msg), measured back to back."""
    naive, naive_cpu = naive_rate(sandbox, count)
    raw_cpu = raw_post_cpu(sandbox, naive_client(sandbox)[1], count)
    print(
        f"baselines ({when}): naive zeep loop {naive:8.1f} msg/s, {naive_cpu:.2f} ms CPU/msg; "
        f"raw http.client POST of a prebuilt envelope {raw_cpu:.2f} ms CPU/msg"
    )
    return naive, naive_cpu, raw_cpu


def run_bulk(
    sandbox: SandboxProcess, workdir: Path, csv: Path, *args: str, endpoint: str | None = None
) -> dict[str, float]:
    """One `clicksms bulk` run: wall time, child CPU, and the sandbox's acceptance times."""
    before = sandbox.ledger_size()
    config = workdir / f"config-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "clicksms", "bulk", str(csv), *args]
    env = sandbox.env(config)
    if endpoint is not None:
        env["CLICKSMS_ENDPOINT"] = endpoint
    cpu0, wall0 = _cpu_children(), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
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
    parser.add_argument(
        "--latency", type=float, default=LATENCY, help="seconds the sandbox adds per request"
    )
    parser.add_argument("--skip-dry-run", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sandbox = SandboxProcess(work / "ledger.jsonl", args.latency)
        print(f"sandbox latency {args.latency * 1000:g} ms per request")
        try:
            # Warm-up: one small run writes the .pyc files every later run reads.
            run_bulk(sandbox, work, write_csv(work / "warm.csv", 10, True), "-t", "{name}")
            naive, naive_cpu, raw_cpu = baselines(sandbox, args.naive, "before")

            same = run_bulk(
                sandbox, work, write_csv(work / "same.csv", args.rows, False), "-t", "Same",
                "--rate", "0",
            )  # fmt: skip
            report("same text", same, args.rows, naive, goal=300, latency=args.latency)

            personal = run_bulk(
                sandbox, work, write_csv(work / "personal.csv", args.rows, True),
                "-t", "Hi {name}", "--rate", "0", "--concurrency", "16",
            )  # fmt: skip
            report("personalised", personal, args.rows, naive, goal=10, latency=args.latency)
            small_rows = max(1, args.rows // 10)
            small = run_bulk(
                sandbox, work, write_csv(work / "small.csv", small_rows, True),
                "-t", "Hi {name}", "--rate", "0", "--concurrency", "16",
            )  # fmt: skip
            marginal = (personal["cpu"] - small["cpu"]) / (args.rows - small_rows) * 1000
            rpc = personalised_rpc(sandbox, work, args.rows, small_rows)
            # Other load on the machine drifts: the CPU baselines are the mean of a measurement
            # just before and one just after the personalised runs.
            _, naive_after, raw_after = baselines(sandbox, args.naive, "after")
            naive_cpu, raw_cpu = (naive_cpu + naive_after) / 2, (raw_cpu + raw_after) / 2
            report_cpu(personal["cpu"] / args.rows * 1000, marginal, naive_cpu, raw_cpu)
            print(f"  (marginal from {small_rows} vs {args.rows} rows)")
            report_styles(personal["cpu"] / args.rows * 1000, marginal, rpc)

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


def report(
    name: str, run: dict[str, float], rows: int, naive: float, goal: float, latency: float
) -> None:
    end_to_end = rows / run["wall"]
    sending = rows / max(run["last"] - run["first"] + latency, 1e-3)
    print(
        f"{name}: {rows} rows in {run['wall']:.2f} s: {end_to_end:8.0f} msg/s end to end "
        f"({end_to_end / naive:.0f}x naive), {sending:8.0f} msg/s while sending "
        f"({sending / naive:.0f}x naive; goal >= {goal:g}x)"
    )


def report_cpu(whole: float, marginal: float, naive: float, raw: float) -> None:
    """Personalised client CPU per message as ratios to this run's baselines, with verdicts.

    The whole-process figure (start-up, planning and journal included) is the one judged;
    the marginal one (a further message's cost) is shown next to it. The baselines are the
    means of the measurements before and after the personalised runs.
    """
    print(
        f"  client CPU per personalised message: {whole:.3f} ms for the whole process, "
        f"{marginal:.3f} ms for each further message"
    )
    print(f"    absolute (depends on the machine): goal <= 0.5 ms: {_verdict(whole <= 0.5)}")
    print(
        f"    vs naive zeep+requests ({naive:.2f} ms, this run): {whole / naive:.2f}x "
        f"(marginal {marginal / naive:.2f}x); goal <= {CPU_GOAL_VS_NAIVE:.2f}x "
        f"(0.5/1.2): {_verdict(whole / naive <= CPU_GOAL_VS_NAIVE)}"
    )
    print(
        f"    vs raw POST of a prebuilt envelope ({raw:.2f} ms, this run): {whole / raw:.2f}x "
        f"(marginal {marginal / raw:.2f}x); goal <= {CPU_GOAL_VS_RAW:.1f}x (0.5/0.2): "
        f"{_verdict(whole / raw <= CPU_GOAL_VS_RAW)}"
    )


def personalised_rpc(
    sandbox: SandboxProcess, work: Path, rows: int, small_rows: int
) -> tuple[float, float] | None:
    """The personalised runs again over RPC/Encoded: (whole, marginal) CPU ms per message.

    None when the sandbox serves no RPC/Encoded server (its WSDL is not found).
    """
    url = urlsplit(sandbox.endpoint)
    endpoint = f"{url.scheme}://{url.netloc}/soap/webservice_vs.php"
    conn = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=30)
    conn.request("GET", "/soap/webservice_vs.php?wsdl")
    served = conn.getresponse()
    served.read()
    conn.close()
    if served.status != 200:
        return None
    args = ("-t", "Hi {name}", "--rate", "0", "--concurrency", "16")
    csv = write_csv(work / "personal-rpc.csv", rows, True)
    whole = run_bulk(sandbox, work, csv, *args, endpoint=endpoint)
    csv = write_csv(work / "small-rpc.csv", small_rows, True)
    small = run_bulk(sandbox, work, csv, *args, endpoint=endpoint)
    marginal = (whole["cpu"] - small["cpu"]) / (rows - small_rows) * 1000
    return whole["cpu"] / rows * 1000, marginal


def report_styles(whole: float, marginal: float, rpc: tuple[float, float] | None) -> None:
    """Client CPU per personalised message over each SOAP style, measured in this run."""
    if rpc is None:
        print("  RPC/Encoded: the sandbox serves no RPC server here; not measured")
        return
    print(
        f"  client CPU per personalised message by SOAP style: document {whole:.3f} ms "
        f"(marginal {marginal:.3f}), rpc {rpc[0]:.3f} ms (marginal {rpc[1]:.3f}); "
        f"rpc / document = {rpc[0] / whole:.2f}x"
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    main()
