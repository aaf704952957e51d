#!/usr/bin/env python3
"""Benchmark: time from a plugin crash to serving again, in a supervised live host.

Each run starts `livebot run` (supervised) on a bot of two counter
microservices, "healthy" and "victim", where victim is a build that
segfaults on a measurement of device "boom" (or ends in the watchdog, with
--fault loop). The client sends that measurement and times:
  serving   from the send to the first status answered by the new host
            process (the supervisor noticed the death, forked, the new host
            recovered from the marker, opened the store, loaded the bot and
            listens again)
  resent    from the send to the answer of the same input, resent by the
            client on hang-up and executed by the new host (victim
            suspended, healthy counting)
p50 and p90 over the runs, with the machine's load.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time


def request(path, line, timeout=5.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall((line + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("hung up")
            buf += chunk
        return json.loads(buf)


def status(path):
    try:
        return request(path, '{"cmd":"status"}', 1.0)
    except OSError:
        return None


def measurement(device, seq):
    return json.dumps({"cmd": "send", "location": "home", "kind": "measurement", "client": "bench", "seq": seq,
                       "devices": [{"id": device, "type": 10014, "params": {"doorStatus": "OPEN"}}]})


def one_run(livebot, plugins, fault, work):
    bot = os.path.join(work, "bot")
    os.makedirs(bot)
    shutil.copy(os.path.join(plugins, "counter_a.so"), os.path.join(bot, "healthy.so"))
    shutil.copy(os.path.join(plugins, f"counter_{fault}.so"), os.path.join(bot, "victim.so"))
    with open(os.path.join(bot, "bot.json"), "w") as f:
        json.dump({"bot": "crash-bench", "version": "1", "microservices": {"location": [
            {"name": "healthy", "plugin": "healthy.so"}, {"name": "victim", "plugin": "victim.so"}]}}, f)
    sock = os.path.join(work, "host.sock")
    proc = subprocess.Popen([livebot, "run", "--bot", bot, "--store", os.path.join(work, "store.db"),
                             "--socket", sock, "--no-watch", "--callback-timeout", "200ms"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while (s := status(sock)) is None:
            time.sleep(0.005)
        old = s["pid"]
        request(sock, measurement("door", 1))
        t0 = time.monotonic()
        try:
            request(sock, measurement("boom", 2))
            raise RuntimeError("the host did not crash")
        except ConnectionError:
            pass
        while (s := status(sock)) is None or s["pid"] == old:
            time.sleep(0.001)
        serving = time.monotonic() - t0
        answer = request(sock, measurement("boom", 2))
        resent = time.monotonic() - t0
        assert answer["ok"], answer
        assert s["suspended"][0]["name"] == "victim", s
        return serving, resent
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="meson build directory")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--fault", choices=["segv", "loop"], default="segv")
    args = ap.parse_args()
    livebot = os.path.join(args.build, "host", "cli", "livebot")
    plugins = os.path.join(args.build, "tests", "plugins")
    serving, resent = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="livebot-crash-bench-") as work:
            a, b = one_run(livebot, plugins, args.fault, work)
            serving.append(a * 1000)
            resent.append(b * 1000)
    load = os.getloadavg()
    print(f"fault {args.fault}, {args.runs} runs, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
          f"{os.cpu_count()} cores")
    for name, xs in (("serving", serving), ("resent", resent)):
        print(f"  {name:<8} p50 {statistics.median(xs):7.1f} ms   p90 {pct(xs, 90):7.1f} ms   "
              f"max {max(xs):7.1f} ms")


if __name__ == "__main__":
    main()
