// medseg-probe-image FILE: reads FILE as `medseg segment` reads model inputs and prints what it
// read as one JSON line (channels, size, spacing, origin, direction, voxel sum/min/max), or the
// one-line refusal with exit code 1, as every medseg tool does. Used by the real-world corpus test
// (Testing/RealWorld/corpus_test.py) to compare MedSeg's reading with independent readers.
#include "medsegImageFileIO.h"
#include "medsegToolMain.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <limits>

int
main(int argc, char * argv[])
{
  return medseg::cli::RunTool("medseg-probe-image", [&]() {
    if (argc != 2)
    {
      std::cerr << "usage: medseg-probe-image FILE\n";
      return 2;
    }
    const auto     channels = medseg::ReadChannelImages(argv[1]);
    const auto &   image = channels.front();
    nlohmann::json out;
    out["channels"] = channels.size();
    for (unsigned int i = 0; i < 3; ++i)
    {
      out["size"].push_back(image->GetLargestPossibleRegion().GetSize(i));
      out["spacing"].push_back(image->GetSpacing()[i]);
      out["origin"].push_back(image->GetOrigin()[i]);
      for (unsigned int j = 0; j < 3; ++j)
      {
        out["direction"].push_back(image->GetDirection()[i][j]);
      }
    }
    double sum = 0.0;
    float  low = std::numeric_limits<float>::max(), high = std::numeric_limits<float>::lowest();
    for (const auto & channel : channels)
    {
      const float * v = channel->GetBufferPointer();
      const size_t  n = channel->GetBufferedRegion().GetNumberOfPixels();
      for (size_t k = 0; k < n; ++k)
      {
        sum += v[k];
        low = std::min(low, v[k]);
        high = std::max(high, v[k]);
      }
    }
    out["sum"] = sum;
    out["min"] = low;
    out["max"] = high;
    std::cout << out.dump() << '\n';
    return 0;
  });
}
