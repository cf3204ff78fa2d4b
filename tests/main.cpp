// The Catch2 entry point: the test cases live in tests/test_*.cpp.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
