#ifndef medsegMONAISegmenter_h
#define medsegMONAISegmenter_h

#include "medsegImageTypes.h"
#include "medsegMONAIBundle.h"
#include "medsegSegmentationModel.h"
#include "medsegSegmenter.h"
#include "medsegTorchScriptModel.h"

#include <functional>
#include <memory>
#include <vector>

namespace medseg
{

/** Loads the bundle's models/model.ts and checks its first convolution against metadata.json's
 * input channels (InputError naming model.ts when they differ). */
std::shared_ptr<TorchScriptModel>
LoadMONAINetwork(const MONAIBundle & bundle, TorchScriptModelOptions options);

/** \brief Runs a MONAI bundle's inference as its config says, in its order, without Python.
 *
 * LoadImaged + EnsureChannelFirstd give the channels as MONAI holds them ([C, I, J, K], RAS
 * affine); every preprocessing transform follows (MONAITransforms); SlidingWindowInferer runs the
 * network over that array with MONAI's window placement and importance map, blending what the
 * network returns (logits); then the postprocessing transforms in order: Activationsd, Invertd
 * (the invertible preprocessing undone in reverse order), AsDiscreted, KeepLargestConnectedComponentd.
 * SaveImaged is MedSeg's writer. When the labels end on the input grid (Invertd), they get
 * exactly the first channel's origin, spacing and direction. Labels are the class indices after
 * AsDiscreted, named by metadata.json's channel_def; probabilities the activated scores as Invertd
 * left them. */
class MONAISegmenter : public Segmenter
{
public:
  MONAISegmenter(MONAIBundle bundle, std::shared_ptr<SegmentationModel> network);

  /** The channels in metadata.json's order (co-registered, one grid). Throws InputError for a
   * wrong channel count or a network whose output disagrees with metadata.json. */
  Segmentation
  Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
      const ProgressCallback & progress = {}) const override;

  /** "MONAI bundle <name> <version>". */
  std::string
  GetDescription() const override;

  /** Uses `affine` (4 x 4 RAS, e.g. ReadNibabelAffine of the first input file) instead of the
   * one of the channels' ITK geometry, as MONAI would see the file, when the two agree within
   * 1e-4 (else the ITK geometry stands: MedSeg's reader chose another form of the header). */
  void
  SetLoadedAffine(at::Tensor affine)
  {
    m_LoadedAffine = std::move(affine);
  }

  const MONAIBundle &
  GetBundle() const
  {
    return m_Bundle;
  }

private:
  MONAIBundle                        m_Bundle;
  std::shared_ptr<SegmentationModel> m_Network;
  at::Tensor                         m_LoadedAffine;
};

} // namespace medseg

#endif
