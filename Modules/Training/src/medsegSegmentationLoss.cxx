#include "medsegSegmentationLoss.h"

#include <stdexcept>

namespace medseg
{

at::Tensor
SoftDiceLoss(const at::Tensor & logits, const at::Tensor & target, bool includeBackground, double smooth)
{
  const int64_t classes = logits.size(1);
  if (classes < 2)
    throw std::invalid_argument("SoftDiceLoss: needs at least two classes (softmax)");
  const at::Tensor probabilities = logits.softmax(1);
  // One-hot [N, K, ...]: class axis moved behind the batch axis.
  std::vector<int64_t> order{ 0, target.dim() };
  for (int64_t d = 1; d < target.dim(); ++d)
    order.push_back(d);
  const at::Tensor oneHot = at::one_hot(target, classes).permute(order).to(probabilities.scalar_type());
  std::vector<int64_t> sumDims{ 0 };
  for (int64_t d = 2; d < logits.dim(); ++d)
    sumDims.push_back(d);
  const at::Tensor intersection = (probabilities * oneHot).sum(sumDims);
  const at::Tensor denominator = probabilities.sum(sumDims) + oneHot.sum(sumDims);
  at::Tensor       dice = (2.0 * intersection + smooth) / (denominator + smooth);
  if (!includeBackground)
    dice = dice.slice(0, 1);
  return 1.0 - dice.mean();
}

at::Tensor
DiceCrossEntropyLoss(const at::Tensor & logits, const at::Tensor & target, double diceWeight, double crossEntropyWeight,
                     bool includeBackground)
{
  at::Tensor loss = at::zeros({}, logits.options());
  if (diceWeight > 0.0)
    loss = loss + diceWeight * SoftDiceLoss(logits, target, includeBackground);
  if (crossEntropyWeight > 0.0)
    loss = loss + crossEntropyWeight * at::cross_entropy_loss(logits, target);
  return loss;
}

std::vector<double>
HardDice(const at::Tensor & prediction, const at::Tensor & target, int64_t classes)
{
  std::vector<double> dice;
  for (int64_t k = 1; k < classes; ++k)
  {
    const at::Tensor p = prediction == k;
    const at::Tensor g = target == k;
    const double     both = static_cast<double>((p & g).sum().item<int64_t>());
    const double     total = static_cast<double>(p.sum().item<int64_t>() + g.sum().item<int64_t>());
    dice.push_back(total == 0.0 ? 1.0 : 2.0 * both / total);
  }
  return dice;
}

} // namespace medseg
