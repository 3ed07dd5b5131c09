#ifndef medsegEvaluationReport_h
#define medsegEvaluationReport_h

#include "medsegSegmentationMetrics.h"

#include <string>
#include <vector>

namespace medseg
{

/** The metrics of one reference/prediction pair. */
struct CaseEvaluation
{
  std::string               name; //!< the case (file name)
  std::vector<LabelMetrics> labels;
};

/** The names of the per-label metrics, in CSV column order after `case,label`. */
const std::vector<std::string> &
MetricNames();

/** The value of metric `name` (one of MetricNames()) in `m`. */
double
MetricValue(const LabelMetrics & m, const std::string & name);

/** \brief Writes one row per case and label, then summary rows (case "mean", "std", "median"
 * per label, over finite values) to `path`, atomically. Infinite distances are written "inf". */
void
WriteEvaluationCSV(const std::vector<CaseEvaluation> & cases, double surfaceTolerance, const std::string & path);

/** \brief Writes {"surface_tolerance_mm", "cases": [{"case", "labels": [{...}]}],
 * "summary": {"<label>": {"<metric>": {"mean", "std", "median", "n", "n_infinite"}}}} to `path`,
 * atomically. Infinite values are written as null. */
void
WriteEvaluationJSON(const std::vector<CaseEvaluation> & cases, double surfaceTolerance, const std::string & path);

} // namespace medseg

#endif
