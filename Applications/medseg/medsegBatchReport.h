#ifndef medsegBatchReport_h
#define medsegBatchReport_h

#include "medsegBatchCaseProcess.h"
#include "medsegBatchCases.h"
#include "medsegBatchCommand.h"
#include "medsegBatchJournal.h"
#include "medsegProgressLine.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace medseg::cli::batch
{

/** \brief Rank 0's book-keeping: journal events, results, progress lines and the report
 * (`report.json` and `report.csv`, rewritten atomically after every case). */
class BatchRecorder
{
public:
  BatchRecorder(const BatchSettings & s, std::vector<BatchCase> & cases, const Journal & journal,
                std::string reportBase, nlohmann::json header);

  /** Journals that case `index` starts. */
  void
  Started(size_t index);
  /** Case `index` is done by an earlier run (`previous`: its journal entry). */
  void
  Reused(size_t index, nlohmann::json previous);
  /** Journals, prints and reports one finished case. */
  void
  Finished(size_t index, nlohmann::json result);
  /** Redraws the progress bar (`runningFraction`: cases under way, as a fraction of one). */
  void
  Progress(double runningFraction);
  /** Writes report.json and report.csv (atomically) from the results so far. */
  void
  WriteReport();
  /** The summary line on stdout. */
  void
  Summary();

  size_t
  Failed() const
  {
    return m_Failed;
  }

private:
  const BatchSettings &       m_Settings;
  std::vector<BatchCase> &    m_Cases;
  const Journal &             m_Journal;
  std::string                 m_ReportBase;
  nlohmann::json              m_Header;
  std::vector<nlohmann::json> m_Results;
  ProgressLine                m_Progress;
  size_t                      m_Finished{ 0 };
  size_t                      m_Ran{ 0 };
  size_t                      m_Done{ 0 };
  size_t                      m_Failed{ 0 };
};

/** Fraction of the running cases' expected time that has passed (a rough ETA aid). */
double
RunningFraction(const std::vector<RunningCase> & running, double meanSeconds);

} // namespace medseg::cli::batch

#endif
