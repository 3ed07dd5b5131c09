// medseg batch: the scheduler. Lists the cases, takes the output lock, resumes from the journal,
// runs the unfinished cases --jobs at a time, and stops cleanly on SIGTERM, SIGINT or SIGHUP.
#include "medsegBatchScheduler.h"
#include "medsegBatchCaseProcess.h"
#include "medsegBatchCases.h"
#include "medsegBatchCommand.h"
#include "medsegBatchJournal.h"
#include "medsegBatchProcess.h"
#include "medsegBatchReport.h"
#include "medsegBatchUtilities.h"
#include "medsegError.h"
#include "medsegModelPackage.h"
#include "medsegModelSource.h"
#include "medsegMONAIBundle.h"
#include "medsegNNUNetFolder.h"
#include "medsegSha256.h"
#include "medsegVersion.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <iostream>
#include <optional>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace medseg::cli
{

using namespace batch;

namespace
{

/** The first stop signal caught (0: none) and how many arrived; set only by OnStopSignal. */
volatile std::sig_atomic_t stopSignal = 0;
volatile std::sig_atomic_t stopSignalCount = 0;

extern "C" void
OnStopSignal(int signal)
{
  if (stopSignal == 0)
    stopSignal = signal;
  stopSignalCount = stopSignalCount + 1;
}

/** Seconds a case may take to end after the stop signal is forwarded, before it is killed. */
constexpr double stopGraceSeconds = 10.0;

} // namespace

struct BatchScheduler::Impl
{
  BatchSettings                    settings;
  std::vector<BatchCase>           cases;
  std::deque<size_t>               pending;
  std::unique_ptr<OutputLock>      lock;
  std::unique_ptr<Journal>         journal;
  std::unique_ptr<BatchRecorder>   recorder;
  double                           secondsSum{ 0 };
  size_t                           secondsCount{ 0 };
  int                              stoppedBy{ 0 }; //!< the signal RunLocal stopped on
};

BatchScheduler::BatchScheduler()
  : m_Impl(std::make_unique<Impl>())
{}
BatchScheduler::~BatchScheduler() = default;

void
BatchScheduler::StopOnSignals()
{
  struct sigaction action
  {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (const int signal : { SIGTERM, SIGINT, SIGHUP })
    ::sigaction(signal, &action, nullptr);
}

int
BatchScheduler::Prepare(const std::vector<std::string> & arguments, bool coordinator)
{
  std::optional<BatchSettings> parsed = ParseBatchArguments(arguments, coordinator);
  if (!parsed)
    return ExitSuccess; // --help
  m_Impl->settings = std::move(*parsed);
  auto &       s = m_Impl->settings;
  const auto & shard = s.shard;

  // Cases: every rank lists them the same way; a shard keeps positions I, I+N, I+2N, ...
  if (!fs::exists(s.model))
    throw InputError(s.model, "does not exist");
  std::vector<BatchCase> all = CollectCases(s.inputs, s.output);
  if (all.empty())
    throw InputError(s.inputs.front(), "names no case");
  for (size_t i = 0; i < all.size(); ++i)
  {
    if (static_cast<long>(i % static_cast<size_t>(shard.second)) == shard.first)
      m_Impl->cases.push_back(all[i]);
  }
  const std::string shardSuffix =
    shard.second > 1 ? ".shard-" + std::to_string(shard.first) + "-of-" + std::to_string(shard.second) : "";

  std::error_code ec;
  fs::create_directories(s.state, ec);
  if (ec)
    throw InputError(s.output.string(), "cannot create the output folder: " + ec.message());
  if (!coordinator)
    return -1;

  // One batch per output folder and shard at a time; a torn last journal line is cut off.
  m_Impl->lock = std::make_unique<OutputLock>(s.output, s.state, shardSuffix);
  m_Impl->journal = std::make_unique<Journal>(s.state, "journal" + shardSuffix + ".jsonl");
  m_Impl->journal->RepairTornTail();

  // The model: its hash, and for a package its label names (segment's rule tells which it is).
  std::string modelHash;
  const ModelSource source = ModelSource::Resolve(s.model);
  if (source.kind == ModelSource::Kind::NNUNet)
  {
    // nnU-Net folder: its plans, dataset description and every fold's checkpoint (packed: the archive).
    const NNUNetModel model = ReadNNUNetFolder(source.NNUNetFolder());
    std::string       digests;
    if (source.nnunetPackage)
      digests = Sha256OfFile(s.model);
    else
    {
      digests = Sha256OfFile((fs::path(s.model) / "plans.json").string()) +
                Sha256OfFile((fs::path(s.model) / "dataset.json").string());
      for (const auto & checkpoint : model.checkpoints)
        digests += Sha256OfFile(checkpoint);
    }
    modelHash = Sha256OfString(digests);
    for (size_t k = 0; k < model.labelValues.size() && !model.hasRegions; ++k)
      s.labelNames[model.labelValues[k]] = model.labelNames[k];
  }
  else if (source.kind == ModelSource::Kind::MONAI)
  {
    // MONAI bundle: its metadata, inference config and TorchScript network.
    const MONAIBundle bundle = ReadMONAIBundle(s.model); // refuses what segment would refuse
    modelHash = Sha256OfString(Sha256OfFile(bundle.metadataFile) + Sha256OfFile(bundle.configFile) +
                               Sha256OfFile(bundle.modelFile));
    for (const auto & [value, name] : bundle.channelDef)
      s.labelNames[static_cast<unsigned int>(value)] = name;
  }
  else if (source.kind == ModelSource::Kind::Package)
  {
    const ModelPackage package = source.LoadPackage(); // validates, checks the weights' hash
    modelHash = Sha256OfString(package.ToJson().dump());
    for (const auto & l : package.labels)
      s.labelNames[l.value] = l.name;
  }
  else
    modelHash = Sha256OfFile(s.model);
  std::string optionsText = "extension=" + s.extension + (s.probabilities ? " probabilities" : "") +
                            (s.mesh ? " mesh" : "") + (s.screenshot ? " screenshot" : "");
  for (size_t i = 0; i < s.forwarded.size(); ++i)
  {
    if (s.forwarded[i] == "--threads")
    {
      ++i; // the thread count does not change the result
      continue;
    }
    optionsText += " " + s.forwarded[i];
  }

  const std::string reportBase = !s.reportBase.empty() ? s.reportBase : (s.output / ("report" + shardSuffix)).string();
  json header{ { "medseg_version", MEDSEG_VERSION }, { "model", s.model },      { "model_sha256", modelHash },
               { "options", optionsText },           { "device", s.device },    { "started", UtcNow() },
               { "output", s.output.string() },      { "shard", std::to_string(shard.first) + "/" + std::to_string(shard.second) },
               { "jobs", s.jobs } };
  m_Impl->recorder = std::make_unique<BatchRecorder>(s, m_Impl->cases, *m_Impl->journal, reportBase, header);

  // Resume: a case is done when its latest journal entry is a success with today's key and its
  // outputs are all there. Everything else is (re)done.
  const auto latest = m_Impl->journal->Latest();
  for (size_t i = 0; i < m_Impl->cases.size(); ++i)
  {
    BatchCase & c = m_Impl->cases[i];
    std::string keyText;
    try
    {
      for (const auto & in : c.inputs)
      {
        c.inputHashes.push_back(HashInput(in));
        keyText += c.inputHashes.back() + "\n";
      }
    }
    catch (const std::exception & e)
    {
      // Unreadable input: this case fails alone.
      m_Impl->recorder->Finished(i, { { "case", c.id }, { "inputs", c.inputs }, { "status", "failed" },
                                      { "error", OneLine(e.what()) }, { "device", s.device }, { "seconds", 0.0 } });
      continue;
    }
    keyText += modelHash + "\n" MEDSEG_VERSION "\n" + optionsText;
    c.key = Sha256OfString(keyText);
    const auto previous = latest.find(c.id);
    const bool ours = previous != latest.end();
    if (ours && previous->second.value("event", "") == "finished" && previous->second.value("status", "") == "done" &&
        previous->second.value("key", "") == c.key && OutputsExist(s, c.id))
    {
      m_Impl->recorder->Reused(i, previous->second);
      continue;
    }
    if (!ours && !s.overwrite && fs::exists(s.output / c.id))
    {
      m_Impl->recorder->Finished(i, { { "case", c.id },
                                      { "inputs", c.inputs },
                                      { "status", "failed" },
                                      { "error", (s.output / c.id).string() +
                                                   ": already exists and no batch run here wrote it; pass --overwrite to replace it" },
                                      { "device", s.device },
                                      { "seconds", 0.0 } });
      continue;
    }
    m_Impl->pending.push_back(i);
  }
  m_Impl->recorder->WriteReport();
  return -1;
}

size_t
BatchScheduler::NumberOfCases() const
{
  return m_Impl->cases.size();
}

bool
BatchScheduler::HasPending() const
{
  return !m_Impl->pending.empty();
}

long
BatchScheduler::TakePending()
{
  if (m_Impl->pending.empty())
    return -1;
  const size_t index = m_Impl->pending.front();
  m_Impl->pending.pop_front();
  m_Impl->recorder->Started(index);
  return static_cast<long>(index);
}

void
BatchScheduler::Record(size_t index, const std::string & resultJson)
{
  json result = json::parse(resultJson);
  result["case"] = m_Impl->cases.at(index).id;
  if (!result.contains("inputs"))
    result["inputs"] = m_Impl->cases[index].inputs;
  if (result.contains("labels"))
  {
    for (auto & l : result["labels"])
    {
      const auto name = m_Impl->settings.labelNames.find(l["label"].get<unsigned int>());
      if (!l.contains("name") && name != m_Impl->settings.labelNames.end())
        l["name"] = name->second;
    }
  }
  if (result.contains("seconds"))
  {
    m_Impl->secondsSum += result["seconds"].get<double>();
    ++m_Impl->secondsCount;
  }
  m_Impl->recorder->Finished(index, std::move(result));
}

std::string
BatchScheduler::RunCase(size_t index)
{
  const BatchCase & c = m_Impl->cases.at(index);
  RunningCase       r = StartCase(m_Impl->settings, c, index);
  const int         status = WaitForCase(m_Impl->settings, r);
  return FinishCase(m_Impl->settings, c, r, status).dump();
}

bool
BatchScheduler::RunLocal(const std::function<bool()> & poll, const std::function<bool()> & othersBusy)
{
  auto &                                s = m_Impl->settings;
  std::vector<RunningCase>              running;
  std::chrono::steady_clock::time_point stopAt;
  bool                                  killed = false;
  for (;;)
  {
    if (stopSignal != 0 && m_Impl->stoppedBy == 0)
    {
      // Stop: no new case; the running ones get the signal, then SIGKILL after a grace period.
      m_Impl->stoppedBy = stopSignal;
      stopAt = std::chrono::steady_clock::now();
      for (auto & r : running)
      {
        r.stopSignal = m_Impl->stoppedBy;
        ::kill(r.pid, m_Impl->stoppedBy);
      }
    }
    if (m_Impl->stoppedBy != 0 && !killed && (stopSignalCount > 1 || Seconds(stopAt) > stopGraceSeconds))
    {
      killed = true;
      for (const auto & r : running)
        ::kill(r.pid, SIGKILL);
    }
    while (m_Impl->stoppedBy == 0 && static_cast<long>(running.size()) < s.jobs && HasPending())
    {
      const long  index = TakePending();
      RunningCase r = StartCase(s, m_Impl->cases[index], static_cast<size_t>(index));
      if (r.pid < 0)
        Record(r.index, FinishCase(s, m_Impl->cases[r.index], r, 0).dump());
      else
        running.push_back(std::move(r));
    }
    for (auto it = running.begin(); it != running.end();)
    {
      int status = 0;
      if (WaitProcess(it->pid, status, false))
      {
        Record(it->index, FinishCase(s, m_Impl->cases[it->index], *it, status).dump());
        it = running.erase(it);
        continue;
      }
      if (s.caseTimeout > 0 && !it->timedOut && Seconds(it->start) > s.caseTimeout)
      {
        ::kill(it->pid, SIGKILL);
        it->timedOut = true;
      }
      ++it;
    }
    const bool polled = poll && poll();
    if (running.empty() && (!HasPending() || m_Impl->stoppedBy != 0) && !(othersBusy && othersBusy()))
      break;
    m_Impl->recorder->Progress(RunningFraction(running, m_Impl->secondsCount ? m_Impl->secondsSum / m_Impl->secondsCount : 0));
    if (!polled)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return m_Impl->stoppedBy == 0;
}

int
BatchScheduler::Finish()
{
  m_Impl->recorder->WriteReport();
  m_Impl->recorder->Summary();
  const int signal = m_Impl->stoppedBy != 0 ? m_Impl->stoppedBy : static_cast<int>(stopSignal);
  if (signal != 0)
  {
    std::cerr << "medseg batch: stopped by SIG" << sigabbrev_np(signal)
              << "; run the same command again to finish the remaining cases" << std::endl;
    return 128 + signal;
  }
  return m_Impl->recorder->Failed() == 0 ? ExitSuccess : ExitProcessingError;
}

} // namespace medseg::cli
