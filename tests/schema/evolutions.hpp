// Every schema evolution the gate is tested on, as pairs of fixtures with
// the lines the gate must answer: one table shared by the gate's own tests
// and by the comparison with `flatc --conform`, so the two cannot drift.
#pragma once

#include <string>
#include <vector>

namespace livebot::test {

using Strings = std::vector<std::string>;

struct Evolution {
  std::string stored;  // the fixture that wrote the state
  std::string next;    // the fixture of the plugin that is to read it
  Strings refusal;     // the gate's lines, in order; empty for an accepted one
  std::string name() const { return stored + " -> " + next; }
};

const std::vector<Evolution> &accepted_evolutions();
const std::vector<Evolution> &refused_evolutions();

// The gate's lines for two fixtures.
Strings gate(const std::string &stored, const std::string &next);

}  // namespace livebot::test
