// The `unet` plugin: a 2D/3D U-Net built with the LibTorch C++ frontend (see medsegNativeNetworks.h).
#include "medsegNativeNetworks.h"
#include "medsegPluginExport.h"

#include <sstream>

namespace
{

std::unique_ptr<medseg::SegmentationModel>
CreateUNet(const medseg::PluginFactoryArguments & arguments)
{
  const auto         options = medseg::nets::UNetOptions::FromJson(arguments.hyperParametersJson, arguments.inputChannels);
  std::ostringstream summary;
  summary << "unet " << options.spatialDims << "D " << options.ToJson();
  return medseg::nets::MakeNativeModel(medseg::nets::MakeUNet(options), arguments.weightsPath, arguments.device,
                                       arguments.inputChannels, summary.str());
}

} // namespace

MEDSEG_DEFINE_PLUGIN("unet", "1.0.0",
                     "U-Net, 2D or 3D: depth, features, instance|batch norm, residual blocks, "
                     "transpose|upsample|pixelshuffle decoder",
                     CreateUNet);
