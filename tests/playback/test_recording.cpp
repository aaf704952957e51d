// The recording reader: the real 14-day recording, the project's generated
// sample, and every kind of malformed input with the message it must give.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "playback/recording.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;
using namespace livebot::playback;
using Catch::Matchers::StartsWith;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("livebot-test-recording-" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string &name, const std::string &text) const {
    std::string file = (path / name).string();
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
};

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a shell command; the test fails if it does.
void run(const std::string &command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

// Writes a zip holding the given files (python3's zipfile: no zip tool needed).
void make_zip(const std::string &zip, const std::vector<std::string> &files) {
  std::string list;
  for (const auto &f : files) list += " '" + f + "'";
  run("python3 -c 'import sys, zipfile, os; z = zipfile.ZipFile(sys.argv[1], \"w\", "
      "zipfile.ZIP_DEFLATED); [z.write(f, os.path.basename(f)) for f in sys.argv[2:]]; z.close()' '" +
      zip + "'" + list);
}

std::string error_of(const std::string &path) {
  try {
    read_recording(path);
  } catch (const livebot::Error &e) {
    return e.what();
  }
  return "(no error)";
}

const std::string script = livebot::test::source_root + "/scripts/make-sample-recording.py";

// A recording around `rows`: the text of JSON objects, comma separated.
std::string doc(const std::string &rows) {
  return R"({"location_info": {"id": "home"}, "data": [)" + rows + "]}";
}

const std::string good_row =
    R"({"trigger": "8", "timestamp_ms": "1000", "device_id": "d", "device_type": "9138"})";

}  // namespace

TEST_CASE("the real 14-day recording reads completely", "[recording][real]") {
  const std::string &zip = livebot::test::shared_recording;
  if (!fs::exists(zip)) {
    WARN("skipped: the shared recording is absent at " << zip);
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  Recording rec = read_recording(zip);
  auto t1 = std::chrono::steady_clock::now();

  REQUIRE(rec.rows.size() == 69398);
  CHECK(rec.skipped.empty());
  CHECK(rec.path == zip);
  CHECK(rec.location_id == "1234567");  // a JSON number in location_info
  CHECK(rec.timezone == "US/Pacific");
  CHECK(rec.initial_mode == "HOME.DEFAULT.:.PRESENT.AI");
  CHECK(rec.content_hash.size() == 32);

  std::map<Trigger, int> triggers;
  std::set<std::string> devices, locations, modes;
  bool multi = false, ordered = true, indexed = true;
  int64_t without_updated = 0;
  for (size_t i = 0; i < rec.rows.size(); ++i) {
    const Row &row = rec.rows[i];
    ++triggers[row.trigger];
    locations.insert(row.location_id);
    if (row.trigger == Trigger::Mode) {
      modes.insert(row.mode);
    } else {
      devices.insert(row.device_id);
    }
    if (row.updated_params.empty()) ++without_updated;
    // The hub's power-loss row names six parameters, some twice.
    if (row.updated_params.size() == 6 && row.updated_params[0] == "batteryStatus" &&
        row.updated_params[1] == "batteryStatus") {
      multi = true;
    }
    if (i > 0 && row.timestamp_ms < rec.rows[i - 1].timestamp_ms) ordered = false;
    indexed &= row.index == int64_t(i);  // nothing skipped, so index == position
  }
  CHECK(triggers[Trigger::Measurement] == 69309);
  CHECK(triggers[Trigger::Mode] == 68);
  CHECK(triggers[Trigger::Alert] == 21);
  CHECK(devices.size() == 7);
  CHECK(locations == std::set<std::string>{"1234567", "1663599"});
  CHECK(modes == std::set<std::string>{"HOME.DEFAULT.:.ABSENT.AI", "HOME.DEFAULT.:.H2S.AI",
                                       "HOME.DEFAULT.:.PRESENT.AI", "HOME.DEFAULT.:.S2H.AI",
                                       "HOME.DEFAULT.:.SLEEP.AI"});
  CHECK(multi);
  CHECK(without_updated == 89);  // mode and alert rows carry none
  CHECK(ordered);
  CHECK(indexed);

  // Names are interned: a few dozen strings serve every row.
  CHECK(rec.names.size() < 40);
  const Row &first = rec.rows.front();
  CHECK(first.trigger == Trigger::Measurement);
  CHECK(first.device_type == 9138);
  REQUIRE_FALSE(first.params.empty());
  bool interned = false;
  for (const auto &name : rec.names) interned |= name.data() == first.params[0].name.data();
  CHECK(interned);

  // The same JSON read from a .json file: same content, same hash.
  TempDir tmp;
  run("python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' '" +
      zip + "' '" + tmp.path.string() + "'");
  std::string json_path = (tmp.path / "recording-14_days_of_data.json").string();
  std::string text = slurp(json_path);
  auto t2 = std::chrono::steady_clock::now();
  Recording from_text = parse_recording(text, json_path);
  auto t3 = std::chrono::steady_clock::now();
  Recording from_json = read_recording(json_path);
  auto t4 = std::chrono::steady_clock::now();
  CHECK(from_text.content_hash == rec.content_hash);
  CHECK(from_text.rows.size() == rec.rows.size());
  CHECK(from_json.content_hash == rec.content_hash);

  // Printed, not asserted: timings depend on the machine and its load.
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("14-day recording (%zu MB): read_recording .zip %.0f ms, .json %.0f ms; "
              "parse_recording %.0f ms\n",
              text.size() >> 20, ms(t1 - t0), ms(t4 - t3), ms(t3 - t2));
}

TEST_CASE("malformed recordings give one-line errors naming the place", "[recording][errors]") {
  TempDir tmp;
  auto expect = [&](const std::string &json, const std::string &what) {
    std::string path = tmp.write("bad.json", json);
    CHECK(error_of(path) == path + ": " + what);
  };

  SECTION("not JSON") {
    std::string path = tmp.write("bad.json", "this is not json");
    CHECK_THAT(error_of(path), StartsWith(path + ": not valid JSON at line 1, column 2: "));  // "th" is no literal
    // Where the first error is, counted the way an editor counts.
    path = tmp.write("bad.json", "{\"data\": [\n  {\"trigger\": \"8\",\n   \"x\": tru}\n]}");
    CHECK_THAT(error_of(path), StartsWith(path + ": not valid JSON at line 3, column 12: "));
    path = tmp.write("bad.json", "{\"data\": [\n  {\"trigger\": \"8\",\n   \"\u00e9t\u00e9\": tru}\n]}");
    CHECK_THAT(error_of(path), StartsWith(path + ": not valid JSON at line 3, column 14: "));  // é is one character
    // Truncated, trailing garbage, no opening brace, a bad literal in a row.
    const std::vector<std::string> texts = {
        R"({"data": [)", R"({"data": []} x)", doc(good_row).substr(1),
        doc(R"({"trigger": "8", "timestamp_ms": "1", "x": tru})"),
        // In the parts the reader has no use for, which on demand skips.
        R"({"data_requests": {"a": [1, tru]}, "data": []})", R"({"device_properties": {"x": 01}, "data": []})",
        R"({"data": [], "device_parameters": [nul]})", R"({"location_info": {"name": "a\q"}, "data": []})",
        R"({"location_info": {"timezone": {"name": fals}}, "data": []})",
        doc(R"({"trigger": "8", "timestamp_ms": "1", "timestamp_iso": 1.e5})")};
    for (const std::string &text : texts) {
      path = tmp.write("bad.json", text);
      CHECK_THAT(error_of(path), StartsWith(path + ": not valid JSON at line 1, column "));
    }
  }
  SECTION("not an object") { expect("[1, 2]", "not a JSON object"); }
  SECTION("no data") {
    expect(R"({"location_info": {}})", "no 'data' array");
    expect(R"({"data": {}})", "'data' is not an array");
    expect(R"({"data": [], "data": []})", "more than one 'data' array");
  }
  SECTION("a row that is not an object") { expect(doc(good_row + ", 5"), "row 1: not an object"); }
  SECTION("timestamp_ms") {
    expect(doc(good_row + R"(, {"trigger": "8", "timestamp_ms": "abc", "device_id": "d"})"),
           "row 1: timestamp_ms 'abc' is not a number");
    expect(doc(R"({"trigger": "8", "timestamp_ms": "12x", "device_id": "d"})"),
           "row 0: timestamp_ms '12x' is not a number");
    expect(doc(R"({"trigger": "8", "device_id": "d"})"), "row 0: no timestamp_ms");
  }
  SECTION("trigger") {
    expect(doc(R"({"trigger": "9", "timestamp_ms": "1"})"), "row 0: unknown trigger '9'");
    expect(doc(R"({"trigger": "alert", "timestamp_ms": "1"})"), "row 0: unknown trigger 'alert'");
    expect(doc(R"({"trigger": 1, "timestamp_ms": "1"})"), "row 0: unknown trigger '1'");
    expect(doc(R"({"timestamp_ms": "1"})"), "row 0: no trigger");
  }
  SECTION("device_type") {
    expect(doc(R"({"trigger": "8", "timestamp_ms": "1", "device_id": "d", "device_type": "x"})"),
           "row 0: device_type 'x' is not a number");
  }
  SECTION("time order") {
    expect(doc(R"({"trigger": "2", "timestamp_ms": "2000", "event": "A"},
                  {"trigger": "2", "timestamp_ms": "1000", "event": "B"})"),
           "row 1: timestamp_ms 1000 is earlier than the row before it (2000); "
           "rows must be in time order");
  }
  SECTION("a value that is neither text nor number") {
    expect(doc(R"({"trigger": "8", "timestamp_ms": "1", "device_id": "d", "degC": [1]})"),
           "row 0: degC is not a string or a number");
  }
  SECTION("not a recording file") {
    std::string path = tmp.write("data.csv", "a,b\n");
    CHECK(error_of(path) == path + ": not a recording: expected a .json or .zip file");
    std::string missing = (tmp.path / "missing.json").string();
    CHECK_THAT(error_of(missing), StartsWith(missing + ": cannot open: "));
  }
  SECTION("zips without exactly one JSON") {
    std::string csv = tmp.write("a.csv", "a,b\n");
    std::string zip = (tmp.path / "none.zip").string();
    make_zip(zip, {csv});
    CHECK(error_of(zip) == zip + ": no .json entry in the zip");

    std::string one = tmp.write("one.json", doc(good_row));
    std::string two = tmp.write("two.json", doc(good_row));
    zip = (tmp.path / "two.zip").string();
    make_zip(zip, {one, two, csv});
    CHECK(error_of(zip) == zip + ": several .json entries (one.json, two.json); expected one recording");

    std::string not_zip = tmp.write("junk.zip", "not a zip");
    CHECK_THAT(error_of(not_zip), StartsWith(not_zip + ": cannot open zip: "));
  }
  SECTION("an error inside a zip names the entry") {
    std::string json = tmp.write("rec.json", doc(R"({"trigger": "3", "timestamp_ms": "1"})"));
    std::string zip = (tmp.path / "rec.zip").string();
    make_zip(zip, {json});
    CHECK(error_of(zip) == zip + "/rec.json: row 0: unknown trigger '3'");
  }
}

TEST_CASE("rows the engine cannot play are skipped and counted", "[recording]") {
  Recording rec = parse_recording(
      doc(R"({"trigger": "8", "timestamp_ms": "1"},
             {"trigger": "4", "timestamp_ms": "2", "device_id": ""},
             {"trigger": "2", "timestamp_ms": "3"},
             {"trigger": "2", "timestamp_ms": "4", "event": "\"\""},
             )" + good_row),
      "x.json");
  REQUIRE(rec.rows.size() == 1);
  CHECK(rec.rows[0].index == 4);
  CHECK(rec.skipped == std::map<std::string, int64_t>{{"device row without device_id", 2},
                                                      {"mode row without event", 2}});
}

TEST_CASE("columns are read into rows", "[recording]") {
  Recording rec = parse_recording(R"({
    "location_info": {"id": 42, "timezone": {"id": "Europe/Paris"},
                      "event": "\"HOME.DEFAULT.:.AWAY.AI\""},
    "data": [
      {"trigger": "2", "location_id": "7", "timestamp_ms": "10",
       "event": "\"HOME.DEFAULT.:.PRESENT.AI\"", "source_type": "2"},
      {"trigger": 8, "timestamp_ms": 20, "device_id": "hub", "device_type": 37,
       "description": "Hub", "updated_params": "a, b,a", "timestamp_iso": "x",
       "a": "1", "b": 2.5, "[online]": "1", "gone": null},
      {"trigger": "4", "timestamp_ms": "20", "device_id": "hub", "device_type": "37",
       "alert_type": "tamper", "a": "0"}
    ]})",
                                  "x.json");
  CHECK(rec.location_id == "42");
  CHECK(rec.timezone == "Europe/Paris");
  CHECK(rec.initial_mode == "HOME.DEFAULT.:.AWAY.AI");
  REQUIRE(rec.rows.size() == 3);

  const Row &mode = rec.rows[0];
  CHECK(mode.trigger == Trigger::Mode);
  CHECK(mode.mode == "HOME.DEFAULT.:.PRESENT.AI");
  CHECK(mode.location_id == "7");
  CHECK(mode.params.empty());  // fixed columns are not parameters

  const Row &m = rec.rows[1];
  CHECK(m.trigger == Trigger::Measurement);
  CHECK(m.timestamp_ms == 20);
  CHECK(m.location_id == "42");  // from location_info
  CHECK(m.device_id == "hub");
  CHECK(m.device_type == 37);
  CHECK(m.description == "Hub");
  CHECK(m.updated_params == std::vector<std::string_view>{"a", "b", "a"});
  REQUIRE(m.params.size() == 3);  // null counts as absent
  CHECK(m.params[0].name == "a");
  CHECK(m.params[0].value == "1");
  CHECK(m.params[1].name == "b");
  CHECK(m.params[1].value == "2.5");
  CHECK(m.params[2].name == "[online]");
  // One interned name for "a" everywhere it appears.
  CHECK(m.params[0].name.data() == m.updated_params[0].data());
  CHECK(m.params[0].name.data() == rec.rows[2].params[0].name.data());

  const Row &alert = rec.rows[2];
  CHECK(alert.trigger == Trigger::Alert);
  CHECK(alert.alert_type == "tamper");
  CHECK(alert.updated_params.empty());
}

TEST_CASE("escaped keys and a late location_info", "[recording]") {
  Recording rec = parse_recording(R"({
    "data": [{"trigger": "8", "timestamp_ms": "1", "device_id": "d", "x\u0041": "1"},
             {"trigger": "8", "timestamp_ms": "2", "device_id": "d", "xA": "2"}],
    "location_info": {"id": "late"}})",
                                  "x.json");
  REQUIRE(rec.rows.size() == 2);
  REQUIRE(rec.rows[0].params.size() == 1);
  CHECK(rec.rows[0].params[0].name == "xA");
  CHECK(rec.rows[0].params[0].name.data() == rec.rows[1].params[0].name.data());
  CHECK(rec.rows[0].location_id == "late");
  CHECK(rec.rows[1].location_id == "late");
}

TEST_CASE("the sample generator makes a plausible, reproducible recording", "[recording][sample]") {
  Recording rec = read_recording(LIVEBOT_SAMPLE_RECORDING);
  CHECK(rec.skipped.empty());
  CHECK(rec.location_id == "sample-home");
  CHECK(rec.timezone == "US/Pacific");
  CHECK(rec.initial_mode == "HOME.DEFAULT.:.PRESENT.AI");
  CHECK(rec.rows.size() > 1000);
  CHECK(rec.rows.size() < 10000);

  std::map<Trigger, int> triggers;
  std::map<int32_t, std::set<std::string>> devices;
  bool repeated = false, quoted = false, one_home = true;
  int without_updated = 0;
  for (const Row &row : rec.rows) {
    ++triggers[row.trigger];
    if (row.trigger != Trigger::Mode) devices[row.device_type].insert(row.device_id);
    quoted |= !row.mode.empty() && row.mode.front() == '"';
    if (row.trigger == Trigger::Measurement && row.updated_params.empty()) ++without_updated;
    repeated |= row.updated_params.size() > 1 && row.updated_params[0] == row.updated_params[1];
    one_home &= row.location_id == "sample-home";
  }
  CHECK(one_home);
  CHECK(triggers[Trigger::Mode] >= 12);  // at least four changes a day
  CHECK(triggers[Trigger::Alert] >= 1);
  CHECK(triggers[Trigger::Measurement] > 1000);
  CHECK(devices[9138].size() == 2);
  CHECK(devices[9114].size() == 1);
  CHECK(devices[37].size() == 1);
  CHECK_FALSE(quoted);
  CHECK(repeated);
  CHECK(without_updated >= 2);

  // The build ran the script with --seed 1: running it again gives the same bytes.
  TempDir tmp;
  std::string a = (tmp.path / "a.json").string(), b = (tmp.path / "b.json").string();
  run("python3 '" + script + "' --days 3 --seed 1 --output '" + a + "'");
  run("python3 '" + script + "' --days 3 --seed 1 > '" + b + "'");
  // Compared as bools: Catch would print both megabyte-long texts otherwise.
  const std::string first = slurp(a);
  const bool same_as_build = first == slurp(LIVEBOT_SAMPLE_RECORDING);
  const bool same_twice = first == slurp(b);
  run("python3 '" + script + "' --days 3 --seed 2 --output '" + b + "'");
  const bool other_seed_differs = first != slurp(b);
  CHECK(same_as_build);
  CHECK(same_twice);
  CHECK(other_seed_differs);

  // Zipped, it reads the same as the bare JSON.
  std::string zip = (tmp.path / "sample.zip").string();
  make_zip(zip, {a});
  Recording zipped = read_recording(zip);
  CHECK(zipped.content_hash == rec.content_hash);
  CHECK(zipped.rows.size() == rec.rows.size());
}
