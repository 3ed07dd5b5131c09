#include "medsegModelPackage.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegJsonFields.h"
#include "medsegModelSpace.h"
#include "medsegSha256.h"
#include "medsegTarArchive.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace medseg
{

namespace fs = std::filesystem;
using nlohmann::json;

namespace
{

/** A string field that must be there. */
std::string
RequiredString(const JsonFields & f, const std::string & key)
{
  std::string value;
  f.Required(key);
  f.String(key, value);
  return value;
}

json
ReadJsonFile(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
  {
    throw InputError(path, "cannot open the file");
  }
  try
  {
    return json::parse(in);
  }
  catch (const json::parse_error & e)
  {
    throw InputError(path, std::string("is not valid JSON: ") + e.what());
  }
}

} // namespace

ModelPackage
ModelPackage::Parse(const json & document, const std::string & subject)
{
  if (!document.is_object())
  {
    throw InputError(subject, "is not a JSON object");
  }
  const JsonFields f(document, subject);
  if (RequiredString(f, "format") != "medseg-model")
  {
    f.Fail("format", "must be \"medseg-model\"");
  }
  const json & version = f.Required("format_version");
  if (!version.is_number_integer() || version.get<int>() != FormatVersion)
  {
    f.Fail("format_version", "is " + version.dump() + "; this MedSeg reads format version " +
                               std::to_string(FormatVersion));
  }
  ModelPackage p;
  p.name = RequiredString(f, "name");
  p.version = RequiredString(f, "version");
  f.String("description", p.description);
  p.plugin = RequiredString(f, "architecture.plugin");
  if (const json * hp = f.Find("architecture.hyper_parameters"))
  {
    if (!hp->is_object())
      f.Fail("architecture.hyper_parameters", "must be an object");
    p.hyperParameters = *hp;
  }
  else
  {
    p.hyperParameters = json::object();
  }
  p.weightsFile = RequiredString(f, "weights.file");
  if (p.weightsFile.find('/') != std::string::npos || p.weightsFile == ".." || p.weightsFile.empty())
  {
    f.Fail("weights.file", "must be a plain file name inside the package");
  }
  p.weightsSha256 = RequiredString(f, "weights.sha256");
  if (p.weightsSha256.size() != 64 ||
      p.weightsSha256.find_first_not_of("0123456789abcdef") != std::string::npos)
  {
    f.Fail("weights.sha256", "must be 64 lowercase hex digits");
  }

  const json & channels = f.Required("input.channels");
  if (!channels.is_array() || channels.empty())
  {
    f.Fail("input.channels", "must be a non-empty list");
  }
  for (size_t i = 0; i < channels.size(); ++i)
  {
    const std::string  field = "input.channels[" + std::to_string(i) + "]";
    ChannelDescription c;
    if (!channels[i].is_object() || !channels[i].contains("name") || !channels[i]["name"].is_string())
    {
      f.Fail(field, "must be an object with a \"name\"");
    }
    c.name = channels[i]["name"].get<std::string>();
    try
    {
      c.normalization = NormalizationSpec::Parse(channels[i].value("normalization", std::string("zscore")));
    }
    catch (const std::invalid_argument & e)
    {
      f.Fail(field + ".normalization", e.what());
    }
    p.channels.push_back(c);
  }
  p.orientation = "any";
  f.String("input.orientation", p.orientation);
  if (p.orientation != "any")
  {
    try
    {
      DirectionFromAxisCodes(p.orientation);
    }
    catch (const std::invalid_argument & e)
    {
      f.Fail("input.orientation", std::string("must be \"any\" or three axis codes such as \"RAS\": ") + e.what());
    }
  }
  constexpr double unbounded = std::numeric_limits<double>::infinity();
  if (f.Has("input.spacing"))
  {
    std::array<double, 3> s{};
    f.Numbers("input.spacing", s, 1e-6, unbounded);
    p.spacing = s;
  }
  p.spatialDims = 3;
  f.Integer("input.spatial_dims", p.spatialDims, 2, 3);
  p.sliceAxis = 2;
  f.Integer("input.slice_axis", p.sliceAxis, 0, 2);

  f.Required("inference.patch_size");
  std::array<double, 3> patch{};
  f.Numbers("inference.patch_size", patch, 1, unbounded);
  for (int d = 0; d < 3; ++d)
  {
    if (patch[d] != std::floor(patch[d]) || patch[d] > 1024)
      f.Fail("inference.patch_size", "must hold integers from 1 to 1024");
    p.window.patchSize[d] = static_cast<int64_t>(patch[d]);
  }
  if (p.spatialDims == 2 && p.window.patchSize[p.sliceAxis] != 1)
  {
    f.Fail("inference.patch_size", "must be 1 along input.slice_axis for a 2D model");
  }
  p.window.overlap = 0.5;
  f.Number("inference.overlap", p.window.overlap, 0.0, 0.95);
  std::string blend = "gaussian";
  f.String("inference.blend", blend);
  try
  {
    p.window.blend = ParseBlendMode(blend);
  }
  catch (const std::invalid_argument & e)
  {
    f.Fail("inference.blend", e.what());
  }
  p.window.sigmaScale = 0.125;
  f.Number("inference.sigma_scale", p.window.sigmaScale, 0.01, 10.0);
  std::string positions = "nnunet";
  f.String("inference.window_positions", positions);
  try
  {
    p.window.windowPositions = ParseWindowPositions(positions);
  }
  catch (const std::invalid_argument & e)
  {
    f.Fail("inference.window_positions", e.what());
  }
  p.window.batchSize = 2;
  f.Integer("inference.batch_size", p.window.batchSize, 1, 256);
  if (const json * axes = f.Find("inference.mirror_axes"))
  {
    if (!axes->is_array())
      f.Fail("inference.mirror_axes", "must be a list of axes (0, 1, 2)");
    for (const auto & a : *axes)
    {
      if (!a.is_number_integer() || a.get<int>() < 0 || a.get<int>() > 2 ||
          std::find(p.window.mirrorAxes.begin(), p.window.mirrorAxes.end(), a.get<int>()) != p.window.mirrorAxes.end())
        f.Fail("inference.mirror_axes", "must hold distinct axes 0 (x), 1 (y) or 2 (z)");
      p.window.mirrorAxes.push_back(a.get<int>());
    }
  }

  p.window.sliceAxis = p.sliceAxis;
  try
  {
    p.window.Validate(); // the sliding window's own limits (e.g. 512^3 voxels), not a copy of them
  }
  catch (const std::invalid_argument & e)
  {
    f.Fail("inference", e.what());
  }
  f.Boolean("inference.tta", p.tta);
  if (p.tta && p.window.mirrorAxes.empty())
    f.Fail("inference.tta", "is true but inference.mirror_axes lists no axis");
  f.Boolean("inference.crop_to_nonzero", p.cropToNonzero);
  f.String("inference.postprocess", p.postprocess);

  const json & labels = f.Required("labels");
  if (!labels.is_array() || labels.size() < 2)
  {
    f.Fail("labels", "must list at least two classes (background first)");
  }
  std::set<unsigned int> seen;
  for (size_t i = 0; i < labels.size(); ++i)
  {
    const std::string field = "labels[" + std::to_string(i) + "]";
    const json &      l = labels[i];
    if (!l.is_object() || !l.contains("value") || !l["value"].is_number_integer() || !l.contains("name") ||
        !l["name"].is_string())
    {
      f.Fail(field, "must be an object with an integer \"value\" and a \"name\"");
    }
    const int64_t value = l["value"].is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(
                                                               l["value"].get<uint64_t>(), uint64_t{ 1 } << 40))
                                                         : l["value"].get<int64_t>();
    if (value < 0 || value > 65535)
    {
      f.Fail(field + ".value", "must be between 0 and 65535");
    }
    LabelDescription d;
    d.value = static_cast<unsigned int>(value);
    d.name = l["name"].get<std::string>();
    if (!seen.insert(d.value).second)
    {
      f.Fail(field + ".value", "must be unique and <= 65535");
    }
    if (l.contains("color"))
    {
      const json & c = l["color"];
      if (!c.is_array() || c.size() != 3)
        f.Fail(field + ".color", "must be three integers 0-255");
      for (int k = 0; k < 3; ++k)
      {
        if (!c[k].is_number_integer() || c[k].get<int>() < 0 || c[k].get<int>() > 255)
          f.Fail(field + ".color", "must be three integers 0-255");
        d.color[k] = static_cast<uint8_t>(c[k].get<int>());
      }
    }
    p.labels.push_back(d);
  }
  p.training = document.value("training", json::object());
  return p;
}

json
ModelPackage::ToJson() const
{
  json channelList = json::array();
  for (const auto & c : channels)
    channelList.push_back({ { "name", c.name }, { "normalization", c.normalization.ToString() } });
  json labelList = json::array();
  for (const auto & l : labels)
    labelList.push_back({ { "value", l.value }, { "name", l.name }, { "color", { l.color[0], l.color[1], l.color[2] } } });
  json input = { { "channels", channelList },
                 { "orientation", orientation },
                 { "spatial_dims", spatialDims },
                 { "slice_axis", sliceAxis } };
  input["spacing"] = spacing ? json{ (*spacing)[0], (*spacing)[1], (*spacing)[2] } : json(nullptr);
  json document = { { "format", "medseg-model" },
                    { "format_version", FormatVersion },
                    { "name", name },
                    { "version", version },
                    { "description", description },
                    { "architecture", { { "plugin", plugin }, { "hyper_parameters", hyperParameters } } },
                    { "weights", { { "file", weightsFile }, { "sha256", weightsSha256 } } },
                    { "input", input },
                    { "inference",
                      { { "patch_size", { window.patchSize[0], window.patchSize[1], window.patchSize[2] } },
                        { "overlap", window.overlap },
                        { "blend", window.blend == BlendMode::Gaussian ? "gaussian" : "constant" },
                        { "sigma_scale", window.sigmaScale },
                        { "batch_size", window.batchSize },
                        { "mirror_axes", window.mirrorAxes },
                        { "tta", tta },
                        { "crop_to_nonzero", cropToNonzero },
                        { "postprocess", postprocess } } },
                    { "labels", labelList },
                    { "training", training } };
  if (window.windowPositions == WindowPositions::MONAI) // written only when chosen: older packages stay byte-identical
  {
    document["inference"]["window_positions"] = "monai";
  }
  return document;
}

std::string
ModelPackage::WeightsPath() const
{
  return (fs::path(directory) / weightsFile).string();
}

unsigned int
ModelPackage::LabelValue(size_t classIndex) const
{
  return classIndex < labels.size() ? labels[classIndex].value : static_cast<unsigned int>(classIndex);
}

ModelPackage
ModelPackage::DescribeTorchScriptFile(const std::string & path, size_t channels, const NormalizationSpec & normalization)
{
  const fs::path file(path);
  ModelPackage   description;
  description.source = path;
  description.directory = file.parent_path().string(); // WeightsPath() is `path` again
  description.name = file.filename().string();
  description.plugin = "torchscript";
  description.weightsFile = file.filename().string();
  for (size_t c = 0; c < channels; ++c)
  {
    ChannelDescription channel;
    channel.name = "channel " + std::to_string(c);
    channel.normalization = normalization;
    description.channels.push_back(channel);
  }
  return description;
}

ModelPackage
ModelPackage::Load(const std::string & path)
{
  std::error_code ec;
  if (!fs::exists(path, ec))
  {
    throw InputError(path, "no such model package");
  }
  if (fs::is_directory(path, ec))
  {
    return FromFolder(path, path, nullptr);
  }
  if (fs::path(path).filename() == "model.json")
  {
    const std::string folder = fs::path(path).parent_path().string();
    return FromFolder(path, folder.empty() ? std::string(".") : folder, nullptr);
  }
  return Load(ExtractToTemporaryFolder(path));
}

ModelPackage
ModelPackage::Load(const ExtractedArchive & archive)
{
  return FromFolder(archive.source, archive.folder, archive.owner);
}

ModelPackage
ModelPackage::FromFolder(const std::string & path, const std::string & folder, std::shared_ptr<void> extracted)
{
  std::error_code ec;
  const std::string jsonPath = (fs::path(folder) / "model.json").string();
  if (!fs::exists(jsonPath, ec))
  {
    throw InputError(path, "holds no model.json");
  }
  ModelPackage p = Parse(ReadJsonFile(jsonPath), path + " (model.json)");
  p.source = path;
  p.directory = folder;
  p.m_ExtractedFolder = extracted;
  if (!fs::is_regular_file(p.WeightsPath(), ec))
  {
    throw InputError(path, "weights file '" + p.weightsFile + "' named in model.json is missing");
  }
  const std::string actual = Sha256OfFile(p.WeightsPath());
  if (actual != p.weightsSha256)
  {
    throw InputError(path, "weights '" + p.weightsFile + "' have SHA-256 " + actual + " but model.json says " +
                             p.weightsSha256 + "; refusing to load them");
  }
  return p;
}

void
PackModel(const std::string & metadataPath, const std::string & weightsPath, const std::string & output)
{
  json document = ReadJsonFile(metadataPath);
  if (!document.is_object())
  {
    throw InputError(metadataPath, "is not a JSON object");
  }
  std::error_code ec;
  if (!fs::is_regular_file(weightsPath, ec))
  {
    throw InputError(weightsPath, "no such weights file");
  }
  const std::string weightsName = fs::path(weightsPath).filename().string();
  if (weightsName == "model.json")
  {
    throw InputError(weightsPath, "weights cannot be named model.json (the metadata's name in the package)");
  }
  document["weights"] = { { "file", weightsName }, { "sha256", Sha256OfFile(weightsPath) } };
  // New packages crop to the nonzero box unless their metadata say otherwise (an "inference"
  // that is not an object is left for Parse to refuse).
  if (document.contains("inference") && document["inference"].is_object() &&
      !document["inference"].contains("crop_to_nonzero"))
  {
    document["inference"]["crop_to_nonzero"] = true;
  }
  ModelPackage::Parse(document, metadataPath); // validate before writing anything

  // The metadata go into the archive from a temporary file beside the output (removed whatever happens).
  AtomicFile jsonFile((fs::path(output).parent_path().empty() ? fs::path(".") : fs::path(output).parent_path()) /
                      "model.json");
  {
    std::ofstream out(jsonFile.GetTemporaryPath());
    out << document.dump(2) << '\n';
    out.close();
    if (!out)
    {
      throw InputError(output, "cannot write a temporary file beside it");
    }
  }
  WriteTarGz(output, { { "model.json", jsonFile.GetTemporaryPath() }, { weightsName, weightsPath } });
}

} // namespace medseg
