// Replays a fuzz target's seed corpus (tests/fuzz/corpus/<target>, built in
// as FUZZ_CORPUS) without libFuzzer, in every ordinary build: the inputs that
// once mattered keep being checked under every sanitizer, and the target
// keeps compiling. scripts/fuzz.sh does the fuzzing.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

TEST_CASE("every input of the seed corpus goes through the fuzz target") {
  std::size_t inputs = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(FUZZ_CORPUS)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()) == 0);
    ++inputs;
  }
  CHECK(inputs > 0);  // an empty corpus is a mistake
}
