"""Round-trip time of the sandbox against a naive stdlib server, in the same run.

The classic trap of Python's stdlib HTTP server: headers and body written in separate packets
meet the client's delayed ACK (Nagle), costing ~40 ms per keep-alive response. The sandbox sets
TCP_NODELAY and writes each response in one go. This sends the same prebuilt sendmsg envelope
over one keep-alive connection to both servers and prints the median time per request.

    python benchmarks/sandbox_latency.py [--requests 200]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from clicksms.sandbox import Sandbox, SandboxConfig

PASSWORD = "bench-password"


def envelope(to: str) -> bytes:
    return (
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:ns1="http://api.clickatell.com/soap/document_literal/webservice"><SOAP-ENV:Body>'
        f"<ns1:sendmsg><api_id>3512345</api_id><user>sandbox</user><password>{PASSWORD}</password>"
        f"<text>benchmark</text><to>{to}</to></ns1:sendmsg></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


class NaiveHandler(BaseHTTPRequestHandler):
    """What a first attempt looks like: unbuffered writes, headers and body apart, no NODELAY."""

    protocol_version = "HTTP/1.1"
    answer = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: object) -> None:
        pass


def time_requests(host: str, port: int, path: str, count: int) -> list[float]:
    connection = http.client.HTTPConnection(host, port)
    samples = []
    for n in range(count):
        body = envelope(f"2782{1000000 + n:07d}")
        start = time.perf_counter()
        connection.request("POST", path, body, {"Content-Type": "text/xml; charset=utf-8"})
        reply = connection.getresponse()
        reply.read()
        samples.append(time.perf_counter() - start)
        if reply.status != 200:
            raise SystemExit(f"server answered HTTP {reply.status}")
    connection.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    config = SandboxConfig(port=0, password=PASSWORD, credits=10.0 * args.requests)
    with Sandbox(config) as sandbox:
        url = urlsplit(sandbox.endpoint)
        time_requests(url.hostname or "", url.port or 0, url.path, 1)  # warm up
        ours = time_requests(url.hostname or "", url.port or 0, url.path, args.requests)
        conn = http.client.HTTPConnection(url.hostname or "", url.port or 0)
        conn.request("POST", url.path, envelope("27821234567"))
        NaiveHandler.answer = conn.getresponse().read()
        conn.close()

    naive = ThreadingHTTPServer(("127.0.0.1", 0), NaiveHandler)
    thread = threading.Thread(target=naive.serve_forever, daemon=True)
    thread.start()
    try:
        theirs = time_requests("127.0.0.1", naive.server_port, "/", args.requests)
    finally:
        naive.shutdown()
        naive.server_close()
        thread.join()

    ours_ms = statistics.median(ours) * 1000
    naive_ms = statistics.median(theirs) * 1000
    print(f"sandbox (sendmsg processed)   median {ours_ms:6.2f} ms/request over {args.requests}")
    print(f"naive stdlib server (canned)  median {naive_ms:6.2f} ms/request over {args.requests}")
    print(f"naive / sandbox = {naive_ms / ours_ms:.1f}x")


if __name__ == "__main__":
    main()
