// medseg batch: one case as a `medseg segment` child process, from start to its published folder.
#include "medsegBatchCaseProcess.h"
#include "medsegBatchProcess.h"
#include "medsegBatchUtilities.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace medseg::cli::batch
{

std::vector<std::string>
ExpectedOutputs(const BatchSettings & s)
{
  std::vector<std::string> outputs{ "labels" + s.extension };
  if (s.probabilities)
    outputs.push_back("probabilities" + s.extension);
  if (s.mesh)
    outputs.push_back("mesh");
  if (s.screenshot)
    outputs.push_back("overview.png");
  return outputs;
}

bool
OutputsExist(const BatchSettings & s, const std::string & id)
{
  for (const auto & o : ExpectedOutputs(s))
  {
    if (!fs::exists(s.output / id / o))
      return false;
  }
  return true;
}

fs::path
StageDir(const BatchSettings & s, const std::string & id)
{
  return s.state / "tmp" / id;
}

fs::path
LogPath(const BatchSettings & s, const std::string & id)
{
  return s.state / "logs" / (id + ".log");
}

RunningCase
StartCase(const BatchSettings & s, const BatchCase & c, size_t index)
{
  RunningCase r;
  r.index = index;
  r.start = std::chrono::steady_clock::now();
  const fs::path  stage = StageDir(s, c.id);
  std::error_code ec;
  fs::remove_all(stage, ec);
  fs::create_directories(stage, ec);
  if (s.mesh)
    fs::create_directories(stage / "mesh", ec);
  fs::create_directories(s.state / "logs", ec);
  if (ec)
  {
    r.error = stage.string() + ": cannot be created: " + ec.message();
    return r;
  }
  ProcessSpec spec;
  spec.program = s.worker;
  spec.arguments = { "segment", "--model", s.model };
  for (const auto & in : c.inputs)
    spec.arguments.insert(spec.arguments.end(), { "--input", in });
  spec.arguments.insert(spec.arguments.end(), { "--output", (stage / ("labels" + s.extension)).string() });
  if (s.probabilities)
    spec.arguments.insert(spec.arguments.end(), { "--probabilities", (stage / ("probabilities" + s.extension)).string() });
  if (s.mesh)
    spec.arguments.insert(spec.arguments.end(), { "--mesh", (stage / "mesh").string() });
  if (s.screenshot)
    spec.arguments.insert(spec.arguments.end(), { "--screenshot", (stage / "overview.png").string() });
  spec.arguments.insert(spec.arguments.end(), s.forwarded.begin(), s.forwarded.end());
  spec.arguments.push_back("--quiet");
  spec.stdoutPath = spec.stderrPath = LogPath(s, c.id).string();
  // The child dies with the batch: a killed batch leaves no orphan writing into OUTPUT.
  spec.dieWithParent = true;
  spec.execFailureMessage = "medseg segment: error: cannot execute the worker";
  std::cout.flush();
  std::cerr.flush();
  r.pid = StartProcess(spec);
  if (r.pid < 0)
    r.error = std::string("cannot start a process: ") + std::strerror(errno);
  return r;
}

int
WaitForCase(const BatchSettings & s, RunningCase & r)
{
  if (r.pid < 0)
    return 0;
  int status = 0;
  while (!WaitProcess(r.pid, status, s.caseTimeout <= 0))
  {
    if (s.caseTimeout > 0 && Seconds(r.start) > s.caseTimeout && !r.timedOut)
    {
      ::kill(r.pid, SIGKILL);
      r.timedOut = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

namespace
{


/** The child's log split into its error (the "...: error: " line) and other lines (warnings). */
void
ReadLog(const std::string & path, std::string & error, std::vector<std::string> & warnings)
{
  std::ifstream in(path);
  std::string   line;
  while (std::getline(in, line))
  {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    const auto at = line.find(": error: ");
    if (at != std::string::npos && error.empty())
      error = line.substr(at + 9);
    else if (warnings.size() < 20)
      warnings.push_back(line.substr(0, 300));
  }
}

/** Label voxel counts and volumes of a written label map. */
json
LabelVolumes(const BatchSettings & s, const std::string & labelsPath)
{
  const LabelImage3::Pointer     labels = ReadLabelImage(labelsPath);
  std::map<unsigned int, size_t> counts;
  const size_t                   n = labels->GetBufferedRegion().GetNumberOfPixels();
  const auto *                   buffer = labels->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
    ++counts[buffer[i]];
  const auto   spacing = labels->GetSpacing();
  const double voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  json         list = json::array();
  for (const auto & [label, count] : counts)
  {
    if (label == 0)
      continue;
    json l{ { "label", label }, { "voxels", count }, { "volume_ml", std::round(count * voxelMl * 1e6) / 1e6 } };
    const auto name = s.labelNames.find(label);
    if (name != s.labelNames.end())
      l["name"] = name->second;
    list.push_back(l);
  }
  return list;
}

/** Moves the complete staging folder to `final` in one step. An earlier folder there is swapped
 * out atomically (RENAME_EXCHANGE) and then removed, so `final` never holds part of a case.
 * Returns "" or the error. */
std::string
PublishCase(const fs::path & stage, const fs::path & final)
{
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(final, ec)))
  {
    fs::rename(stage, final, ec);
    return ec ? final.string() + ": cannot be written: " + ec.message() : "";
  }
  if (::renameat2(AT_FDCWD, stage.c_str(), AT_FDCWD, final.c_str(), RENAME_EXCHANGE) == 0)
  {
    fs::remove_all(stage, ec); // the earlier result, now in the staging folder
    return "";
  }
  // No RENAME_EXCHANGE here (some file systems): move the old folder aside first; the case is then
  // absent for a moment, never partial.
  const fs::path old = stage.string() + ".replaced";
  fs::remove_all(old, ec);
  fs::rename(final, old, ec);
  if (!ec)
    fs::rename(stage, final, ec);
  if (ec)
    return final.string() + ": cannot be written: " + ec.message();
  fs::remove_all(old, ec);
  return "";
}

} // namespace

json
FinishCase(const BatchSettings & s, const BatchCase & c, const RunningCase & r, int status)
{
  json result{ { "case", c.id },      { "inputs", c.inputs },   { "status", "failed" },
               { "error", "" },       { "device", s.device },   { "warnings", json::array() },
               { "labels", json::array() } };
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  result["host"] = host;
  const char * rank = std::getenv("OMPI_COMM_WORLD_RANK");
  result["rank"] = rank ? std::atoi(rank) : 0;
  result["seconds"] = std::round(Seconds(r.start) * 1000.0) / 1000.0;
  const fs::path stage = StageDir(s, c.id);
  std::string    error = r.error;
  std::vector<std::string> warnings;
  if (error.empty())
  {
    std::string logError;
    ReadLog(LogPath(s, c.id).string(), logError, warnings);
    if (r.stopSignal != 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      error = std::string("interrupted: medseg batch received SIG") + sigabbrev_np(r.stopSignal);
    else if (r.timedOut)
      error = "killed after the case timeout of " + std::to_string(s.caseTimeout) + " s";
    else if (WIFSIGNALED(status))
    {
      error = "crashed with signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
      if (!logError.empty())
        error += ": " + logError;
    }
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
      error = logError.empty() ? "medseg segment exited with code " + std::to_string(WEXITSTATUS(status)) : logError;
      result["exit_code"] = WEXITSTATUS(status);
    }
  }
  if (error.empty())
  {
    for (const auto & o : ExpectedOutputs(s))
    {
      if (!fs::exists(stage / o))
        error = "medseg segment succeeded but wrote no " + o;
    }
  }
  std::error_code ec;
  if (error.empty())
  {
    // Read back before publishing: a label map cut short (disk full) fails here, in staging.
    try
    {
      result["labels"] = LabelVolumes(s, (stage / ("labels" + s.extension)).string());
    }
    catch (const std::exception & e)
    {
      error = OneLine(e.what());
    }
  }
  if (error.empty())
    error = PublishCase(stage, s.output / c.id);
  if (error.empty())
  {
    result["status"] = "done";
    json outputs = json::array();
    for (const auto & o : ExpectedOutputs(s))
      outputs.push_back((s.output / c.id / o).string());
    result["outputs"] = outputs;
  }
  else
    result["labels"] = json::array();
  fs::remove_all(stage, ec);
  result["error"] = OneLine(error);
  result["warnings"] = warnings;
  return result;
}

/** Waits for `r` (blocking), honouring the case timeout. */
} // namespace medseg::cli::batch
