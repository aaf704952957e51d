// The one main() of every Catch2 test binary.
#define CATCH_CONFIG_MAIN
// Catch2 indents a failed test's long name at its first ": "; past the
// default width of 80 its reporter asserts and the binary dies with every
// report after it unread. Some names here have that colon further in.
#define CATCH_CONFIG_CONSOLE_WIDTH 200
#include <catch2/catch.hpp>
