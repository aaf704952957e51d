// Catch2's main, in a file of its own: editing a test does not rebuild it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
