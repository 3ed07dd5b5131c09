#include "medsegNNUNetNetworks.h"

#include "medsegError.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

// ParseNNUNetArchitecture: plans.json's "architecture" (or an old-format configuration) read as
// nnunetv2.utilities.get_network_from_plans.get_network_from_plans hands it to the network class.

namespace medseg
{

namespace
{

using Json = nlohmann::json;

const char * const PlainConvUNetName = "dynamic_network_architectures.architectures.unet.PlainConvUNet";
const char * const ResidualEncoderUNetName = "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet";

/** Reads arch_kwargs, remembering which keys were read so that the rest can be refused. */
class KwargsReader
{
public:
  KwargsReader(const Json & kwargs, std::string subject)
    : m_Kwargs(kwargs)
    , m_Subject(std::move(subject))
  {}

  [[noreturn]] void
  Refuse(const std::string & field, const std::string & problem) const
  {
    throw InputError(m_Subject, "architecture field 'arch_kwargs." + field + "' " + problem);
  }

  /** The value, or nullptr when absent or null. */
  const Json *
  Get(const std::string & field)
  {
    m_Read.insert(field);
    const auto it = m_Kwargs.find(field);
    return it == m_Kwargs.end() || it->is_null() ? nullptr : &*it;
  }
  const Json &
  Require(const std::string & field)
  {
    const Json * value = Get(field);
    if (value == nullptr)
      Refuse(field, "is missing");
    return *value;
  }

  int64_t
  Integer(const std::string & field, const Json & value, int64_t minimum) const
  {
    if (!value.is_number_integer() || value.get<int64_t>() < minimum)
      Refuse(field, "must be an integer >= " + std::to_string(minimum) + ", not " + value.dump());
    return value.get<int64_t>();
  }
  bool
  Boolean(const std::string & field, bool fallback)
  {
    const Json * value = Get(field);
    if (value == nullptr)
      return fallback;
    if (!value->is_boolean())
      Refuse(field, "must be true or false, not " + value->dump());
    return value->get<bool>();
  }
  std::string
  String(const std::string & field)
  {
    const Json * value = Get(field);
    if (value == nullptr)
      return "";
    if (!value->is_string())
      Refuse(field, "must be a class name, not " + value->dump());
    return value->get<std::string>();
  }

  /** An int for every stage (upstream: `[x] * n` for a scalar) or a list of `count`. */
  std::vector<int64_t>
  PerStage(const std::string & field, int64_t count, int64_t minimum)
  {
    const Json & value = Require(field);
    if (!value.is_array())
      return std::vector<int64_t>(static_cast<size_t>(count), Integer(field, value, minimum));
    if (static_cast<int64_t>(value.size()) != count)
      Refuse(field, "has " + std::to_string(value.size()) + " entries, expected " + std::to_string(count));
    std::vector<int64_t> result;
    for (const Json & item : value)
      result.push_back(Integer(field, item, minimum));
    return result;
  }

  /** Per stage, per axis (maybe_convert_scalar_to_list on scalars). */
  std::vector<std::vector<int64_t>>
  PerStageAxes(const std::string & field, int64_t count, int dimension, bool odd)
  {
    const Json & value = Require(field);
    const auto   axes = [&](const Json & item) {
      std::vector<int64_t> result;
      if (!item.is_array())
        result.assign(static_cast<size_t>(dimension), Integer(field, item, 1));
      else if (static_cast<int>(item.size()) != dimension)
        Refuse(field, "has an entry " + item.dump() + " for " + std::to_string(dimension) + " axes");
      else
        for (const Json & size : item)
          result.push_back(Integer(field, size, 1));
      for (int64_t size : result)
        if (odd && size % 2 == 0)
          Refuse(field, "has an even kernel size " + item.dump() + " (only odd sizes keep the skip sizes)");
      return result;
    };
    if (!value.is_array())
      return std::vector<std::vector<int64_t>>(static_cast<size_t>(count), axes(value));
    if (static_cast<int64_t>(value.size()) != count)
      Refuse(field, "has " + std::to_string(value.size()) + " entries, expected " + std::to_string(count));
    std::vector<std::vector<int64_t>> result;
    for (const Json & item : value)
      result.push_back(axes(item));
    return result;
  }

  /** The first key that was never read, or "". */
  std::string
  FirstUnread() const
  {
    for (auto it = m_Kwargs.begin(); it != m_Kwargs.end(); ++it)
      if (m_Read.count(it.key()) == 0)
        return it.key();
    return "";
  }

private:
  const Json &          m_Kwargs;
  std::string           m_Subject;
  std::set<std::string> m_Read;
};

/** "torch.nn.modules.conv.Conv3d" and "torch.nn.Conv3d" name the same class (pydoc.locate). */
bool
IsTorchClass(const std::string & name, const std::string & module, const std::string & className)
{
  return name == "torch.nn." + className || name == "torch.nn.modules." + module + "." + className;
}

void
ParseNorm(KwargsReader & kwargs, NNUNetArchitecture & a)
{
  const std::string name = kwargs.String("norm_op");
  const std::string d = std::to_string(a.spatialDimension) + "d";
  if (name.empty())
    a.norm = NNUNetNorm::None;
  else if (IsTorchClass(name, "instancenorm", "InstanceNorm" + d))
    a.norm = NNUNetNorm::InstanceNorm;
  else if (IsTorchClass(name, "batchnorm", "BatchNorm" + d))
    a.norm = NNUNetNorm::BatchNorm;
  else
    kwargs.Refuse("norm_op", "= '" + name + "' is not supported with Conv" + d + " (supported: torch.nn.InstanceNorm" +
                               d + ", torch.nn.BatchNorm" + d + ", null)");
  // torch defaults: InstanceNorm affine=False, track_running_stats=False; BatchNorm both True.
  a.normEps = 1e-5;
  a.normAffine = a.norm == NNUNetNorm::BatchNorm;
  a.normTrackRunningStats = a.norm == NNUNetNorm::BatchNorm;
  const Json * options = kwargs.Get("norm_op_kwargs");
  if (options == nullptr)
    return;
  if (!options->is_object())
    kwargs.Refuse("norm_op_kwargs", "must be an object, not " + options->dump());
  for (auto it = options->begin(); it != options->end(); ++it)
  {
    const std::string field = "norm_op_kwargs." + it.key();
    if (a.norm == NNUNetNorm::None)
      kwargs.Refuse(field, "is set without a norm_op");
    if (it.key() == "eps" && it->is_number() && it->get<double>() > 0.0)
      a.normEps = it->get<double>();
    else if (it.key() == "affine" && it->is_boolean())
      a.normAffine = it->get<bool>();
    else if (it.key() == "track_running_stats" && it->is_boolean())
      a.normTrackRunningStats = it->get<bool>();
    else if (it.key() != "momentum" || !(it->is_number() || it->is_null())) // momentum: training only
      kwargs.Refuse(field, "= " + it->dump() + " is not supported (supported: eps, affine, momentum, "
                                              "track_running_stats)");
  }
}

void
ParseNonlinearity(KwargsReader & kwargs, NNUNetArchitecture & a)
{
  const std::string name = kwargs.String("nonlin");
  if (name.empty())
    a.nonlinearity = NNUNetNonlinearity::None;
  else if (IsTorchClass(name, "activation", "LeakyReLU"))
    a.nonlinearity = NNUNetNonlinearity::LeakyReLU;
  else if (IsTorchClass(name, "activation", "ReLU"))
    a.nonlinearity = NNUNetNonlinearity::ReLU;
  else
    kwargs.Refuse("nonlin", "= '" + name + "' is not supported (supported: torch.nn.LeakyReLU, torch.nn.ReLU, null)");
  a.negativeSlope = 0.01;
  const Json * options = kwargs.Get("nonlin_kwargs");
  if (options == nullptr)
    return;
  if (!options->is_object())
    kwargs.Refuse("nonlin_kwargs", "must be an object, not " + options->dump());
  for (auto it = options->begin(); it != options->end(); ++it)
  {
    const std::string field = "nonlin_kwargs." + it.key();
    if (it.key() == "inplace" && it->is_boolean())
      continue;
    if (it.key() == "negative_slope" && it->is_number() && a.nonlinearity == NNUNetNonlinearity::LeakyReLU)
      a.negativeSlope = it->get<double>();
    else
      kwargs.Refuse(field, "= " + it->dump() + " is not supported for '" + name + "'");
  }
}

void
ParseDropout(KwargsReader & kwargs, NNUNetArchitecture & a)
{
  // Dropout is the identity in eval mode; it matters only for the `all_modules` indices.
  const std::string name = kwargs.String("dropout_op");
  a.dropout = !name.empty();
  if (a.dropout && !IsTorchClass(name, "dropout", "Dropout") && !IsTorchClass(name, "dropout", "Dropout2d") &&
      !IsTorchClass(name, "dropout", "Dropout3d"))
    kwargs.Refuse("dropout_op", "= '" + name + "' is not supported (supported: torch.nn.Dropout, Dropout2d, "
                                               "Dropout3d, null)");
  kwargs.Get("dropout_op_kwargs");
}

/** The older plans format (arch kwargs flat in the configuration), converted as
 * nnunetv2.utilities.plans_handling.plans_handler.ConfigurationManager.__init__ does. */
Json
ConvertOldPlansConfiguration(const Json & configuration, const std::string & subject)
{
  const auto require = [&](const char * field) -> const Json & {
    const auto it = configuration.find(field);
    if (it == configuration.end() || it->is_null())
      throw InputError(subject, std::string("old-format plans configuration has no '") + field + "'");
    return *it;
  };
  const Json & className = require("UNet_class_name");
  Json         arch;
  const bool   plain = className == "PlainConvUNet";
  if (plain)
    arch["network_class_name"] = PlainConvUNetName;
  else if (className == "ResidualEncoderUNet")
    arch["network_class_name"] = ResidualEncoderUNetName;
  else
    throw InputError(subject, "old-format plans field 'UNet_class_name' = " + className.dump() +
                                " is not supported (supported: PlainConvUNet, ResidualEncoderUNet)");
  const Json & encoderConvs = require("n_conv_per_stage_encoder");
  const Json & patchSize = require("patch_size");
  const Json & base = require("UNet_base_num_features");
  const Json & maximum = require("unet_max_num_features");
  if (!encoderConvs.is_array() || !patchSize.is_array() || !base.is_number_integer() || !maximum.is_number_integer())
    throw InputError(subject, "old-format plans configuration has a malformed n_conv_per_stage_encoder, patch_size, "
                              "UNet_base_num_features or unet_max_num_features");
  const size_t stages = encoderConvs.size();
  const auto   dimension = std::to_string(patchSize.size()) + "d";
  Json         features = Json::array();
  for (size_t i = 0; i < stages; ++i)
    features.push_back(std::min<int64_t>(base.get<int64_t>() << i, maximum.get<int64_t>()));
  Json & k = arch["arch_kwargs"];
  k["n_stages"] = stages;
  k["features_per_stage"] = features;
  k["conv_op"] = "torch.nn.modules.conv.Conv" + dimension;
  k["kernel_sizes"] = require("conv_kernel_sizes");
  k["strides"] = require("pool_op_kernel_sizes");
  k[plain ? "n_conv_per_stage" : "n_blocks_per_stage"] = encoderConvs;
  k["n_conv_per_stage_decoder"] = require("n_conv_per_stage_decoder");
  k["conv_bias"] = true;
  k["norm_op"] = "torch.nn.modules.instancenorm.InstanceNorm" + dimension;
  k["norm_op_kwargs"] = { { "eps", 1e-5 }, { "affine", true } };
  k["dropout_op"] = nullptr;
  k["dropout_op_kwargs"] = nullptr;
  k["nonlin"] = "torch.nn.LeakyReLU";
  k["nonlin_kwargs"] = { { "inplace", true } };
  return arch;
}

} // namespace

NNUNetArchitecture
ParseNNUNetArchitecture(const std::string & architectureJson, int64_t inputChannels, int64_t outputChannels,
                        const std::string & subject)
{
  Json root;
  try
  {
    root = Json::parse(architectureJson);
  }
  catch (const Json::exception & e)
  {
    throw InputError(subject, "architecture is not valid JSON: " + OneLine(e.what()));
  }
  if (!root.is_object())
    throw InputError(subject, "architecture must be a JSON object");
  if (root.contains("architecture") && !root.contains("network_class_name")) // a whole configuration
  {
    const Json inner = root["architecture"];
    root = inner;
  }
  else if (!root.contains("network_class_name") && root.contains("UNet_class_name"))
    root = ConvertOldPlansConfiguration(root, subject);
  if (!root.is_object() || !root.contains("network_class_name") || !root["network_class_name"].is_string())
    throw InputError(subject, "architecture has no 'network_class_name'");
  if (!root.contains("arch_kwargs") || !root["arch_kwargs"].is_object())
    throw InputError(subject, "architecture has no 'arch_kwargs' object");
  if (inputChannels < 1 || outputChannels < 1)
    throw InputError(subject, "the network needs at least one input channel and one output");

  NNUNetArchitecture a;
  a.subject = subject;
  a.networkClassName = root["network_class_name"].get<std::string>();
  a.inputChannels = inputChannels;
  a.outputChannels = outputChannels;
  // get_network_from_plans falls back to finding the class by its last name component within
  // dynamic_network_architectures.architectures (old plans say "...residual_unet.ResidualEncoderUNet").
  const std::string & name = a.networkClassName;
  const auto          dot = name.rfind('.');
  const std::string   last = dot == std::string::npos ? name : name.substr(dot + 1);
  const bool ours = dot == std::string::npos || name.rfind("dynamic_network_architectures.", 0) == 0;
  if (ours && last == "PlainConvUNet")
    a.networkClass = NNUNetNetworkClass::PlainConvUNet;
  else if (ours && last == "ResidualEncoderUNet")
    a.networkClass = NNUNetNetworkClass::ResidualEncoderUNet;
  else
    throw InputError(subject, "network class '" + name + "' is not supported (supported: " + PlainConvUNetName +
                                ", " + ResidualEncoderUNetName + ")");
  const bool plain = a.networkClass == NNUNetNetworkClass::PlainConvUNet;

  KwargsReader kwargs(root["arch_kwargs"], subject);
  a.numberOfStages = kwargs.Integer("n_stages", kwargs.Require("n_stages"), 2);
  const std::string conv = kwargs.String("conv_op");
  if (IsTorchClass(conv, "conv", "Conv3d"))
    a.spatialDimension = 3;
  else if (IsTorchClass(conv, "conv", "Conv2d"))
    a.spatialDimension = 2;
  else
    kwargs.Refuse("conv_op", "= '" + conv + "' is not supported (supported: torch.nn.Conv2d, torch.nn.Conv3d)");
  const int64_t n = a.numberOfStages;
  a.featuresPerStage = kwargs.PerStage("features_per_stage", n, 1);
  a.kernelSizes = kwargs.PerStageAxes("kernel_sizes", n, a.spatialDimension, true);
  a.strides = kwargs.PerStageAxes("strides", n, a.spatialDimension, false);
  a.convsPerStage = kwargs.PerStage(plain ? "n_conv_per_stage" : "n_blocks_per_stage", n, 1);
  a.convsPerStageDecoder = kwargs.PerStage("n_conv_per_stage_decoder", n - 1, 1);
  a.convBias = kwargs.Boolean("conv_bias", false);
  ParseNorm(kwargs, a);
  ParseDropout(kwargs, a);
  ParseNonlinearity(kwargs, a);
  kwargs.Boolean("deep_supervision", false); // inference: always False (highest resolution only)
  if (plain)
    a.nonlinFirst = kwargs.Boolean("nonlin_first", false);
  else
  {
    const std::string block = kwargs.String("block");
    if (!block.empty() && block != "dynamic_network_architectures.building_blocks.residual.BasicBlockD")
      kwargs.Refuse("block", "= '" + block +
                               "' is not supported (supported: "
                               "dynamic_network_architectures.building_blocks.residual.BasicBlockD)");
    kwargs.Get("bottleneck_channels"); // only read by BottleneckD
    if (const Json * stem = kwargs.Get("stem_channels"))
      a.stemChannels = kwargs.Integer("stem_channels", *stem, 1);
  }
  if (const std::string unread = kwargs.FirstUnread(); !unread.empty())
    kwargs.Refuse(unread, "is not a keyword argument of " + last + " that MedSeg supports");
  return a;
}

} // namespace medseg
