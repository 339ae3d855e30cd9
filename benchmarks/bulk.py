"""Bulk sending against the sandbox over loopback, at 20, 100 and 250 ms per request.

Every number comes from one run, so machine noise hits the baselines and clicksms alike, and
every goal is judged as a ratio to a baseline of the same run, or against the rate asked for
(absolute times depend on the machine; they are printed for reference only):

* naive: one zeep call per number in series (zeep's default requests transport), at each
  latency: the baseline every throughput ratio and the CPU ratio are taken against;
* raw: one prebuilt sendmsg envelope POSTed over a kept-alive http.client connection, in
  series: the floor for a message's client CPU (no SOAP work at all); and, for reference,
  the same through a urllib3 pool, the floor under a transport built on urllib3 as clicksms's
  is. The baselines are measured just before and just after the 20 ms runs, and the CPU
  ratios use the means, so load that drifts during the run weighs on both sides;
* the table: at each latency, personalised rows (one message a request) with ``--rate 100``
  and ``--rate 0``, and one text to every number with ``--rate 0``, all with default settings
  (the concurrency finds itself) and a stored session, as a user's second run would be:
  throughput end to end (process start to exit) and while sending (first to last message the
  sandbox accepted), the busiest sliding one-second window, the most requests in flight (the
  summary line's figure), client CPU per message, and the ratio to the naive loop; each goal
  with PASS/FAIL (the ``--rate 0`` rows at 20 ms are run three times and the run of median
  wall time is judged for throughput; all three are printed). Issue 12's goals:
  ``--rate 100`` sustains >= 95 msg/s with no second above the rate + 1, personalised
  ``--rate 0`` at 20 ms >= 10x naive and one text >= 300x, end to end. Issue 10's budget:
  client CPU per personalised message at 20 ms (of the three runs, the one of median CPU)
  <= 0.5x naive. Issue 4 put it at 0.5 ms where naive cost 1.2 ms and raw 0.2 ms; its two
  ratios, <= 0.42x naive and <= 2.5x raw, are judged next to it;
* the personalised runs at 20 ms again over RPC/Encoded (``webservice_vs.php``), when the
  sandbox serves it: client CPU per message for both SOAP styles, side by side;
* the fixed cost of a run: the import floor (``python -c "import typer, rich, zeep, lxml,
  phonenumbers"``), and a one-row job end to end with and without a stored session, split into
  the time to its request and the time from its answer to the process's exit;
* ``--dry-run`` on 100 000 and 1 000 000 generated rows: peak memory of each.

The sandbox runs in its own process (its CPU is not counted as ours) and sleeps its latency
without holding anything: it serves 100+ slow requests at once.

Run: python benchmarks/bulk.py [--latencies 0.02,0.1,0.25] [--rows 10000] [--rated 2500]
     [--skip-dry-run]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LATENCIES = (0.02, 0.1, 0.25)
PASSWORD = "bench-password"
RATE = 100
# Issue 12's goals.
SUSTAINED_GOAL = 95.0  # msg/s at --rate 100
BUSIEST_GOAL = RATE + 1  # README: no window over the rate, ±1 request of jitter
PERSONAL_GOAL = 10.0  # x naive, end to end, --rate 0 at 20 ms
SAME_TEXT_GOAL = 300.0  # x naive, end to end, --rate 0 at 20 ms
GOAL_LATENCY = 0.02  # where the two ratio goals apply
# Runs of each --rate 0 row at GOAL_LATENCY, the median judged: this 2-core VM has slow spells
# of a minute or so that hit a run using both cores (client and sandbox) more than the
# single-threaded baselines measured before and after it.
GOAL_REPEATS = 3
# Issue 10's budget: client CPU per personalised message, as a ratio to naive zeep+requests.
CPU_BUDGET_VS_NAIVE = 0.5
# Issue 4's CPU goal next to its two reference costs: 0.5 ms, naive 1.2 ms, raw POST 0.2 ms.
CPU_GOAL_VS_NAIVE = 0.5 / 1.2
CPU_GOAL_VS_RAW = 0.5 / 0.2
WARM_UP = 10  # baseline calls made before measuring, as clicksms's runs are warmed up too
NAIVE_SECONDS = 6.0  # how long each naive loop runs, about (fewer calls at high latency)
IN_FLIGHT = re.compile(r"with up to (\d+) request\(s\) in flight at once")
IMPORT_FLOOR = "import typer, rich, zeep, lxml.etree, phonenumbers"


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    return [f"2782{n:07d}" for n in range(start, start + count)]


class SandboxProcess:
    """`clicksms sandbox` in its own process, so its CPU is not counted as ours."""

    def __init__(
        self, ledger: Path | None = None, latency: float = 0.0, env: dict[str, str] | None = None
    ) -> None:
        """``ledger``: where accepted messages are recorded (read by accepted_times);
        ``env``: the process's environment (default: this one's)."""
        env = dict(os.environ if env is None else env, CLICKSMS_SANDBOX_PASSWORD=PASSWORD)
        self.ledger = ledger
        self.latency = latency
        kept = ["--ledger", str(ledger)] if ledger is not None else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clicksms", "sandbox", "--port", "0", "--latency",
             str(latency), "--credits", "100000000", *kept],
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

    def log_in(self, config_dir: Path) -> None:
        """`clicksms auth`: a stored session, as every run after a user's first has."""
        env = self.env(config_dir)
        del env["CLICKSMS_PASSWORD"]
        subprocess.run(
            [sys.executable, "-m", "clicksms", "auth", "--password-stdin"],
            input=PASSWORD + "\n", env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip

    def accepted_times(self, since: int) -> list[float]:
        assert self.ledger is not None
        lines = self.ledger.read_text().splitlines()[since:]
        return sorted(json.loads(line)["time"] for line in lines)

    def ledger_size(self) -> int:
        if self.ledger is None or not self.ledger.exists():
            return 0
        return len(self.ledger.read_text().splitlines())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------- baselines
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


def raw_post_cpu(
    sandbox: SandboxProcess, session: str, count: int, via: str = "http.client"
) -> float:
    """CPU ms per message of POSTing one prebuilt envelope on a kept-alive connection.

    No SOAP work at all, only HTTP: the floor any SOAP client's per-message CPU sits on,
    through ``via``: ``http.client`` (the standard library alone) or ``urllib3`` (a pool, as
    clicksms's transport posts; the floor under any client built on it).
    """
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap-env:Body><ns0:sendmsg xmlns:ns0="http://api.clickatell.com/soap/document_literal/'
        f'webservice"><session_id>{session}</session_id><text>hello</text>'
        "<to>27821234567</to></ns0:sendmsg></soap-env:Body></soap-env:Envelope>"
    ).encode()
    url = urlsplit(sandbox.endpoint)
    host, port = url.hostname or "", url.port or 80
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendmsg"'}
    if via == "urllib3":
        import urllib3

        pool = urllib3.HTTPConnectionPool(host, port, maxsize=1, retries=False, timeout=30)

        def exchange() -> tuple[int, bytes]:
            answer = pool.urlopen("POST", url.path, body=body, headers=headers, redirect=False)
            return answer.status, answer.data

        close = pool.close
    else:
        conn = http.client.HTTPConnection(host, port, timeout=30)

        def exchange() -> tuple[int, bytes]:
            conn.request("POST", url.path, body, headers)
            answer = conn.getresponse()
            return answer.status, answer.read()

        close = conn.close

    def post() -> None:
        status, data = exchange()
        if b"ID:" not in data:
            raise SystemExit(f"raw POST ({via}): unexpected answer (HTTP {status})")

    for _ in range(WARM_UP):
        post()
    cpu0 = _cpu_self()
    for _ in range(count):
        post()
    cpu = _cpu_self() - cpu0
    close()
    return cpu / count * 1000


@dataclass
class Baseline:
    naive: float  # msg/s
    naive_cpu: float  # ms/msg
    raw_cpu: float  # ms/msg, http.client
    pool_cpu: float  # ms/msg, urllib3

    @classmethod
    def measure(cls, sandbox: SandboxProcess, when: str) -> Baseline:
        count = max(20, min(300, round(NAIVE_SECONDS / sandbox.latency)))
        naive, naive_cpu = naive_rate(sandbox, count)
        session = naive_client(sandbox)[1]
        raw_cpu = raw_post_cpu(sandbox, session, count)
        pool_cpu = raw_post_cpu(sandbox, session, count, via="urllib3")
        print(
            f"  baseline at {sandbox.latency * 1000:g} ms ({when}): naive zeep loop "
            f"{naive:.1f} msg/s, {naive_cpu:.2f} ms CPU/msg; raw POST {raw_cpu:.2f} ms CPU/msg "
            f"(through urllib3 {pool_cpu:.2f})"
        )
        return cls(naive, naive_cpu, raw_cpu, pool_cpu)

    def mean(self, other: Baseline) -> Baseline:
        return Baseline(
            (self.naive + other.naive) / 2,
            (self.naive_cpu + other.naive_cpu) / 2,
            (self.raw_cpu + other.raw_cpu) / 2,
            (self.pool_cpu + other.pool_cpu) / 2,
        )


# --------------------------------------------------------------------------- bulk runs
@dataclass
class BulkRun:
    """One `clicksms bulk` process, as the sandbox and the clock saw it."""

    rows: int
    wall: float  # process start to exit
    cpu: float  # the process's CPU, seconds
    times: list[float]  # when the sandbox accepted each message
    started: float  # epoch seconds, when the process was started
    ended: float
    in_flight: int  # the summary line's "with up to N requests in flight"

    @property
    def end_to_end(self) -> float:
        return self.rows / self.wall

    @property
    def sustained(self) -> float:
        return (len(self.times) - 1) / max(self.times[-1] - self.times[0], 1e-6)

    @property
    def busiest(self) -> int:
        return busiest_window(self.times)

    @property
    def cpu_per_message(self) -> float:
        return self.cpu / self.rows * 1000


def run_bulk(
    sandbox: SandboxProcess,
    config: Path,
    csv: Path,
    rows: int,
    *args: str,
    endpoint: str | None = None,
) -> BulkRun:
    """One `clicksms bulk` run with its own journal (the config dir keeps the session)."""
    before = sandbox.ledger_size()
    journal = config.parent / f"journal-{time.monotonic_ns()}.sqlite3"
    cmd = [sys.executable, "-m", "clicksms", "bulk", str(csv), "--journal", str(journal), *args]
    env = sandbox.env(config)
    if endpoint is not None:
        env["CLICKSMS_ENDPOINT"] = endpoint
    cpu0, started, wall0 = _cpu_children(), time.time(), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall, cpu, ended = time.perf_counter() - wall0, _cpu_children() - cpu0, time.time()
    if done.returncode != 0:
        raise SystemExit(f"bulk failed ({done.returncode}): {done.stderr[-2000:]}")
    times = sandbox.accepted_times(before)
    if len(times) != rows:
        raise SystemExit(f"bulk sent {len(times)} of {rows} rows: {done.stderr[-2000:]}")
    found = IN_FLIGHT.search(done.stderr)
    return BulkRun(rows, wall, cpu, times, started, ended, int(found[1]) if found else 0)


def write_csv(path: Path, rows: int, personalised: bool) -> Path:
    with path.open("w") as out:
        out.write("phone,name\n")
        for i, number in enumerate(numbers(rows)):
            out.write(f"{number},{'person' + str(i) if personalised else 'x'}\n")
    return path


def busiest_window(times: list[float]) -> int:
    """Most acceptances within any one-second window (window starting at each acceptance)."""
    return max(bisect_right(times, t + 1.0 - 1e-9) - i for i, t in enumerate(times))


@dataclass
class Row:
    """One line of the table: a run and the goal it is judged by (None: shown only)."""

    latency: float
    what: str
    rate: str
    run: BulkRun
    naive: float
    goal: str = ""
    ok: bool | None = None
    repeats: tuple[BulkRun, ...] = ()  # every run made of it, ``run`` the judged one


def table(rows: list[Row]) -> None:
    head = (
        f"{'latency':>7}  {'rows':<19} {'--rate':>6} {'end to end':>11} {'sending':>9} "
        f"{'busiest 1 s':>11} {'in flight':>9} {'CPU/msg':>8} {'vs naive':>9}  goal"
    )
    print(head)
    print("-" * len(head) + "-" * 24)
    for row in rows:
        run = row.run
        verdict = "" if row.ok is None else ("PASS" if row.ok else "FAIL")
        print(
            f"{row.latency * 1000:>5g}ms  {row.what:<19} {row.rate:>6} "
            f"{run.end_to_end:>7.0f}/s   {run.sustained:>7.0f}/s {run.busiest:>11} "
            f"{run.in_flight:>9} {run.cpu_per_message:>6.3f}ms "
            f"{run.end_to_end / row.naive:>8.1f}x  {row.goal} {verdict}".rstrip()
        )


def typical(runs: list[BulkRun], what: str) -> BulkRun:
    """The run of median wall time (the one a goal is judged by), all of them printed."""
    ranked = sorted(runs, key=lambda run: run.wall)
    if len(runs) > 1:
        walls = ", ".join(f"{run.wall:.2f}" for run in runs)
        print(f"  {what}: {len(runs)} runs, {walls} s end to end; the median one is judged")
    return ranked[(len(ranked) - 1) // 2]


def latency_runs(
    sandbox: SandboxProcess, work: Path, base: Baseline, rows: int, rated: int
) -> list[Row]:
    """The three runs at one latency: personalised at --rate 100 and 0, one text at 0."""
    latency = sandbox.latency
    config = work / f"config-{latency:g}"
    sandbox.log_in(config)
    run_bulk(sandbox, config, write_csv(work / "warm.csv", 10, True), 10, "-t", "{name}")
    personal = write_csv(work / "personal.csv", max(rows, rated), True)
    same = write_csv(work / "same.csv", rows, False)
    rated_csv = write_csv(work / "rated.csv", rated, True)
    at_goal = latency == GOAL_LATENCY

    paced = run_bulk(sandbox, config, rated_csv, rated, "-t", "Hi {name}", "--rate", str(RATE))
    paced_ok = paced.sustained >= SUSTAINED_GOAL and paced.busiest <= BUSIEST_GOAL
    goal = f">= {SUSTAINED_GOAL:g}/s sending, busiest <= {BUSIEST_GOAL}"
    table_rows = [
        Row(latency, f"{rated} personalised", str(RATE), paced, base.naive, goal, paced_ok)
    ]

    repeats = GOAL_REPEATS if at_goal else 1
    free_runs = [
        run_bulk(sandbox, config, personal, rows, "-t", "Hi {name}", "--rate", "0")
        for _ in range(repeats)
    ]
    free = typical(free_runs, f"{rows} personalised at {latency * 1000:g} ms")
    goal, ok = "", None
    if at_goal:
        ok = free.end_to_end / base.naive >= PERSONAL_GOAL
        goal = f">= {PERSONAL_GOAL:g}x naive, end to end"
    table_rows.append(
        Row(latency, f"{rows} personalised", "0", free, base.naive, goal, ok, tuple(free_runs))
    )

    one_text = typical(
        [
            run_bulk(sandbox, config, same, rows, "-t", "Same", "--rate", "0")
            for _ in range(repeats)
        ],
        f"{rows} one text at {latency * 1000:g} ms",
    )
    goal, ok = "", None
    if at_goal:
        ok = one_text.end_to_end / base.naive >= SAME_TEXT_GOAL
        goal = f">= {SAME_TEXT_GOAL:g}x naive, end to end"
    table_rows.append(Row(latency, f"{rows} one text", "0", one_text, base.naive, goal, ok))
    return table_rows


def fixed_costs(sandbox: SandboxProcess, work: Path) -> None:
    """What a run costs whatever its size: imports, client, login, journal, exit."""
    floor = statistics.median(_wall([sys.executable, "-c", IMPORT_FLOOR]) for _ in range(5))
    one = write_csv(work / "one.csv", 1, True)
    print(f"fixed cost of a run (median of 5; sandbox latency {sandbox.latency * 1000:g} ms):")
    print(f"  import floor ({IMPORT_FLOOR}): {floor * 1000:.0f} ms")
    for stored in (False, True):
        samples = []
        for n in range(5):
            config = work / f"fixed-{stored}-{n}"
            if stored:
                sandbox.log_in(config)
            samples.append(run_bulk(sandbox, config, one, 1, "-t", "Hi {name}"))
        wall = statistics.median(r.wall for r in samples)
        # The sandbox accepts a message after its latency, and answers at once.
        leaves = statistics.median(r.times[0] - sandbox.latency - r.started for r in samples)
        exits = statistics.median(r.ended - r.times[0] for r in samples)
        session = "a stored session" if stored else "no session (logs in)"
        print(
            f"  one row, {session}: {wall * 1000:.0f} ms end to end ({wall / floor:.2f}x the "
            f"import floor); the request leaves at {leaves * 1000:.0f} ms, the process ends "
            f"{exits * 1000:.0f} ms after the answer"
        )


def median_cpu(runs: tuple[BulkRun, ...]) -> BulkRun:
    """The run of median CPU time: the one the CPU goals are judged by."""
    return sorted(runs, key=lambda run: run.cpu)[(len(runs) - 1) // 2]


def cpu_goals(personal: tuple[BulkRun, ...], small: BulkRun, base: Baseline) -> None:
    """Personalised client CPU per message (--rate 0, 20 ms) as ratios to the baselines.

    The whole-process figure (start-up, planning and journal included) of the run of median
    CPU is the one judged; the marginal one (a further message's cost) is shown next to it.
    The baselines are the means of the measurements before and after the 20 ms runs.
    """
    median = median_cpu(personal)
    whole = median.cpu_per_message
    marginal = (median.cpu - small.cpu) / (median.rows - small.rows) * 1000
    naive, raw = base.naive_cpu, base.raw_cpu
    each = ", ".join(f"{run.cpu_per_message:.3f}" for run in personal)
    print(
        f"client CPU per personalised message at {GOAL_LATENCY * 1000:g} ms, --rate 0: "
        f"{whole:.3f} ms for the whole process (median of {len(personal)} runs: {each}), "
        f"{marginal:.3f} ms for each further message (from {small.rows} vs {median.rows} rows)"
    )
    print(
        f"  vs naive zeep+requests ({naive:.2f} ms, this run): {whole / naive:.2f}x "
        f"(marginal {marginal / naive:.2f}x); issue 10's budget <= {CPU_BUDGET_VS_NAIVE:g}x: "
        f"{_verdict(whole / naive <= CPU_BUDGET_VS_NAIVE)}"
    )
    pool = base.pool_cpu
    print(
        f"  for reference: a prebuilt envelope POSTed through urllib3 (which clicksms's "
        f"transport is built on) alone costs {pool:.2f} ms, {pool / naive:.2f}x naive, before "
        "any SOAP or bulk work"
    )
    print(
        "  issue 4 set 0.5 ms on its machine, where naive took 1.2 ms and a raw POST 0.2 ms; "
        "machines differ, so it is shown as ratios to baselines measured in this run:"
    )
    print(
        f"  issue 4 vs naive: {whole / naive:.2f}x; goal <= {CPU_GOAL_VS_NAIVE:.2f}x "
        f"(0.5/1.2): {_verdict(whole / naive <= CPU_GOAL_VS_NAIVE)}"
    )
    print(
        f"  issue 4 vs raw POST of a prebuilt envelope ({raw:.2f} ms, this run): "
        f"{whole / raw:.2f}x (marginal {marginal / raw:.2f}x); goal <= {CPU_GOAL_VS_RAW:.1f}x "
        f"(0.5/0.2): {_verdict(whole / raw <= CPU_GOAL_VS_RAW)}"
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
    config = work / "config-rpc"
    args = ("-t", "Hi {name}", "--rate", "0")
    csv = write_csv(work / "personal-rpc.csv", rows, True)
    whole = run_bulk(sandbox, config, csv, rows, *args, endpoint=endpoint)
    csv = write_csv(work / "small-rpc.csv", small_rows, True)
    small = run_bulk(sandbox, config, csv, small_rows, *args, endpoint=endpoint)
    marginal = (whole.cpu - small.cpu) / (rows - small_rows) * 1000
    return whole.cpu_per_message, marginal


def report_styles(personal: BulkRun, small: BulkRun, rpc: tuple[float, float] | None) -> None:
    """Client CPU per personalised message over each SOAP style, measured in this run."""
    if rpc is None:
        print("  RPC/Encoded: the sandbox serves no RPC server here; not measured")
        return
    whole = personal.cpu_per_message
    marginal = (personal.cpu - small.cpu) / (personal.rows - small.rows) * 1000
    print(
        f"  client CPU per personalised message by SOAP style: document {whole:.3f} ms "
        f"(marginal {marginal:.3f}), rpc {rpc[0]:.3f} ms (marginal {rpc[1]:.3f}); "
        f"rpc / document = {rpc[0] / whole:.2f}x"
    )


def dry_run_memory(work: Path) -> None:
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
    ratio = sizes[1_000_000] / sizes[100_000]
    print(f"  1M / 100k peak memory: {ratio:.2f}x (goal <= 1.2): {_verdict(ratio <= 1.2)}")


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


def _wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latencies",
        default=",".join(f"{latency:g}" for latency in LATENCIES),
        help="seconds the sandbox takes per request, comma-separated",
    )
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the --rate 0 runs")
    parser.add_argument("--rated", type=int, default=2_500, help="rows of the --rate 100 runs")
    parser.add_argument("--skip-dry-run", action="store_true")
    args = parser.parse_args()
    latencies = [float(value) for value in args.latencies.split(",")]

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for latency in latencies:
            work = Path(tmp) / f"at-{latency:g}"
            work.mkdir()
            sandbox = SandboxProcess(work / "ledger.jsonl", latency)
            print(f"sandbox latency {latency * 1000:g} ms per request")
            try:
                base = Baseline.measure(sandbox, "before")
                runs = latency_runs(sandbox, work, base, args.rows, args.rated)
                rows += runs
                if latency == GOAL_LATENCY:
                    free = next(r for r in runs if r.what.endswith("personalised")
                                and r.rate == "0")  # fmt: skip
                    personal = median_cpu(free.repeats)
                    config = work / f"config-{latency:g}"
                    small_rows = max(1, args.rows // 10)
                    small_csv = write_csv(work / "small.csv", small_rows, True)
                    small = run_bulk(
                        sandbox, config, small_csv, small_rows, "-t", "Hi {name}", "--rate", "0"
                    )
                    rpc = personalised_rpc(sandbox, work, args.rows, small_rows)
                    base = base.mean(Baseline.measure(sandbox, "after"))
                    cpu_goals(free.repeats, small, base)
                    report_styles(personal, small, rpc)
                    fixed_costs(sandbox, work)
            finally:
                sandbox.stop()
        print()
        table(rows)
        if not args.skip_dry_run:
            print()
            dry_run_memory(Path(tmp))


if __name__ == "__main__":
    main()
