"""Prometheus + Alertmanager alert latency, for comparison with tripgate's
(issue 6; run through scripts/bench-alertmanager.sh, which installs both).

Serves one gauge, `bench_on_time_rate`, for a real Prometheus server to
scrape; an alerting rule (`bench_on_time_rate < 0.9`, no `for`) sends to a
real Alertmanager, whose webhook receiver posts to a listener here. Each
round turns the gauge bad and measures until the firing notification is
received, then good again until the resolved one is. Prometheus scrapes and
evaluates every second and Alertmanager waits 0 s before a group's first
notification and 1 s between a group's notifications: the tightest
settings worth running, not the defaults (1 min, 30 s, 5 min).

Prints `RESULT name value unit` lines (nearest-rank percentiles, in ms).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gauge:
    """The exported value and when it last changed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.value = 1.0

    def set(self, value):
        with self.lock:
            self.value = value

    def get(self):
        with self.lock:
            return self.value


class Inbox:
    """Webhook notifications received: (monotonic time, status)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.received = []

    def add(self, status):
        with self.cond:
            self.received.append((time.monotonic(), status))
            self.cond.notify_all()

    def wait_for(self, status, after, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, got in self.received:
                    if got == status and at >= after:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def serve(port, handler):
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def exporter(gauge):
    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (
                "# TYPE bench_on_time_rate gauge\n"
                f"bench_on_time_rate {gauge.get()}\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Metrics


def receiver(inbox):
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            for alert in payload.get("alerts", []):
                inbox.add(alert.get("status"))

        def log_message(self, *args):
            pass

    return Hook


def wait_ready(url, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"bench-alertmanager: {what} not ready at {url} after {timeout} s")


def percentile(values, rank):
    ordered = sorted(values)
    index = max(0, -(-rank * len(ordered) // 100) - 1)
    return ordered[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--alertmanager", default="prometheus-alertmanager")
    args = parser.parse_args()

    gauge, inbox = Gauge(), Inbox()
    metrics_port, hook_port = free_port(), free_port()
    prom_port, am_port = free_port(), free_port()
    servers = [serve(metrics_port, exporter(gauge)), serve(hook_port, receiver(inbox))]

    work = tempfile.mkdtemp(prefix="bench-alertmanager-")
    with open(os.path.join(work, "rules.yml"), "w") as rules:
        rules.write(
            "groups:\n"
            "- name: bench\n"
            "  interval: 1s\n"
            "  rules:\n"
            "  - alert: OnTimeRateLow\n"
            "    expr: bench_on_time_rate < 0.9\n"
        )
    with open(os.path.join(work, "prometheus.yml"), "w") as config:
        config.write(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "rule_files: [rules.yml]\n"
            "alerting:\n"
            "  alertmanagers:\n"
            f"  - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]\n"
            "scrape_configs:\n"
            "- job_name: bench\n"
            f"  static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
        )
    with open(os.path.join(work, "alertmanager.yml"), "w") as config:
        config.write(
            "route:\n"
            "  receiver: hook\n"
            "  group_wait: 0s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "receivers:\n"
            "- name: hook\n"
            "  webhook_configs:\n"
            f"  - url: http://127.0.0.1:{hook_port}/\n"
            "    send_resolved: true\n"
        )
    logs = open(os.path.join(work, "daemons.log"), "w")
    daemons = [
        subprocess.Popen(
            [
                args.alertmanager,
                f"--config.file={work}/alertmanager.yml",
                f"--storage.path={work}/am",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=logs,
            stderr=logs,
        ),
        subprocess.Popen(
            [
                args.prometheus,
                f"--config.file={work}/prometheus.yml",
                f"--storage.tsdb.path={work}/tsdb",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            cwd=work,
            stdout=logs,
            stderr=logs,
        ),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{am_port}/-/ready", "alertmanager")
        wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", "prometheus")
        # A few scrapes of the good value first, so the first round starts
        # from a known, resolved state.
        time.sleep(3)
        firing, resolved = [], []
        for round_number in range(args.rounds):
            for value, status, into in ((0.5, "firing", firing), (1.0, "resolved", resolved)):
                changed = time.monotonic()
                gauge.set(value)
                at = inbox.wait_for(status, changed, timeout=60)
                if at is None:
                    sys.exit(
                        f"bench-alertmanager: no {status} notification within 60 s "
                        f"(round {round_number}; logs in {work}/daemons.log)"
                    )
                into.append((at - changed) * 1000)
                # Sleeping a random part of a second puts the next change
                # at a random phase of the scrape and evaluation cycles.
                time.sleep(1 + (round_number * 0.37) % 1)
        for name, values in (("firing", firing), ("resolved", resolved)):
            for rank in (50, 90, 99):
                print(f"RESULT prometheus_alertmanager_{name}_p{rank} {percentile(values, rank):.0f} ms")
            print(f"RESULT prometheus_alertmanager_{name}_max {max(values):.0f} ms")
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
        for server in servers:
            server.shutdown()


if __name__ == "__main__":
    main()
