#ifndef medsegCommandLineKinds_h
#define medsegCommandLineKinds_h

// Private to the command-line framework: facts about parameter kinds shared by the parser, the
// --help text and the Slicer XML.

#include "medsegCommandLine.h"

#include <algorithm>
#include <string>
#include <vector>

namespace medseg::cli::detail
{

inline bool
TakesValue(ParameterKind kind)
{
  return kind != ParameterKind::Flag;
}

inline bool
IsImageKind(ParameterKind kind)
{
  return kind == ParameterKind::InputImage || kind == ParameterKind::InputLabelMap ||
         kind == ParameterKind::OutputImage || kind == ParameterKind::OutputLabelMap;
}

inline bool
IsFileKind(ParameterKind kind)
{
  return IsImageKind(kind) || kind == ParameterKind::InputFile || kind == ParameterKind::OutputFile;
}

inline bool
IsOutputKind(ParameterKind kind)
{
  return kind == ParameterKind::OutputImage || kind == ParameterKind::OutputLabelMap ||
         kind == ParameterKind::OutputFile;
}

/** The parameters' groups in order of first appearance: --help and the Slicer XML list each once. */
inline std::vector<std::string>
GroupsInOrder(const std::vector<Parameter> & parameters)
{
  std::vector<std::string> groups;
  for (const auto & p : parameters)
  {
    if (std::find(groups.begin(), groups.end(), p.group) == groups.end())
    {
      groups.push_back(p.group);
    }
  }
  return groups;
}

} // namespace medseg::cli::detail

#endif
