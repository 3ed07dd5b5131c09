// medseg batch: journal events, progress lines and the JSON/CSV report.
#include "medsegBatchReport.h"
#include "medsegBatchUtilities.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

using nlohmann::json;

namespace medseg::cli::batch
{

BatchRecorder::BatchRecorder(const BatchSettings & s, std::vector<BatchCase> & cases, const Journal & journal,
                             std::string reportBase, json header)
  : m_Settings(s)
  , m_Cases(cases)
  , m_Journal(journal)
  , m_ReportBase(std::move(reportBase))
  , m_Header(std::move(header))
  , m_Results(cases.size())
  , m_Progress("batch", !s.quiet && ProgressLine::IsTerminal())
{}

void
BatchRecorder::Started(size_t index)
{
  m_Journal.Append({ { "case", m_Cases[index].id }, { "key", m_Cases[index].key }, { "event", "started" } });
}

void
BatchRecorder::Reused(size_t index, json previous)
{
  previous["reused"] = true;
  previous.erase("event");
  previous.erase("time");
  previous.erase("key");
  m_Results[index] = std::move(previous);
  ++m_Finished;
}

void
BatchRecorder::Finished(size_t index, json result)
{
  result["key"] = m_Cases[index].key;
  result["event"] = "finished";
  m_Journal.Append(result);
  result.erase("event");
  result.erase("key");
  result["reused"] = false;
  ++m_Finished;
  ++m_Ran;
  if (!m_Settings.quiet)
  {
    std::ostringstream line;
    line << "[" << m_Finished << "/" << m_Cases.size() << "] " << m_Cases[index].id << ": ";
    if (result["status"] == "done")
      line << "done in " << std::fixed << std::setprecision(1) << result["seconds"].get<double>() << " s";
    else
      line << "FAILED: " << result["error"].get<std::string>();
    std::cerr << (ProgressLine::IsTerminal() ? "\r\033[K" : "") << line.str() << std::endl;
  }
  m_Results[index] = std::move(result);
  WriteReport();
}

void
BatchRecorder::Progress(double runningFraction)
{
  if (!m_Cases.empty())
    m_Progress.Update((m_Finished + runningFraction) / static_cast<double>(m_Cases.size()));
}

void
BatchRecorder::WriteReport()
{
  json report = m_Header;
  report["finished"] = UtcNow();
  json   cases = json::array();
  size_t done = 0, failed = 0, pending = 0;
  std::set<unsigned int> labelValues;
  for (size_t i = 0; i < m_Cases.size(); ++i)
  {
    json r = m_Results[i].is_null() ? json{ { "case", m_Cases[i].id }, { "inputs", m_Cases[i].inputs },
                                              { "status", "pending" } }
                                    : m_Results[i];
    const std::string status = r["status"];
    done += status == "done";
    failed += status == "failed";
    pending += status == "pending";
    if (r.contains("labels"))
    {
      for (const auto & l : r["labels"])
        labelValues.insert(l["label"].get<unsigned int>());
    }
    cases.push_back(std::move(r));
  }
  report["summary"] = { { "cases", m_Cases.size() }, { "done", done }, { "failed", failed }, { "pending", pending } };
  report["cases"] = cases;
  WriteTextAtomically(m_ReportBase + ".json", report.dump(2) + "\n");

  const auto quote = [](const std::string & text) {
    if (text.find_first_of(",\"\n") == std::string::npos)
      return text;
    std::string q = "\"";
    for (const char c : text)
      q += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
    return q + "\"";
  };
  std::ostringstream csv;
  csv << "case,status,reused,seconds,device,host,inputs,error,warnings";
  for (const unsigned int v : labelValues)
  {
    const auto name = m_Settings.labelNames.find(v);
    csv << ",volume_ml_" << v << (name != m_Settings.labelNames.end() ? "_" + SafeCaseId(name->second) : "");
  }
  csv << '\n';
  for (const auto & r : cases)
  {
    std::string inputs, warnings;
    for (const auto & x : r["inputs"])
      inputs += (inputs.empty() ? "" : ";") + x.get<std::string>();
    if (r.contains("warnings"))
    {
      for (const auto & w : r["warnings"])
        warnings += (warnings.empty() ? "" : " | ") + w.get<std::string>();
    }
    csv << quote(r["case"].get<std::string>()) << ',' << r["status"].get<std::string>() << ','
        << (r.value("reused", false) ? "yes" : "no") << ','
        << (r.contains("seconds") ? std::to_string(r["seconds"].get<double>()) : std::string()) << ','
        << r.value("device", std::string()) << ',' << quote(r.value("host", std::string())) << ',' << quote(inputs)
        << ',' << quote(r.value("error", std::string())) << ',' << quote(warnings);
    for (const unsigned int v : labelValues)
    {
      double ml = 0;
      if (r.contains("labels"))
      {
        for (const auto & l : r["labels"])
          if (l["label"].get<unsigned int>() == v)
            ml = l["volume_ml"].get<double>();
      }
      csv << ',' << (r["status"] == "done" ? std::to_string(ml) : std::string());
    }
    csv << '\n';
  }
  WriteTextAtomically(m_ReportBase + ".csv", csv.str());
  m_Done = done;
  m_Failed = failed;
}

void
BatchRecorder::Summary()
{
  m_Progress.Finish();
  size_t reused = 0;
  for (const auto & r : m_Results)
    reused += !r.is_null() && r.value("reused", false);
  std::cout << "medseg batch: " << m_Cases.size() << " case(s): " << m_Done << " done (" << reused
            << " from an earlier run), " << m_Failed << " failed; report: " << m_ReportBase << ".json, .csv\n";
}
/** Fraction of the running cases' expected time that has passed (a rough ETA aid). */
double
RunningFraction(const std::vector<RunningCase> & running, double meanSeconds)
{
  if (meanSeconds <= 0)
    return 0;
  double f = 0;
  for (const auto & r : running)
    f += std::min(0.95, Seconds(r.start) / meanSeconds);
  return f;
}

} // namespace medseg::cli::batch
