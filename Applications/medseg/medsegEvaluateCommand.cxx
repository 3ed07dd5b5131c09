// medseg evaluate: segmentation metrics of predictions against references (one pair or two folders).
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegToolMain.h"
#include "medsegError.h"
#include "medsegEvaluationReport.h"
#include "medsegGeometry.h"
#include "medsegImageFileIO.h"
#include "medsegSegmentationMetrics.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace medseg::cli
{
namespace
{

using K = ParameterKind;

} // namespace

CommandLine
EvaluateCommandLine()
{
  CommandLine cl("medseg evaluate", "Segmentation metrics",
                 "Compares predicted label maps with reference label maps: per label Dice, IoU, volumes (mL), "
                 "Hausdorff distance, HD95, average symmetric surface distance and surface Dice, in mm. Give two "
                 "files, or two folders whose label maps are matched by file name. Pairs must share their "
                 "geometry. See Documentation/metrics.md.");
  cl.Add(Option("reference", K::InputLabelMap, "Reference label map, or a folder of them.")
           .Required().Label("Reference").Group("Input/output"))
    .Add(Option("prediction", K::InputLabelMap, "Predicted label map, or a folder with the same file names.")
           .Required().Label("Prediction").Group("Input/output"))
    .Add(Option("output-csv", K::OutputFile, "Write per-case rows and summary rows (mean, std, median) as CSV.")
           .Label("CSV output").Group("Input/output"))
    .Add(Option("output-json", K::OutputFile, "Write per-case results and the summary as JSON.")
           .Label("JSON output").Group("Input/output"))
    .Add(Option("labels", K::IntegerVector, "Labels to evaluate (default: every non-zero label in either image).")
           .Label("Labels").Group("Metrics"))
    .Add(Option("tolerance", K::Float, "Surface Dice tolerance in mm.")
           .Default("1").Label("Tolerance (mm)").Group("Metrics"))
    .Add(Option("overwrite", K::Flag, "Replace output files that already exist.")
           .Label("Overwrite").Group("Input/output"))
    .Add(Option("quiet", K::Flag, "Print nothing but errors.").Label("Quiet").Group("Runtime"));
  return cl;
}

namespace
{

/** CSV/JSON outputs: the right extension, an existing folder, no clobbering without --overwrite. */
void
CheckReportPath(const std::string & path, const std::string & extension, bool overwrite)
{
  if (fs::path(path).extension() != extension)
  {
    throw InputError(path, "expected a " + extension + " file name");
  }
  CheckOutputFile(path, overwrite);
}

bool
IsLabelMapFile(const fs::path & p)
{
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.')
  {
    return false;
  }
  for (const char * ext : { ".nii", ".nii.gz", ".nrrd", ".mha", ".mhd", ".png", ".tif", ".tiff" })
  {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
    {
      return true;
    }
  }
  return false;
}

struct Pair
{
  std::string name;
  std::string reference;
  std::string prediction;
};

std::vector<Pair>
MatchPairs(const std::string & reference, const std::string & prediction)
{
  std::error_code ec;
  const bool      referenceIsFolder = fs::is_directory(reference, ec);
  const bool      predictionIsFolder = fs::is_directory(prediction, ec);
  if (referenceIsFolder != predictionIsFolder)
  {
    throw UsageError("--reference and --prediction must both be files or both be folders");
  }
  if (!referenceIsFolder)
  {
    return { { fs::path(prediction).filename().string(), reference, prediction } };
  }
  std::vector<Pair> pairs;
  for (const auto & entry : fs::directory_iterator(reference, ec))
  {
    if (entry.is_regular_file() && IsLabelMapFile(entry.path()))
    {
      const std::string name = entry.path().filename().string();
      const fs::path    predicted = fs::path(prediction) / name;
      if (!fs::is_regular_file(predicted, ec))
      {
        throw InputError(predicted.string(), "missing: the reference folder has " + name + " but the prediction "
                                               "folder has no file of that name");
      }
      pairs.push_back({ name, entry.path().string(), predicted.string() });
    }
  }
  if (ec)
  {
    throw InputError(reference, "cannot list the folder: " + ec.message());
  }
  if (pairs.empty())
  {
    throw InputError(reference, "holds no label maps (.nii, .nii.gz, .nrrd, .mha, .mhd, .png, .tif, .tiff)");
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair & a, const Pair & b) { return a.name < b.name; });
  return pairs;
}

std::string
Format(double v)
{
  if (std::isinf(v))
  {
    return "inf";
  }
  std::ostringstream os;
  os << std::fixed << std::setprecision(4) << v;
  return os.str();
}

} // namespace

int
RunEvaluateCommand(const std::vector<std::string> & arguments)
{
  return ParseAndRun(EvaluateCommandLine(), arguments, [](const ParsedArguments & args) { return RunEvaluate(args); });
}

int
RunEvaluate(const ParsedArguments & args, ReturnParameters * returned)
{
  EvaluationOptions options;
  options.surfaceTolerance = args.GetFloat("tolerance");
  if (!(options.surfaceTolerance >= 0.0) || !std::isfinite(options.surfaceTolerance))
  {
    throw UsageError("--tolerance must be a distance >= 0 in mm");
  }
  if (args.Has("labels"))
  {
    for (const long label : args.GetIntegerVector("labels"))
    {
      if (label < 1 || label > std::numeric_limits<LabelImage3::PixelType>::max())
      {
        throw UsageError("--labels: " + std::to_string(label) + " is not a label (1.." +
                         std::to_string(std::numeric_limits<LabelImage3::PixelType>::max()) + ")");
      }
      options.labels.push_back(static_cast<unsigned int>(label));
    }
  }
  const std::string csv = args.Get("output-csv");
  const std::string json = args.Get("output-json");
  const bool        overwrite = args.Flag("overwrite");
  const bool        quiet = args.Flag("quiet");
  if (!csv.empty())
  {
    CheckReportPath(csv, ".csv", overwrite);
  }
  if (!json.empty())
  {
    CheckReportPath(json, ".json", overwrite);
  }
  const auto pairs = MatchPairs(args.Get("reference"), args.Get("prediction"));

  std::vector<CaseEvaluation> cases;
  for (const auto & pair : pairs)
  {
    const auto reference = ReadLabelImage(pair.reference);
    const auto prediction = ReadLabelImage(pair.prediction);
    const auto difference = DescribeGeometryDifference(reference, prediction);
    if (!difference.empty())
    {
      throw InputError(pair.prediction, difference + " (reference " + pair.reference + ")");
    }
    cases.push_back({ pair.name, EvaluateSegmentation(reference, prediction, options) });
    if (!quiet)
    {
      for (const auto & m : cases.back().labels)
      {
        std::cout << pair.name << "  label " << m.label << ": Dice " << Format(m.dice) << ", IoU " << Format(m.iou)
                  << ", HD " << Format(m.hausdorff) << " mm, HD95 " << Format(m.hausdorff95) << " mm, ASSD "
                  << Format(m.averageSurfaceDistance) << " mm, surface Dice@" << options.surfaceTolerance << "mm "
                  << Format(m.surfaceDice) << ", volume " << Format(m.predictionVolume) << " / "
                  << Format(m.referenceVolume) << " mL\n";
      }
    }
  }
  if (returned != nullptr)
  {
    // Per label, the mean over the cases (one case when two files were given).
    std::map<unsigned int, std::vector<const LabelMetrics *>> byLabel;
    for (const auto & c : cases)
      for (const auto & m : c.labels)
        byLabel[m.label].push_back(&m);
    for (const auto & [label, metrics] : byLabel)
    {
      double dice = 0, hd95 = 0;
      for (const auto * m : metrics)
      {
        dice += m->dice / metrics.size();
        hd95 += m->hausdorff95 / metrics.size();
      }
      returned->emplace_back("diceLabel" + std::to_string(label), Format(dice));
      returned->emplace_back("hd95Label" + std::to_string(label), Format(hd95));
    }
  }
  if (!csv.empty())
  {
    WriteEvaluationCSV(cases, options.surfaceTolerance, csv);
  }
  if (!json.empty())
  {
    WriteEvaluationJSON(cases, options.surfaceTolerance, json);
  }
  if (!quiet && cases.size() > 1)
  {
    std::map<unsigned int, std::vector<double>> dice;
    for (const auto & c : cases)
      for (const auto & m : c.labels)
        dice[m.label].push_back(m.dice);
    for (const auto & [label, values] : dice)
    {
      const auto s = Summarize(values);
      std::cout << "summary label " << label << ": Dice mean " << Format(s.mean) << ", std " << Format(s.std)
                << ", median " << Format(s.median) << " over " << values.size() << " cases\n";
    }
  }
  return ExitSuccess;
}

} // namespace medseg::cli
