// @NAME@ plays recording.json through the SDK's livebot: `livebot playback
// --json` prints what ran, `livebot state` what the microservice kept. The
// recording: one device of type @DEVICE_TYPE@ reporting three times, a mode
// change and an alert.
#include <catch2/catch.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using nlohmann::json;

std::string quoted(const std::string &s) { return "'" + s + "'"; }

// What `livebot ARGS` prints, as JSON; the test fails unless it exits 0.
json livebot(const std::string &args) {
  FILE *out = popen((quoted(LIVEBOT) + " " + args).c_str(), "r");
  REQUIRE(out);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
  REQUIRE(pclose(out) == 0);
  return json::parse(text);
}

}  // namespace

TEST_CASE("@NAME@ plays the recording") {
  const json summary =
      livebot("playback --json " + quoted(RECORDING) + " --bot " + quoted(BOT_DIR) + " --out " + quoted(OUT_DIR));
  CHECK(summary["complete"] == true);
  CHECK(summary["rows_played"] == 5);
  CHECK(summary["errors"] == 0);
  REQUIRE(summary["microservices"].size() == 1);
  const json &ms = summary["microservices"][0];
  CHECK(ms["name"] == "@NAME@");
  CHECK(ms["errors"] == 0);
  CHECK(ms["callbacks"]["construct"] == 1);
  CHECK(ms["callbacks"]["device_measurements_updated"] == 3);
  CHECK(ms["callbacks"]["mode_updated"] == 1);
  CHECK(ms["callbacks"]["device_alert"] == 1);

  const json location = livebot("state home --json --store " + quoted(summary["store"]));
  REQUIRE(location["instances"].size() == 1);
  const json &state = location["instances"][0]["state"];
  CHECK(state["measurements"] == 3);
@location@  CHECK(state["mode_changes"] == 1);
@location@  CHECK(state["last_mode"] == "HOME.DEFAULT.:.AWAY.AI");
@device@  CHECK(state["alerts"] == 1);
@device@  CHECK(state["last_alert"] == "tamper");
}
