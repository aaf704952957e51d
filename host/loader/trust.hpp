// Whether a plugin file may be loaded at all: code that another user could
// have written runs with the host's rights. Like sshd's StrictModes, the
// file and every directory above it must belong to the host's user or root
// and be writable by no one else; a directory others may write to is
// accepted only with the sticky bit (as /tmp), which stops them replacing
// entries they do not own.
#pragma once

#include <string>

namespace livebot::loader {

// Throws livebot::Error naming the file (or directory) and what is wrong.
void check_trusted(const std::string &file);

}  // namespace livebot::loader
