#include "medsegTrainingConfig.h"

#include "medsegError.h"
#include "medsegJsonFields.h"
#include "medsegModelSpace.h"
#include "medsegPostProcessingPipeline.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace medseg
{

namespace
{
using json = nlohmann::json;

/** The fields of `object` (at `path` in the document), refusing keys other than `known`. */
JsonFields
Fields(const json & object, const std::string & path, const std::string & subject, const std::set<std::string> & known)
{
  JsonFields fields(object, subject, path);
  fields.AllowOnly(known);
  return fields;
}

/** A [low, high] pair of numbers in [lo, hi]. */
void
Range(const JsonFields & f, const std::string & key, std::array<double, 2> & value, double lo, double hi)
{
  f.Numbers(key, value, lo, hi);
  if (f.Has(key) && value[0] > value[1])
    f.Fail(key, "must be [low, high] with low <= high");
}

std::vector<std::string>
SplitCsvLine(const std::string & line)
{
  std::vector<std::string> cells;
  std::string              cell;
  bool                     quoted = false;
  for (size_t i = 0; i < line.size(); ++i)
  {
    const char c = line[i];
    if (quoted)
    {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      {
        cell += '"';
        ++i;
      }
      else if (c == '"')
        quoted = false;
      else
        cell += c;
    }
    else if (c == '"')
      quoted = true;
    else if (c == ',')
    {
      cells.push_back(cell);
      cell.clear();
    }
    else if (c != '\r')
      cell += c;
  }
  cells.push_back(cell);
  for (auto & c : cells)
  {
    const auto b = c.find_first_not_of(" \t");
    const auto e = c.find_last_not_of(" \t");
    c = b == std::string::npos ? std::string() : c.substr(b, e - b + 1);
  }
  return cells;
}

std::string
Resolve(const std::filesystem::path & folder, const std::string & path)
{
  if (path.empty() || std::filesystem::path(path).is_absolute())
    return path;
  return (folder / path).lexically_normal().string();
}

void
CheckCase(TrainingCase & c, const std::string & subject, const std::string & where)
{
  if (c.image.empty() || c.label.empty())
    throw InputError(subject, where + ": needs an image and a label");
  if (c.split == "val")
    c.split = "validation";
  if (c.split.empty())
    c.split = "train";
  if (c.split != "train" && c.split != "validation" && c.split != "test")
    throw InputError(subject, where + ": split is '" + c.split + "'; expected train, validation (val) or test");
  if (c.id.empty())
    c.id = std::filesystem::path(c.image).filename().string();
}
} // namespace

std::vector<TrainingCase>
ReadTrainingManifest(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
    throw InputError(path, "cannot be read");
  const std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
  std::vector<TrainingCase>   cases;
  const std::string           ext = std::filesystem::path(path).extension().string();
  if (ext == ".json")
  {
    json document;
    try
    {
      document = json::parse(in);
    }
    catch (const json::exception & e)
    {
      throw InputError(path, std::string("is not valid JSON: ") + e.what());
    }
    const json * list = &document;
    if (document.is_object())
    {
      if (!document.contains("cases"))
        throw InputError(path, "needs a \"cases\" list");
      list = &document["cases"];
    }
    if (!list->is_array())
      throw InputError(path, "cases: must be a list of objects");
    for (size_t i = 0; i < list->size(); ++i)
    {
      const std::string where = "cases[" + std::to_string(i) + "]";
      const JsonFields r = Fields((*list)[i], where, path, { "id", "image", "label", "split", "label_threshold" });
      TrainingCase      c;
      r.String("id", c.id);
      r.String("image", c.image);
      r.String("label", c.label);
      r.String("split", c.split);
      if (r.Has("label_threshold"))
      {
        double t = 0.0;
        r.Number("label_threshold", t, -1e30, 1e30);
        c.labelThreshold = t;
      }
      c.image = Resolve(folder, c.image);
      c.label = Resolve(folder, c.label);
      CheckCase(c, path, where);
      cases.push_back(c);
    }
  }
  else if (ext == ".csv")
  {
    std::string line;
    if (!std::getline(in, line))
      throw InputError(path, "is empty; expected a header line such as image,label,split");
    const auto header = SplitCsvLine(line);
    std::map<std::string, size_t> column;
    for (size_t i = 0; i < header.size(); ++i)
    {
      const std::set<std::string> known{ "id", "image", "label", "split", "label_threshold" };
      if (known.count(header[i]) == 0)
        throw InputError(path, "unknown column '" + header[i] + "' (known: id, image, label, split, label_threshold)");
      column[header[i]] = i;
    }
    if (column.count("image") == 0 || column.count("label") == 0)
      throw InputError(path, "the header must name the columns image and label");
    size_t row = 1;
    while (std::getline(in, line))
    {
      ++row;
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      const auto        cells = SplitCsvLine(line);
      const std::string where = "line " + std::to_string(row);
      if (cells.size() != header.size())
        throw InputError(path, where + ": has " + std::to_string(cells.size()) + " cells, the header " +
                                 std::to_string(header.size()));
      TrainingCase c;
      c.image = Resolve(folder, cells[column["image"]]);
      c.label = Resolve(folder, cells[column["label"]]);
      if (column.count("split"))
        c.split = cells[column["split"]];
      if (column.count("id"))
        c.id = cells[column["id"]];
      if (column.count("label_threshold") && !cells[column["label_threshold"]].empty())
      {
        try
        {
          c.labelThreshold = std::stod(cells[column["label_threshold"]]);
        }
        catch (const std::exception &)
        {
          throw InputError(path, where + ": label_threshold is not a number");
        }
      }
      CheckCase(c, path, where);
      cases.push_back(c);
    }
  }
  else
  {
    throw InputError(path, "a manifest must be .json or .csv");
  }
  if (cases.empty())
    throw InputError(path, "lists no cases");
  return cases;
}

AugmentationSettings
AugmentationSettings::FromJson(const json & j, const std::string & subject)
{
  AugmentationSettings a;
  if (j.is_boolean())
  {
    a.enabled = j.get<bool>();
    return a;
  }
  const JsonFields r = Fields(j, "augmentation", subject,
                              { "enabled", "flip", "rotation", "scale", "elastic", "intensity_scale",
                                "intensity_shift", "gamma", "noise", "bias_field", "low_resolution", "field_of_view",
                                "constant_patch", "beyond_case", "synthesis" });
  r.Boolean("enabled", a.enabled);
  auto sub = [&](const std::string & key, std::set<std::string> known) -> std::optional<JsonFields> {
    if (!r.Has(key))
      return std::nullopt;
    known.insert("probability");
    return Fields(r.Required(key), r.PathOf(key), subject, known);
  };
  if (auto s = sub("flip", {}))
    s->Numbers("probability", a.flipProbability, 0.0, 1.0);
  if (auto s = sub("rotation", { "degrees" }))
  {
    s->Number("probability", a.rotationProbability, 0.0, 1.0);
    s->Numbers("degrees", a.rotationDegrees, 0.0, 180.0);
  }
  if (auto s = sub("scale", { "range" }))
  {
    s->Number("probability", a.scaleProbability, 0.0, 1.0);
    Range(*s, "range", a.scaleRange, 0.25, 4.0);
  }
  if (auto s = sub("elastic", { "magnitude_mm", "control_points" }))
  {
    s->Number("probability", a.elasticProbability, 0.0, 1.0);
    s->Number("magnitude_mm", a.elasticMagnitude, 0.0, 100.0);
    s->Integer("control_points", a.elasticControlPoints, 2, 64);
  }
  if (auto s = sub("intensity_scale", { "range" }))
  {
    s->Number("probability", a.intensityScaleProbability, 0.0, 1.0);
    Range(*s, "range", a.intensityScaleRange, 0.01, 100.0);
  }
  if (auto s = sub("intensity_shift", { "max" }))
  {
    s->Number("probability", a.intensityShiftProbability, 0.0, 1.0);
    s->Number("max", a.intensityShift, 0.0, 100.0);
  }
  if (auto s = sub("gamma", { "range" }))
  {
    s->Number("probability", a.gammaProbability, 0.0, 1.0);
    Range(*s, "range", a.gammaRange, 0.05, 20.0);
  }
  if (auto s = sub("noise", { "max_sigma" }))
  {
    s->Number("probability", a.noiseProbability, 0.0, 1.0);
    s->Number("max_sigma", a.noiseSigma, 0.0, 100.0);
  }
  if (auto s = sub("bias_field", { "max_coefficient" }))
  {
    s->Number("probability", a.biasFieldProbability, 0.0, 1.0);
    s->Number("max_coefficient", a.biasFieldMagnitude, 0.0, 10.0);
  }
  if (auto s = sub("low_resolution", { "range" }))
  {
    s->Number("probability", a.lowResolutionProbability, 0.0, 1.0);
    Range(*s, "range", a.lowResolutionRange, 1.0, 8.0);
  }
  if (auto s = sub("field_of_view", { "max_axes" }))
  {
    s->Number("probability", a.fieldOfViewProbability, 0.0, 1.0);
    s->Integer("max_axes", a.fieldOfViewMaxAxes, 1, 3);
  }
  if (auto s = sub("beyond_case", { "max_fraction" }))
  {
    s->Number("probability", a.beyondCaseProbability, 0.0, 1.0);
    s->Number("max_fraction", a.beyondCaseFraction, 0.0, 1.0);
  }
  if (auto s = sub("constant_patch", {}))
    s->Number("probability", a.constantPatchProbability, 0.0, 1.0);
  if (auto s = sub("synthesis",
                   { "classes_inside", "classes_outside", "max_sd", "max_blur_voxels", "zero_background_probability" }))
  {
    s->Number("probability", a.synthesisProbability, 0.0, 1.0);
    s->Integer("classes_inside", a.synthesisClassesInside, 1, 32);
    s->Integer("classes_outside", a.synthesisClassesOutside, 1, 32);
    s->Number("max_sd", a.synthesisMaxSd, 0.0, 1.0);
    s->Number("max_blur_voxels", a.synthesisMaxBlur, 0.0, 4.0);
    s->Number("zero_background_probability", a.synthesisZeroBackgroundProbability, 0.0, 1.0);
  }
  return a;
}

json
AugmentationSettings::ToJson() const
{
  return { { "enabled", enabled },
           { "flip", { { "probability", flipProbability } } },
           { "rotation", { { "probability", rotationProbability }, { "degrees", rotationDegrees } } },
           { "scale", { { "probability", scaleProbability }, { "range", scaleRange } } },
           { "elastic",
             { { "probability", elasticProbability },
               { "magnitude_mm", elasticMagnitude },
               { "control_points", elasticControlPoints } } },
           { "intensity_scale", { { "probability", intensityScaleProbability }, { "range", intensityScaleRange } } },
           { "intensity_shift", { { "probability", intensityShiftProbability }, { "max", intensityShift } } },
           { "gamma", { { "probability", gammaProbability }, { "range", gammaRange } } },
           { "noise", { { "probability", noiseProbability }, { "max_sigma", noiseSigma } } },
           { "bias_field", { { "probability", biasFieldProbability }, { "max_coefficient", biasFieldMagnitude } } },
           { "low_resolution", { { "probability", lowResolutionProbability }, { "range", lowResolutionRange } } },
           { "field_of_view", { { "probability", fieldOfViewProbability }, { "max_axes", fieldOfViewMaxAxes } } },
           { "beyond_case", { { "probability", beyondCaseProbability }, { "max_fraction", beyondCaseFraction } } },
           { "constant_patch", { { "probability", constantPatchProbability } } },
           { "synthesis",
             { { "probability", synthesisProbability },
               { "classes_inside", synthesisClassesInside },
               { "classes_outside", synthesisClassesOutside },
               { "max_sd", synthesisMaxSd },
               { "max_blur_voxels", synthesisMaxBlur },
               { "zero_background_probability", synthesisZeroBackgroundProbability } } } };
}

TrainingConfig
TrainingConfig::FromJson(const json & j, const std::string & subject)
{
  TrainingConfig c;
  const JsonFields r = Fields(j, "", subject,
                              { "name", "version", "description", "architecture", "input", "labels", "patch_size",
                                "batch_size", "sampling", "augmentation", "loss", "optimizer", "schedule", "training",
                                "inference" });
  r.String("name", c.name);
  r.String("version", c.version);
  r.String("description", c.description);
  if (!r.Has("architecture"))
    r.Fail("architecture", "is required (plugin and hyper_parameters)");
  {
    const JsonFields a = Fields(r.Required("architecture"), "architecture", subject, { "plugin", "hyper_parameters" });
    a.String("plugin", c.plugin, { "unet", "fcn" });
    if (a.Has("hyper_parameters"))
    {
      if (!a.Required("hyper_parameters").is_object())
        a.Fail("hyper_parameters", "must be an object");
      c.hyperParameters = a.Required("hyper_parameters");
    }
  }
  if (r.Has("input"))
  {
    const JsonFields in = Fields(r.Required("input"), "input", subject,
                                 { "channels", "orientation", "spacing", "spatial_dims", "slice_axis" });
    if (in.Has("channels"))
    {
      const json & ch = in.Required("channels");
      if (!ch.is_array() || ch.size() != 1)
        in.Fail("channels", "must list exactly one channel (multi-channel training is not supported yet)");
      const JsonFields one = Fields(ch[0], "input.channels[0]", subject, { "name", "normalization" });
      ChannelDescription d;
      d.name = "image";
      one.String("name", d.name);
      std::string norm = "zscore";
      one.String("normalization", norm);
      try
      {
        d.normalization = NormalizationSpec::Parse(norm);
      }
      catch (const std::invalid_argument & e)
      {
        one.Fail("normalization", e.what());
      }
      c.channels.push_back(d);
    }
    in.String("orientation", c.orientation);
    if (c.orientation != "any")
    {
      try
      {
        (void)DirectionFromAxisCodes(c.orientation);
      }
      catch (const std::invalid_argument & e)
      {
        in.Fail("orientation", e.what());
      }
    }
    if (in.Has("spacing") && !in.Required("spacing").is_null())
    {
      std::array<double, 3> s{};
      in.Numbers("spacing", s, 1e-3, 1e3);
      c.spacing = s;
    }
    in.Integer("spatial_dims", c.spatialDims, 2, 3);
    in.Integer("slice_axis", c.sliceAxis, 0, 2);
  }
  if (c.channels.empty())
    c.channels.push_back(ChannelDescription{ "image", NormalizationSpec{} });

  if (!r.Has("labels") || !r.Required("labels").is_array() || r.Required("labels").size() < 2)
    r.Fail("labels", "must list at least two classes, background first");
  std::set<unsigned int> values;
  for (size_t i = 0; i < r.Required("labels").size(); ++i)
  {
    const std::string where = "labels[" + std::to_string(i) + "]";
    const JsonFields l = Fields(r.Required("labels")[i], where, subject, { "value", "name", "color" });
    LabelDescription  d;
    if (!l.Has("value") || !l.Has("name"))
      l.Fail("", "needs a value and a name");
    l.Integer("value", d.value, 0, 65535);
    l.String("name", d.name);
    if (l.Has("color"))
    {
      std::array<double, 3> rgb{};
      l.Numbers("color", rgb, 0, 255);
      for (int k = 0; k < 3; ++k)
        d.color[k] = static_cast<uint8_t>(rgb[k]);
    }
    if (!values.insert(d.value).second)
      l.Fail("value", "is listed twice");
    c.labels.push_back(d);
  }

  if (r.Has("patch_size"))
  {
    std::array<double, 3> p{};
    r.Numbers("patch_size", p, 1, 4096);
    for (int d = 0; d < 3; ++d)
    {
      if (p[d] != std::floor(p[d]))
        r.Fail("patch_size", "must hold integers");
      c.patchSize[d] = static_cast<int64_t>(p[d]);
    }
  }
  if (c.spatialDims == 2)
    c.patchSize[c.sliceAxis] = 1;
  r.Integer("batch_size", c.batchSize, 1, 1024);
  if (r.Has("sampling"))
  {
    const JsonFields s = Fields(r.Required("sampling"), "sampling", subject, { "foreground_ratio" });
    s.Number("foreground_ratio", c.foregroundRatio, 0.0, 1.0);
  }
  if (r.Has("augmentation"))
    c.augmentation = AugmentationSettings::FromJson(r.Required("augmentation"), subject);
  const NormalizationSpec & channel = c.channels.front().normalization;
  c.augmentation.padding = !channel.nonzero ? AugmentationSettings::Padding::PatchMinimum
                           : channel.keepZero ? AugmentationSettings::Padding::Zero
                                              : AugmentationSettings::Padding::CaseMinimum;
  // Synthesized patches are standardized (zero mean, unit variance over the case), as z-score and
  // percentile normalizations leave real ones; other normalizations would tell the two apart.
  using NormalizationKind = NormalizationSpec::Kind;
  const NormalizationKind normalization = c.channels.front().normalization.kind;
  if (c.augmentation.enabled && c.augmentation.synthesisProbability > 0.0 &&
      normalization != NormalizationKind::ZScore && normalization != NormalizationKind::PercentileZScore)
    r.Fail("augmentation.synthesis", "needs the channel's normalization to be zscore or percentile:LOW,HIGH (it "
                                     "standardizes synthesized patches as those do), not " +
                                       c.channels.front().normalization.ToString());
  if (r.Has("loss"))
  {
    const JsonFields l = Fields(r.Required("loss"), "loss", subject,
                                { "dice_weight", "ce_weight", "dice_include_background" });
    l.Number("dice_weight", c.diceWeight, 0.0, 1e3);
    l.Number("ce_weight", c.crossEntropyWeight, 0.0, 1e3);
    l.Boolean("dice_include_background", c.diceIncludeBackground);
    if (c.diceWeight + c.crossEntropyWeight <= 0.0)
      l.Fail("", "dice_weight + ce_weight must be > 0");
  }
  if (r.Has("optimizer"))
  {
    const JsonFields o = Fields(r.Required("optimizer"), "optimizer", subject,
                                { "type", "learning_rate", "weight_decay", "momentum", "nesterov", "gradient_clip" });
    o.String("type", c.optimizer, { "adam", "adamw", "sgd" });
    o.Number("learning_rate", c.learningRate, 1e-9, 10.0);
    o.Number("weight_decay", c.weightDecay, 0.0, 10.0);
    o.Number("momentum", c.momentum, 0.0, 0.9999);
    o.Boolean("nesterov", c.nesterov);
    o.Number("gradient_clip", c.gradientClip, 0.0, 1e6);
  }
  if (r.Has("schedule"))
  {
    const JsonFields s = Fields(r.Required("schedule"), "schedule", subject,
                                { "type", "power", "min_learning_rate", "warmup_steps" });
    s.String("type", c.schedule, { "poly", "cosine", "constant" });
    s.Number("power", c.polyPower, 0.0, 10.0);
    s.Number("min_learning_rate", c.minLearningRate, 0.0, 10.0);
    s.Integer("warmup_steps", c.warmupSteps, 0, 1e9);
  }
  if (r.Has("training"))
  {
    const JsonFields t = Fields(r.Required("training"), "training", subject,
                                { "steps", "validation_every", "patience", "log_every", "seed", "threads",
                                  "validation_overlap" });
    t.Integer("steps", c.steps, 1, 1e9);
    t.Integer("validation_every", c.validationEvery, 1, 1e9);
    t.Integer("patience", c.patience, 0, 1e9);
    t.Integer("log_every", c.logEvery, 1, 1e9);
    t.Integer("seed", c.seed, 0, 9.0e15);
    t.Integer("threads", c.threads, 1, 256);
    t.Number("validation_overlap", c.validationOverlap, 0.0, 0.95);
  }
  c.window.patchSize = c.patchSize;
  c.window.sliceAxis = c.sliceAxis;
  if (r.Has("inference"))
  {
    const JsonFields i = Fields(r.Required("inference"), "inference", subject,
                                { "overlap", "blend", "sigma_scale", "batch_size", "mirror_axes", "crop_to_nonzero",
                                  "tta", "postprocess" });
    i.Boolean("crop_to_nonzero", c.cropToNonzero);
    i.Boolean("tta", c.tta);
    i.String("postprocess", c.postprocess);
    try
    {
      PostProcessingSpec::Parse(c.postprocess);
    }
    catch (const std::invalid_argument & e)
    {
      i.Fail("postprocess", e.what());
    }
    i.Number("overlap", c.window.overlap, 0.0, 0.99);
    std::string blend = "gaussian";
    i.String("blend", blend, { "gaussian", "constant" });
    c.window.blend = ParseBlendMode(blend);
    i.Number("sigma_scale", c.window.sigmaScale, 1e-3, 10.0);
    i.Integer("batch_size", c.window.batchSize, 1, 4096);
    if (i.Has("mirror_axes"))
    {
      const json & axes = i.Required("mirror_axes");
      if (!axes.is_array())
        i.Fail("mirror_axes", "must be a list of axes 0, 1, 2");
      for (const auto & a : axes)
      {
        if (!a.is_number_integer() || a.get<int>() < 0 || a.get<int>() > 2)
          i.Fail("mirror_axes", "must hold axes 0 (x), 1 (y) or 2 (z)");
        c.window.mirrorAxes.push_back(a.get<int>());
      }
    }
    if (c.tta && c.window.mirrorAxes.empty())
      i.Fail("tta", "is true but mirror_axes lists no axis");
  }

  // The network's hyper-parameters follow the config: dims and classes are filled in or checked.
  json & hp = c.hyperParameters;
  const auto nLabels = static_cast<int64_t>(c.labels.size());
  if (!hp.contains("out_channels"))
    hp["out_channels"] = nLabels;
  else if (!hp["out_channels"].is_number_integer() || hp["out_channels"].get<int64_t>() != nLabels)
    r.Fail("architecture.hyper_parameters.out_channels", "must equal the number of labels (" + std::to_string(nLabels) + ")");
  if (!hp.contains("spatial_dims"))
    hp["spatial_dims"] = c.spatialDims;
  else if (!hp["spatial_dims"].is_number_integer() || hp["spatial_dims"].get<int>() != c.spatialDims)
    r.Fail("architecture.hyper_parameters.spatial_dims", "must equal input.spatial_dims");
  return c;
}

TrainingConfig
TrainingConfig::Load(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
    throw InputError(path, "cannot be read");
  json document;
  try
  {
    document = json::parse(in);
  }
  catch (const json::exception & e)
  {
    throw InputError(path, std::string("is not valid JSON: ") + e.what());
  }
  return FromJson(document, path);
}

json
TrainingConfig::ToJson() const
{
  json labelList = json::array();
  for (const auto & l : labels)
    labelList.push_back({ { "value", l.value }, { "name", l.name }, { "color", { l.color[0], l.color[1], l.color[2] } } });
  json channelList = json::array();
  for (const auto & ch : channels)
    channelList.push_back({ { "name", ch.name }, { "normalization", ch.normalization.ToString() } });
  json input = { { "channels", channelList }, { "orientation", orientation }, { "spatial_dims", spatialDims },
                 { "slice_axis", sliceAxis } };
  input["spacing"] = spacing ? json(*spacing) : json(nullptr);
  return { { "name", name },
           { "version", version },
           { "description", description },
           { "architecture", { { "plugin", plugin }, { "hyper_parameters", hyperParameters } } },
           { "input", input },
           { "labels", labelList },
           { "patch_size", patchSize },
           { "batch_size", batchSize },
           { "sampling", { { "foreground_ratio", foregroundRatio } } },
           { "augmentation", augmentation.ToJson() },
           { "loss",
             { { "dice_weight", diceWeight }, { "ce_weight", crossEntropyWeight }, { "dice_include_background", diceIncludeBackground } } },
           { "optimizer",
             { { "type", optimizer },
               { "learning_rate", learningRate },
               { "weight_decay", weightDecay },
               { "momentum", momentum },
               { "nesterov", nesterov },
               { "gradient_clip", gradientClip } } },
           { "schedule",
             { { "type", schedule }, { "power", polyPower }, { "min_learning_rate", minLearningRate }, { "warmup_steps", warmupSteps } } },
           { "training",
             { { "steps", steps },
               { "validation_every", validationEvery },
               { "patience", patience },
               { "log_every", logEvery },
               { "seed", seed },
               { "threads", threads },
               { "validation_overlap", validationOverlap } } },
           { "inference",
             { { "overlap", window.overlap },
               { "blend", window.blend == BlendMode::Gaussian ? "gaussian" : "constant" },
               { "sigma_scale", window.sigmaScale },
               { "batch_size", window.batchSize },
               { "mirror_axes", window.mirrorAxes },
               { "crop_to_nonzero", cropToNonzero },
               { "tta", tta },
               { "postprocess", postprocess } } } };
}

double
TrainingConfig::LearningRateAt(int64_t step) const
{
  if (warmupSteps > 0 && step <= warmupSteps)
    return learningRate * static_cast<double>(step) / static_cast<double>(warmupSteps);
  const double span = static_cast<double>(std::max<int64_t>(1, steps - warmupSteps));
  const double t = std::clamp(static_cast<double>(step - 1 - warmupSteps) / span, 0.0, 1.0);
  if (schedule == "poly")
    return minLearningRate + (learningRate - minLearningRate) * std::pow(1.0 - t, polyPower);
  if (schedule == "cosine")
    return minLearningRate + 0.5 * (learningRate - minLearningRate) * (1.0 + std::cos(M_PI * t));
  return learningRate;
}

} // namespace medseg
