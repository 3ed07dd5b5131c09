#include "medsegModelPackage.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegModelSpace.h"
#include "medsegSha256.h"
#include "medsegTarArchive.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace medseg
{

namespace fs = std::filesystem;
using nlohmann::json;

namespace
{

/** Reads model.json fields with errors that name the field. */
class Fields
{
public:
  Fields(const json & document, std::string subject)
    : m_Document(document)
    , m_Subject(std::move(subject))
  {}

  [[noreturn]] void
  Fail(const std::string & field, const std::string & problem) const
  {
    throw InputError(m_Subject, "field '" + field + "' " + problem);
  }

  const json *
  Find(const std::string & dotted) const
  {
    const json * node = &m_Document;
    size_t       start = 0;
    while (start <= dotted.size())
    {
      const size_t      dot = dotted.find('.', start);
      const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!node->is_object() || !node->contains(key))
      {
        return nullptr;
      }
      node = &(*node)[key];
      if (dot == std::string::npos)
        break;
      start = dot + 1;
    }
    return node;
  }

  const json &
  Required(const std::string & field) const
  {
    const json * node = Find(field);
    if (node == nullptr || node->is_null())
    {
      Fail(field, "is missing");
    }
    return *node;
  }

  std::string
  String(const std::string & field, const std::string & fallback = "", bool required = true) const
  {
    const json * node = Find(field);
    if (node == nullptr || node->is_null())
    {
      if (required)
        Fail(field, "is missing");
      return fallback;
    }
    if (!node->is_string())
      Fail(field, "must be a string");
    return node->get<std::string>();
  }

  double
  Number(const std::string & field, double fallback, double low, double high) const
  {
    const json * node = Find(field);
    if (node == nullptr || node->is_null())
      return fallback;
    if (!node->is_number())
      Fail(field, "must be a number");
    const double v = node->get<double>();
    if (!(v >= low && v <= high))
      Fail(field, "must be between " + std::to_string(low) + " and " + std::to_string(high));
    return v;
  }

  int
  Integer(const std::string & field, int fallback, int low, int high) const
  {
    const json * node = Find(field);
    if (node == nullptr || node->is_null())
      return fallback;
    if (!node->is_number_integer())
      Fail(field, "must be an integer");
    const int64_t v = node->get<int64_t>();
    if (v < low || v > high)
      Fail(field, "must be between " + std::to_string(low) + " and " + std::to_string(high));
    return static_cast<int>(v);
  }

  std::vector<double>
  Numbers(const std::string & field, size_t count, double low) const
  {
    const json & node = Required(field);
    if (!node.is_array() || node.size() != count)
      Fail(field, "must be a list of " + std::to_string(count) + " numbers");
    std::vector<double> values;
    for (const auto & v : node)
    {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < low)
        Fail(field, "must hold numbers >= " + std::to_string(low));
      values.push_back(v.get<double>());
    }
    return values;
  }

private:
  const json & m_Document;
  std::string  m_Subject;
};


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
  const Fields f(document, subject);
  if (f.String("format") != "medseg-model")
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
  p.name = f.String("name");
  p.version = f.String("version");
  p.description = f.String("description", "", false);
  p.plugin = f.String("architecture.plugin");
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
  p.weightsFile = f.String("weights.file");
  if (p.weightsFile.find('/') != std::string::npos || p.weightsFile == ".." || p.weightsFile.empty())
  {
    f.Fail("weights.file", "must be a plain file name inside the package");
  }
  p.weightsSha256 = f.String("weights.sha256");
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
  p.orientation = f.String("input.orientation", "any", false);
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
  if (const json * spacing = f.Find("input.spacing"); spacing != nullptr && !spacing->is_null())
  {
    const auto s = f.Numbers("input.spacing", 3, 1e-6);
    p.spacing = std::array<double, 3>{ { s[0], s[1], s[2] } };
  }
  p.spatialDims = f.Integer("input.spatial_dims", 3, 2, 3);
  p.sliceAxis = f.Integer("input.slice_axis", 2, 0, 2);

  const auto patch = f.Numbers("inference.patch_size", 3, 1);
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
  p.window.overlap = f.Number("inference.overlap", 0.5, 0.0, 0.95);
  try
  {
    p.window.blend = ParseBlendMode(f.String("inference.blend", "gaussian", false));
  }
  catch (const std::invalid_argument & e)
  {
    f.Fail("inference.blend", e.what());
  }
  p.window.sigmaScale = f.Number("inference.sigma_scale", 0.125, 0.01, 10.0);
  try
  {
    p.window.windowPositions = ParseWindowPositions(f.String("inference.window_positions", "nnunet", false));
  }
  catch (const std::invalid_argument & e)
  {
    f.Fail("inference.window_positions", e.what());
  }
  p.window.batchSize = f.Integer("inference.batch_size", 2, 1, 256);
  if (const json * axes = f.Find("inference.mirror_axes"); axes != nullptr && !axes->is_null())
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
  if (const json * tta = f.Find("inference.tta"); tta != nullptr && !tta->is_null())
  {
    if (!tta->is_boolean())
      f.Fail("inference.tta", "must be true or false");
    p.tta = tta->get<bool>();
    if (p.tta && p.window.mirrorAxes.empty())
      f.Fail("inference.tta", "is true but inference.mirror_axes lists no axis");
  }
  if (const json * crop = f.Find("inference.crop_to_nonzero"); crop != nullptr && !crop->is_null())
  {
    if (!crop->is_boolean())
      f.Fail("inference.crop_to_nonzero", "must be true or false");
    p.cropToNonzero = crop->get<bool>();
  }
  p.postprocess = f.String("inference.postprocess", "", false);

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
ModelPackage::Load(const std::string & path)
{
  std::error_code ec;
  if (!fs::exists(path, ec))
  {
    throw InputError(path, "no such model package");
  }
  std::string           folder;
  std::shared_ptr<void> extracted;
  if (fs::is_directory(path, ec))
  {
    folder = path;
  }
  else if (fs::path(path).filename() == "model.json")
  {
    folder = fs::path(path).parent_path().string();
    if (folder.empty())
      folder = ".";
  }
  else
  {
    std::string temp = (fs::temp_directory_path() / "medseg-package-XXXXXX").string();
    if (::mkdtemp(temp.data()) == nullptr)
    {
      throw InputError(path, "cannot create a temporary folder to unpack it");
    }
    extracted = std::shared_ptr<void>(nullptr, [temp](void *) {
      std::error_code ignored;
      fs::remove_all(temp, ignored);
    });
    ExtractTar(path, temp);
    folder = temp;
  }
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
