#ifndef medsegSegmentationLoss_h
#define medsegSegmentationLoss_h

#include <ATen/ATen.h>

#include <vector>

namespace medseg
{

/** \brief Soft Dice loss (Milletari et al., V-Net, 3DV 2016), "batch Dice" form.
 *
 * `logits` [N, K, ...] are turned into softmax probabilities p; `target` [N, ...] holds class
 * indices. Per class k: D_k = (2 sum p_k g_k + s) / (sum p_k + sum g_k + s), the sums over the
 * batch and all voxels, s = `smooth`. Returns 1 - mean_k D_k over classes 1..K-1, or 0..K-1 with
 * `includeBackground`. */
at::Tensor
SoftDiceLoss(const at::Tensor & logits, const at::Tensor & target, bool includeBackground = false, double smooth = 1e-5);

/** `diceWeight` * SoftDiceLoss + `crossEntropyWeight` * mean cross-entropy. */
at::Tensor
DiceCrossEntropyLoss(const at::Tensor & logits, const at::Tensor & target, double diceWeight = 1.0,
                     double crossEntropyWeight = 1.0, bool includeBackground = false);

/** \brief Hard Dice of two class-index tensors per class 1..K-1 (1 when a class is in neither). */
std::vector<double>
HardDice(const at::Tensor & prediction, const at::Tensor & target, int64_t classes);

} // namespace medseg

#endif
