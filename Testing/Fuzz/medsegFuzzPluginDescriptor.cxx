// libFuzzer target: the plugin descriptor check (CheckDescriptor in medsegPluginRegistry.cxx),
// which the loader runs on a plugin's exported `medseg_plugin_descriptor` before anything else.
//
// The bytes become the struct: the first 16 fill abiVersion, descriptorSize, descriptorAlignment
// and cxx11Abi as they lie in memory; the next byte says which of the five strings are null
// (bit k: string k); the rest, split at NUL bytes, gives name, version, description, torchVersion
// and itkVersion (missing ones are ""). A descriptor's strings are whatever a plugin compiled in;
// a pointer that is not a C string at all cannot be checked by any loader and is not modelled.
//
// CheckDescriptor is private to the registry's source file (anonymous namespace), so this target
// compiles that file into itself instead of linking MedSegPlugin.

#include "../../Modules/Plugin/src/medsegPluginRegistry.cxx"

#include <cstring>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  MedSegPluginDescriptor descriptor{};
  const size_t           fixed = 4 * sizeof(uint32_t);
  std::memcpy(&descriptor, data, std::min(size, fixed));
  const uint8_t                nulls = size > fixed ? data[fixed] : 0;
  const size_t                 textStart = std::min(size, fixed + 1);
  std::vector<std::string>     strings;
  std::string                  current;
  for (size_t i = textStart; i < size; ++i)
  {
    if (data[i] == 0 && strings.size() < 4)
    {
      strings.push_back(current);
      current.clear();
    }
    else
    {
      current += static_cast<char>(data[i]);
    }
  }
  strings.push_back(current);
  strings.resize(5);
  const char ** fields[5] = { &descriptor.name, &descriptor.version, &descriptor.description,
                              &descriptor.torchVersion, &descriptor.itkVersion };
  for (size_t k = 0; k < 5; ++k)
  {
    *fields[k] = (nulls >> k) & 1u ? nullptr : strings[k].c_str();
  }
  try
  {
    medseg::CheckDescriptor(descriptor);
  }
  catch (const medseg::Refusal & refusal)
  {
    // `medseg plugins` prints each refusal as one line: the reason must be one line, not empty.
    if (refusal.reason.empty() || refusal.reason.find_first_of("\n\r") != std::string::npos)
    {
      __builtin_trap();
    }
  }
  return 0;
}
