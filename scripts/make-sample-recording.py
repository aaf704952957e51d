#!/usr/bin/env python3
"""Writes a synthetic botengine recording (JSON) for tests and examples.

The format is that of the published 14-day recording; the project ships no
real data, so this is what its tests and examples play.

One home with two motion sensors, an entry sensor and a hub, over N days:
daily mode changes drive when people move and open the door; the hub reports
its signal every ~5 minutes. The same seed gives the same bytes.
"""

import argparse
import bisect
import datetime
import json
import random
import sys
import zoneinfo

LOCATION_ID = "sample-home"
TIMEZONE = "US/Pacific"
INITIAL_MODE = "HOME.DEFAULT.:.PRESENT.AI"
# Local midnight, 1 June 2025, US/Pacific.
DEFAULT_START_MS = 1748761200000

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

PRESENT, ABSENT, H2S, SLEEP, S2H = "PRESENT", "ABSENT", "H2S", "SLEEP", "S2H"

# device id -> (device_type, description, initial parameters, in row order)
DEVICES = {
    "sample-living-motion": ("9138", "Living-Room-Motion-Sensor", {
        "behavior": "50", "spaces": "5", "[online]": "1", "alarmStatus": "0",
        "degC": "22.5", "illuminance": "40", "motionStatus": "0"}),
    "sample-bedroom-motion": ("9138", "Bedroom-Motion-Sensor", {
        "behavior": "50", "spaces": "2", "[online]": "1", "alarmStatus": "0",
        "degC": "21", "illuminance": "10", "motionStatus": "0"}),
    "sample-front-door": ("9114", "Front-Door", {
        "behavior": "0", "doorStatus": "0"}),
    "sample-hub": ("37", "Smart-Home-Center", {
        "behavior": "-1", "[online]": "1", "batteryStatus": "1",
        "batteryVoltage": "4.1", "mobileSignal": "6", "permitJoining": "0",
        "powerStatus": "2"}),
}

# Chance per minute that someone moves in front of a sensor, by mode.
MOTION_RATE = {
    "sample-living-motion": {PRESENT: 0.3, ABSENT: 0.002, H2S: 0.05, SLEEP: 0.004, S2H: 0.3},
    "sample-bedroom-motion": {PRESENT: 0.05, ABSENT: 0.001, H2S: 0.3, SLEEP: 0.01, S2H: 0.2},
}


class Events:
    """Changes to devices and the location, sorted by time before rows are made."""

    def __init__(self, start_ms, end_ms):
        self.start_ms, self.end_ms = start_ms, end_ms
        self.items = []

    def add(self, t, device, changes, updated="auto", trigger="8"):
        """`updated` is the updated_params text: "auto" names the changes, None omits it."""
        if self.start_ms <= t < self.end_ms:
            self.items.append((t, len(self.items), trigger, device, changes, updated))


def local_ms(day_start, hour, minute, rng, tz):
    """The ms of a local time on the day starting at day_start, jittered by minutes."""
    day = datetime.datetime.fromtimestamp(day_start / 1000, tz).date()
    at = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return int(at.timestamp()) * 1000 + rng.randint(-20, 20) * MINUTE + rng.randint(0, 59) * 1000


def mode_timeline(events, rng, tz, days):
    """A day of modes: wake, leave for lunch, return, bed. Returns (times, modes)."""
    times, modes = [events.start_ms], [PRESENT]
    for d in range(-1, days + 1):
        day = events.start_ms + d * DAY
        wake = local_ms(day, 7, 0, rng, tz)
        plan = [
            (wake, S2H), (wake + rng.randint(4, 30) * 1000, PRESENT),
            (local_ms(day, 11, 45, rng, tz), ABSENT), (local_ms(day, 13, 40, rng, tz), PRESENT),
            (local_ms(day, 22, 15, rng, tz), H2S), (local_ms(day, 23, 10, rng, tz), SLEEP),
        ]
        if rng.random() < 0.5:  # some evenings out
            out = local_ms(day, 18, 0, rng, tz)
            plan += [(out, ABSENT), (out + rng.randint(40, 120) * MINUTE, PRESENT)]
        for t, mode in sorted(plan):
            if t <= times[-1]:
                continue
            times.append(t)
            modes.append(mode)
            event = f"HOME.DEFAULT.:.{mode}.AI"
            # The real recording wraps PRESENT in extra quotes; keep that quirk.
            if mode == PRESENT:
                event = f'"{event}"'
            events.add(t, None, {"event": event, "source_type": "2"}, trigger="2")
            if mode == ABSENT or (mode == PRESENT and modes[-2] == ABSENT):
                door_open(events, rng, t - rng.randint(10, 90) * 1000, rng.randint(5, 40))
    return times, modes


def door_open(events, rng, t, seconds):
    events.add(t, "sample-front-door", {"doorStatus": "1"})
    events.add(t + seconds * 1000 + rng.randint(0, 999), "sample-front-door", {"doorStatus": "0"})


def motion(events, rng, device, times, modes):
    busy_until = events.start_ms
    for t in range(events.start_ms, events.end_ms, MINUTE):
        mode = modes[bisect.bisect_right(times, t) - 1]
        if t < busy_until or rng.random() >= MOTION_RATE[device][mode]:
            continue
        on = t + rng.randint(0, MINUTE - 1)
        off = on + rng.randint(20, 240) * 1000
        events.add(on, device, {"motionStatus": "1"})
        events.add(off, device, {"motionStatus": "0"})
        busy_until = off + rng.randint(5, 60) * 1000


def climate(events, rng, tz, device, base_c):
    """Temperature with a daily swing, light with daylight, a few alarm flips."""
    t = events.start_ms + rng.randint(0, 30) * MINUTE
    while t < events.end_ms:
        hour = datetime.datetime.fromtimestamp(t / 1000, tz).hour
        daylight = max(0.0, 1 - abs(hour - 13) / 7)
        if rng.random() < 0.5:
            deg = base_c + 3 * daylight + rng.uniform(-0.4, 0.4)
            events.add(t, device, {"degC": f"{deg:.1f}".rstrip("0").rstrip(".")})
        else:
            lux = int(daylight * rng.randint(300, 900) + rng.randint(0, 8))
            events.add(t, device, {"illuminance": str(lux)})
        if rng.random() < 0.05:
            events.add(t + rng.randint(1, 50) * 1000, device, {"alarmStatus": str(rng.randint(0, 1))})
        t += rng.randint(15, 45) * MINUTE + rng.randint(0, 59_999)


def hub(events, rng, days):
    """Signal every ~5 minutes; a power blip once a day; a couple of odd rows."""
    t = events.start_ms + rng.randint(0, 299_999)
    signals = ["99", "99", "7", "6", "6", "5", "4", "1"]
    while t < events.end_ms:
        events.add(t, "sample-hub", {"mobileSignal": rng.choice(signals)})
        t += rng.randint(240, 360) * 1000 + rng.randint(0, 999)
    for d in range(days):
        blip = events.start_ms + d * DAY + rng.randint(1, 22) * HOUR + rng.randint(0, HOUR)
        # A power loss reports several parameters in one row, some twice.
        events.add(blip, "sample-hub",
                   {"batteryStatus": "2", "batteryVoltage": "4.05", "powerStatus": "1",
                    "permitJoining": "1"},
                   updated="batteryStatus,batteryStatus,batteryVoltage,permitJoining,"
                           "powerStatus,powerStatus")
        back = blip + rng.randint(5, 40) * MINUTE
        events.add(back, "sample-hub",
                   {"batteryStatus": "1", "powerStatus": "2", "permitJoining": "0"},
                   updated="batteryStatus,powerStatus,permitJoining")
        events.add(back + rng.randint(1, 5) * MINUTE, "sample-hub",
                   {"batteryVoltage": "4.1", "mobileSignal": "6"},
                   updated="batteryVoltage,mobileSignal")
    # The hub coming back online reports its state with no updated_params.
    for _ in range(2):
        events.add(events.start_ms + rng.randint(0, days * DAY - 1), "sample-hub", {}, updated=None)


def alerts(events, rng, days):
    """Device alerts: whole-second timestamps, the device's state, no updated_params."""
    for _ in range(days + 2):
        device = rng.choice(["sample-living-motion", "sample-bedroom-motion", "sample-hub"])
        t = (events.start_ms + rng.randint(0, days * DAY - 1)) // 1000 * 1000
        events.add(t, device, {}, updated=None, trigger="4")


def iso(ms):
    at = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return at.isoformat() + "Z"


def rows(events, tz):
    state = {device: dict(params) for device, (_, _, params) in DEVICES.items()}
    out = []
    for t, _, trigger, device, changes, updated in sorted(events.items):
        row = {"trigger": trigger, "location_id": LOCATION_ID}
        if device is not None:
            device_type, description, _ = DEVICES[device]
            row.update(device_type=device_type, device_id=device, description=description)
        local = datetime.datetime.fromtimestamp(t / 1000, tz)
        row.update(timestamp_ms=str(t), timestamp_iso=iso(t),
                   timestamp_excel=local.strftime("%m/%d/%Y %H:%M:%S"))
        if device is None:
            row.update(changes)
        else:
            state[device].update(changes)
            if updated == "auto":
                row["updated_params"] = ",".join(changes)
            elif updated is not None:
                row["updated_params"] = updated
            row.update(state[device])
        out.append(row)
    return out


def recording(days, seed, start_ms):
    rng = random.Random(seed)
    tz = zoneinfo.ZoneInfo(TIMEZONE)
    events = Events(start_ms, start_ms + days * DAY)
    times, modes = mode_timeline(events, rng, tz, days)
    for device in MOTION_RATE:
        motion(events, rng, device, times, modes)
    climate(events, rng, tz, "sample-living-motion", 21.5)
    climate(events, rng, tz, "sample-bedroom-motion", 20.0)
    for d in range(days):
        for _ in range(rng.randint(1, 4)):  # errands: the door, now and then
            t = start_ms + d * DAY + rng.randint(9, 20) * HOUR + rng.randint(0, HOUR)
            door_open(events, rng, t, rng.randint(3, 600))
    hub(events, rng, days)
    alerts(events, rng, days)
    return {
        "data_requests": {},
        "location_info": {
            "id": LOCATION_ID,
            "name": "Sample Home",
            "timezone": {"id": TIMEZONE, "offset": -480, "dst": True, "name": "Pacific Time"},
            "event": INITIAL_MODE,
        },
        "device_properties": {device: None for device in DEVICES},
        "device_parameters": {device: [] for device in DEVICES},
        "data": rows(events, tz),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="days to cover (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--start-ms", type=int, default=DEFAULT_START_MS,
                        help="first instant, ms since the epoch (default 2025-06-01 local midnight)")
    parser.add_argument("--output", help="file to write (default stdout)")
    args = parser.parse_args()
    if args.days < 1:
        parser.error("--days must be at least 1")
    text = json.dumps(recording(args.days, args.seed, args.start_ms), indent=None) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
