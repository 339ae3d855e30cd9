"""Does ``bulk --batch`` save request bytes or client CPU per message against plain sendmsg?

One sandbox (its own process), one run: plain ``bulk`` and ``bulk --batch`` take turns on the
same files, so machine load weighs on both alike, and the verdict is a ratio. Between client
and sandbox sits a loopback relay that counts the bytes each way (HTTP headers included: what
really goes over the wire). Measured, per message:

* request bytes (client to gateway) and answer bytes, over the whole run (login, startbatch,
  endbatch and the checks included);
* client CPU: the ``clicksms bulk`` process's own, over the whole run, and the marginal cost of a
  further message (the run on ``--rows`` minus the run on a tenth of them, over the rows in
  between), which leaves start-up and the fixed costs out.

Files: personalised rows (a text of about 100 characters with four columns, so that it fits
RPC/Encoded's four senditem fields too) over each SOAP style, a long text (three SMS parts)
with one column, and one static text to every row.

Run: python benchmarks/batch.py [--rows 4000] [--latency 0.002] [--repeat 2]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bulk import SandboxProcess, numbers

TEMPLATE = "Dear {name}, your appointment at {clinic} is on {day} at {time}. Reply STOP to opt out."
#: A long text with one column: three SMS parts of which only the name changes.
LONG = (
    "Dear {name}, thank you for choosing our clinic. From 1 February our opening hours change: "
    "Monday to Friday 07:30 to 19:00, Saturday 08:00 to 13:00, closed on Sunday and public "
    "holidays. Appointments can be booked, moved or cancelled online at any time, or by phone "
    "during opening hours. Please bring your medical aid card and an ID document to every visit. "
    "Reply STOP to opt out of these messages."
)
STATIC = "Our offices are closed on Friday 12 December. Reply STOP to opt out of these messages."


class CountingRelay:
    """A loopback TCP relay to ``target`` that counts the bytes each way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sent = 0  # client to gateway
        self.received = 0  # gateway to client
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.sent, self.received

    def close(self) -> None:
        self._closing = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, up), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    if up:
                        self.sent += len(data)
                    else:
                        self.received += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Run:
    rows: int
    cpu: float  # seconds, the clicksms process's own
    sent: int  # bytes, client to gateway
    received: int


def run_bulk(
    sandbox: SandboxProcess, relay: CountingRelay, endpoint: str, work: Path, csv: Path,
    rows: int, *args: str,
) -> Run:  # fmt: skip
    config = work / f"config-{time.monotonic_ns()}"
    env = dict(sandbox.env(config), CLICKSMS_ENDPOINT=endpoint)
    cmd = [sys.executable, "-m", "clicksms", "bulk", str(csv), "--rate", "0", "-q", *args]
    sent0, received0 = relay.counts()
    cpu0 = _cpu_children()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    cpu = _cpu_children() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"bulk failed ({done.returncode}): {done.stderr[-2000:]}")
    sent, received = relay.counts()
    return Run(rows, cpu, sent - sent0, received - received0)


def write_rows(path: Path, rows: int) -> Path:
    clinics = ("Rosebank", "Sandton", "Fourways", "Midrand")
    with path.open("w") as out:
        out.write("phone,name,clinic,day,time\n")
        for i, number in enumerate(numbers(rows)):
            day = f"{1 + i % 28} January"
            out.write(f"{number},Person{i},{clinics[i % 4]},{day},{8 + i % 9}:{i % 4 * 15:02d}\n")
    return path


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--latency", type=float, default=0.002)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, alternating")
    args = parser.parse_args()
    small_rows = max(1, args.rows // 10)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sandbox = SandboxProcess(work / "ledger.jsonl", args.latency)
        url = urlsplit(sandbox.endpoint)
        relay = CountingRelay((url.hostname or "127.0.0.1", url.port or 80))
        via = url._replace(netloc=f"127.0.0.1:{relay.port}")
        endpoints = {
            "document": urlunsplit(via),
            "rpc": urlunsplit(via._replace(path="/soap/webservice_vs.php")),
        }
        files = {
            size: write_rows(work / f"rows-{size}.csv", size) for size in (args.rows, small_rows)
        }
        cases = [
            ("personalised", "document", ("-t", TEMPLATE)),
            ("personalised", "rpc", ("-t", TEMPLATE)),
            ("long, 1 column", "document", ("-t", LONG)),
            ("static", "document", ("-t", STATIC)),
        ]
        try:
            # Warm-up: one small run of each writes the .pyc files every later run reads.
            for batch in ((), ("--batch",)):
                run_bulk(sandbox, relay, endpoints["document"], work, files[small_rows],
                         small_rows, "-t", TEMPLATE, *batch)  # fmt: skip
            print(
                f"{args.rows} rows (marginal CPU against {small_rows}), sandbox latency "
                f"{args.latency * 1000:g} ms, best of {args.repeat} alternating runs"
            )
            print(
                f"{'case':<24} {'mode':<6} {'req B/msg':>9} {'ans B/msg':>9} "
                f"{'CPU ms/msg':>10} {'marginal':>9}"
            )
            for name, style, options in cases:
                measured: dict[str, list[tuple[Run, Run]]] = {"plain": [], "batch": []}
                for _ in range(args.repeat):
                    for mode, extra in (("plain", ()), ("batch", ("--batch",))):
                        pair = tuple(
                            run_bulk(
                                sandbox,
                                relay,
                                endpoints[style],
                                work,
                                files[size],
                                size,
                                *options,
                                *extra,
                            )
                            for size in (args.rows, small_rows)
                        )
                        measured[mode].append(pair)  # type: ignore[arg-type]
                figures = {}
                for mode, pairs in measured.items():
                    big = min(pairs, key=lambda p: p[0].cpu)
                    whole = min(p[0].cpu for p in pairs) / args.rows * 1000
                    marginal = min((p[0].cpu - p[1].cpu) for p in pairs)
                    marginal = marginal / (args.rows - small_rows) * 1000
                    sent, received = big[0].sent / args.rows, big[0].received / args.rows
                    figures[mode] = (sent, whole, marginal)
                    print(
                        f"{name + ' (' + style + ')':<24} {mode:<6} {sent:9.0f} {received:9.0f} "
                        f"{whole:10.3f} {marginal:9.3f}"
                    )
                (ps, pw, pm), (bs, bw, bm) = figures["plain"], figures["batch"]
                print(
                    f"{'':<24} batch/plain: request bytes {bs / ps:.2f}x, CPU {bw / pw:.2f}x "
                    f"(marginal {bm / pm:.2f}x)"
                )
        finally:
            relay.close()
            sandbox.stop()


if __name__ == "__main__":
    main()
