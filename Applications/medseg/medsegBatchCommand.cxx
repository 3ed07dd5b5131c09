// medseg batch: segments many cases, each in its own `medseg segment` child process, with resume,
// a JSON/CSV report, deterministic shards (Slurm job arrays) and optional MPI work distribution.
// This file holds the option table and its parsing; the rest of batch lives beside it:
// medsegBatchCases (case lists), medsegBatchJournal (journal, lock), medsegBatchCaseProcess (one
// case's child), medsegBatchReport (report), medsegBatchScheduler (the run), medsegBatchProcess
// (fork/exec), medsegBatchMpi (MPI ranks).
#include "medsegBatchCommand.h"
#include "medsegBatchScheduler.h"
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegError.h"
#include "medsegTorchRuntime.h"

#ifdef MEDSEG_WITH_VISUALIZATION
#  include "medsegOverviewRenderer.h"
#endif

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace medseg::cli
{

namespace
{

using K = ParameterKind;

/** Options handed on to every `medseg segment` child unchanged: {name, is a flag}. */
const std::pair<const char *, bool> forwardedOptions[] = {
  { "patch-size", false }, { "overlap", false },     { "blend", false },   { "batch-size", false },
  { "normalize", false },  { "tta", true },          { "no-tta", true },       { "mirror-axes", false },
  { "crop-to-nonzero", true }, { "no-crop-to-nonzero", true },
  { "postprocess", false }, { "folds", false },    { "checkpoint", false },
  { "device", false },     { "no-optimize", true },  { "threads", false },
};

CommandLine
BatchCommandLine()
{
  CommandLine cl("medseg batch", "Batch segmentation",
                 "Segments many cases with one model. Each case runs as its own `medseg segment` process, so\n"
                 "a bad or crashing case fails alone and the batch goes on. Inputs: folders (every image file\n"
                 "and every DICOM series sub-folder is a case), glob patterns, or CSV/JSON manifests. Outputs go\n"
                 "to OUTPUT/<case>/. A journal in OUTPUT/.medseg-batch/ records finished cases keyed by the\n"
                 "SHA-256 of the inputs, of the model and of the options, and the MedSeg version, so a run\n"
                 "that is stopped at any moment redoes only unfinished cases when started again. Exit 0 when\n"
                 "every case succeeded, 1 when some failed, 2 on a usage error. See Documentation/batch.md.");
  cl.Add(Option("model", K::InputFile,
                "Model package (folder, model.json, .medseg), TorchScript file (.pt), nnU-Net v2 model\n"
                "      folder or MONAI bundle folder.").Required().Label("Model").Group("Input/output"))
    .Add(Option("input", K::String,
                "A folder, a glob pattern (quote it), an image file, or a manifest (.csv or .json). Repeatable.")
           .Required().Repeatable().Label("Inputs").Group("Input/output"))
    .Add(Option("output", K::Directory, "Output folder (created if missing); each case writes OUTPUT/<case>/.")
           .Required().Label("Output folder").Group("Input/output"))
    .Add(Option("extension", K::Enumeration, "File type of the label and probability maps.")
           .Default(".nii.gz").Choices({ ".nii.gz", ".nii", ".nrrd", ".mha" }).Label("Extension").Group("Input/output"))
    .Add(Option("probabilities", K::Flag, "Also write OUTPUT/<case>/probabilities<ext>.")
           .Label("Probabilities").Group("Input/output"))
    .Add(Option("mesh", K::Flag, "Also write surface meshes into OUTPUT/<case>/mesh/.")
           .Label("Meshes").Group("Input/output"))
    .Add(Option("screenshot", K::Flag, "Also write OUTPUT/<case>/overview.png (needs an X display: xvfb-run -a).")
           .Label("Pictures").Group("Input/output"))
    .Add(Option("overwrite", K::Flag, "Replace case folders that exist but that no earlier batch run in OUTPUT wrote.")
           .Label("Overwrite").Group("Input/output"))
    .Add(Option("report", K::String, "Report path without extension (writes .json and .csv). Default: OUTPUT/report.")
           .Label("Report").Group("Input/output"))
    .Add(Option("jobs", K::Integer, "Cases run at the same time on this machine (or MPI rank).")
           .Default("1").Label("Jobs").Group("Scheduling"))
    .Add(Option("shard", K::String,
                "I/N: run only the cases whose position in the sorted case list is I modulo N (0 <= I < N).\n"
                "      Default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT when set, else all cases.")
           .Label("Shard").Group("Scheduling"))
    .Add(Option("case-timeout", K::Float, "Seconds after which a case is killed and recorded as failed (0: none).")
           .Default("0").Label("Case timeout").Group("Scheduling"))
    .Add(Option("patch-size", K::IntegerVector, "Passed on to medseg segment.")
           .Label("Patch size").Group("Segmentation"))
    .Add(Option("overlap", K::Float, "Passed on to medseg segment.").Label("Overlap").Group("Segmentation"))
    .Add(Option("blend", K::Enumeration, "Passed on to medseg segment.")
           .Choices({ "gaussian", "constant" }).Label("Blending").Group("Segmentation"))
    .Add(Option("batch-size", K::Integer, "Passed on to medseg segment.").Label("Batch size").Group("Segmentation"))
    .Add(Option("normalize", K::String, "Passed on to medseg segment.").Label("Normalization").Group("Segmentation"))
    .Add(Option("tta", K::Flag, "Passed on to medseg segment.").Label("Mirror TTA").Group("Segmentation"))
    .Add(Option("no-tta", K::Flag, "Passed on to medseg segment.").Label("No TTA").Group("Segmentation"))
    .Add(Option("mirror-axes", K::IntegerVector, "Passed on to medseg segment.")
           .Label("Mirror axes").Group("Segmentation"))
    .Add(Option("crop-to-nonzero", K::Flag, "Passed on to medseg segment.")
           .Label("Crop to nonzero").Group("Segmentation"))
    .Add(Option("no-crop-to-nonzero", K::Flag, "Passed on to medseg segment.")
           .Label("No crop to nonzero").Group("Segmentation"))
    .Add(Option("postprocess", K::String, "Passed on to medseg segment.")
           .Label("Post-processing").Group("Segmentation"))
    .Add(Option("folds", K::String, "nnU-Net models: passed on to medseg segment.")
           .Label("nnU-Net folds").Group("Segmentation"))
    .Add(Option("checkpoint", K::Enumeration, "nnU-Net models: passed on to medseg segment.")
           .Choices({ "final", "best" }).Label("nnU-Net checkpoint").Group("Segmentation"))
    .Add(Option("threads", K::Integer, "LibTorch threads of each case (passed on to medseg segment).")
           .Default("1").Label("Threads").Group("Segmentation"))
    .Add(Option("device", K::Enumeration, "Passed on to medseg segment.")
           .Default("auto").Choices({ "auto", "cpu", "cuda" }).Label("Device").Group("Segmentation"))
    .Add(Option("no-optimize", K::Flag, "Passed on to medseg segment.").Label("No optimization").Group("Segmentation"))
    .Add(Option("quiet", K::Flag, "Print nothing but errors and the summary line.").Label("Quiet").Group("Runtime"));
  return cl;
}

/** Parses "I/N". */
std::pair<long, long>
ParseShard(const std::string & text, const std::string & what)
{
  const auto slash = text.find('/');
  try
  {
    if (slash != std::string::npos)
    {
      size_t     used = 0;
      const long i = std::stol(text.substr(0, slash), &used);
      const bool iOk = used == slash;
      const long n = std::stol(text.substr(slash + 1), &used);
      if (iOk && used == text.size() - slash - 1 && n >= 1 && i >= 0 && i < n)
        return { i, n };
    }
  }
  catch (const std::exception &)
  {
  }
  throw UsageError(what + " must be I/N with 0 <= I < N, got '" + text + "'");
}

} // namespace

std::optional<BatchSettings>
ParseBatchArguments(const std::vector<std::string> & arguments, bool coordinator)
{
  const CommandLine     cl = BatchCommandLine();
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    if (coordinator)
      std::cout << cl.Help();
    return std::nullopt;
  }
  BatchSettings s;
  s.jobs = args.GetInteger("jobs");
  if (s.jobs < 1 || s.jobs > 256)
    throw UsageError("--jobs must be between 1 and 256");
  s.caseTimeout = args.GetFloat("case-timeout");
  if (!(s.caseTimeout >= 0))
    throw UsageError("--case-timeout must be >= 0");
  if (args.GetInteger("threads") < 0)
    throw UsageError("--threads must be >= 0");
  if (args.Has("shard"))
    s.shard = ParseShard(args.Get("shard"), "--shard");
  else if (const char * id = std::getenv("SLURM_ARRAY_TASK_ID"))
  {
    const char * count = std::getenv("SLURM_ARRAY_TASK_COUNT");
    const char * min = std::getenv("SLURM_ARRAY_TASK_MIN");
    if (!count)
      throw UsageError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
    long index = 0;
    try
    {
      index = std::stol(id) - (min ? std::stol(min) : 0);
    }
    catch (const std::exception &)
    {
      throw UsageError(std::string("SLURM_ARRAY_TASK_ID is not a number: '") + id + "'");
    }
    s.shard = ParseShard(std::to_string(index) + "/" + count, "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN / SLURM_ARRAY_TASK_COUNT");
  }
  s.model = args.Get("model");
  s.inputs = args.GetAll("input");
  s.output = fs::absolute(args.Get("output")).lexically_normal();
  s.state = s.output / ".medseg-batch";
  s.extension = args.Get("extension");
  if (args.Has("report"))
    s.reportBase = args.Get("report");
  s.probabilities = args.Flag("probabilities");
  s.mesh = args.Flag("mesh");
  s.screenshot = args.Flag("screenshot");
  s.overwrite = args.Flag("overwrite");
  s.quiet = args.Flag("quiet") || !coordinator;
#ifdef MEDSEG_WITH_VISUALIZATION
  if (s.screenshot && !HasRenderingDisplay())
    throw UsageError("--screenshot needs an X display; run under xvfb-run -a");
#else
  if (s.screenshot || s.mesh)
    throw UsageError("--mesh and --screenshot need MedSeg built with Visualization (VTK)");
#endif
  for (const auto & [name, flag] : forwardedOptions)
  {
    if (flag ? args.Flag(name) : (args.Has(name) || std::string(name) == "threads"))
    {
      s.forwarded.push_back(std::string("--") + name);
      if (!flag)
        s.forwarded.push_back(args.Get(name));
    }
  }
  if (const char * worker = std::getenv("MEDSEG_BATCH_WORKER"); worker && *worker)
    s.worker = worker;
  else
    s.worker = fs::read_symlink("/proc/self/exe").string();
  try
  {
    s.device = ResolveDevice(args.Get("device")).str();
  }
  catch (const std::exception & e)
  {
    throw UsageError(std::string("--device: ") + e.what());
  }
  return s;
}

int
RunBatchCommand(const std::vector<std::string> & arguments)
{
#ifdef MEDSEG_WITH_MPI
  if (IsMpiLaunch())
    return RunBatchMpi(arguments);
#endif
  BatchScheduler scheduler;
  const int      early = scheduler.Prepare(arguments, true);
  if (early >= 0)
    return early;
  BatchScheduler::StopOnSignals();
  scheduler.RunLocal({}, {});
  return scheduler.Finish();
}

} // namespace medseg::cli
