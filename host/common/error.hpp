// One error type for everything the host refuses or fails at. Its message is
// one line, "where: what", so the CLI can print it as is and exit non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace livebot {

class Error : public std::runtime_error {
 public:
  Error(const std::string &where, const std::string &what)
      : std::runtime_error(where.empty() ? what : where + ": " + what) {}
};

}  // namespace livebot
