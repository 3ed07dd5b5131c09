#ifndef medsegTrainer_h
#define medsegTrainer_h

#include "medsegTrainingConfig.h"
#include "medsegTrainingData.h"

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace medseg
{

/** Where a training run writes and how it starts. */
struct TrainingOptions
{
  std::string workDirectory;  //!< checkpoints/, log.csv, curves.png, model.json (created)
  std::string outputPackage;  //!< the .medseg package written at the end ("" = none)
  std::string cacheDirectory; //!< preprocessed cases ("" = keep them in memory only)
  bool        resume{ false }; //!< continue from workDirectory/checkpoints/last.*
  int64_t     stopAtStep{ 0 }; //!< stop after this step (checkpoint written, no package), 0 = run to the end
  std::string commandLine;    //!< recorded in the package's training provenance
  bool        progressLine{ true }; //!< a self-updating line on a terminal, one line per log interval elsewhere
  std::function<void(const std::string &)> log; //!< messages (default: stderr)
};

/** One row of the training log. */
struct TrainingRecord
{
  int64_t             step{ 0 };
  double              loss{ 0 };         //!< mean training loss since the previous row
  double              learningRate{ 0 };
  double              seconds{ 0 };      //!< wall time since the run (or the first run) started
  std::vector<double> dice;              //!< validation Dice per foreground label, empty if not validated here
};

struct TrainingResult
{
  int64_t                     lastStep{ 0 };
  int64_t                     bestStep{ 0 };
  double                      bestDice{ -1 };  //!< best mean validation Dice
  std::vector<double>         bestDicePerLabel;
  bool                        finished{ false };     //!< reached the last step or stopped early
  bool                        stoppedEarly{ false };
  std::vector<TrainingRecord> history;
};

/** \brief Trains a native network (`unet` or `fcn` plugin) on patches and writes a model package.
 *
 * Per step: the batch PatchSampler::Sample(step) (prepared on a second thread while the previous
 * step runs), forward, Dice + cross-entropy loss, backward, gradient-norm clipping, optimizer step
 * with the scheduled learning rate. Every `validation_every` steps and at the end: sliding-window
 * inference on the validation cases (the training cases when the manifest has none), Dice per
 * label, best/last checkpoints, log.csv and curves.png. Since batches and learning rates depend
 * only on the seed and the step, a resumed run continues exactly as an uninterrupted one. */
class Trainer
{
public:
  Trainer(TrainingConfig config, TrainingOptions options);
  ~Trainer();

  /** Preprocesses each case once (see PreprocessCase) and splits them by their `split`. */
  void
  LoadCases(const std::vector<TrainingCase> & cases);
  /** Cases already in model space. Empty `validation` = validate on the training cases. */
  void
  SetCases(std::vector<PreprocessedCase> training, std::vector<PreprocessedCase> validation);

  TrainingResult
  Run();

  /** Copies of the network's parameters and buffers, in registration order (after Run()). */
  std::vector<at::Tensor>
  GetState() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

/** Writes the loss and validation Dice curves as a PNG (see Documentation/training.md). */
void
WriteTrainingCurves(const std::vector<TrainingRecord> & history, const std::string & path);

/** Writes the training log as CSV: step, loss, learning_rate, seconds, mean_dice, dice_<label>... */
void
WriteTrainingLog(const std::vector<TrainingRecord> & history, const std::vector<std::string> & labelNames,
                 const std::string & path);

} // namespace medseg

#endif
