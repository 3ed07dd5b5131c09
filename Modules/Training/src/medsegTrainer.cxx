#include "medsegTrainer.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegModelPackage.h"
#include "medsegNativeNetworks.h"
#include "medsegPatchSampler.h"
#include "medsegProgressLine.h"
#include "medsegSegmentationLoss.h"
#include "medsegSha256.h"
#include "medsegSlidingWindowInferer.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace medseg
{

namespace
{
using json = nlohmann::json;
namespace fs = std::filesystem;

std::string
FormatDuration(double seconds)
{
  const auto s = static_cast<long>(std::max(0.0, seconds) + 0.5);
  char       buffer[32];
  std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buffer;
}

double
Mean(const std::vector<double> & v)
{
  double s = 0.0;
  for (const double x : v)
    s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

/** The config without the keys that may change between a run and its resumption. A stored one is
 * compared after FromJson read it back, so that keys a later version added (with a default that
 * changes nothing, e.g. augmentation.synthesis) do not stop older work folders from resuming. */
json
ResumableConfig(const TrainingConfig & config)
{
  json j = config.ToJson();
  for (const char * key : { "steps", "validation_every", "patience", "log_every", "threads" })
    j["training"].erase(key);
  for (const char * key : { "crop_to_nonzero", "tta", "postprocess" })
    j["inference"].erase(key); // written into the package only: no part of training
  return j;
}

json
HistoryToJson(const std::vector<TrainingRecord> & history)
{
  json rows = json::array();
  for (const auto & r : history)
    rows.push_back({ { "step", r.step }, { "loss", r.loss }, { "lr", r.learningRate }, { "seconds", r.seconds }, { "dice", r.dice } });
  return rows;
}

std::vector<TrainingRecord>
HistoryFromJson(const json & rows)
{
  std::vector<TrainingRecord> history;
  for (const auto & r : rows)
  {
    TrainingRecord t;
    t.step = r.at("step").get<int64_t>();
    t.loss = r.at("loss").get<double>();
    t.learningRate = r.at("lr").get<double>();
    t.seconds = r.at("seconds").get<double>();
    t.dice = r.at("dice").get<std::vector<double>>();
    history.push_back(t);
  }
  return history;
}
} // namespace

struct Trainer::Impl
{
  TrainingConfig                         config;
  TrainingOptions                        options;
  std::vector<PreprocessedCase>          training;
  std::vector<PreprocessedCase>          validation;
  std::shared_ptr<nets::NetworkImpl>     network;

  void
  Log(const std::string & message) const
  {
    if (options.log)
      options.log(message);
    else
      std::cerr << message << std::endl;
  }

  std::string
  Path(const std::string & name) const
  {
    return (fs::path(options.workDirectory) / name).string();
  }

  std::shared_ptr<nets::NetworkImpl>
  MakeNetwork() const
  {
    const std::string hp = config.hyperParameters.dump();
    try
    {
      if (config.plugin == "fcn")
        return nets::MakeFCN(nets::FCNOptions::FromJson(hp, 1));
      return nets::MakeUNet(nets::UNetOptions::FromJson(hp, 1));
    }
    catch (const std::invalid_argument & e)
    {
      throw InputError("architecture.hyper_parameters", e.what());
    }
  }

  std::vector<double>
  Validate()
  {
    SlidingWindowSettings settings;
    settings.patchSize = config.patchSize;
    settings.overlap = config.validationOverlap;
    settings.batchSize = 2;
    settings.sliceAxis = config.sliceAxis;
    const auto classes = static_cast<int64_t>(config.labels.size());
    std::vector<double> sum(static_cast<size_t>(classes - 1), 0.0);
    {
      nets::NativeSegmentationModel model(network, c10::Device(c10::kCPU), 1, "validation");
      SlidingWindowInferer          inferer(settings);
      const auto &                  cases = validation.empty() ? training : validation;
      for (const auto & c : cases)
      {
        const at::Tensor probabilities = inferer.Run(c.image, model);
        const auto       dice = HardDice(probabilities.argmax(0), c.label, classes);
        for (size_t k = 0; k < dice.size(); ++k)
          sum[k] += dice[k] / static_cast<double>(cases.size());
      }
    }
    network->train();
    return sum;
  }

  void
  SaveCheckpoint(const std::string & prefix, torch::optim::Optimizer * optimizer, const json & state) const
  {
    fs::create_directories(Path("checkpoints"));
    {
      AtomicFile file(Path("checkpoints/" + prefix + ".weights.pt"));
      nets::SaveWeights(*network, file.GetTemporaryPath());
      file.Commit();
    }
    if (optimizer != nullptr)
    {
      AtomicFile file(Path("checkpoints/" + prefix + ".optimizer.pt"));
      torch::save(*optimizer, file.GetTemporaryPath());
      file.Commit();
      AtomicFile stateFile(Path("checkpoints/" + prefix + ".json"));
      std::ofstream(stateFile.GetTemporaryPath()) << state.dump(1) << '\n';
      stateFile.Commit();
    }
  }

  void
  WritePackage(const TrainingResult & result, double seconds) const
  {
    ModelPackage p;
    p.name = config.name;
    p.version = config.version;
    p.description = config.description;
    p.plugin = config.plugin;
    p.hyperParameters = config.hyperParameters;
    p.weightsFile = "weights.pt";
    p.channels = config.channels;
    p.orientation = config.orientation;
    p.spacing = config.spacing;
    p.spatialDims = config.spatialDims;
    p.sliceAxis = config.sliceAxis;
    p.window = config.window;
    p.window.patchSize = config.patchSize;
    p.cropToNonzero = config.cropToNonzero;
    p.tta = config.tta;
    p.postprocess = config.postprocess;
    p.labels = config.labels;
    json dice = json::object();
    for (size_t k = 0; k < result.bestDicePerLabel.size(); ++k)
      dice[config.labels[k + 1].name] = result.bestDicePerLabel[k];
    json trainingIds = json::array(), validationIds = json::array();
    for (const auto & c : training)
      trainingIds.push_back(c.id);
    for (const auto & c : validation)
      validationIds.push_back(c.id);
    p.training = { { "tool", "medseg train" },
                   { "command", options.commandLine },
                   { "seed", config.seed },
                   { "steps_planned", config.steps },
                   { "steps_run", result.lastStep },
                   { "best_step", result.bestStep },
                   { "stopped_early", result.stoppedEarly },
                   { "validation_dice", dice },
                   { "validation_mean_dice", result.bestDice },
                   { "validation_on", validation.empty() ? "training cases" : "validation cases" },
                   { "training_cases", trainingIds },
                   { "validation_cases", validationIds },
                   { "seconds", seconds },
                   { "torch_version", TORCH_VERSION },
                   { "config", config.ToJson() } };
    const std::string metadata = Path("model.json");
    {
      AtomicFile file(metadata);
      std::ofstream(file.GetTemporaryPath()) << p.ToJson().dump(2) << '\n';
      file.Commit();
    }
    PackModel(metadata, Path("checkpoints/best.weights.pt"), options.outputPackage);
  }
};

Trainer::Trainer(TrainingConfig config, TrainingOptions options)
  : m_Impl(std::make_unique<Impl>())
{
  m_Impl->config = std::move(config);
  m_Impl->options = std::move(options);
  if (m_Impl->options.workDirectory.empty())
    throw std::invalid_argument("Trainer: a work directory is required");
}

Trainer::~Trainer() = default;

void
Trainer::LoadCases(const std::vector<TrainingCase> & cases)
{
  std::vector<PreprocessedCase> training, validation;
  for (const auto & c : cases)
  {
    if (c.split == "test")
      continue;
    const auto start = std::chrono::steady_clock::now();
    PreprocessedCase p = PreprocessCase(c, m_Impl->config, m_Impl->options.cacheDirectory);
    const double     s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream message;
    const auto         size = p.Size();
    message << "case " << c.id << " (" << c.split << "): " << size[0] << " x " << size[1] << " x " << size[2]
            << " voxels in model space, " << std::fixed << std::setprecision(1) << s << " s";
    m_Impl->Log(message.str());
    (c.split == "validation" ? validation : training).push_back(std::move(p));
  }
  SetCases(std::move(training), std::move(validation));
}

void
Trainer::SetCases(std::vector<PreprocessedCase> training, std::vector<PreprocessedCase> validation)
{
  if (training.empty())
    throw InputError("manifest", "has no training cases (split train)");
  m_Impl->training = std::move(training);
  m_Impl->validation = std::move(validation);
}

std::vector<at::Tensor>
Trainer::GetState() const
{
  std::vector<at::Tensor> state;
  if (m_Impl->network)
  {
    for (const auto & p : m_Impl->network->parameters())
      state.push_back(p.detach().clone());
    for (const auto & b : m_Impl->network->buffers())
      state.push_back(b.detach().clone());
  }
  return state;
}

TrainingResult
Trainer::Run()
{
  Impl &                 m = *m_Impl;
  const TrainingConfig & config = m.config;
  torch::set_num_threads(config.threads);
  fs::create_directories(m.options.workDirectory);

  torch::manual_seed(config.seed);
  m.network = m.MakeNetwork();
  const int64_t multiple = m.network->SizeMultiple();
  for (int d = 0; d < 3; ++d)
  {
    if (!(config.spatialDims == 2 && d == config.sliceAxis) && config.patchSize[d] % multiple != 0)
      throw InputError("patch_size", "must be a multiple of " + std::to_string(multiple) +
                                       " along each axis for this network (depth)");
  }
  m.network->train();

  std::unique_ptr<torch::optim::Optimizer> optimizer;
  const auto                               parameters = m.network->parameters();
  if (config.optimizer == "adam")
    optimizer = std::make_unique<torch::optim::Adam>(
      parameters, torch::optim::AdamOptions(config.learningRate).weight_decay(config.weightDecay));
  else if (config.optimizer == "adamw")
    optimizer = std::make_unique<torch::optim::AdamW>(
      parameters, torch::optim::AdamWOptions(config.learningRate).weight_decay(config.weightDecay));
  else
    optimizer = std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(config.learningRate)
                                                                  .momentum(config.momentum)
                                                                  .nesterov(config.nesterov)
                                                                  .weight_decay(config.weightDecay));

  TrainingResult result;
  int64_t        sinceBest = 0;
  double         previousSeconds = 0.0;
  const json     resumable = ResumableConfig(config);
  if (m.options.resume)
  {
    const std::string statePath = m.Path("checkpoints/last.json");
    std::ifstream     in(statePath);
    if (!in)
      throw InputError(statePath, "no checkpoint to resume from");
    const json state = json::parse(in);
    if (ResumableConfig(TrainingConfig::FromJson(state.at("config"), statePath)) != resumable)
      throw InputError(statePath, "was written with a different configuration (only training.steps, "
                                  "validation_every, patience, log_every, threads and inference.crop_to_nonzero, "
                                  "tta and postprocess may change on resume)");
    nets::LoadWeights(*m.network, m.Path("checkpoints/last.weights.pt"));
    torch::load(*optimizer, m.Path("checkpoints/last.optimizer.pt"));
    result.lastStep = state.at("step").get<int64_t>();
    result.bestStep = state.at("best_step").get<int64_t>();
    result.bestDice = state.at("best_dice").get<double>();
    result.bestDicePerLabel = state.at("best_dice_per_label").get<std::vector<double>>();
    sinceBest = state.at("since_best").get<int64_t>();
    result.history = HistoryFromJson(state.at("history"));
    previousSeconds = result.history.empty() ? 0.0 : result.history.back().seconds;
    m.Log("resuming after step " + std::to_string(result.lastStep));
  }

  std::vector<const PreprocessedCase *> cases;
  for (const auto & c : m.training)
    cases.push_back(&c);
  const PatchSampler sampler(cases, config.patchSize, config.spatialDims, config.sliceAxis, config.foregroundRatio,
                             config.augmentation, config.seed);
  std::vector<std::string> labelNames;
  for (size_t k = 1; k < config.labels.size(); ++k)
    labelNames.push_back(config.labels[k].name);

  auto makeState = [&]() {
    return json{ { "step", result.lastStep },         { "best_step", result.bestStep },
                 { "best_dice", result.bestDice },     { "best_dice_per_label", result.bestDicePerLabel },
                 { "since_best", sinceBest },          { "history", HistoryToJson(result.history) },
                 { "config", resumable } };
  };

  const int64_t lastStep = m.options.stopAtStep > 0 ? std::min(m.options.stopAtStep, config.steps) : config.steps;
  const auto    start = std::chrono::steady_clock::now();
  const int64_t firstStep = result.lastStep + 1;
  auto          elapsed = [&]() {
    return previousSeconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const bool terminal = m.options.progressLine && ProgressLine::IsTerminal();
  std::future<TrainingBatch> next;
  if (firstStep <= lastStep)
    next = std::async(std::launch::async, [&sampler, &config, firstStep] { return sampler.Sample(firstStep, config.batchSize); });
  double  lossSum = 0.0;
  int64_t lossCount = 0;
  double  lastLoggedLoss = 0.0;
  std::vector<double> lastDice;
  for (int64_t step = firstStep; step <= lastStep; ++step)
  {
    TrainingBatch batch = next.get();
    if (step < lastStep)
      next = std::async(std::launch::async, [&sampler, &config, step] { return sampler.Sample(step + 1, config.batchSize); });
    const double lr = config.LearningRateAt(step);
    for (auto & group : optimizer->param_groups())
      group.options().set_lr(lr);
    optimizer->zero_grad();
    const at::Tensor logits = m.network->forward(batch.images);
    const at::Tensor loss = DiceCrossEntropyLoss(logits, batch.labels, config.diceWeight, config.crossEntropyWeight,
                                                 config.diceIncludeBackground);
    loss.backward();
    if (config.gradientClip > 0.0)
      torch::nn::utils::clip_grad_norm_(parameters, config.gradientClip);
    optimizer->step();
    const double lossValue = loss.item<double>();
    if (!std::isfinite(lossValue))
      throw std::runtime_error("training diverged at step " + std::to_string(step) + " (loss " +
                               std::to_string(lossValue) + "); lower optimizer.learning_rate");
    lossSum += lossValue;
    ++lossCount;
    result.lastStep = step;

    const bool validate = step % config.validationEvery == 0 || step == config.steps;
    if (step % config.logEvery == 0 || validate || step == lastStep)
    {
      TrainingRecord record;
      record.step = step;
      record.loss = lossSum / static_cast<double>(lossCount);
      record.learningRate = lr;
      lastLoggedLoss = record.loss;
      lossSum = 0.0;
      lossCount = 0;
      if (validate)
      {
        record.dice = m.Validate();
        lastDice = record.dice;
        const double mean = Mean(record.dice);
        if (mean > result.bestDice)
        {
          result.bestDice = mean;
          result.bestStep = step;
          result.bestDicePerLabel = record.dice;
          sinceBest = 0;
          m.SaveCheckpoint("best", nullptr, {});
        }
        else
        {
          ++sinceBest;
        }
      }
      record.seconds = elapsed();
      result.history.push_back(record);
      if (validate)
      {
        m.SaveCheckpoint("last", optimizer.get(), makeState());
        WriteTrainingLog(result.history, labelNames, m.Path("log.csv"));
        WriteTrainingCurves(result.history, m.Path("curves.png"));
      }
    }

    if (m.options.progressLine && (terminal || step % config.logEvery == 0 || step == lastStep))
    {
      const double perStep = (elapsed() - previousSeconds) / static_cast<double>(step - firstStep + 1);
      std::ostringstream line;
      line << "step " << step << '/' << config.steps << "  loss " << std::fixed << std::setprecision(4) << lastLoggedLoss
           << "  dice ";
      if (lastDice.empty())
        line << '-';
      else
        line << std::setprecision(3) << Mean(lastDice) << " (best " << result.bestDice << " @" << result.bestStep << ')';
      line << "  lr " << std::scientific << std::setprecision(2) << lr << std::fixed << "  " << std::setprecision(2)
           << perStep << " s/step  ETA " << FormatDuration(perStep * static_cast<double>(lastStep - step));
      if (terminal)
        std::cerr << '\r' << line.str() << "   " << std::flush;
      else
        m.Log(line.str());
    }
    if (validate && config.patience > 0 && sinceBest >= config.patience)
    {
      result.stoppedEarly = true;
      m.Log("\nstopping early: no better validation Dice in " + std::to_string(sinceBest) + " validations");
      break;
    }
  }
  if (next.valid())
    next.wait();
  if (terminal)
    std::cerr << '\n';
  result.finished = result.stoppedEarly || result.lastStep >= config.steps;
  if (!result.history.empty() && result.history.back().step == result.lastStep && result.history.back().dice.empty())
  {
    m.SaveCheckpoint("last", optimizer.get(), makeState());
    WriteTrainingLog(result.history, labelNames, m.Path("log.csv"));
    WriteTrainingCurves(result.history, m.Path("curves.png"));
  }
  if (result.finished && !m.options.outputPackage.empty())
    m.WritePackage(result, elapsed());
  return result;
}

void
WriteTrainingLog(const std::vector<TrainingRecord> & history, const std::vector<std::string> & labelNames,
                 const std::string & path)
{
  AtomicFile file(path);
  {
    std::ofstream out(file.GetTemporaryPath());
    out << "step,loss,learning_rate,seconds,mean_dice";
    for (const auto & n : labelNames)
      out << ",dice_" << n;
    out << '\n';
    for (const auto & r : history)
    {
      out << r.step << ',' << std::setprecision(6) << r.loss << ',' << r.learningRate << ',' << std::setprecision(1)
          << std::fixed << r.seconds << std::defaultfloat << std::setprecision(6) << ',';
      if (!r.dice.empty())
        out << Mean(r.dice);
      for (size_t k = 0; k < labelNames.size(); ++k)
      {
        out << ',';
        if (k < r.dice.size())
          out << r.dice[k];
      }
      out << '\n';
    }
  }
  file.Commit();
}

} // namespace medseg
