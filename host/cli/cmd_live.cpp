// livebot run / send / status / reload / retire: the live host and the commands that
// talk to it over its control socket.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <thread>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"
#include "live/live_host.hpp"
#include "supervise/supervisor.hpp"

namespace livebot::cli {

namespace {

using nlohmann::json;

constexpr const char *kSocketHelp = "Control socket of the live host";

// Sends one request and prints its answer; a refusal is one line on stderr.
int ask(const std::string &socket, const std::string &line, bool as_json,
        const std::function<void(const json &)> &print, const std::function<int(const json &)> &exit_code = {}) {
  control::Client client(socket);
  const json r = json::parse(client.request(line), nullptr, false);
  if (r.is_discarded() || !r.is_object()) throw Error(socket, "the host sent an answer that is not JSON");
  if (!r.value("ok", false)) {
    if (as_json) std::cout << r.dump(2) << '\n';
    std::cerr << "livebot: " << socket << ": " << r.value("error", std::string("refused")) << '\n';
    return kExitFailure;
  }
  if (as_json) std::cout << r.dump(2) << '\n';
  else print(r);
  return exit_code ? exit_code(r) : kExitOk;
}

void print_retirement(const json &x) {
  // State kept aside has no library: no version, no file, no destroy().
  const bool library = x["destroy_called"].get<bool>();
  const auto name = x["name"].get<std::string>() + (library ? " " + x["version"].get<std::string>() : "");
  const auto file = x["file"].get<std::string>();
  if (x["state"] == "retired") {
    std::cout << "  retired " << name << ": " << x["purged"].get<int64_t>() << " locations purged, "
              << x["messages_dropped"].get<int64_t>() << " messages dropped; "
              << (library ? file + " is safe to delete" : "its state was kept aside: destroy was not called") << '\n';
    return;
  }
  if (x["purged"].get<int64_t>() >= x["locations"].get<int64_t>()) {
    std::cout << "  retiring " << name << ": all " << x["locations"].get<int64_t>()
              << " locations purged; unloaded once nothing of it runs or is on probation, "
              << x["messages_dropped"].get<int64_t>() << " messages dropped\n";
    return;
  }
  std::cout << "  retiring " << name << (library ? "" : " (kept aside, destroy not called)") << ": "
            << x["purged"].get<int64_t>()
            << " / " << x["locations"].get<int64_t>() << " locations purged, rate "
            << x["rate_per_s"].get<double>() << "/s, about " << static_cast<int64_t>(x["seconds_left"].get<double>())
            << " s left, " << x["messages_dropped"].get<int64_t>() << " messages dropped\n";
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sends every line, pipelined, each send tagged with this client's id and a
// seq, and sends again what was not answered when the host hung up (it
// crashed, and its supervisor is starting it again) until it answers, or
// until nothing was heard for `retry_ms`. The host executes each seq once,
// so an input it committed but never acknowledged is not applied twice, and
// one it lost in flight is applied after all: every answer is the one
// execution of its line. Returns the answers in order.
std::vector<json> deliver(const std::string &socket, std::vector<std::string> lines, int64_t retry_ms) {
  std::random_device rd;
  const std::string client = std::to_string(::getpid()) + "-" + std::to_string(rd()) + std::to_string(rd());
  for (size_t i = 0; i < lines.size(); ++i) {
    json doc = json::parse(lines[i], nullptr, false);
    // A line that is not a send is sent as it is: the host answers it.
    if (!doc.is_object() || doc.value("cmd", "") != "send" || doc.contains("client")) continue;
    doc["client"] = client;
    doc["seq"] = i + 1;
    lines[i] = doc.dump();
  }
  std::vector<json> answers(lines.size());
  size_t done = 0;
  int64_t heard = steady_ms();
  bool reached = false;  // no host there at all is one line at once, not a wait
  while (done < lines.size()) {
    try {
      control::Client c(socket);
      reached = true;
      try {
        for (size_t i = done; i < lines.size(); ++i) c.send_line(lines[i]);
      } catch (const Error &) {
        // The host hung up as the lines went out: it may have answered why
        // (a line over its length limit), and what it answered is read
        // before anything is sent again.
      }
      for (; done < lines.size(); ++done) {
        answers[done] = json::parse(c.read_line(), nullptr, false);
        heard = steady_ms();
      }
    } catch (const Error &e) {
      if (!reached || steady_ms() - heard > retry_ms) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return answers;
}

void print_status(const json &r) {
  std::cout << "bot " << r["bot"].get<std::string>() << ' ' << r["bot_version"].get<std::string>() << "  store "
            << r["store"].get<std::string>() << "  up " << r["uptime_ms"].get<int64_t>() / 1000 << " s, "
            << r["executions"].get<int64_t>() << " executions, " << r["queued"].get<int64_t>() << " queued, "
            << r["quarantined"].get<int64_t>() << " states quarantined\n";
  for (const auto &m : r["microservices"]) {
    std::cout << "  " << m["name"].get<std::string>() << "  " << m["version"].get<std::string>() << " (generation "
              << m["generation"].get<uint64_t>() << ", " << m["state"].get<std::string>() << ")  "
              << m["executions"].get<int64_t>() << " executions, " << m["errors"].get<int64_t>() << " errors\n";
    if (m["state"] != "retired") std::cout << "    staged " << m["staged"].get<std::string>() << '\n';
    for (const auto &v : m["versions"]) {
      const auto state = v["state"].get<std::string>();
      if (state == "serving" || state == "probation") continue;
      // A build refused before its table was read has no version: its bytes name it.
      const auto version = v["version"].get<std::string>();
      const auto hash = v["hash"].get<std::string>();
      const auto what = !version.empty() ? version : !hash.empty() ? "build " + hash.substr(0, 16) : "unreadable file";
      std::cout << "    " << state << ": " << what
                << (v["note"].get<std::string>().empty() ? "" : " — " + v["note"].get<std::string>()) << '\n';
    }
  }
  for (const auto &x : r["retirements"]) print_retirement(x);
  for (const auto &q : r["kept_aside"])
    std::cout << "  kept aside: " << q.get<std::string>()
              << " — stored state of a microservice this host does not run, kept aside\n";
  for (const auto &w : r["waiting"])
    std::cout << "  waiting: " << w["name"].get<std::string>() << " — plugin file " << w["file"].get<std::string>()
              << " is missing; its stored state is kept aside until it appears\n";
  for (const auto &m : r["suspended"])
    std::cout << "  suspended: " << m["name"].get<std::string>() << " — " << m["why"].get<std::string>() << '\n';
  if (r["restarts"].get<int>() > 0)
    std::cout << "  restarted " << r["restarts"].get<int>() << " times after a crash (livebot errors)\n";
  std::cout << "  mapped images: " << r["mapped_images"].size() << '\n';
}

}  // namespace

void add_live(CLI::App &app, std::vector<Command> &out) {
  {
    auto o = std::make_shared<live::LiveOptions>();
    auto seconds = std::make_shared<int64_t>(o->probation.millis / 1000);
    auto *sub = app.add_subcommand("run", "Run a bot live: inputs and commands on a control socket, hot reload");
    sub->add_option("--bot,-b", o->bot_dir, "Bot directory (bot.json and its plugins)")->required();
    sub->add_option("--store,-s", o->store_path, "Store file")->capture_default_str();
    sub->add_option("--socket", o->socket_path, kSocketHelp)->capture_default_str();
    sub->add_option("--timezone", o->timezone, "Time zone of locations first seen live")->capture_default_str();
    sub->add_option("--probation", o->probation.executions,
                    "Executions a new version must pass before the old one is unloaded")
        ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
        ->capture_default_str();
    sub->add_option("--probation-seconds", *seconds, "…or this long after it was published")
        ->check(CLI::Range(int64_t{0}, int64_t{86'400}))
        ->capture_default_str();
    auto no_watch = std::make_shared<bool>(false);
    sub->add_flag("--no-watch", *no_watch, "Do not watch the plugin files (reload only when told)");
    sub->add_option("--debounce-ms", o->debounce_ms, "Quiet time after a file event before the plugins are rescanned")
        ->check(CLI::Range(int64_t{0}, int64_t{60'000}))
        ->capture_default_str();
    sub->add_flag("--poll", o->poll_only, "Watch by polling only (file systems without inotify)");
    sub->add_option("--retire-rate", o->retire_rate,
                    "Locations per second the retirement sweep purges of a removed microservice (0: unbounded)")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    sub->add_option("--callback-timeout", o->callback_timeout_ms,
                    "Bound on one plugin call (e.g. 2s, 500ms; 0: none): past it the host is restarted and "
                    "the version is not loaded again")
        ->transform(CLI::AsNumberWithUnit(std::map<std::string, int64_t>{{"ms", 1}, {"s", 1000}},
                                          CLI::AsNumberWithUnit::CASE_SENSITIVE))
        ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}))
        ->capture_default_str();
    auto so = std::make_shared<supervise::SuperviseOptions>();
    sub->add_option("--memory-limit", so->memory_limit,
                    "Address-space limit of the host process (e.g. 1G; 0: none): an allocation past it "
                    "restarts the host, and a plugin call that made it marks its version bad")
        ->transform(CLI::AsSizeValue(false))
        ->capture_default_str();
    sub->add_option("--max-crashes", so->max_crashes,
                    "Give up when the host crashes more often than this in a minute")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    auto unsupervised = std::make_shared<bool>(false);
    sub->add_flag("--no-supervise", *unsupervised,
                  "Run the host in this process, with no supervisor to restart it when it crashes");
    out.push_back({sub, [o, seconds, no_watch, so, unsupervised]() {
                     o->watch = !*no_watch;
                     o->probation.millis = *seconds * 1000;
                     o->memory_limited = so->memory_limit > 0;
                     if (*unsupervised) {
                       live::LiveHost host(*o);
                       return host.run();
                     }
                     return supervise::supervise(*so, [o](const supervise::Child &child) {
                       live::LiveHost host(*o, child.previous, child.ready);
                       return host.run();
                     });
                   }});
  }
  {
    struct Opts {
      std::string socket = "livebot.sock", lines;
      control::SendRequest req;
      std::string device, mode, alert, description, datastream, content, removed;
      int32_t type = 0;
      std::vector<std::string> params;
      int64_t timestamp = -1;
      int64_t retry_seconds = 30;
      bool json = false;
    };
    auto o = std::make_shared<Opts>();
    auto *sub = app.add_subcommand("send", "Send a live host an input for a location (or many, from a file)");
    sub->add_option("location", o->req.location, "Location id");
    auto *mode = sub->add_option("--mode", o->mode, "A mode change to MODE");
    auto *device = sub->add_option("--device,-d", o->device, "A measurement (or --alert) of this device");
    auto *type = sub->add_option("--type,-t", o->type, "The device's type number")
                     ->check(CLI::Range(1, std::numeric_limits<int32_t>::max()));
    auto *description = sub->add_option("--description", o->description, "The device's description");
    auto *param = sub->add_option("--param,-p", o->params, "A measured parameter NAME=VALUE (repeatable)");
    auto *alert = sub->add_option("--alert", o->alert, "An alert of this type from --device");
    auto *datastream =
        sub->add_option("--datastream", o->datastream, "A data-stream message to this address (with --content)");
    auto *content = sub->add_option("--content", o->content, "The data-stream message: JSON or text");
    auto *removed = sub->add_option("--remove-device", o->removed, "The location no longer has this device");
    // One input per send: what each kind needs, and the kinds apart, are
    // usage errors before anything reaches the host.
    device->needs(type);
    for (auto *of_device : {type, description, param, alert}) of_device->needs(device);
    datastream->needs(content);
    content->needs(datastream);
    mode->excludes(device)->excludes(datastream)->excludes(removed);
    device->excludes(datastream)->excludes(removed);
    datastream->excludes(removed);
    sub->add_option("--timestamp-ms", o->timestamp, "Event time (default: the host's clock)")
        ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()));
    sub->add_option("--lines", o->lines,
                    "Send every request line of this file (protocol JSON), pipelined; - for stdin")
        ->check(CLI::ExistingFile | CLI::IsMember({"-"}));
    sub->add_option("--socket", o->socket, kSocketHelp)->capture_default_str();
    sub->add_option("--retry-seconds", o->retry_seconds,
                    "When the host hangs up (a crash), send what it did not answer again for this long; "
                    "each input is still executed once")
        ->check(CLI::Range(int64_t{0}, int64_t{3600}))
        ->capture_default_str();
    sub->add_flag("--json", o->json, "Print the host's answer as JSON");
    out.push_back({sub, [o]() {
                     if (!o->lines.empty()) {
                       std::ifstream file;
                       if (o->lines != "-") file.open(o->lines);
                       std::istream &in = o->lines == "-" ? std::cin : file;
                       std::vector<std::string> lines;
                       for (std::string line; std::getline(in, line);)
                         if (!line.empty()) lines.push_back(std::move(line));
                       const auto answers = deliver(o->socket, lines, o->retry_seconds * 1000);
                       const size_t sent = lines.size();
                       size_t ok = 0;
                       for (size_t i = 0; i < sent; ++i) {
                         const json &r = answers[i];
                         if (r.is_object() && r.value("ok", false)) ++ok;
                         else std::cerr << "livebot: " << o->lines << ": request " << i + 1 << ": "
                                        << (r.is_object() ? r.value("error", std::string("refused")) : "bad answer") << '\n';
                       }
                       if (o->json) std::cout << json{{"sent", sent}, {"ok", ok}}.dump() << '\n';
                       else std::cout << ok << " of " << sent << " inputs executed and committed\n";
                       return ok == sent ? kExitOk : kExitFailure;
                     }
                     auto &r = o->req;
                     if (r.location.empty()) throw UsageError("a location is required (or --lines FILE)");
                     if (o->timestamp >= 0) r.timestamp_ms = o->timestamp;
                     if (!o->mode.empty()) {
                       r.kind = engine::Input::Kind::Mode;
                       r.mode = o->mode;
                     } else if (!o->datastream.empty()) {
                       r.kind = engine::Input::Kind::DataStream;
                       r.address = o->datastream;
                       r.content = o->content;
                     } else if (!o->removed.empty()) {
                       r.kind = engine::Input::Kind::DeviceRemoved;
                       r.devices.push_back({o->removed, 0, {}, {}, {}});
                     } else {
                       if (o->device.empty() || o->type <= 0)
                         throw UsageError("give --mode MODE, --datastream ADDRESS --content X, --remove-device ID, "
                                          "or --device ID --type N with --param NAME=VALUE");
                       if (o->alert.empty() && o->params.empty())
                         throw UsageError("a measurement needs at least one --param NAME=VALUE (or --alert TYPE)");
                       control::DeviceEvent d{o->device, o->type, o->description, {}, {}};
                       for (const auto &p : o->params) {
                         const auto eq = p.find('=');
                         if (eq == std::string::npos || eq == 0) throw UsageError("--param '" + p + "' is not NAME=VALUE");
                         d.params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
                       }
                       r.kind = o->alert.empty() ? engine::Input::Kind::Measurement : engine::Input::Kind::Alert;
                       r.alert_type = o->alert;
                       r.devices.push_back(std::move(d));
                     }
                     const json a = deliver(o->socket, {control::encode_send(r)}, o->retry_seconds * 1000).at(0);
                     if (!a.is_object()) throw Error(o->socket, "the host sent an answer that is not JSON");
                     if (o->json) std::cout << a.dump(2) << '\n';
                     if (!a.value("ok", false)) {
                       std::cerr << "livebot: " << o->socket << ": " << a.value("error", std::string("refused")) << '\n';
                       return kExitFailure;
                     }
                     if (o->json) return kExitOk;
                     if (a.value("duplicate", false))
                       std::cout << "executed and committed for " << a["location"].get<std::string>()
                                 << " before the host restarted; not executed again\n";
                     else
                       std::cout << "executed and committed for " << a["location"].get<std::string>() << " at "
                                 << a["timestamp_ms"].get<int64_t>() << " ms"
                                 << (a["failed"].get<int64_t>() ? ", with failed callbacks (see livebot errors)" : "")
                                 << '\n';
                     return kExitOk;
                   }});
  }
  {
    auto socket = std::make_shared<std::string>("livebot.sock");
    auto as_json = std::make_shared<bool>(false);
    auto *sub = app.add_subcommand("status", "Show a live host's microservices, versions, swaps and mapped images");
    sub->add_option("--socket", *socket, kSocketHelp)->capture_default_str();
    sub->add_flag("--json", *as_json, "Print as JSON");
    out.push_back({sub, [socket, as_json]() { return ask(*socket, R"({"cmd":"status"})", *as_json, print_status); }});
  }
  {
    auto socket = std::make_shared<std::string>("livebot.sock");
    auto ms = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto *sub = app.add_subcommand(
        "retire", "Make a live host retire a microservice: drain every location of it, then unload it");
    sub->add_option("microservice", *ms, "The microservice, by its manifest name")->required();
    sub->add_option("--socket", *socket, kSocketHelp)->capture_default_str();
    sub->add_flag("--json", *as_json, "Print as JSON");
    out.push_back({sub, [socket, ms, as_json]() {
                     return ask(*socket, json{{"cmd", "retire"}, {"microservice", *ms}}.dump(), *as_json,
                                [](const json &r) { print_retirement(r["retirement"]); });
                   }});
  }
  {
    auto socket = std::make_shared<std::string>("livebot.sock");
    auto ms = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto *sub = app.add_subcommand("reload", "Make a live host check its plugin files now and swap in what changed");
    sub->add_option("microservice", *ms, "Only this microservice");
    sub->add_option("--socket", *socket, kSocketHelp)->capture_default_str();
    sub->add_flag("--json", *as_json, "Print as JSON");
    out.push_back({sub, [socket, ms, as_json]() {
                     json req{{"cmd", "reload"}};
                     if (!ms->empty()) req["microservice"] = *ms;
                     // A refused build exits 1, with --json too: a script checks the code.
                     return ask(
                         *socket, req.dump(), *as_json,
                         [](const json &r) {
                           for (const auto &x : r["results"])
                             std::cout << x["microservice"].get<std::string>() << ": "
                                       << x["outcome"].get<std::string>() << " — " << x["message"].get<std::string>()
                                       << '\n';
                         },
                         [](const json &r) {
                           for (const auto &x : r["results"])
                             if (x["outcome"] == "refused") return kExitFailure;
                           return kExitOk;
                         });
                   }});
  }
}

}  // namespace livebot::cli
