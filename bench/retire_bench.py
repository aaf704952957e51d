#!/usr/bin/env python3
"""Benchmark: the retirement sweep, and what it costs live executions.

A store is made with N locations, each holding the state of two location
microservices (the test suite's probe_a and probe_b, one real execution's
bytes copied N times with SQLite). A live host (`livebot run`) opens it and is
told `retire probe_a`; the sweep purges every location (destroy, delete,
purge record) and the library is released. Reported, per N:
  sweep     locations purged per second, from the start of the retirement
            to its release, as the store records them (median of --runs
            runs, each on a fresh copy)
  latency   the round trip of one live execution (send, execute, commit,
            answer) to other locations, p50 and p99, with no sweep running
            and while a sweep runs unbounded (--retire-rate 0) and at the
            default 100 per second
"""
import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

from control_client import Client


def manifest(plugins):
    return {"bot": "retire-bench", "version": "1.0.0", "triggers": 14,
            "microservices": {"location": [{"name": "probe_a", "plugin": plugins + "/probe_a.so"},
                                           {"name": "probe_b", "plugin": plugins + "/probe_b.so"}]}}


class Host:
    def __init__(self, livebot, bot, store, sock, rate):
        self.sock = sock
        if os.path.exists(sock):
            os.unlink(sock)
        self.proc = subprocess.Popen([livebot, "run", "--bot", bot, "--store", store, "--socket", sock,
                                      "--no-watch", "--retire-rate", str(rate)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ctl = Client(sock, deadline=600)
        # Answered once the loop runs: opening a big store loads every
        # location with something due first.
        self.ctl.ask({"cmd": "status"})

    def stop(self):
        self.ctl.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()


def measurement(location):
    return {"cmd": "send", "location": location, "kind": "measurement",
            "devices": [{"id": "door", "type": 10014, "params": {"doorStatus": "OPEN"}}]}


def make_store(livebot, bot, path, n, work):
    """One real execution, then its rows copied to n locations."""
    host = Host(livebot, bot, path, os.path.join(work, "seed.sock"), 100)
    host.ctl.ask(measurement("seed"))
    host.stop()
    db = sqlite3.connect(path)
    loc = db.execute("SELECT mode, timezone, bot_version FROM locations WHERE id = 'seed'").fetchone()
    insts = db.execute("SELECT microservice, schema_hash, state FROM instances WHERE location = 'seed'").fetchall()
    next_id = db.execute("SELECT value FROM counters WHERE name = 'instance_id'").fetchone()[0] + 1
    with db:
        db.executemany("INSERT INTO locations (id, mode, timezone, bot_version) VALUES (?, ?, ?, ?)",
                       ((f"{i:07d}",) + loc for i in range(n)))
        rows = []
        for i in range(n):
            for ms, h, state in insts:
                rows.append((next_id, f"{i:07d}", ms, "", h, state))
                next_id += 1
        db.executemany("INSERT INTO instances (instance_id, location, microservice, device_id, schema_hash, state) "
                       "VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.execute("UPDATE counters SET value = ? WHERE name = 'instance_id'", (next_id,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def latencies(client, seconds, done=None):
    """Round trips of executions to live locations for `seconds` (or until
    done(), asked every 0.2 s: a status costs a count over every location)."""
    out, end, i, asked = [], time.monotonic() + seconds, 0, time.monotonic()
    while time.monotonic() < end:
        if done and time.monotonic() - asked > 0.2:
            if done():
                break
            asked = time.monotonic()
        t = time.perf_counter()
        r = client.ask(measurement(f"live-{i % 10}"))
        out.append(time.perf_counter() - t)
        assert r["ok"], r
        i += 1
    return out


def retired(ctl):
    for r in ctl.ask({"cmd": "status"})["retirements"]:
        if r["name"] == "probe_a":
            return r["state"] == "retired"
    return False


def run(livebot, bot, template, work, rate, window):
    """Retires probe_a; with a window, live executions are timed before the
    retire request and during the sweep, for at most `window` seconds."""
    store = os.path.join(work, "store.db")
    shutil.copy(template, store)
    host = Host(livebot, bot, store, os.path.join(work, "host.sock"), rate)
    live = Client(host.sock)
    before = latencies(live, window) if window else []
    t0 = time.perf_counter()
    r = host.ctl.ask({"cmd": "retire", "microservice": "probe_a"})
    assert r["ok"], r
    during = latencies(live, window, done=lambda: retired(host.ctl)) if window else []
    while not window and not retired(host.ctl):
        time.sleep(0.5)  # a status costs a count over every location
    r = host.ctl.ask({"cmd": "status"})["retirements"][0]
    purged = r["purged"]
    # The host's own clock: from the start of the retirement to its release.
    took = (r["released_ms"] - r["started_ms"]) / 1000 if r["state"] == "retired" else time.perf_counter() - t0
    live.close()
    host.stop()
    return purged, took, before, during


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=3, help="sweeps timed per size")
    ap.add_argument("--window", type=float, default=3, help="seconds of live executions timed per phase")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    livebot = os.path.join(args.build, "host/cli/livebot")
    plugins = os.path.join(os.path.abspath(args.build), "tests/plugins")
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "load_before": os.getloadavg()[0]}, "sizes": {}}
    with tempfile.TemporaryDirectory() as work:
        bot = os.path.join(work, "bot")
        os.makedirs(bot)
        with open(os.path.join(bot, "bot.json"), "w") as f:
            json.dump(manifest(plugins), f)
        for n in (int(x) for x in args.sizes.split(",")):
            template = os.path.join(work, f"template-{n}.db")
            make_store(livebot, bot, template, n, work)
            rates = []
            for _ in range(args.runs):
                purged, took, _, _ = run(livebot, bot, template, work, 0, 0)
                rates.append(purged / took)
            _, _, quiet, unbounded = run(livebot, bot, template, work, 0, args.window)
            _, _, _, bounded = run(livebot, bot, template, work, 100, args.window)
            res = {"locations": n, "sweep_per_s_median": statistics.median(rates),
                   "sweep_per_s_runs": rates,
                   "latency_ms": {k: {"p50": pct(v, 50) * 1e3, "p99": pct(v, 99) * 1e3, "n": len(v)}
                                  for k, v in (("no sweep", quiet), ("sweep unbounded", unbounded),
                                               ("sweep 100/s", bounded)) if v}}
            results["sizes"][n] = res
            if not args.json:
                print(f"{n} locations: sweep {res['sweep_per_s_median']:.0f} locations/s "
                      f"(runs: {', '.join(f'{r:.0f}' for r in rates)})")
                for k, v in res["latency_ms"].items():
                    print(f"  live execution {k:16s} p50 {v['p50']:.3f} ms  p99 {v['p99']:.3f} ms  ({v['n']})")
    results["machine"]["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"load average {results['machine']['load_before']:.1f} before, "
              f"{results['machine']['load_after']:.1f} after; {results['machine']['cpus']} cpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
