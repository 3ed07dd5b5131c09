// The main of a fuzz target in a normal build (no libFuzzer, no sanitizers): every file named on
// the command line, or held in a folder named there, goes once through LLVMFuzzerTestOneInput, in
// name order. CTest runs each target this way over its seeds and regression inputs
// (Testing/Fuzz/corpus/<target>/), so CI replays what once broke MedSeg on every compiler;
// Utilities/fuzz.sh mutates them under clang's libFuzzer with ASan and UBSan.
//
// An input that crashes, traps or throws past the target ends the process abnormally; the input's
// name is printed before it runs, so the last name on stderr is the culprit.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);
// Optional in a target (libFuzzer calls it when it is defined).
extern "C" int
LLVMFuzzerInitialize(int * argc, char *** argv) __attribute__((weak));

int
main(int argc, char ** argv)
{
  namespace fs = std::filesystem;
  if (argc < 2)
  {
    std::fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i)
  {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec))
    {
      std::vector<fs::path> files;
      for (const auto & entry : fs::directory_iterator(argv[i]))
      {
        if (entry.is_regular_file())
          files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    }
    else if (fs::is_regular_file(argv[i], ec))
    {
      inputs.emplace_back(argv[i]);
    }
    else
    {
      std::fprintf(stderr, "%s: not a file or folder\n", argv[i]);
      return 2;
    }
  }
  if (inputs.empty())
  {
    std::fprintf(stderr, "no inputs in the folders given\n");
    return 2;
  }
  if (LLVMFuzzerInitialize != nullptr)
    LLVMFuzzerInitialize(&argc, &argv);
  for (const fs::path & path : inputs)
  {
    std::fprintf(stderr, "running %s\n", path.string().c_str());
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
      std::fprintf(stderr, "%s: cannot be opened\n", path.string().c_str());
      return 2;
    }
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replayed %zu input(s)\n", inputs.size());
  return 0;
}
