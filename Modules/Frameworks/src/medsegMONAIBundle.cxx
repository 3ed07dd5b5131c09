#include "medsegMONAIBundle.h"

#include "medsegError.h"
#include "medsegMONAIConfig.h"
#include "medsegMONAIMetadata.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace medseg
{

namespace
{

namespace fs = std::filesystem;
using json = nlohmann::json;
using Kind = MONAITransform::Kind;

/** The supported transforms, by the name a config gives them (without "monai.transforms."). */
const std::map<std::string, Kind> &
SupportedTransforms()
{
  static const std::map<std::string, Kind> table = {
    { "LoadImaged", Kind::LoadImage },
    { "EnsureChannelFirstd", Kind::EnsureChannelFirst },
    { "EnsureTyped", Kind::EnsureType },
    { "Orientationd", Kind::Orientation },
    { "Spacingd", Kind::Spacing },
    { "ScaleIntensityRanged", Kind::ScaleIntensityRange },
    { "ScaleIntensityd", Kind::ScaleIntensity },
    { "NormalizeIntensityd", Kind::NormalizeIntensity },
    { "CropForegroundd", Kind::CropForeground },
    { "Activationsd", Kind::Activations },
    { "Invertd", Kind::Invert },
    { "AsDiscreted", Kind::AsDiscrete },
    { "KeepLargestConnectedComponentd", Kind::KeepLargestComponent },
    { "SaveImaged", Kind::SaveImage },
  };
  return table;
}

std::string
SupportedList()
{
  std::string list;
  for (const auto & [name, kind] : SupportedTransforms())
    list += (list.empty() ? "" : ", ") + name;
  return list;
}

/** The arguments each transform may carry that do not change what MedSeg computes (devices,
 * dtypes of the float data MedSeg already holds, metadata bookkeeping, the writer's options). */
const std::set<std::string> &
IgnoredArguments(Kind kind)
{
  static const std::set<std::string> common = { "keys", "allow_missing_keys", "meta_keys", "meta_key_postfix",
                                                "dtype", "device", "track_meta", "lazy" };
  static std::map<Kind, std::set<std::string>> table;
  if (table.empty())
  {
    const auto with = [&](std::initializer_list<std::string> extra) {
      std::set<std::string> s = common;
      s.insert(extra.begin(), extra.end());
      return s;
    };
    table[Kind::LoadImage] = with({ "reader", "image_only", "simple_keys", "prune_meta_pattern", "prune_meta_sep",
                                    "overwriting", "ensure_channel_first" });
    table[Kind::EnsureChannelFirst] = with({ "strict_check", "channel_dim" });
    table[Kind::EnsureType] = with({ "data_type", "wrap_sequence" });
    table[Kind::Orientation] = with({ "axcodes", "as_closest_canonical", "labels" });
    table[Kind::Spacing] = with({ "pixdim", "mode", "padding_mode", "align_corners", "diagonal", "scale_extent",
                                  "recompute_affine", "min_pixdim", "max_pixdim", "ensure_same_shape" });
    table[Kind::ScaleIntensityRange] = with({ "a_min", "a_max", "b_min", "b_max", "clip" });
    table[Kind::ScaleIntensity] = with({ "minv", "maxv", "factor", "channel_wise" });
    table[Kind::NormalizeIntensity] = with({ "nonzero", "channel_wise", "subtrahend", "divisor" });
    table[Kind::CropForeground] = with({ "source_key", "margin", "allow_smaller", "k_divisible", "mode", "select_fn",
                                         "start_coord_key", "end_coord_key", "channel_indices" });
    table[Kind::Activations] = with({ "softmax", "sigmoid", "other" });
    table[Kind::Invert] = with({ "transform", "orig_keys", "orig_meta_keys", "nearest_interp", "to_tensor",
                                 "post_func" });
    table[Kind::AsDiscrete] = with({ "argmax", "to_onehot", "threshold", "rounding" });
    table[Kind::KeepLargestComponent] = with({ "applied_labels", "is_onehot", "independent", "connectivity",
                                               "num_components" });
    table[Kind::SaveImage] = with({ "output_dir", "output_postfix", "output_ext", "resample", "mode", "padding_mode",
                                    "scale", "output_dtype", "squeeze_end_dims", "data_root_dir", "separate_folder",
                                    "print_log", "output_format", "writer", "channel_dim", "savepath_in_metadict",
                                    "folder_layout", "output_name_formatter", "resample_mode" });
  }
  return table[kind];
}

/** Reads one transform's arguments through the config, so that references and plain expressions
 * resolve and Python code is refused where (and only where) MedSeg needs the value. */
class Arguments
{
public:
  Arguments(const MONAIConfig & config, std::string id, std::string name)
    : m_Config(config)
    , m_Id(std::move(id))
    , m_Name(std::move(name))
  {}

  [[noreturn]] void
  Fail(const std::string & argument, const std::string & problem) const
  {
    throw InputError(m_Config.File(), m_Id + " (" + m_Name + "): " + argument + " " + problem);
  }

  bool
  Has(const std::string & argument) const
  {
    return m_Config.Has(m_Id + "::" + argument);
  }

  json
  Get(const std::string & argument) const
  {
    return m_Config.Resolve(m_Id + "::" + argument);
  }

  /** A value that may be given once or once per key (`mode: [bilinear, nearest]` for two keys). */
  json
  PerKey(const std::string & argument) const
  {
    json v = Get(argument);
    if (v.is_array() && m_Keys > 1 && v.size() == m_Keys)
      return v[m_KeyIndex];
    if (v.is_array() && v.size() == 1)
      return v[0];
    return v;
  }

  void
  SetKey(size_t index, size_t count)
  {
    m_KeyIndex = index;
    m_Keys = count;
  }

  bool
  Bool(const std::string & argument, bool fallback) const
  {
    if (!Has(argument))
      return fallback;
    const json v = PerKey(argument);
    if (v.is_null())
      return fallback;
    // MONAI tests these with Python's `if x:`; configs write "True" strings too (non-empty: true).
    if (v.is_string())
      return !v.get<std::string>().empty();
    if (v.is_number())
      return v.get<double>() != 0.0;
    if (!v.is_boolean())
      Fail(argument, "must be true or false");
    return v.get<bool>();
  }

  double
  Number(const std::string & argument) const
  {
    const json v = Get(argument);
    if (!v.is_number())
      Fail(argument, "must be a number");
    return v.get<double>();
  }

  std::optional<double>
  OptionalNumber(const std::string & argument) const
  {
    if (!Has(argument) || Get(argument).is_null())
      return std::nullopt;
    return Number(argument);
  }

  std::string
  String(const std::string & argument, const std::string & fallback) const
  {
    if (!Has(argument))
      return fallback;
    const json v = PerKey(argument);
    if (v.is_null())
      return fallback;
    if (!v.is_string())
      Fail(argument, "must be a string");
    return v.get<std::string>();
  }

  /** An int or a list of 1 or 3 ints, as a value per axis (I, J, K). */
  std::array<int64_t, 3>
  PerAxis(const std::string & argument, int64_t fallback, int64_t minimum) const
  {
    std::array<int64_t, 3> out{ { fallback, fallback, fallback } };
    if (!Has(argument))
      return out;
    const json v = Get(argument);
    if (v.is_null())
      return out;
    const auto integer = [&](const json & x) {
      if (!x.is_number_integer() || x.get<int64_t>() < minimum)
        Fail(argument, "must be an integer >= " + std::to_string(minimum) + " or a list of three");
      return x.get<int64_t>();
    };
    if (v.is_array() && v.size() == 3)
    {
      for (int d = 0; d < 3; ++d)
        out[d] = integer(v[d]);
    }
    else if (v.is_array() && v.size() == 1)
      out.fill(integer(v[0]));
    else
      out.fill(integer(v));
    return out;
  }

  /** Refuses an argument whose value is not `expected` (given it is present and not null). */
  void
  Require(const std::string & argument, const json & expected, const std::string & why) const
  {
    if (Has(argument))
    {
      const json v = Get(argument);
      // Booleans as MONAI tests them (`if independent:`), so "True" is true; other values exactly.
      const bool same = expected.is_boolean() ? Bool(argument, expected.get<bool>()) == expected.get<bool>() : v == expected;
      if (!v.is_null() && !same)
        Fail(argument, "= " + v.dump() + " is not supported (" + why + ")");
    }
  }

  /** Refuses arguments MedSeg neither follows nor may ignore. */
  void
  CheckKnown(Kind kind) const
  {
    const json & raw = m_Config.Raw(m_Id);
    const auto & ignored = IgnoredArguments(kind);
    for (const auto & [key, value] : raw.items())
    {
      if (key == "_target_" || key == "_disabled_" || key == "_requires_" || key == "_mode_" || key == "_desc_")
        continue;
      if (ignored.count(key) == 0)
        Fail(key, "is an argument MedSeg does not support");
    }
  }

  const std::string &
  Id() const
  {
    return m_Id;
  }

private:
  const MONAIConfig & m_Config;
  std::string         m_Id;
  std::string         m_Name;
  size_t              m_KeyIndex{ 0 };
  size_t              m_Keys{ 1 };
};

/** The keys a transform applies to: a string or a list of strings. */
std::vector<std::string>
KeysOf(const Arguments & a)
{
  if (!a.Has("keys"))
    a.Fail("keys", "is missing");
  const json v = a.Get("keys");
  std::vector<std::string> keys;
  if (v.is_string())
    keys.push_back(v.get<std::string>());
  else if (v.is_array())
  {
    for (const auto & k : v)
    {
      if (!k.is_string())
        a.Fail("keys", "must be strings");
      keys.push_back(k.get<std::string>());
    }
  }
  else
    a.Fail("keys", "must be a key or a list of keys");
  return keys;
}

void
ParseArguments(MONAITransform & t, const Arguments & a)
{
  switch (t.kind)
  {
    case Kind::LoadImage:
    case Kind::EnsureChannelFirst:
      if (a.Has("channel_dim") && a.Get("channel_dim") != "no_channel")
        a.Require("channel_dim", json(nullptr), "the channel is the 4th dimension of the file, or there is none");
      break;
    case Kind::EnsureType:
    case Kind::SaveImage:
      break;
    case Kind::Orientation:
      t.axcodes = a.String("axcodes", "");
      if (t.axcodes.size() != 3)
        a.Fail("axcodes", "must be three letters such as \"RAS\"");
      a.Require("as_closest_canonical", false, "give axcodes instead");
      break;
    case Kind::Spacing:
    {
      const json v = a.Get("pixdim");
      if (v.is_number())
        t.pixdim = { v.get<double>() };
      else if (v.is_array() && !v.empty() && v.size() <= 3 &&
               std::all_of(v.begin(), v.end(), [](const json & x) { return x.is_number(); }))
        for (const auto & x : v)
          t.pixdim.push_back(x.get<double>());
      else
        a.Fail("pixdim", "must be a number or a list of up to three numbers");
      t.mode = a.String("mode", "bilinear");
      t.paddingMode = a.String("padding_mode", "border");
      if (t.mode != "bilinear" && t.mode != "nearest")
        a.Fail("mode", "= \"" + t.mode + "\" is not supported (bilinear or nearest)");
      if (t.paddingMode != "border" && t.paddingMode != "zeros" && t.paddingMode != "reflection")
        a.Fail("padding_mode", "= \"" + t.paddingMode + "\" is not supported (border, zeros or reflection)");
      a.Require("align_corners", false, "MedSeg resamples with align_corners false, MONAI's default");
      a.Require("diagonal", false, "the affine's rotation is kept");
      a.Require("scale_extent", false, "voxel centres are aligned");
      a.Require("recompute_affine", false, "MONAI's default");
      a.Require("min_pixdim", json(nullptr), "MONAI's default");
      a.Require("max_pixdim", json(nullptr), "MONAI's default");
      break;
    }
    case Kind::ScaleIntensityRange:
      t.aMin = a.Number("a_min");
      t.aMax = a.Number("a_max");
      t.bMin = a.OptionalNumber("b_min");
      t.bMax = a.OptionalNumber("b_max");
      t.clip = a.Bool("clip", false);
      break;
    case Kind::ScaleIntensity:
      t.bMin = a.Has("minv") ? a.OptionalNumber("minv") : std::optional<double>(0.0);
      t.bMax = a.Has("maxv") ? a.OptionalNumber("maxv") : std::optional<double>(1.0);
      t.factor = a.OptionalNumber("factor");
      t.channelWise = a.Bool("channel_wise", false);
      if (!t.bMin && !t.bMax && !t.factor)
        a.Fail("factor", "must be given when minv and maxv are null");
      break;
    case Kind::NormalizeIntensity:
      t.nonzero = a.Bool("nonzero", false);
      t.channelWise = a.Bool("channel_wise", false);
      a.Require("subtrahend", json(nullptr), "the mean of the image is used");
      a.Require("divisor", json(nullptr), "the standard deviation of the image is used");
      break;
    case Kind::CropForeground:
      t.margin = a.PerAxis("margin", 0, 0);
      t.kDivisible = a.PerAxis("k_divisible", 1, 1);
      t.allowSmaller = a.Bool("allow_smaller", false);
      a.Require("select_fn", json(nullptr), "the foreground is x > 0, MONAI's default");
      a.Require("channel_indices", json(nullptr), "every channel counts");
      a.Require("mode", "constant", "the box is padded with zeros");
      break;
    case Kind::Activations:
      t.softmax = a.Bool("softmax", false);
      t.sigmoid = a.Bool("sigmoid", false);
      a.Require("other", json(nullptr), "a Python function");
      if (t.softmax && t.sigmoid)
        a.Fail("softmax", "and sigmoid are both true");
      break;
    case Kind::Invert:
      t.nearestInterp = a.Bool("nearest_interp", true);
      a.Require("post_func", json(nullptr), "a Python function");
      break;
    case Kind::AsDiscrete:
      t.argmax = a.Bool("argmax", false);
      t.threshold = a.OptionalNumber("threshold");
      a.Require("to_onehot", json(nullptr), "MedSeg writes label maps");
      a.Require("rounding", json(nullptr), "MONAI's default");
      if (t.argmax == t.threshold.has_value())
        a.Fail("argmax", "or threshold: exactly one of them must be given");
      break;
    case Kind::KeepLargestComponent:
    {
      if (a.Has("applied_labels"))
      {
        const json v = a.Get("applied_labels");
        if (v.is_number_integer())
          t.appliedLabels.push_back(v.get<int64_t>());
        else if (v.is_array())
          for (const auto & x : v)
          {
            if (!x.is_number_integer())
              a.Fail("applied_labels", "must hold integers");
            t.appliedLabels.push_back(x.get<int64_t>());
          }
        else if (!v.is_null())
          a.Fail("applied_labels", "must be an integer or a list of integers");
      }
      if (a.Has("connectivity") && !a.Get("connectivity").is_null())
      {
        const json v = a.Get("connectivity");
        if (!v.is_number_integer() || v.get<int>() < 1 || v.get<int>() > 3)
          a.Fail("connectivity", "must be 1, 2 or 3");
        t.connectivity = v.get<int>();
      }
      a.Require("independent", true, "each label keeps its own largest component");
      a.Require("num_components", 1, "one component per label is kept");
      a.Require("is_onehot", false, "the map is a label map after AsDiscreted");
      break;
    }
  }
}

/** The lists a Compose's `transforms` item is made of: the list itself, "@id" (a list elsewhere),
 * or "$@a + @b + ..." (lists joined, as the Model Zoo's templates write it). */
std::vector<std::string>
ListParts(const MONAIConfig & config, const std::string & listId)
{
  const json & item = config.Raw(listId);
  if (!item.is_string())
    return { listId };
  const std::string text = item.get<std::string>();
  if (text.rfind("@", 0) == 0)
    return ListParts(config, text.substr(1));
  std::vector<std::string> parts;
  if (text.rfind("$", 0) == 0)
  {
    std::string rest = text.substr(1);
    size_t      start = 0;
    while (start <= rest.size())
    {
      const size_t plus = rest.find('+', start);
      std::string  term = rest.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
      term.erase(0, term.find_first_not_of(" \t"));
      term.erase(term.find_last_not_of(" \t") + 1);
      if (term.size() < 2 || term[0] != '@')
        throw InputError(config.File(), listId + ": is Python code MedSeg does not run: " + text);
      for (const std::string & sub : ListParts(config, term.substr(1)))
        parts.push_back(sub);
      if (plus == std::string::npos)
        break;
      start = plus + 1;
    }
    return parts;
  }
  throw InputError(config.File(), listId + ": must be a list of transforms");
}

/** The transforms of `compose` ("preprocessing" or "postprocessing"): a Compose dict or a list. */
std::vector<MONAITransform>
ReadTransforms(const MONAIConfig & config, const std::string & compose, const std::string & key)
{
  if (!config.Has(compose))
    throw InputError(config.File(), "has no '" + compose + "' item");
  std::string listId = compose;
  const json & item = config.Raw(compose);
  if (item.is_object())
  {
    const std::string target = item.value("_target_", std::string());
    if (target != "Compose" && target != "monai.transforms.Compose")
      throw InputError(config.File(), compose + ": is '" + target + "', MedSeg reads a Compose of transforms");
    listId = compose + "::transforms";
  }
  std::vector<std::string> ids; // every transform's id, in order
  for (const std::string & part : ListParts(config, listId))
  {
    const json & list = config.Raw(part);
    if (!list.is_array())
      throw InputError(config.File(), part + ": must be a list of transforms");
    for (size_t i = 0; i < list.size(); ++i)
      ids.push_back(part + "::" + std::to_string(i));
  }
  std::vector<MONAITransform> transforms;
  for (std::string id : ids)
  {
    const json * raw = &config.Raw(id);
    if (raw->is_string() && raw->get<std::string>().rfind("@", 0) == 0) // a reference to a transform defined elsewhere
    {
      id = raw->get<std::string>().substr(1);
      raw = &config.Raw(id);
    }
    if (!raw->is_object() || !raw->contains("_target_") || !(*raw)["_target_"].is_string())
      throw InputError(config.File(), id + ": is not a transform (a dict with _target_)");
    const json disabled = raw->value("_disabled_", json(false));
    if (disabled == true || disabled == "true" || disabled == "True")
      continue;
    std::string name = (*raw)["_target_"].get<std::string>();
    if (name.rfind("$", 0) == 0)
      throw InputError(config.File(), id + ": _target_ is Python code MedSeg does not run: " + name);
    for (const std::string prefix : { "monai.transforms.", "transforms." })
      if (name.rfind(prefix, 0) == 0)
        name = name.substr(prefix.size());
    const auto found = SupportedTransforms().find(name);
    if (found == SupportedTransforms().end())
      throw InputError(config.File(), id + ": transform '" + name + "' is not supported by MedSeg (supported: " +
                                        SupportedList() + ")");
    MONAITransform t;
    t.kind = found->second;
    t.name = name;
    t.id = id;
    Arguments a(config, id, name);
    a.CheckKnown(t.kind);
    const std::vector<std::string> keys = KeysOf(a);
    const auto                     mine = std::find(keys.begin(), keys.end(), key);
    if (mine == keys.end())
      continue; // another key's transform (a label during training, say): nothing to do for the prediction
    a.SetKey(static_cast<size_t>(mine - keys.begin()), keys.size());
    ParseArguments(t, a);
    if (t.kind == Kind::CropForeground)
    {
      const std::string source = a.String("source_key", "");
      if (source != key)
        a.Fail("source_key", "= \"" + source + "\": MedSeg crops to the foreground of '" + key + "' itself");
    }
    if (t.kind == Kind::Invert)
    {
      const json target = config.Raw(id).value("transform", json(nullptr));
      if (target != "@preprocessing")
        a.Fail("transform", "must be \"@preprocessing\" (the transforms MedSeg applied)");
    }
    if (t.kind == Kind::LoadImage && a.Bool("ensure_channel_first", false))
    {
      transforms.push_back(t);
      t.kind = Kind::EnsureChannelFirst;
    }
    transforms.push_back(t);
  }
  return transforms;
}

/** The SlidingWindowInferer, as MedSeg's sliding window with MONAI's window placement. */
void
ReadInferer(const MONAIConfig & config, MONAIBundle & bundle)
{
  if (!config.Has("inferer"))
    throw InputError(config.File(), "has no 'inferer' item");
  const json & raw = config.Raw("inferer");
  std::string  target = raw.is_object() ? raw.value("_target_", std::string()) : std::string();
  if (target.rfind("monai.inferers.", 0) == 0)
    target = target.substr(15);
  if (target == "SimpleInferer") // the network on the whole image at once: one window as large as the image
  {
    for (const auto & [key, value] : raw.items())
      if (key != "_target_")
        throw InputError(config.File(), "inferer (SimpleInferer): " + key + " is an argument MedSeg does not support");
    bundle.wholeImage = true;
    bundle.window.blend = BlendMode::Constant;
    bundle.window.batchSize = 1;
    bundle.window.blended = BlendedScores::Logits;
    bundle.window.windowPositions = WindowPositions::MONAI;
    return;
  }
  if (target != "SlidingWindowInferer")
    throw InputError(config.File(), "inferer: '" + target +
                                      "' is not supported (MedSeg runs a SlidingWindowInferer or a SimpleInferer)");
  const Arguments a(config, "inferer", target);
  for (const auto & [key, value] : raw.items())
  {
    static const std::set<std::string> known = { "_target_", "roi_size", "sw_batch_size", "overlap", "mode",
                                                  "sigma_scale", "padding_mode", "cval", "sw_device", "device",
                                                  "progress", "cache_roi_weight_map", "cpu_thresh", "buffer_steps",
                                                  "buffer_dim", "with_coord" };
    if (known.count(key) == 0)
      a.Fail(key, "is an argument MedSeg does not support");
  }
  const std::array<int64_t, 3> roi = a.PerAxis("roi_size", 0, 1);
  bundle.roiSize = roi;
  SlidingWindowSettings & s = bundle.window;
  // MedSeg's window axes (x, y, z) run over a [C, Z, Y, X] tensor; the bundle's [C, I, J, K]
  // array is run as it is, so I plays z and K plays x.
  s.patchSize = { { roi[2], roi[1], roi[0] } };
  s.batchSize = a.Has("sw_batch_size") ? static_cast<int64_t>(a.Number("sw_batch_size")) : 1;
  s.overlap = a.Has("overlap") ? a.Number("overlap") : 0.25;
  const std::string mode = a.String("mode", "constant");
  if (mode != "constant" && mode != "gaussian")
    a.Fail("mode", "= \"" + mode + "\" is not supported (constant or gaussian)");
  s.blend = mode == "gaussian" ? BlendMode::Gaussian : BlendMode::Constant;
  s.sigmaScale = a.Has("sigma_scale") ? a.Number("sigma_scale") : 0.125;
  bundle.paddingMode = a.String("padding_mode", "constant");
  if (bundle.paddingMode != "constant" && bundle.paddingMode != "replicate" && bundle.paddingMode != "reflect")
    a.Fail("padding_mode", "= \"" + bundle.paddingMode + "\" is not supported (constant, replicate or reflect)");
  if (a.Has("cval"))
    s.padValue = static_cast<float>(a.Number("cval"));
  a.Require("buffer_steps", json(nullptr), "MONAI's default");
  a.Require("with_coord", false, "MONAI's default");
  s.blended = BlendedScores::Logits;
  s.windowPositions = WindowPositions::MONAI;
  try
  {
    s.Validate();
  }
  catch (const std::invalid_argument & e)
  {
    throw InputError(config.File(), std::string("inferer: ") + e.what());
  }
}

} // namespace

bool
IsMONAIBundle(const std::string & path)
{
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "configs" / "metadata.json", ec);
}

MONAIBundle
ReadMONAIBundle(const std::string & folder)
{
  MONAIBundle bundle;
  bundle.folder = folder;
  const fs::path configs = fs::path(folder) / "configs";
  bundle.metadataFile = (configs / "metadata.json").string();
  std::error_code ec;
  if (!fs::is_regular_file(bundle.metadataFile, ec))
    throw InputError(folder, "is not a MONAI bundle: configs/metadata.json is missing");
  for (const char * name : { "inference.json", "inference.yaml", "inference.yml" })
  {
    if (fs::is_regular_file(configs / name, ec))
    {
      bundle.configFile = (configs / name).string();
      break;
    }
  }
  if (bundle.configFile.empty())
    throw InputError(folder, "is a MONAI bundle without configs/inference.json (or .yaml)");
  bundle.modelFile = (fs::path(folder) / "models" / "model.ts").string();
  if (!fs::is_regular_file(bundle.modelFile, ec))
    throw InputError(bundle.modelFile, "is missing: MedSeg runs a bundle's TorchScript network (models/model.ts; "
                                       "export one with MONAI's `python -m monai.bundle ckpt_export`)");
  detail::ReadMONAIMetadata(bundle);

  MONAIConfig config = MONAIConfig::ReadFile(bundle.configFile);
  config.Set("bundle_root", fs::absolute(folder).lexically_normal().string());
  bundle.preprocessing = ReadTransforms(config, "preprocessing", bundle.imageKey);
  bundle.postprocessing = ReadTransforms(config, "postprocessing", bundle.predKey);
  ReadInferer(config, bundle);

  const auto has = [](const std::vector<MONAITransform> & list, Kind kind) {
    return std::any_of(list.begin(), list.end(), [kind](const MONAITransform & t) { return t.kind == kind; });
  };
  if (!has(bundle.preprocessing, Kind::LoadImage))
    throw InputError(bundle.configFile, "preprocessing: has no LoadImaged of '" + bundle.imageKey + "'");
  if (!has(bundle.postprocessing, Kind::AsDiscrete))
    throw InputError(bundle.configFile, "postprocessing: has no AsDiscreted (argmax or threshold): MedSeg writes "
                                        "label maps, not class scores");
  if (!bundle.channelDef.empty() && bundle.outputChannels > 1 &&
      static_cast<int64_t>(bundle.channelDef.size()) != bundle.outputChannels)
    throw InputError(bundle.metadataFile, "channel_def names " + std::to_string(bundle.channelDef.size()) +
                                            " classes but outputs." + bundle.predKey + ".num_channels is " +
                                            std::to_string(bundle.outputChannels));
  return bundle;
}

} // namespace medseg
