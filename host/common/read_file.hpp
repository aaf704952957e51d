// Reading a file whole, in as few system calls as its size allows: plugin
// builds are hashed, checked and staged from one read, on the loop thread,
// between executions, so the read is part of every swap's latency.
#pragma once

#include <string>

namespace livebot {

// The bytes of `path`; throws livebot::Error naming it and the reason
// (missing, unreadable, a directory).
std::string read_whole_file(const std::string &path);

}  // namespace livebot
