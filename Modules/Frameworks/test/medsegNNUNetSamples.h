#ifndef medsegNNUNetSamples_h
#define medsegNNUNetSamples_h

// The samples Testing/NNUNet/make_resampling_samples.py writes (scipy, skimage and, where
// ../shared/reference is present, nnU-Net's own functions), shared by the Frameworks tests.
// Defined in medsegNNUNetResamplingGTest.cxx.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace medseg::test
{

struct NNUNetSamples
{
  std::string    folder;
  nlohmann::json manifest;
};

/** The samples (made once per script version, cached), or null with `skipReason` set. */
const NNUNetSamples *
GetNNUNetSamples(bool upstream, std::string & skipReason);

/** One array the manifest entry names, as a tensor. */
at::Tensor
LoadNNUNetSampleArray(const NNUNetSamples & samples, const nlohmann::json & entry);

/** A figure for a test's log line, 3 significant digits. */
inline std::string
FormatFigure(double value)
{
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

} // namespace medseg::test

#endif
