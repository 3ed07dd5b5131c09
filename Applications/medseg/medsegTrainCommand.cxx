// medseg train: trains a native network (unet/fcn plugin) and writes a model package.
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegTrainer.h"

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace medseg::cli
{

int
RunTrainCommand(const std::vector<std::string> & arguments)
{
  using K = ParameterKind;
  CommandLine cl("medseg train", "Train a segmentation model",
                 "Trains a U-Net (or FCN) on image/label pairs listed in a manifest, as a training config says\n"
                 "(architecture, spacing, orientation, normalization, patch size, labels, augmentation, loss,\n"
                 "optimizer, schedule), and writes a model package that `medseg segment --model` runs with no\n"
                 "other flags. Checkpoints, log.csv and curves.png go to the work folder. See\n"
                 "Documentation/training.md.");
  cl.Add(Option("config", K::InputFile, "Training config (JSON).").Required())
    .Add(Option("manifest", K::InputFile, "Cases: JSON or CSV of image/label pairs with an optional split column.")
           .Required())
    .Add(Option("output", K::OutputFile, "The model package to write (.medseg).").Required())
    .Add(Option("work-dir", K::Directory,
                "Checkpoints, log.csv, curves.png, model.json (default: OUTPUT without .medseg, plus .work)."))
    .Add(Option("cache-dir", K::Directory,
                "Keep preprocessed cases here and reuse them on the next run (default: WORK-DIR/cache)."))
    .Add(Option("resume", K::Flag, "Continue from WORK-DIR/checkpoints/last.* (same config; steps may grow)."))
    .Add(Option("steps", K::Integer, "Override training.steps of the config."))
    .Add(Option("stop-at-step", K::Integer,
                "Stop after this step with a checkpoint (the schedule still spans all steps).").Default("0"))
    .Add(Option("seed", K::Integer, "Override training.seed of the config."))
    .Add(Option("threads", K::Integer, "Override training.threads of the config."))
    .Add(Option("quiet", K::Flag, "No progress line."))
    .Add(Option("overwrite", K::Flag, "Replace the output package if it exists."));
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    std::cout << cl.Help();
    return ExitSuccess;
  }
  RegisterImageIOFactories();
  TrainingConfig config = TrainingConfig::Load(args.Get("config"));
  if (args.Has("steps"))
  {
    if (args.GetInteger("steps") < 1)
      throw UsageError("--steps must be >= 1");
    config.steps = args.GetInteger("steps");
  }
  if (args.Has("seed"))
    config.seed = static_cast<uint64_t>(args.GetInteger("seed"));
  if (args.Has("threads"))
    config.threads = static_cast<int>(std::max(1L, args.GetInteger("threads")));
  const auto cases = ReadTrainingManifest(args.Get("manifest"));

  TrainingOptions options;
  options.outputPackage = args.Get("output");
  const bool resume = args.Flag("resume");
  CheckOutputFile(options.outputPackage, args.Flag("overwrite"));
  options.workDirectory = args.Has("work-dir") ? args.Get("work-dir")
                                               : (std::filesystem::path(options.outputPackage).replace_extension("").string() + ".work");
  options.cacheDirectory = args.Has("cache-dir") ? args.Get("cache-dir") : options.workDirectory + "/cache";
  options.resume = resume;
  options.stopAtStep = args.GetInteger("stop-at-step");
  options.progressLine = !args.Flag("quiet");
  options.commandLine = "medseg train";
  for (const auto & a : arguments)
    options.commandLine += " " + a;

  Trainer trainer(config, options);
  trainer.LoadCases(cases);
  const TrainingResult result = trainer.Run();
  std::cout << std::fixed << std::setprecision(4);
  if (!result.finished)
  {
    std::cout << "stopped after step " << result.lastStep << "; continue with --resume (work folder "
              << options.workDirectory << ")\n";
    return ExitSuccess;
  }
  std::cout << "best mean validation Dice " << result.bestDice << " at step " << result.bestStep;
  for (size_t k = 0; k < result.bestDicePerLabel.size(); ++k)
    std::cout << (k == 0 ? " (" : ", ") << config.labels[k + 1].name << ' ' << result.bestDicePerLabel[k];
  std::cout << (result.bestDicePerLabel.empty() ? "" : ")") << "\nwrote " << options.outputPackage << " (log "
            << options.workDirectory << "/log.csv, curves " << options.workDirectory << "/curves.png)\n";
  return ExitSuccess;
}

} // namespace medseg::cli
