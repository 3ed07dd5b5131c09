#ifndef medsegSegmentFrameworks_h
#define medsegSegmentFrameworks_h

#include "medsegCommandLine.h"
#include "medsegImageTypes.h"
#include "medsegLabelTable.h"
#include "medsegMONAIBundle.h"
#include "medsegNNUNetFolder.h"
#include "medsegNNUNetPackage.h"

#include <functional>
#include <string>
#include <vector>

namespace medseg::cli
{

/** What one model run hands the rest of `medseg segment` (post-processing, meshes, writing). */
struct ModelRun
{
  LabelImage3::Pointer       labels;
  ProbabilityImage3::Pointer probabilities; //!< component k = class k, or null
  std::vector<unsigned int>  labelOfClass;  //!< class k is written as labelOfClass[k] (empty: unknown)
  LabelTable                 table;
  unsigned int               classes{ 0 };
  unsigned long              maxLabel{ 1 };
  std::string                description;
};

/** The folder options `--folds` and `--checkpoint` say; refuses options the plans fix. */
NNUNetFolderOptions
NNUNetOptionsFrom(const ParsedArguments & args);

/** The bundle options the command line may change; refuses what the bundle's config fixes. */
void
CheckMONAIOptions(const ParsedArguments & args);

/** Runs a MONAI bundle folder (`--model DIR` holding configs/metadata.json) on the channels read
 * from --input (a 4D file gives one channel per volume), as its inference config says. */
ModelRun
RunMONAIBundle(const ParsedArguments & args, const std::string & folder, const std::vector<FloatImage3::Pointer> & images,
               bool wantProbabilities, const std::function<void(double)> & progress);

/** Runs an nnU-Net v2 trained-model folder (`--model DIR`, or a packed one unpacked to `folder`)
 * on channels read from --input, with the folder options NNUNetOptionsFrom(args) gave. */
ModelRun
RunNNUNetModel(const ParsedArguments & args, const std::string & folder, const NNUNetFolderOptions & options,
               const std::vector<FloatImage3::Pointer> & images,
               bool wantProbabilities, const std::function<void(double)> & progress);

} // namespace medseg::cli

#endif
