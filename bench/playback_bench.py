#!/usr/bin/env python3
"""Benchmark: the 14-day recording through an example bot (Lesson 2 unless --bot).

Runs `livebot playback --json` several times per configuration and reports
the median of each figure. Configurations, side by side in one run:
  batched   the default: executions committed in batches (with their row)
  per-exec  every execution in its own transaction (--commit-every 1)
Executions include those of timers, alarms and schedules, which are also
counted apart. Host overhead per execution = (play time - time inside plugin
callbacks) divided by executions.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile


def run(livebot, recording, bot, extra):
    with tempfile.TemporaryDirectory() as out:
        cmd = [livebot, "playback", recording, "--bot", bot, "--out", out, "--json", "-q"] + extra
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(res.stdout)


def figures(s):
    execs = s["executions"]
    return {
        "wall_s": s["wall_seconds"],
        "read_s": s["read_seconds"],
        "play_s": s["play_seconds"],
        "rows_per_s": s["rows_played"] / s["wall_seconds"],
        "play_rows_per_s": s["rows_played"] / s["play_seconds"],
        "executions_per_s": execs / s["play_seconds"],
        "host_us_per_exec": (s["play_seconds"] - s["plugin_seconds"]) / execs * 1e6,
        "plugin_us_per_exec": s["plugin_seconds"] / execs * 1e6,
        "peak_rss_mb": s["peak_rss_kb"] / 1024,
        "executions": execs,
        "timer_executions": s["timer_executions"],
        "schedule_executions": s["schedule_executions"],
        "rows": s["rows_played"],
        "commits": s["commits"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--recording", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                        "recordings", "14_days_of_data.zip"))
    ap.add_argument("--bot", default="lesson2-v2", help="an example bot: a directory of build/examples/bots")
    ap.add_argument("--configs", default="batched,per-exec", help="comma-separated: batched, per-exec")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    livebot = os.path.join(args.build, "host", "cli", "livebot")
    bot = os.path.join(args.build, "examples", "bots", args.bot)
    if not os.path.exists(args.recording):
        sys.exit(f"bench: {args.recording}: recording not found")

    known = {"batched": [], "per-exec": ["--commit-every", "1"]}
    configs = args.configs.split(",")
    for name in configs:
        if name not in known:
            sys.exit(f"bench: --configs: unknown configuration '{name}' (known: {', '.join(known)})")
    results = {}
    for name in configs:
        runs = [figures(run(livebot, args.recording, bot, known[name])) for _ in range(args.runs)]
        results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    results["bot"] = args.bot
    results["machine"] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version(), "kernel": platform.release(),
                          "load_average_1_5_15": os.getloadavg()}
    if "batched" in results and "per-exec" in results:
        results["ratio_per_exec_over_batched_wall"] = results["per-exec"]["wall_s"] / results["batched"]["wall_s"]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    first = results[configs[0]]
    print(f"{args.bot}: median of {args.runs} runs, {first['rows']:.0f} rows, {first['executions']:.0f} executions "
          f"({first['timer_executions']:.0f} timers, {first['schedule_executions']:.0f} schedules); "
          f"load average {results['machine']['load_average_1_5_15'][0]:.2f}")
    keys = ["wall_s", "read_s", "play_s", "rows_per_s", "play_rows_per_s", "executions_per_s",
            "host_us_per_exec", "plugin_us_per_exec", "peak_rss_mb", "commits"]
    print(f"{'figure':<20}" + "".join(f"{c:>14}" for c in configs))
    for k in keys:
        print(f"{k:<20}" + "".join(f"{results[c][k]:>14.3f}" for c in configs))
    if "ratio_per_exec_over_batched_wall" in results:
        print(f"per-exec / batched wall time: {results['ratio_per_exec_over_batched_wall']:.2f}x")


if __name__ == "__main__":
    main()
