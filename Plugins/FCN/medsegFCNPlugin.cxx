// The `fcn` plugin: a 2D/3D FCN-8s-style network (VGG-style encoder, skip scores, learned upsampling).
#include "medsegNativeNetworks.h"
#include "medsegPluginExport.h"

#include <sstream>

namespace
{

std::unique_ptr<medseg::SegmentationModel>
CreateFCN(const medseg::PluginFactoryArguments & arguments)
{
  const auto         options = medseg::nets::FCNOptions::FromJson(arguments.hyperParametersJson, arguments.inputChannels);
  std::ostringstream summary;
  summary << "fcn " << options.spatialDims << "D " << options.ToJson();
  return medseg::nets::MakeNativeModel(medseg::nets::MakeFCN(options), arguments.weightsPath, arguments.device,
                                       arguments.inputChannels, summary.str());
}

} // namespace

MEDSEG_DEFINE_PLUGIN("fcn", "1.0.0",
                     "FCN-8s style, 2D or 3D: VGG-style encoder, skip scores from the last three pools, "
                     "learned upsampling",
                     CreateFCN);
