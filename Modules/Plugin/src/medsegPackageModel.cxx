#include "medsegPackageModel.h"

#include "medsegError.h"
#include "medsegPluginRegistry.h"

namespace medseg
{

std::shared_ptr<SegmentationModel>
CreatePackageModel(const ModelPackage & package, const TorchScriptModelOptions & base)
{
  if (package.plugin == "torchscript")
  {
    TorchScriptModelOptions options = base;
    options.inputChannels = static_cast<int64_t>(package.channels.size());
    options.spatialDims = package.spatialDims;
    if (package.hyperParameters.contains("optimize") && package.hyperParameters["optimize"].is_boolean())
      options.optimize = options.optimize && package.hyperParameters["optimize"].get<bool>();
    return TorchScriptModel::Load(package.WeightsPath(), options);
  }
  const PluginRegistry registry;
  if (!registry.HasPlugin(package.plugin))
  {
    throw InputError(package.source, "needs architecture plugin '" + package.plugin +
                                       "', which was not found (see medseg plugins; MEDSEG_PLUGIN_PATH)");
  }
  return registry.CreateModel(package.plugin, package.hyperParameters.dump(), package.WeightsPath(), base.device,
                              static_cast<int64_t>(package.channels.size()));
}

} // namespace medseg
