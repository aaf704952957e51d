// Data streams, with the probe plugins: a message a microservice sends is
// heard by every instance of its location in a later execution of its own,
// messages in send order; a failed sender sends nothing; waiting messages
// are memory, committed with the location; a message from outside is an
// input like any other.
#include <catch2/catch.hpp>

#include "support/probe_host.hpp"

namespace engine = livebot::engine;
using livebot::test::TempDir;
using namespace livebot::test::probe;
using nlohmann::json;

namespace {

const json takes_streams = {{"triggers", 2 | 8 | 256}};

engine::Input ask(int64_t ts, std::vector<engine::ParamValue> params) {
  std::vector<std::string_view> updated;
  for (const auto &p : params) updated.push_back(p.name);
  return measurement(ts, {motion("m1", std::move(params), std::move(updated))});
}

std::vector<std::string> streams_in(const json &state) {
  std::vector<std::string> out;
  for (const auto &h : heard(state))
    if (h.rfind("stream:", 0) == 0) out.push_back(h);
  return out;
}

}  // namespace

TEST_CASE("a sent message reaches every instance in a later execution, in send order", "[engine][datastreams]") {
  TempDir dir;
  Host h(probe_bot(dir, "1.0.0", takes_streams), dir / "store.db");
  // Each probe sends one, in initialize order: probe_dev, probe_b, probe_a.
  h.run(ask(1000, {{"stream", "*|level|7"}}));
  CHECK(streams_in(h.state("home", "probe_a")).empty());  // not in the sending execution
  CHECK(h.ex->next_due("home") == 1001);
  CHECK(h.run_due("home", 1001) == 3);
  CHECK(h.ex->stats().datastream_executions == 3);
  for (const auto &[ms, device] : {std::pair{"probe_a", ""}, {"probe_b", ""}, {"probe_dev", "m1"}})
    CHECK(streams_in(h.state("home", ms, device)) ==
          std::vector<std::string>{"stream:level=7@1001", "stream:level=7@1001", "stream:level=7@1001"});
  CHECK(h.st->load_datastreams("home").empty());
}

TEST_CASE("waiting messages are memory: a restart delivers them in order", "[engine][datastreams]") {
  TempDir dir;
  const auto bot = probe_bot(dir, "1.0.0", takes_streams);
  {
    Host h(bot, dir / "store.db");
    h.run(ask(1000, {{"stream", "probe_a|first|1"}}));
    h.run(ask(2000, {{"stream", "probe_b|second|2"}}));
  }
  Host h(bot, dir / "store.db");
  CHECK(h.st->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 1001}});
  CHECK(h.run_due("home", 5000) == 2);
  CHECK(streams_in(h.state("home", "probe_a")) == std::vector<std::string>{"stream:first=1@1001", "stream:second=2@2001"});
}

TEST_CASE("messages sent while others wait queue behind them, across a restart", "[engine][datastreams]") {
  TempDir dir;
  const auto bot = probe_bot(dir, "1.0.0", takes_streams);
  {
    Host h(bot, dir / "store.db");
    h.run(ask(1000, {{"stream", "probe_a|first|1"}}));
  }
  Host h(bot, dir / "store.db");
  h.run(ask(1000, {{"stream", "probe_a|second|2"}}));  // both due at 1001
  const auto waiting = h.st->load_datastreams("home");
  REQUIRE(waiting.size() == 2);
  CHECK(waiting[0].address == "first");
  CHECK(waiting[1].address == "second");
  CHECK(h.run_due("home", 5000) == 2);
  h.run(ask(6000, {{"stream", "probe_a|third|3"}}));  // the queue is empty again
  CHECK(h.run_due("home", 9000) == 1);
  CHECK(streams_in(h.state("home", "probe_a")) ==
        std::vector<std::string>{"stream:first=1@1001", "stream:second=2@1001", "stream:third=3@6001"});
  CHECK(h.st->load_datastreams("home").empty());
}

TEST_CASE("a sender whose callback fails sends nothing", "[engine][datastreams]") {
  TempDir dir;
  Host h(probe_bot(dir, "1.0.0", takes_streams), dir / "store.db");
  h.run(ask(1000, {{"stream", "*|x|1"}, {"throw_in", "probe_b"}}));
  CHECK(h.run_due("home", 5000) == 2);  // probe_dev's and probe_a's
}

TEST_CASE("a message from outside is an input heard by every instance", "[engine][datastreams]") {
  TempDir dir;
  Host h(probe_bot(dir, "1.0.0", takes_streams), dir / "store.db");
  h.run(ask(1000, {{"x", "1"}}));
  engine::Input in;
  in.kind = engine::Input::Kind::DataStream;
  in.location = "home";
  in.timestamp_ms = 2000;
  in.address = "weather";
  in.content = R"({"rain":true})";
  h.run(in);
  CHECK(streams_in(h.state("home", "probe_dev", "m1")) == std::vector<std::string>{R"(stream:weather={"rain":true}@2000)"});
  CHECK(streams_in(h.state("home", "probe_b")).size() == 1);
}

TEST_CASE("a bot that does not take data streams is told so when it sends one", "[engine][datastreams]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(ask(1000, {{"stream", "probe_a|x|1"}}));
  const auto errors = h.st->list_errors("", 10);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0].message, Catch::Contains("send_datastream('x') refused by the host: the bot does not take data "
                                                "streams: add 256 to its triggers"));
  CHECK_FALSE(h.ex->next_due("home"));
}
