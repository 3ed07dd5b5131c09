#include "medsegEvaluationReport.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

namespace medseg
{
namespace
{

/** label -> metric -> values over cases */
using Columns = std::map<unsigned int, std::map<std::string, std::vector<double>>>;

Columns
Collect(const std::vector<CaseEvaluation> & cases)
{
  Columns columns;
  for (const auto & c : cases)
  {
    for (const auto & m : c.labels)
    {
      for (const auto & name : MetricNames())
      {
        columns[m.label][name].push_back(MetricValue(m, name));
      }
    }
  }
  return columns;
}

std::string
CsvNumber(double v)
{
  if (std::isinf(v))
  {
    return v > 0 ? "inf" : "-inf";
  }
  std::ostringstream os;
  os << std::setprecision(10) << v;
  return os.str();
}

std::string
CsvText(const std::string & s)
{
  if (s.find_first_of(",\"\n") == std::string::npos)
  {
    return s;
  }
  std::string quoted = "\"";
  for (const char c : s)
  {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

nlohmann::json
JsonNumber(double v)
{
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

void
WriteAtomically(const std::string & path, const std::string & text)
{
  AtomicFile file(path);
  {
    std::ofstream out(file.GetTemporaryPath(), std::ios::binary);
    out << text;
    out.close();
    if (!out)
    {
      throw InputError(path, "cannot write");
    }
  }
  file.Commit();
}

} // namespace

const std::vector<std::string> &
MetricNames()
{
  static const std::vector<std::string> names = {
    "reference_voxels",   "prediction_voxels", "reference_volume_ml", "prediction_volume_ml",
    "volume_difference_ml", "dice",            "iou",                 "hausdorff_mm",
    "hausdorff95_mm",     "assd_mm",           "surface_dice"
  };
  return names;
}

double
MetricValue(const LabelMetrics & m, const std::string & name)
{
  if (name == "reference_voxels")
    return static_cast<double>(m.referenceVoxels);
  if (name == "prediction_voxels")
    return static_cast<double>(m.predictionVoxels);
  if (name == "reference_volume_ml")
    return m.referenceVolume;
  if (name == "prediction_volume_ml")
    return m.predictionVolume;
  if (name == "volume_difference_ml")
    return m.volumeDifference;
  if (name == "dice")
    return m.dice;
  if (name == "iou")
    return m.iou;
  if (name == "hausdorff_mm")
    return m.hausdorff;
  if (name == "hausdorff95_mm")
    return m.hausdorff95;
  if (name == "assd_mm")
    return m.averageSurfaceDistance;
  if (name == "surface_dice")
    return m.surfaceDice;
  throw std::invalid_argument("unknown metric " + name);
}

void
WriteEvaluationCSV(const std::vector<CaseEvaluation> & cases, double surfaceTolerance, const std::string & path)
{
  std::ostringstream os;
  (void)surfaceTolerance; // recorded in the JSON report; the CSV stays a plain table
  os << "case,label";
  for (const auto & name : MetricNames())
  {
    os << ',' << name;
  }
  os << '\n';
  for (const auto & c : cases)
  {
    for (const auto & m : c.labels)
    {
      os << CsvText(c.name) << ',' << m.label;
      for (const auto & name : MetricNames())
      {
        os << ',' << CsvNumber(MetricValue(m, name));
      }
      os << '\n';
    }
  }
  for (const auto & [label, metrics] : Collect(cases))
  {
    std::map<std::string, SummaryStatistics> stats;
    for (const auto & [name, values] : metrics)
    {
      stats[name] = Summarize(values);
    }
    for (const char * statistic : { "mean", "std", "median" })
    {
      os << statistic << ',' << label;
      for (const auto & name : MetricNames())
      {
        const auto & s = stats[name];
        const double v = std::string(statistic) == "mean" ? s.mean : (std::string(statistic) == "std" ? s.std : s.median);
        os << ',' << CsvNumber(v);
      }
      os << '\n';
    }
  }
  WriteAtomically(path, os.str());
}

void
WriteEvaluationJSON(const std::vector<CaseEvaluation> & cases, double surfaceTolerance, const std::string & path)
{
  nlohmann::json root;
  root["surface_tolerance_mm"] = surfaceTolerance;
  root["cases"] = nlohmann::json::array();
  for (const auto & c : cases)
  {
    nlohmann::json entry{ { "case", c.name }, { "labels", nlohmann::json::array() } };
    for (const auto & m : c.labels)
    {
      nlohmann::json row{ { "label", m.label } };
      for (const auto & name : MetricNames())
      {
        row[name] = JsonNumber(MetricValue(m, name));
      }
      entry["labels"].push_back(row);
    }
    root["cases"].push_back(entry);
  }
  root["summary"] = nlohmann::json::object();
  for (const auto & [label, metrics] : Collect(cases))
  {
    nlohmann::json perMetric = nlohmann::json::object();
    for (const auto & [name, values] : metrics)
    {
      const auto s = Summarize(values);
      perMetric[name] = { { "mean", JsonNumber(s.mean) },
                          { "std", JsonNumber(s.std) },
                          { "median", JsonNumber(s.median) },
                          { "n", s.count },
                          { "n_infinite", s.nonFinite } };
    }
    root["summary"][std::to_string(label)] = perMetric;
  }
  WriteAtomically(path, root.dump(2) + "\n");
}

} // namespace medseg
