// The `torchscript` plugin: any TorchScript file, run through medseg::TorchScriptModel.
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
    if (!j.is_object())
    {
      throw std::invalid_argument("torchscript hyper-parameters must be a JSON object");
    }
    for (const auto & item : j.items())
    {
      if (item.key() == "optimize" && item.value().is_boolean())
      {
        options.optimize = item.value().get<bool>();
      }
      else if (item.key() == "spatial_dims" && item.value().is_number_integer() &&
               (item.value().get<int>() == 2 || item.value().get<int>() == 3))
      {
        options.spatialDims = item.value().get<int>();
      }
      else
      {
        throw std::invalid_argument("torchscript has no hyper-parameter '" + item.key() + "' of that type (known: optimize, true|false; spatial_dims, 2|3)");
      }
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
