#ifndef medsegBatchScheduler_h
#define medsegBatchScheduler_h

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace medseg::cli
{

/** \brief The case scheduler behind `medseg batch`, shared by the single-process and MPI runs.
 *
 * Prepare() parses the command line and lists the cases (every rank does, identically). On the
 * coordinator it also hashes inputs and model, takes the output lock, reads the resume journal
 * and queues the unfinished cases. Cases run as `medseg segment` child processes. */
class BatchScheduler
{
public:
  BatchScheduler();
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler &) = delete;
  BatchScheduler &
  operator=(const BatchScheduler &) = delete;

  /** Returns an exit code when there is nothing more to do (--help), else -1. */
  int
  Prepare(const std::vector<std::string> & arguments, bool coordinator);

  size_t
  NumberOfCases() const;
  bool
  HasPending() const;
  /** Coordinator: the next unfinished case (journaled as started), or -1. */
  long
  TakePending();
  /** Coordinator: journals and reports one finished case (its result as JSON text). */
  void
  Record(size_t index, const std::string & resultJson);
  /** Any rank: runs one case to completion and returns its result as JSON text. */
  std::string
  RunCase(size_t index);
  /** Coordinator: runs pending cases, --jobs at a time, until none is left, none runs and
   * `othersBusy` (other ranks still working) is false; `poll` is called every turn (MPI
   * messages) and returns true when it did something. Returns false when it stopped early
   * because StopOnSignals() caught a signal (the running cases are then ended and journaled). */
  bool
  RunLocal(const std::function<bool()> & poll, const std::function<bool()> & othersBusy);
  /** Coordinator: final report and summary; the exit code (0 all done, 1 some failed, 128 + the
   * signal when a caught SIGTERM, SIGINT or SIGHUP stopped the run). */
  int
  Finish();

  /** Catches SIGTERM, SIGINT and SIGHUP (single-process runs): RunLocal() then starts no new
   * case, forwards the signal to the running cases, journals them as interrupted and returns. */
  static void
  StopOnSignals();

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

} // namespace medseg::cli

#endif
