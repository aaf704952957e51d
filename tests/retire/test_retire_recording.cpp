// Retirement with a real bot (Lessons 1 and 2) on the real 14-day
// recording, its rows spread over several locations and sent to a live host:
// a device microservice removed mid-stream and its file deleted at once.
// Every other microservice's state must end byte for byte as in a run where
// nothing was removed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "control/protocol.hpp"
#include "playback/recording.hpp"
#include "retire/retire_host.hpp"
#include "support/paths.hpp"

using namespace livebot;
using livebot::test::RetireHost;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kLocations = 6;
constexpr size_t kRows = 2400;

const std::string bots = LIVEBOT_BOT_DIR;

json lesson_manifest() {
  return {{"bot", "lessons-1-2"},
          {"version", "1.0.0"},
          {"triggers", 14},
          {"microservices",
           {{"location",
             {{{"name", "device_types"}, {"plugin", "lesson1_device_types.so"}},
              {{"name", "location_memory"}, {"plugin", "lesson2_memory_v2.so"}}}},
            {"device",
             {{{"name", "entry_sensor"}, {"plugin", "lesson1_entry_sensor.so"}, {"device_types", {9114}}},
              {{"name", "motion_sensor"}, {"plugin", "lesson1_motion_sensor.so"}, {"device_types", {9138}}}}}}}};
}

// The recording's first rows as protocol lines, row i going to location i
// mod kLocations; written in two halves.
struct Lines {
  std::string first, second;
};

Lines write_lines(const std::string &dir) {
  const std::string path = fs::exists(test::shared_recording) ? test::shared_recording : LIVEBOT_SAMPLE_RECORDING;
  const auto rec = playback::read_recording(path);
  REQUIRE(rec.rows.size() >= kRows);
  Lines out{dir + "/first.lines", dir + "/second.lines"};
  std::ofstream first(out.first), second(out.second);
  for (size_t i = 0; i < kRows; ++i) {
    const auto &row = rec.rows[i];
    control::SendRequest r;
    r.location = "rec-" + std::to_string(i % kLocations);
    r.timestamp_ms = row.timestamp_ms;
    if (row.trigger == playback::Trigger::Mode) {
      r.kind = engine::Input::Kind::Mode;
      r.mode = row.mode;
    } else {
      r.kind = row.trigger == playback::Trigger::Alert ? engine::Input::Kind::Alert : engine::Input::Kind::Measurement;
      r.alert_type = row.alert_type;
      control::DeviceEvent d{row.device_id, row.device_type, row.description, {}, {}};
      for (const auto &p : row.params) d.params.emplace_back(std::string(p.name), p.value);
      r.devices.push_back(std::move(d));
    }
    (i < kRows / 2 ? first : second) << control::encode_send(r) << '\n';
  }
  return out;
}

const std::vector<std::string> kFiles = {bots + "/lesson1/lesson1_device_types.so", bots + "/lesson1/lesson1_entry_sensor.so",
                                         bots + "/lesson1/lesson1_motion_sensor.so",
                                         bots + "/lesson2-v2/lesson2_memory_v2.so"};

void send(const RetireHost &h, const std::string &lines) {
  const auto r = test::retire_cli.run({"send", "--lines", lines, "--socket", h.socket});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

const char *kOthers =
    "SELECT location, microservice, device_id, schema_hash, state FROM instances "
    "WHERE microservice != 'entry_sensor' ORDER BY 1, 2, 3";

// After the retirement: nothing of entry_sensor, and the rest as in `control`.
void check_against(const RetireHost &h, const std::vector<std::string> &control) {
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'entry_sensor'") == 0);
  CHECK(h.count("SELECT count(*) FROM purges") == 0);
  CHECK(h.rows("SELECT state, purged FROM retirements WHERE microservice = 'entry_sensor'") ==
        std::vector<std::string>{"retired|" + std::to_string(kLocations)});
  const auto others = h.rows(kOthers);
  CHECK(others.size() == control.size());
  CHECK(others == control);
}

}  // namespace

TEST_CASE("a device microservice removed mid-recording: drained, released, every other state as if never removed",
          "[retire][recording]") {
  test::TempDir scratch;
  const auto lines = write_lines(scratch.path());

  std::vector<std::string> control;
  {
    RetireHost h(lesson_manifest(), kFiles);
    h.start("100");
    send(h, lines.first);
    send(h, lines.second);
    CHECK(h.stop().exit_code == 0);
    REQUIRE(h.count("SELECT count(*) FROM instances WHERE microservice = 'entry_sensor'") > 0);
    control = h.rows(kOthers);
    REQUIRE(control.size() > 2 * kLocations);
  }

  SECTION("removed between two halves of the stream") {
    RetireHost h(lesson_manifest(), kFiles);
    h.start("100");
    send(h, lines.first);
    h.drop("entry_sensor");
    fs::remove(h.bot + "/lesson1_entry_sensor.so");
    REQUIRE(RetireHost::wait_until([&] { return h.retirement("entry_sensor").is_object(); }));
    send(h, lines.second);
    REQUIRE(h.wait_retired("entry_sensor"));
    CHECK(h.retirement("entry_sensor")["safe_to_delete"] == true);
    const auto stopped = h.stop();
    CHECK(stopped.exit_code == 0);
    CHECK_THAT(stopped.err, Catch::Contains("lesson1_entry_sensor.so is safe to delete"));
    check_against(h, control);
  }

  SECTION("and the host killed during the sweep, then restarted") {
    RetireHost h(lesson_manifest(), kFiles);
    h.start("1");
    send(h, lines.first);
    h.drop("entry_sensor");
    fs::remove(h.bot + "/lesson1_entry_sensor.so");
    REQUIRE(RetireHost::wait_until([&] {
      const auto r = h.retirement("entry_sensor");
      return r.is_object() && r["purged"].get<int64_t>() >= 1;
    }));
    h.kill9();
    CHECK(h.count("SELECT count(*) FROM purges") < kLocations);
    h.start("100");
    send(h, lines.second);
    REQUIRE(h.wait_retired("entry_sensor"));
    CHECK(h.stop().exit_code == 0);
    check_against(h, control);
  }
}
