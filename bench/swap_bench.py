#!/usr/bin/env python3
"""Benchmark: swapping a microservice in a live host, against restarting it.

One live host (`livebot run`) serves a counter microservice while a client
sends it measurements back to back over the control socket. Side by side,
in one run:
  swap     a new build is renamed into the bot directory and the host is
           told to reload; latency = rename to the first input answered by
           the new build
  watch    the same, but nobody tells the host: its watcher notices the
           file; the latency includes the watcher's debounce and settle
           time, which are reported on their own
  restart  what a user does without hot reload: SIGTERM the host, start it
           again on the new build, reconnect; latency = SIGTERM to the first
           input answered by the new process
For each: p50/p99 latency, inputs delayed (answered later than 10x the
steady round trip) and lost (sent, never executed). Also the round trip of
one input before, during and after a swap, and RSS and mapped images after
1,000 swaps.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from control_client import Client


class Host:
    def __init__(self, livebot, bot, store, sock, debounce_ms):
        self.livebot, self.bot, self.store, self.sock = livebot, bot, store, sock
        self.debounce_ms = debounce_ms
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.livebot, "run", "--bot", self.bot, "--store", self.store,
                                      "--socket", self.sock, "--probation", "1",
                                      "--debounce-ms", str(self.debounce_ms)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def measurement(i):
    return {"cmd": "send", "location": f"home-{i % 10}", "kind": "measurement", "timestamp_ms": i,
            "devices": [{"id": "door", "type": 10014, "params": {"doorStatus": "OPEN"}}]}


# A build lands the way lld and `cp` + `mv` deliver it: written beside the
# target, then renamed over it. The swap's clock starts at the rename.
def place(plugins, build, target):
    shutil.copyfile(os.path.join(plugins, build + ".so"), target + ".tmp")


def deliver(plugins, build, target):
    place(plugins, build, target)
    os.rename(target + ".tmp", target)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--swaps", type=int, default=30, help="swaps and restarts measured")
    ap.add_argument("--many", type=int, default=1000, help="swaps before the RSS and mapped-image count")
    ap.add_argument("--debounce-ms", type=int, default=150, help="the live host's watcher debounce")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    livebot = os.path.join(args.build, "host", "cli", "livebot")
    plugins = os.path.join(args.build, "tests", "plugins")
    work = tempfile.mkdtemp(prefix="livebot-swap-bench-")
    try:
        bot = os.path.join(work, "bot")
        os.makedirs(bot)
        target = os.path.join(bot, "counter.so")
        shutil.copyfile(os.path.join(plugins, "counter_a.so"), target)
        with open(os.path.join(bot, "bot.json"), "w") as f:
            json.dump({"bot": "swap-bench", "version": "1",
                       "microservices": {"location": [{"name": "counter", "plugin": "counter.so"}]}}, f)
        sock = os.path.join(work, "host.sock")
        host = Host(livebot, bot, os.path.join(work, "store.db"), sock, args.debounce_ms)
        host.start()
        c = Client(sock)
        seq = 0

        def send():
            nonlocal seq
            seq += 1
            t = time.perf_counter()
            r = c.ask(measurement(seq))
            return time.perf_counter() - t, r

        for _ in range(500):
            send()
        steady = statistics.median(send()[0] for _ in range(2000))

        # Swap: rename, (reload,) then inputs until one is served by the new build.
        builds = ["counter_b", "counter_a"]
        ctl = Client(sock)
        around = {"before": [], "during": [], "after": []}
        lat = {"swap": [], "watch": []}
        delayed = {"swap": 0, "watch": 0}
        n = 0
        for mode in ("swap", "watch"):
            for _ in range(args.swaps):
                around["before"] += [send()[0] for _ in range(50)]
                gen = send()[1]["generations"][0]
                place(plugins, builds[n % 2], target)
                t0 = time.perf_counter()
                os.rename(target + ".tmp", target)
                n += 1
                if mode == "swap":
                    ctl.ask({"cmd": "reload"})
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    rtt, r = send()
                    if mode == "swap":
                        around["during"].append(rtt)
                    if rtt > 10 * steady:
                        delayed[mode] += 1
                    if r["generations"][0] != gen:
                        break
                else:
                    sys.exit(f"bench: {mode}: the new build was not served within 10 s")
                lat[mode].append(time.perf_counter() - t0)
                around["after"] += [send()[0] for _ in range(50)]
                time.sleep(0.3)  # let the watcher's own look at this build pass before the next
        swap_lat = lat["swap"]

        # Restart: SIGTERM, start again on the new build, reconnect.
        restart_lat, restart_lost = [], 0
        for _ in range(args.swaps):
            deliver(plugins, builds[n % 2], target)
            n += 1
            t0 = time.perf_counter()
            host.stop()
            c.close()
            ctl.close()
            host.start()
            # A sender without hot reload keeps trying; each failed try is an input not taken.
            while True:
                try:
                    c = Client(sock, deadline=0)
                    break
                except OSError:
                    restart_lost += 1
                    time.sleep(0.001)
            send()
            restart_lat.append(time.perf_counter() - t0)
            ctl = Client(sock)

        # Memory after many swaps.
        rss_before = host.rss_kb()
        for _ in range(args.many):
            deliver(plugins, builds[n % 2], target)
            n += 1
            ctl.ask({"cmd": "reload"})
            send()
        status = ctl.ask({"cmd": "status"})
        rss_after = host.rss_kb()
        c.close()
        ctl.close()
        host.stop()
        store = os.path.join(work, "store.db")
        counted = 0
        for l in range(10):
            out = subprocess.run([livebot, "state", f"home-{l}", "counter", "--json", "--store", store],
                                 check=True, capture_output=True, text=True).stdout
            counted += json.loads(out)["instances"][0]["state"].get("count", 0)

        res = {
            "steady_rtt_us": steady * 1e6,
            "swap": {"p50_ms": pct(swap_lat, 50) * 1e3, "p99_ms": pct(swap_lat, 99) * 1e3,
                     "delayed": delayed["swap"], "lost": 0},
            "watch": {"p50_ms": pct(lat["watch"], 50) * 1e3, "p99_ms": pct(lat["watch"], 99) * 1e3,
                      "debounce_and_settle_ms": args.debounce_ms + 50, "delayed": delayed["watch"],
                      "p50_beyond_debounce_ms": pct(lat["watch"], 50) * 1e3 - args.debounce_ms - 50},
            "restart": {"p50_ms": pct(restart_lat, 50) * 1e3, "p99_ms": pct(restart_lat, 99) * 1e3,
                        "refused_connects": restart_lost},
            "ratio_restart_over_swap_p50": pct(restart_lat, 50) / pct(swap_lat, 50),
            "rtt_us": {k: statistics.median(v) * 1e6 for k, v in around.items()},
            "after_many": {"swaps": args.many, "rss_kb_before": rss_before, "rss_kb_after": rss_after,
                           "mapped_images": len(status["mapped_images"])},
            "inputs_sent": seq, "inputs_counted": counted,
            "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                        "kernel": platform.release()},
        }
        res["swap"]["lost"] = seq - counted
        if args.json:
            print(json.dumps(res, indent=2))
            return
        print(f"steady round trip of one input: {res['steady_rtt_us']:.0f} us")
        print(f"{'':<10}{'p50 ms':>10}{'p99 ms':>10}")
        print(f"{'swap':<10}{res['swap']['p50_ms']:>10.2f}{res['swap']['p99_ms']:>10.2f}"
              f"   inputs delayed {delayed['swap']}, lost {res['swap']['lost']}")
        w = res["watch"]
        print(f"{'watch':<10}{w['p50_ms']:>10.2f}{w['p99_ms']:>10.2f}"
              f"   of which debounce + settle {w['debounce_and_settle_ms']} ms; beyond it (p50) "
              f"{w['p50_beyond_debounce_ms']:.2f} ms; inputs delayed {w['delayed']}")
        print(f"{'restart':<10}{res['restart']['p50_ms']:>10.2f}{res['restart']['p99_ms']:>10.2f}"
              f"   connects refused while down {restart_lost}")
        print(f"restart / swap (p50): {res['ratio_restart_over_swap_p50']:.1f}x")
        print("round trip (median us): " + ", ".join(f"{k} {v:.0f}" for k, v in res["rtt_us"].items()))
        a = res["after_many"]
        print(f"after {a['swaps']} swaps: RSS {a['rss_kb_before']} -> {a['rss_kb_after']} kB, "
              f"{a['mapped_images']} mapped image(s)")
        print(f"inputs sent {seq}, counted in the store {counted}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
