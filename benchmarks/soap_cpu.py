"""Client CPU per single-recipient sendmsg: a naive zeep+requests loop against SoapClient.call.

Bulk's budget is 0.5 ms of client CPU per message (issue 4). The sandbox runs in a separate
process (`clicksms sandbox`) so that only the client's CPU is counted (getrusage of this
process: user + system). Both clients send to the same sandbox in alternating rounds, so a
noisy machine penalises both alike; the median round is reported. For scale, the floor — a
kept-alive http.client POST of one prebuilt envelope, no SOAP work at all — is shown too, and
so is SoapClient.call with its learned reply shapes turned off (every reply deserialised by
zeep, as before the shapes existed), to show what reading replies through them saves.

    python benchmarks/soap_cpu.py [--messages 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import resources
from urllib.parse import urlsplit

PASSWORD = "bench-password"
API_ID = 3512345
USER = "sandbox"


def start_sandbox(credits: int) -> tuple[subprocess.Popen[str], str]:
    """`clicksms sandbox` in a child process; returns it and its endpoint."""
    env = {**os.environ, "CLICKSMS_SANDBOX_PASSWORD": PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clicksms", "sandbox", "--port", "0", "--credits", str(credits)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"CLICKSMS_ENDPOINT=(\S+)", line)
        if found:
            return proc, found.group(1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(send: Callable[[int], None], first: int, count: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per message for ``count`` sends numbered from ``first``."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    for n in range(first, first + count):
        send(n)
    return (cpu_seconds() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6


def number(n: int) -> str:
    """A distinct ordinary number; the sandbox's magic test numbers all start 27820."""
    return f"2782{1_000_000 + n % 9_000_000:07d}"


def naive_sender(endpoint: str) -> Callable[[int], None]:
    """What a first attempt looks like: zeep's Client with its default requests transport."""
    from zeep import Client

    from clicksms.gateway.soap import BINDING, WSDL_RESOURCE

    wsdl = resources.files("clicksms").joinpath(WSDL_RESOURCE)
    with resources.as_file(wsdl) as path:
        client = Client(str(path))
    service = client.create_service(BINDING, endpoint)
    session = str(service.auth(api_id=API_ID, user=USER, password=PASSWORD))[4:]

    def send(n: int) -> None:
        reply = service.sendmsg(session_id=session, to=[number(n)], text=f"benchmark {n}")
        if not str(reply[0] if isinstance(reply, list) else reply).startswith("ID:"):
            raise SystemExit(f"naive zeep: unexpected answer {reply!r}")

    return send


def soapclient_sender(endpoint: str, learn_replies: bool = True) -> Callable[[int], None]:
    """SoapClient.call; ``learn_replies=False`` hands every reply to zeep, as it used to."""
    from clicksms.gateway.shapes import NOT_CACHEABLE
    from clicksms.gateway.soap import SoapClient

    client = SoapClient(endpoint, 30.0)
    if not learn_replies:  # a verdict of "never learn" for the operations measured
        client._reply_shapes.update(dict.fromkeys(("auth", "sendmsg"), NOT_CACHEABLE))
    session = client.call("auth", api_id=API_ID, user=USER, password=PASSWORD)[0][4:]

    def send(n: int) -> None:
        reply = client.call("sendmsg", session_id=session, to=[number(n)], text=f"benchmark {n}")
        if not reply[0].startswith("ID:"):
            raise SystemExit(f"SoapClient: unexpected answer {reply!r}")

    return send


def floor_sender(endpoint: str) -> Callable[[int], None]:
    """One prebuilt envelope over a kept-alive http.client connection: no SOAP work at all."""
    from clicksms.gateway.soap import SoapClient

    client = SoapClient(endpoint, 30.0)
    session = client.call("auth", api_id=API_ID, user=USER, password=PASSWORD)[0][4:]
    client.close()
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap-env:Body><ns0:sendmsg xmlns:ns0="http://api.clickatell.com/soap/document_literal/'
        f'webservice"><session_id>{session}</session_id><text>benchmark</text>'
        "<to>27821234567</to></ns0:sendmsg></soap-env:Body></soap-env:Envelope>"
    ).encode()
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=30)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendmsg"'}

    def send(n: int) -> None:
        conn.request("POST", url.path, body, headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"floor: HTTP {answer.status}")

    return send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    proc, endpoint = start_sandbox(credits=10 * args.messages * (4 * args.rounds + 4))
    try:
        senders = {
            "naive zeep + requests": naive_sender(endpoint),
            "SoapClient.call": soapclient_sender(endpoint),
            "SoapClient.call, zeep replies": soapclient_sender(endpoint, learn_replies=False),
            "floor: raw http.client POST": floor_sender(endpoint),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in senders}
        first = 0
        for send in senders.values():  # warm up: imports, caches, connections
            measure(send, first, 50)
            first += 50
        for _ in range(args.rounds):
            for name, send in senders.items():
                results[name].append(measure(send, first, args.messages))
                first += args.messages
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    print(f"client CPU per single-recipient sendmsg, median of {args.rounds} rounds", end="")
    print(f" x {args.messages} messages (sandbox in a separate process):")
    medians = {}
    for name, samples in results.items():
        cpu = statistics.median(s[0] for s in samples)
        wall = statistics.median(s[1] for s in samples)
        spread = ", ".join(f"{s[0]:.0f}" for s in samples)
        medians[name] = cpu
        print(f"  {name:30} {cpu:7.0f} µs CPU  ({wall:6.0f} µs wall; rounds: {spread})")
    naive, ours = medians["naive zeep + requests"], medians["SoapClient.call"]
    print(f"naive / SoapClient.call = {naive / ours:.1f}x less CPU per message")
    saved = medians["SoapClient.call, zeep replies"] - ours
    print(f"learned reply shapes save {saved:.0f} µs CPU per message")


if __name__ == "__main__":
    main()
