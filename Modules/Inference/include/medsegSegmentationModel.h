#ifndef medsegSegmentationModel_h
#define medsegSegmentationModel_h

#include <ATen/ATen.h>

#include <string>

namespace medseg
{

/** \brief A network that maps image patches to per-class logits.
 *
 * Forward() takes a float batch [N, C, D, H, W] (3D models) or [N, C, H, W] (2D models) on
 * GetDevice() and returns logits [N, K, ...] with the same spatial size. K == 1 means one sigmoid output (foreground
 * probability); K >= 2 means softmax over K classes whose index is the label value.
 * Implementations: TorchScriptModel here, native architectures in plugins. */
class SegmentationModel
{
public:
  virtual ~SegmentationModel() = default;

  virtual at::Tensor
  Forward(const at::Tensor & batch) = 0;

  virtual c10::Device
  GetDevice() const = 0;

  /** Number of input channels C the network expects. */
  virtual int64_t
  GetNumberOfInputChannels() const
  {
    return 1;
  }

  /** 3 for volumetric networks, 2 for networks that segment one slice at a time. */
  virtual int
  GetSpatialDimension() const
  {
    return 3;
  }

  /** K, the number of output channels of Forward() (1 = one sigmoid output), or 0 when the model
   * only shows it by running (a bare TorchScript file): then callers learn it from the first patch. */
  virtual unsigned int
  GetNumberOfClasses() const
  {
    return 0;
  }

  /** One line for logs and reports, e.g. "TorchScript model.pt on cpu". */
  virtual std::string
  GetDescription() const = 0;
};

} // namespace medseg

#endif
