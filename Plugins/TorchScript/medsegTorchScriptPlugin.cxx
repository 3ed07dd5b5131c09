// The `torchscript` plugin: any TorchScript file, run through medseg::TorchScriptModel.
#include "medsegError.h"
#include "medsegJsonFields.h"
#include "medsegPluginExport.h"
#include "medsegTorchScriptModel.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace
{

std::unique_ptr<medseg::SegmentationModel>
CreateTorchScript(const medseg::PluginFactoryArguments & arguments)
{
  medseg::TorchScriptModelOptions options;
  options.device = arguments.device;
  options.inputChannels = arguments.inputChannels;
  if (!arguments.hyperParametersJson.empty())
  {
    nlohmann::json j;
    try
    {
      j = nlohmann::json::parse(arguments.hyperParametersJson);
    }
    catch (const nlohmann::json::exception & e)
    {
      throw std::invalid_argument(std::string("torchscript hyper-parameters are not valid JSON: ") + e.what());
    }
    try
    {
      const medseg::JsonFields fields(j, "torchscript hyper-parameters");
      fields.AllowOnly({ "optimize", "spatial_dims" });
      fields.Boolean("optimize", options.optimize);
      fields.Integer("spatial_dims", options.spatialDims, 2, 3);
    }
    catch (const medseg::InputError & e)
    {
      throw std::invalid_argument(e.what()); // a bad argument to the factory, as for unet and fcn
    }
  }
  if (arguments.weightsPath.empty())
  {
    throw std::invalid_argument("torchscript needs a weights path: the TorchScript file (.pt) to run");
  }
  auto loaded = medseg::TorchScriptModel::Load(arguments.weightsPath, options);
  // The plugin owns its own copy: Load() returns a shared_ptr, the factory hands out a unique one.
  return std::make_unique<medseg::TorchScriptModel>(*loaded);
}

} // namespace

MEDSEG_DEFINE_PLUGIN("torchscript", "1.0.0", "any TorchScript file (torch.jit.script/trace output); weights = the .pt file",
                     CreateTorchScript);
