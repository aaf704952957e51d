// Checks a plugin file before anything maps it (field lesson 3): a linker
// still writing, or a truncated copy, must be refused here and never reach
// dlopen, where a short file can kill the process with SIGBUS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace livebot::loader {

// Throws livebot::Error(where, reason) unless `bytes` is a complete 64-bit
// ELF shared object for this machine: magic, class, byte order, type,
// machine, and the program and section header tables (and every section)
// inside the file.
void check_elf(std::string_view bytes, const std::string &where);

// Names of the STB_GNU_UNIQUE symbols the object defines (field lesson 4):
// glibc never unloads a library that has one. Assumes check_elf passed.
std::vector<std::string> gnu_unique_symbols(std::string_view bytes);
// What such symbols mean, as one line for a message about the file
// ("has STB_GNU_UNIQUE symbol '...' (2 in all): ..."); `symbols` not empty.
std::string gnu_unique_problem(const std::vector<std::string> &symbols);

}  // namespace livebot::loader
