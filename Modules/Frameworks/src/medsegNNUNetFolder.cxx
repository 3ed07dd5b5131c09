#include "medsegNNUNetFolder.h"

#include "medsegError.h"
#include "medsegNNUNetNetworks.h"
#include "medsegTorchCheckpoint.h"
#include "medsegTorchRuntime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace medseg
{

namespace
{

namespace fs = std::filesystem;
using nlohmann::json;

json
ReadJsonFile(const fs::path & path)
{
  std::ifstream in(path);
  if (!in)
  {
    throw InputError(path.string(), "cannot be read");
  }
  try
  {
    return json::parse(in);
  }
  catch (const json::exception & e)
  {
    throw InputError(path.string(), std::string("is not valid JSON (") + e.what() + ")");
  }
}

/** Typed access to one JSON file's fields: every error names the file and the field path. */
class Fields
{
public:
  Fields(std::string file, const json & root)
    : m_File(std::move(file))
    , m_Root(root)
  {}

  [[noreturn]] void
  Fail(const std::string & field, const std::string & problem) const
  {
    throw InputError(m_File, "field '" + field + "' " + problem);
  }

  const json &
  Get(const json & object, const std::string & key, const std::string & path) const
  {
    if (!object.is_object() || !object.contains(key))
      Fail(path, "is missing");
    return object.at(key);
  }

  std::string
  String(const json & object, const std::string & key, const std::string & path) const
  {
    const json & v = Get(object, key, path);
    if (!v.is_string())
      Fail(path, "must be a string");
    return v.get<std::string>();
  }

  std::vector<double>
  Numbers(const json & value, const std::string & path, size_t minSize, size_t maxSize) const
  {
    if (!value.is_array() || value.size() < minSize || value.size() > maxSize)
      Fail(path, "must be a list of " + std::to_string(minSize) + "-" + std::to_string(maxSize) + " numbers");
    std::vector<double> out;
    for (const auto & v : value)
    {
      if (!v.is_number())
        Fail(path, "must hold numbers only");
      out.push_back(v.get<double>());
    }
    return out;
  }

  const json &
  Root() const
  {
    return m_Root;
  }

private:
  std::string  m_File;
  const json & m_Root;
};

/** PlansManager._internal_resolve_configuration_inheritance: a configuration that
 * `inherits_from` another starts as a copy of it, updated with its own keys. */
json
ResolveConfiguration(const Fields & plans, const std::string & name, int depth = 0)
{
  const json & configurations = plans.Get(plans.Root(), "configurations", "configurations");
  if (!configurations.is_object() || !configurations.contains(name))
  {
    std::string available;
    if (configurations.is_object())
      for (const auto & [key, value] : configurations.items())
        available += (available.empty() ? "" : ", ") + key;
    plans.Fail("configurations." + name, "is missing (the plans have: " + available + ")");
  }
  json own = configurations.at(name);
  if (!own.is_object())
    plans.Fail("configurations." + name, "must be an object");
  if (!own.contains("inherits_from"))
    return own;
  if (depth > 16)
    plans.Fail("configurations." + name + ".inherits_from", "forms a cycle");
  json resolved = ResolveConfiguration(plans, own.at("inherits_from").get<std::string>(), depth + 1);
  resolved.update(own);
  resolved.erase("inherits_from");
  return resolved;
}

NNUNetResamplingKwargs
ResamplingKwargs(const Fields & plans, const json & configuration, const std::string & function,
                 const std::string & path)
{
  const std::string name = plans.String(configuration, function, path + "." + function);
  if (name != "resample_data_or_seg_to_shape")
    plans.Fail(path + "." + function, "is '" + name + "'; MedSeg reproduces resample_data_or_seg_to_shape only");
  NNUNetResamplingKwargs out;
  const std::string      key = function + "_kwargs";
  if (!configuration.contains(key))
    return out;
  const json & kw = configuration.at(key);
  if (kw.contains("order"))
    out.order = kw.at("order").get<int>();
  if (kw.contains("order_z"))
    out.orderZ = kw.at("order_z").get<int>();
  if (kw.contains("force_separate_z") && kw.at("force_separate_z").is_boolean())
    out.forceSeparateZ = kw.at("force_separate_z").get<bool>();
  for (int order : { out.order, out.orderZ })
    if (order != 0 && order != 1 && order != 3)
      plans.Fail(path + "." + key, "has interpolation order " + std::to_string(order) + "; MedSeg supports 0, 1 and 3");
  return out;
}

std::array<int, 3>
Permutation(const Fields & plans, const std::string & key)
{
  const std::vector<double> v = plans.Numbers(plans.Get(plans.Root(), key, key), key, 3, 3);
  std::array<int, 3>        p{};
  std::set<int>             seen;
  for (int d = 0; d < 3; ++d)
  {
    p[d] = static_cast<int>(v[d]);
    if (p[d] < 0 || p[d] > 2 || !seen.insert(p[d]).second)
      plans.Fail(key, "must be a permutation of 0, 1, 2");
  }
  return p;
}

/** "3d_fullres" from "nnUNetTrainer__nnUNetPlans__3d_fullres"; empty for other names. */
std::string
ConfigurationFromFolderName(const std::string & name)
{
  const size_t last = name.rfind("__");
  const size_t first = name.find("__");
  if (first == std::string::npos || last == first)
    return {};
  return name.substr(last + 2);
}

void
ReadLabels(NNUNetModel & model, const Fields & dataset)
{
  const json & labels = dataset.Get(dataset.Root(), "labels", "labels");
  if (!labels.is_object() || !labels.contains("background"))
    dataset.Fail("labels", "must be an object with a 'background' label (value 0)");
  std::set<unsigned int> all;
  std::vector<std::pair<std::string, json>> entries;
  for (const auto & [name, value] : labels.items())
  {
    if (name == "ignore")
      continue; // nnU-Net's ignore label is never predicted
    entries.emplace_back(name, value);
    if (value.is_array())
      model.hasRegions = model.hasRegions || value.size() > 1;
    for (const json & v : value.is_array() ? value : json::array({ value }))
    {
      if (!v.is_number_integer() || v.get<long>() < 0 || v.get<long>() > 65535)
        dataset.Fail("labels." + name, "must be a label value 0..65535 or a list of them");
      all.insert(v.get<unsigned int>());
    }
  }
  if (!model.hasRegions)
  {
    // LabelManager: all_labels sorted; the arg-max index k is label all_labels[k].
    for (unsigned int v : all)
    {
      model.labelValues.push_back(v);
      std::string name;
      for (const auto & [n, value] : entries)
        if (value.is_number_integer() && value.get<unsigned int>() == v)
          name = n;
      model.labelNames.push_back(name);
    }
    model.numberOfHeads = static_cast<int64_t>(model.labelValues.size());
    return;
  }
  // Regions: one sigmoid head per non-background entry, in dataset.json's order.
  int64_t regions = 0;
  for (const auto & [name, value] : entries)
  {
    const std::set<unsigned int> members = value.is_array() ? value.get<std::set<unsigned int>>()
                                                            : std::set<unsigned int>{ value.get<unsigned int>() };
    if (members == std::set<unsigned int>{ 0 })
      continue;
    ++regions;
    model.labelNames.push_back(name);
  }
  const json & order = dataset.Get(dataset.Root(), "regions_class_order", "regions_class_order");
  const auto   values = dataset.Numbers(order, "regions_class_order", 1, 4096);
  if (static_cast<int64_t>(values.size()) != regions)
    dataset.Fail("regions_class_order", "must list one label value per region (" + std::to_string(regions) + ")");
  for (double v : values)
    model.regionsClassOrder.push_back(static_cast<unsigned int>(v));
  model.labelValues = { 0 };
  for (unsigned int v : model.regionsClassOrder)
    model.labelValues.push_back(v);
  model.numberOfHeads = regions;
}

} // namespace

bool
IsNNUNetModelFolder(const std::string & path)
{
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "plans.json", ec) &&
         fs::is_regular_file(fs::path(path) / "dataset.json", ec);
}

NNUNetModel
ReadNNUNetFolder(const std::string & folder, const NNUNetFolderOptions & options)
{
  if (!IsNNUNetModelFolder(folder))
    throw InputError(folder, "is not an nnU-Net trained-model folder (plans.json and dataset.json)");
  NNUNetModel model;
  model.folder = folder;
  const fs::path dir(folder);
  const json     plansJson = ReadJsonFile(dir / "plans.json");
  const json     datasetJson = ReadJsonFile(dir / "dataset.json");
  const Fields   plans((dir / "plans.json").string(), plansJson);
  const Fields   dataset((dir / "dataset.json").string(), datasetJson);

  // Folds and checkpoints (nnUNetPredictor.auto_detect_available_folds: fold_N, not fold_all).
  if (options.checkpoint != "final" && options.checkpoint != "best")
    throw InputError(folder, "checkpoint must be 'final' or 'best', got '" + options.checkpoint + "'");
  const std::string checkpointName = "checkpoint_" + options.checkpoint + ".pth";
  model.folds = options.folds;
  if (model.folds.empty())
  {
    std::vector<int> found;
    std::error_code  ec;
    for (const auto & entry : fs::directory_iterator(dir, ec))
    {
      const std::string name = entry.path().filename().string();
      if (name.rfind("fold_", 0) != 0 || name == "fold_all" || !fs::is_regular_file(entry.path() / checkpointName, ec))
        continue;
      const std::string number = name.substr(5);
      if (!number.empty() && std::all_of(number.begin(), number.end(), ::isdigit))
        found.push_back(std::stoi(number));
    }
    std::sort(found.begin(), found.end());
    for (int f : found)
      model.folds.push_back(std::to_string(f));
    if (model.folds.empty())
    {
      if (fs::is_regular_file(dir / "fold_all" / checkpointName, ec))
        model.folds.push_back("all");
      else
        throw InputError(folder, "holds no fold_N/" + checkpointName);
    }
  }
  for (const auto & f : model.folds)
  {
    const fs::path checkpoint = dir / ("fold_" + f) / checkpointName;
    std::error_code ec;
    if (!fs::is_regular_file(checkpoint, ec))
      throw InputError(checkpoint.string(), "is missing (fold " + f + ")");
    model.checkpoints.push_back(checkpoint.string());
  }

  // Configuration: the folder's name says it; a renamed folder's first checkpoint does.
  model.configuration = ConfigurationFromFolderName(dir.filename().string());
  if (model.configuration.empty())
  {
    const PickleValuePtr checkpoint = ReadTorchCheckpoint(model.checkpoints.front());
    const PickleValue *  init = checkpoint->Find("init_args");
    const PickleValue *  name = init != nullptr ? init->Find("configuration") : nullptr;
    if (name == nullptr || name->GetKind() != PickleValue::Kind::String)
      throw InputError(model.checkpoints.front(), "names no configuration (init_args.configuration)");
    model.configuration = name->AsString();
  }

  model.datasetName = plansJson.value("dataset_name", std::string());
  model.plansName = plansJson.value("plans_name", std::string());
  model.readerWriter = plansJson.value("image_reader_writer", std::string("SimpleITKIO"));
  if (model.readerWriter == "NibabelIOWithReorient" || model.readerWriter == "SimpleITKIOWithReorient")
    model.reorientToRAS = true;
  else if (model.readerWriter != "SimpleITKIO" && model.readerWriter != "NibabelIO")
    plans.Fail("image_reader_writer", "is '" + model.readerWriter +
                                        "'; MedSeg supports SimpleITKIO, NibabelIO, NibabelIOWithReorient and "
                                        "SimpleITKIOWithReorient");
  model.transposeForward = Permutation(plans, "transpose_forward");
  model.transposeBackward = Permutation(plans, "transpose_backward");

  const std::string path = "configurations." + model.configuration;
  const json        configuration = ResolveConfiguration(plans, model.configuration);
  if (configuration.contains("previous_stage") && !configuration.at("previous_stage").is_null())
    plans.Fail(path + ".previous_stage", "makes this a cascade stage, which needs the previous stage's "
                                         "segmentation as input; MedSeg does not run cascades");
  const std::string preprocessor = configuration.value("preprocessor_name", std::string("DefaultPreprocessor"));
  if (preprocessor != "DefaultPreprocessor")
    plans.Fail(path + ".preprocessor_name", "is '" + preprocessor + "'; MedSeg reproduces DefaultPreprocessor only");
  const auto patch = plans.Numbers(plans.Get(configuration, "patch_size", path + ".patch_size"), path + ".patch_size", 2, 3);
  const auto spacing = plans.Numbers(plans.Get(configuration, "spacing", path + ".spacing"), path + ".spacing", 2, 3);
  if (patch.size() != spacing.size())
    plans.Fail(path + ".spacing", "must have as many values as patch_size");
  model.spatialDims = static_cast<int>(patch.size());
  for (double p : patch)
  {
    if (p < 1 || p > 4096)
      plans.Fail(path + ".patch_size", "must hold sizes 1..4096");
    model.patchSize.push_back(static_cast<int64_t>(p));
  }
  for (double s : spacing)
  {
    if (!(s > 0))
      plans.Fail(path + ".spacing", "must be positive");
    model.spacing.push_back(s);
  }
  model.dataResampling = ResamplingKwargs(plans, configuration, "resampling_fn_data", path);
  model.probabilityResampling = ResamplingKwargs(plans, configuration, "resampling_fn_probabilities", path);

  // Channels: dataset.json's channel_names ("0": "T1", ...) in index order.
  const json & channels = dataset.Get(datasetJson, datasetJson.contains("channel_names") ? "channel_names" : "modality",
                                      "channel_names");
  if (!channels.is_object() || channels.empty())
    dataset.Fail("channel_names", "must map channel indices to names");
  for (size_t c = 0; c < channels.size(); ++c)
  {
    const std::string key = std::to_string(c);
    if (!channels.contains(key))
      dataset.Fail("channel_names", "must name channels 0.." + std::to_string(channels.size() - 1));
    model.channelNames.push_back(channels.at(key).is_string() ? channels.at(key).get<std::string>() : key);
  }
  const json & schemes = plans.Get(configuration, "normalization_schemes", path + ".normalization_schemes");
  const json & masks = plans.Get(configuration, "use_mask_for_norm", path + ".use_mask_for_norm");
  if (!schemes.is_array() || schemes.size() != channels.size() || !masks.is_array() || masks.size() != channels.size())
    plans.Fail(path + ".normalization_schemes", "must list one scheme (and use_mask_for_norm) per channel (" +
                                                  std::to_string(channels.size()) + ")");
  const json properties = plansJson.value("foreground_intensity_properties_per_channel", json::object());
  for (size_t c = 0; c < channels.size(); ++c)
  {
    const std::string name = schemes.at(c).get<std::string>();
    model.normalizationNames.push_back(name);
    model.normalization.push_back(ParseNNUNetNormalization(name, (dir / "plans.json").string()));
    model.useMaskForNorm.push_back(masks.at(c).get<bool>());
    const std::string key = std::to_string(c);
    if (properties.contains(key))
    {
      const json & p = properties.at(key);
      NNUNetIntensityProperties ip{};
      ip.mean = p.value("mean", 0.0);
      ip.std = p.value("std", 1.0);
      ip.percentile_00_5 = p.value("percentile_00_5", 0.0);
      ip.percentile_99_5 = p.value("percentile_99_5", 0.0);
      model.intensityProperties.emplace_back(ip);
    }
    else
    {
      model.intensityProperties.emplace_back(std::nullopt);
      if (model.normalization.back() == NNUNetNormalization::CT)
        plans.Fail("foreground_intensity_properties_per_channel." + key, "is missing; CTNormalization needs it");
    }
  }

  ReadLabels(model, dataset);

  // The network: plans' `architecture` (or, in older plans, the configuration's flat fields).
  // Parsing here refuses unknown classes and options before any checkpoint is read.
  model.architectureJson = configuration.contains("architecture") ? configuration.at("architecture").dump()
                                                                  : configuration.dump();
  const NNUNetArchitecture parsed = ParseNNUNetArchitecture(model.architectureJson, static_cast<int64_t>(channels.size()),
                                                            model.numberOfHeads, (dir / "plans.json").string());
  model.networkClass = parsed.networkClassName;
  model.networkClass = model.networkClass.substr(model.networkClass.rfind('.') == std::string::npos
                                                   ? 0
                                                   : model.networkClass.rfind('.') + 1);
  return model;
}

namespace
{

/** One fold's network as a SegmentationModel. */
class NNUNetFoldModel : public SegmentationModel
{
public:
  NNUNetFoldModel(std::shared_ptr<NNUNetNetwork> network, c10::Device device, std::string description)
    : m_Network(std::move(network))
    , m_Device(device)
    , m_Description(std::move(description))
  {}

  at::Tensor
  Forward(const at::Tensor & batch) override
  {
    return m_Network->Forward(batch);
  }
  c10::Device
  GetDevice() const override
  {
    return m_Device;
  }
  int64_t
  GetNumberOfInputChannels() const override
  {
    return m_Network->GetNumberOfInputChannels();
  }
  int
  GetSpatialDimension() const override
  {
    return m_Network->GetSpatialDimension();
  }
  unsigned int
  GetNumberOfClasses() const override
  {
    return static_cast<unsigned int>(m_Network->GetNumberOfOutputs());
  }
  std::string
  GetDescription() const override
  {
    return m_Description;
  }

private:
  std::shared_ptr<NNUNetNetwork> m_Network;
  c10::Device                    m_Device;
  std::string                    m_Description;
};

} // namespace

std::vector<std::shared_ptr<SegmentationModel>>
LoadNNUNetFolds(NNUNetModel & model, const std::string & device)
{
  const c10::Device target = ResolveDevice(device);
  const NNUNetArchitecture architecture =
    ParseNNUNetArchitecture(model.architectureJson, static_cast<int64_t>(model.channelNames.size()),
                            model.numberOfHeads, (fs::path(model.folder) / "plans.json").string());
  std::vector<std::shared_ptr<SegmentationModel>> folds;
  for (size_t f = 0; f < model.checkpoints.size(); ++f)
  {
    const std::string & file = model.checkpoints[f];
    const PickleValuePtr checkpoint = ReadTorchCheckpoint(file);
    const PickleValue *  weights = checkpoint->Find("network_weights");
    if (weights == nullptr)
      throw InputError(file, "holds no 'network_weights' (not an nnU-Net training checkpoint)");
    if (const PickleValue * init = checkpoint->Find("init_args"))
    {
      const PickleValue * name = init->Find("configuration");
      if (name != nullptr && name->GetKind() == PickleValue::Kind::String && name->AsString() != model.configuration)
        throw InputError(file, "was trained for configuration '" + name->AsString() + "', but the folder is '" +
                                 model.configuration + "'");
    }
    if (f == 0)
    {
      if (const PickleValue * trainer = checkpoint->Find("trainer_name");
          trainer != nullptr && trainer->GetKind() == PickleValue::Kind::String)
        model.trainerName = trainer->AsString();
      model.mirrorAxes.clear();
      if (const PickleValue * axes = checkpoint->Find("inference_allowed_mirroring_axes");
          axes != nullptr && (axes->GetKind() == PickleValue::Kind::Tuple || axes->GetKind() == PickleValue::Kind::List))
      {
        for (const auto & a : axes->Items())
        {
          const int64_t axis = a->AsInt();
          if (axis < 0 || axis >= model.spatialDims)
            throw InputError(file, "inference_allowed_mirroring_axes holds axis " + std::to_string(axis) + " of a " +
                                     std::to_string(model.spatialDims) + "D network");
          model.mirrorAxes.push_back(static_cast<int>(axis));
        }
      }
    }
    std::shared_ptr<NNUNetNetwork> network = BuildNNUNetNetwork(architecture);
    LoadNNUNetWeights(*network, StateDictFromPickle(*weights, file), file);
    network->To(target);
    folds.push_back(std::make_shared<NNUNetFoldModel>(
      network, target, "nnU-Net " + model.networkClass + " fold " + model.folds[f] + " on " + target.str()));
  }
  return folds;
}

std::string
DescribeNNUNetModel(const NNUNetModel & model)
{
  std::ostringstream out;
  const auto         list = [](const auto & values) {
    std::ostringstream s;
    for (size_t i = 0; i < values.size(); ++i)
      s << (i ? " x " : "") << values[i];
    return s.str();
  };
  out << "nnU-Net v2 model " << model.folder << "\n";
  out << "  dataset:        " << model.datasetName << " (plans " << model.plansName << ")\n";
  out << "  configuration:  " << model.configuration << " (" << model.spatialDims << "D)\n";
  if (!model.trainerName.empty())
    out << "  trainer:        " << model.trainerName << "\n";
  out << "  network:        " << model.networkClass << "\n";
  out << "  folds:          ";
  for (size_t f = 0; f < model.folds.size(); ++f)
    out << (f ? ", " : "") << model.folds[f];
  out << "\n  spacing (mm):   " << list(model.spacing) << " (transposed axes; transpose_forward " << model.transposeForward[0]
      << "," << model.transposeForward[1] << "," << model.transposeForward[2] << ")\n";
  out << "  patch (voxels): " << list(model.patchSize) << "\n";
  out << "  image reader:   " << model.readerWriter << (model.reorientToRAS ? " (reoriented to RAS)" : "") << "\n";
  for (size_t c = 0; c < model.channelNames.size(); ++c)
    out << "  channel " << c << ":      " << model.channelNames[c] << ", " << model.normalizationNames[c]
        << (model.useMaskForNorm[c] ? " (inside the nonzero mask)" : "") << "\n";
  if (!model.mirrorAxes.empty())
  {
    out << "  mirroring:      axes";
    for (int a : model.mirrorAxes)
      out << " " << a;
    out << "\n";
  }
  out << "  labels:         ";
  for (size_t k = 0; k < model.labelValues.size(); ++k)
    out << (k ? ", " : "") << model.labelValues[k]
        << (k < model.labelNames.size() && !model.hasRegions && !model.labelNames[k].empty() ? " " + model.labelNames[k]
                                                                                            : "");
  if (model.hasRegions)
    out << " (region-based: sigmoid per region, regions_class_order)";
  out << "\n";
  return out.str();
}

} // namespace medseg
