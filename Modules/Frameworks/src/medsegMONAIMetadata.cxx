// A MONAI bundle's metadata.json (network_data_format) and the description `medseg model info` prints.
#include "medsegMONAIMetadata.h"

#include "medsegError.h"
#include "medsegMONAIConfig.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace medseg
{

namespace fs = std::filesystem;
using json = nlohmann::json;

void
detail::ReadMONAIMetadata(MONAIBundle & bundle)
{
  const MONAIConfig meta = MONAIConfig::ReadFile(bundle.metadataFile);
  const json &      root = meta.Raw();
  bundle.name = root.value("name", fs::path(bundle.folder).filename().string());
  bundle.version = root.value("version", std::string());
  bundle.description = root.value("description", std::string());
  const auto fail = [&](const std::string & field, const std::string & problem) {
    throw InputError(bundle.metadataFile, "field '" + field + "' " + problem);
  };
  if (!root.contains("network_data_format") || !root["network_data_format"].is_object())
    fail("network_data_format", "is missing");
  const json & format = root["network_data_format"];
  for (const char * side : { "inputs", "outputs" })
  {
    if (!format.contains(side) || !format[side].is_object() || format[side].size() != 1)
      fail(std::string("network_data_format.") + side, "must name exactly one tensor");
  }
  const auto & input = *format["inputs"].begin();
  bundle.imageKey = format["inputs"].begin().key();
  const std::string inPath = "network_data_format.inputs." + bundle.imageKey;
  if (!input.contains("num_channels") || !input["num_channels"].is_number_integer() ||
      input["num_channels"].get<int64_t>() < 1)
    fail(inPath + ".num_channels", "must be a positive integer");
  bundle.inputChannels = input["num_channels"].get<int64_t>();
  if (input.contains("spatial_shape") && input["spatial_shape"].is_array())
    for (const auto & v : input["spatial_shape"])
      if (v.is_number_integer())
        bundle.spatialShape.push_back(v.get<int64_t>());
  const auto & output = *format["outputs"].begin();
  bundle.predKey = format["outputs"].begin().key();
  const std::string outPath = "network_data_format.outputs." + bundle.predKey;
  if (!output.contains("num_channels") || !output["num_channels"].is_number_integer() ||
      output["num_channels"].get<int64_t>() < 1)
    fail(outPath + ".num_channels", "must be a positive integer");
  bundle.outputChannels = output["num_channels"].get<int64_t>();
  if (output.contains("channel_def") && output["channel_def"].is_object())
  {
    for (const auto & [key, value] : output["channel_def"].items())
    {
      char *          end = nullptr;
      const long long index = std::strtoll(key.c_str(), &end, 10);
      if (end == key.c_str() || *end != '\0' || index < 0)
        fail(outPath + ".channel_def", "has a key '" + key + "' that is not a class index");
      bundle.channelDef[index] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
}

std::string
DescribeMONAIBundle(const MONAIBundle & bundle)
{
  json labels = json::array();
  for (const auto & [index, name] : bundle.channelDef)
    labels.push_back({ { "value", index }, { "name", name } });
  json pre = json::array(), post = json::array();
  for (const auto & t : bundle.preprocessing)
    pre.push_back(t.name);
  for (const auto & t : bundle.postprocessing)
    post.push_back(t.name);
  const auto & w = bundle.window;
  return json{ { "format", "monai-bundle" },
               { "name", bundle.name },
               { "version", bundle.version },
               { "description", bundle.description },
               { "folder", bundle.folder },
               { "config", fs::path(bundle.configFile).filename().string() },
               { "network", "models/model.ts" },
               { "input_channels", bundle.inputChannels },
               { "output_channels", bundle.outputChannels },
               { "labels", labels },
               { "preprocessing", pre },
               { "inferer",
                 bundle.wholeImage ? json{ { "_target_", "SimpleInferer" } }
                                   : json{ { "_target_", "SlidingWindowInferer" },
                                           { "roi_size", bundle.roiSize },
                                           { "sw_batch_size", w.batchSize },
                                           { "overlap", w.overlap },
                                           { "mode", w.blend == BlendMode::Gaussian ? "gaussian" : "constant" },
                                           { "sigma_scale", w.sigmaScale },
                                           { "padding_mode", bundle.paddingMode } } },
               { "postprocessing", post } }
    .dump(2);
}

} // namespace medseg
