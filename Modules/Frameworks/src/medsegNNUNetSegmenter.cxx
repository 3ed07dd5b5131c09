#include "medsegNNUNetSegmenter.h"

#include "medsegError.h"
#include "medsegModelSpace.h"
#include "medsegNNUNetResampling.h"
#include "medsegTensorBridge.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace medseg
{

namespace
{

using at::indexing::Slice;

std::array<int64_t, 3>
SpatialShape(const at::Tensor & t)
{
  return { { t.size(1), t.size(2), t.size(3) } };
}

/** A [Z, Y, X] array (any dtype) as a float image on `grid`'s geometry. */
FloatImage3::Pointer
ArrayOnGrid(const at::Tensor & array, const itk::ImageBase<3> * grid)
{
  return TensorToImage<FloatImage3>(array.to(at::kFloat), grid);
}

/** Undoes the reorientation to RAS: `onReoriented` (on `reoriented`'s grid) back onto `original`'s. */
at::Tensor
BackToOriginalGrid(const at::Tensor & onReoriented, const FloatImage3 * reoriented, const FloatImage3 * original)
{
  const FloatImage3::Pointer back =
    ReorientImage(ArrayOnGrid(onReoriented, reoriented), AxisCodesFromDirection(original->GetDirection()));
  if (back->GetLargestPossibleRegion().GetSize() != original->GetLargestPossibleRegion().GetSize())
    throw std::logic_error("nnU-Net: reorienting back to the input's axes changed the size");
  return ImageToTensor(back)[0][0].clone();
}

} // namespace

NNUNetSegmenter::NNUNetSegmenter(NNUNetModel model, std::vector<std::shared_ptr<SegmentationModel>> folds)
  : m_Model(std::move(model))
  , m_Folds(std::move(folds))
{
  if (m_Folds.empty())
    throw std::invalid_argument("NNUNetSegmenter needs at least one fold's network");
}

void
NNUNetSegmenter::SetTileStepSize(double step)
{
  if (!(step > 0.0 && step <= 1.0))
    throw std::invalid_argument("nnU-Net tile step must be in (0, 1], got " + std::to_string(step));
  m_TileStep = step;
}

SlidingWindowSettings
NNUNetSegmenter::GetWindowSettings() const
{
  // MedSeg's window axes are x, y, z of a [C, Z, Y, X] tensor; the transposed nnU-Net array
  // [C, A0, A1, A2] is run as it is, so A0 plays z and A2 plays x.
  SlidingWindowSettings s;
  const auto &          p = m_Model.patchSize;
  if (m_Model.spatialDims == 3)
  {
    s.patchSize = { { p[2], p[1], p[0] } };
  }
  else
  {
    s.patchSize = { { p[1], p[0], 1 } }; // 2D: one slice across A0 at a time
    s.sliceAxis = 2;
  }
  s.overlap = 1.0 - m_TileStep;
  s.blend = BlendMode::Gaussian;
  s.sigmaScale = 1.0 / 8.0;
  s.gaussianCentre = GaussianCentre::Floor;
  s.blended = BlendedScores::Logits;
  s.accumulation = ScoreAccumulation::Float32;
  s.padValue = 0.0f;
  int64_t voxels = 1;
  for (const int64_t n : p)
    voxels *= n;
  s.batchSize = m_BatchSize > 0 ? m_BatchSize : std::clamp<int64_t>((int64_t{ 1 } << 20) / std::max<int64_t>(voxels, 1), 1, 8);
  if (m_UseMirroring)
  {
    // Network axis a is array axis a (3D) or a + 1 (2D, after the slice axis); array axis m is
    // MedSeg axis 2 - m.
    for (int a : m_Model.mirrorAxes)
      s.mirrorAxes.push_back(m_Model.spatialDims == 3 ? 2 - a : 1 - a);
  }
  return s;
}

Segmentation
NNUNetSegmenter::Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
                     const ProgressCallback & progress) const
{
  const auto report = [&](double f) {
    if (progress)
      progress(std::clamp(f, 0.0, 1.0));
  };
  if (channels.size() != m_Model.channelNames.size())
  {
    std::string names;
    for (const auto & n : m_Model.channelNames)
      names += (names.empty() ? "" : ", ") + n;
    throw InputError(m_Model.folder, "takes " + std::to_string(m_Model.channelNames.size()) + " channel(s) (" + names +
                                       "), " + std::to_string(channels.size()) + " given");
  }
  c10::InferenceMode guard;
  const FloatImage3 * reference = channels.front().GetPointer();

  // 1. The reader's view: channels on the first one's grid, reoriented to RAS if the reader does.
  std::vector<FloatImage3::Pointer> images;
  for (const auto & c : channels)
  {
    FloatImage3::Pointer image = c;
    if (image != channels.front() && !DescribeGeometryDifference(reference, image).empty())
      image = ResampleOnto(image, reference);
    if (m_Model.reorientToRAS)
      image = ReorientImage(image, "RAS");
    images.push_back(image);
  }
  const FloatImage3 * grid = images.front().GetPointer();
  std::vector<at::Tensor> arrays;
  for (const auto & image : images)
    arrays.push_back(ImageToTensor(image)[0][0]);
  at::Tensor data = at::stack(arrays); // [C, k, j, i]: nnU-Net's array order, a copy
  const auto itkSpacing = grid->GetSpacing();
  const std::array<double, 3> arraySpacing{ { itkSpacing[2], itkSpacing[1], itkSpacing[0] } };

  // transpose_forward (DefaultPreprocessor.run_case_npy)
  const auto & tf = m_Model.transposeForward;
  data = data.permute({ 0, 1 + tf[0], 1 + tf[1], 1 + tf[2] }).contiguous();
  std::array<double, 3> spacing{};
  for (int a = 0; a < 3; ++a)
    spacing[a] = arraySpacing[tf[a]];
  const std::array<int64_t, 3> shapeBeforeCropping = SpatialShape(data);

  // 2. crop_to_nonzero, normalization, resampling to the configuration's spacing.
  const NNUNetCrop crop = ComputeNNUNetCrop(data);
  const auto       boxSlice = [&](int a) { return Slice(crop.start[a], crop.end[a]); };
  const bool       empty = crop.end[0] <= crop.start[0] || crop.end[1] <= crop.start[1] || crop.end[2] <= crop.start[2];
  const int64_t    heads = m_Model.numberOfHeads;
  at::Tensor       logits; // [heads, cropped box], after resampling back
  if (!empty)
  {
    at::Tensor cropped = data.index({ Slice(), boxSlice(0), boxSlice(1), boxSlice(2) }).contiguous();
    for (int64_t c = 0; c < cropped.size(0); ++c)
    {
      at::Tensor channel = cropped[c];
      NormalizeNNUNetChannel(channel, m_Model.normalization[c], m_Model.useMaskForNorm[c], crop.mask,
                             m_Model.intensityProperties[c]);
    }
    std::array<double, 3> target{};
    if (m_Model.spatialDims == 3)
      target = { { m_Model.spacing[0], m_Model.spacing[1], m_Model.spacing[2] } };
    else
      target = { { spacing[0], m_Model.spacing[0], m_Model.spacing[1] } };
    const std::array<int64_t, 3> croppedShape = SpatialShape(cropped);
    const std::array<int64_t, 3> newShape = ComputeNNUNetNewShape(croppedShape, spacing, target);
    const auto &                 dk = m_Model.dataResampling;
    const at::Tensor input = ResampleLikeNNUNet(cropped, newShape, spacing, target, dk.order, dk.orderZ, dk.forceSeparateZ);
    cropped = at::Tensor();
    report(0.05);

    // 3. The sliding window over every fold, logits averaged (predict_logits_from_preprocessed_data).
    const SlidingWindowInferer inferer(GetWindowSettings());
    const double               folds = static_cast<double>(m_Folds.size());
    for (size_t f = 0; f < m_Folds.size(); ++f)
    {
      const double     base = 0.05 + 0.85 * static_cast<double>(f) / folds;
      const at::Tensor foldLogits =
        inferer.Run(input, *m_Folds[f], [&](double x) { report(base + 0.85 * x / folds); });
      if (foldLogits.size(0) != heads)
        throw InputError(m_Model.checkpoints[f], "network gives " + std::to_string(foldLogits.size(0)) +
                                                   " outputs, dataset.json needs " + std::to_string(heads));
      logits = f == 0 ? foldLogits : logits.add_(foldLogits);
    }
    if (m_Folds.size() > 1)
      logits.div_(folds);

    // 4. Back to the cropped box's shape (resampling_fn_probabilities), from the network's spacing.
    const auto & pk = m_Model.probabilityResampling;
    logits = ResampleLikeNNUNet(logits, croppedShape, target, spacing, pk.order, pk.orderZ, pk.forceSeparateZ);
  }
  report(0.92);

  // Activation and arg-max (LabelManager), into the uncropped volume (insert_crop_into_image).
  at::Tensor segmentation = at::zeros({ shapeBeforeCropping[0], shapeBeforeCropping[1], shapeBeforeCropping[2] },
                                      at::kInt);
  at::Tensor probabilities;
  if (wantProbabilities)
  {
    probabilities = at::zeros({ heads, shapeBeforeCropping[0], shapeBeforeCropping[1], shapeBeforeCropping[2] });
    if (!m_Model.hasRegions)
      probabilities[0].fill_(1.0f); // revert_cropping_on_probabilities: background outside the box
  }
  if (!empty)
  {
    at::Tensor values = at::tensor(std::vector<int>(m_Model.labelValues.begin(), m_Model.labelValues.end()), at::kInt);
    at::Tensor boxLabels;
    at::Tensor activated;
    if (m_Model.hasRegions)
    {
      activated = at::sigmoid(logits);
      boxLabels = at::zeros(activated.sizes().slice(1), at::kInt);
      for (int64_t k = 0; k < heads; ++k)
        boxLabels.masked_fill_(activated[k] > 0.5, static_cast<int>(m_Model.regionsClassOrder[k]));
    }
    else
    {
      boxLabels = values.index({ logits.argmax(0) });
      if (wantProbabilities)
        activated = at::softmax(logits, 0);
    }
    segmentation.index_put_({ boxSlice(0), boxSlice(1), boxSlice(2) }, boxLabels);
    if (wantProbabilities)
      probabilities.index_put_({ Slice(), boxSlice(0), boxSlice(1), boxSlice(2) }, activated);
  }

  // transpose_backward, then the reader's grid, then the input's own axes.
  const auto & tb = m_Model.transposeBackward;
  segmentation = segmentation.permute({ tb[0], tb[1], tb[2] }).contiguous();
  if (wantProbabilities)
    probabilities = probabilities.permute({ 0, 1 + tb[0], 1 + tb[1], 1 + tb[2] }).contiguous();
  if (m_Model.reorientToRAS)
  {
    segmentation = BackToOriginalGrid(segmentation, grid, reference);
    if (wantProbabilities)
    {
      std::vector<at::Tensor> back;
      for (int64_t k = 0; k < heads; ++k)
        back.push_back(BackToOriginalGrid(probabilities[k], grid, reference));
      probabilities = at::stack(back);
    }
  }

  Segmentation result;
  result.classes = static_cast<unsigned int>(heads);
  result.labels = TensorToImage<LabelImage3>(segmentation, reference);
  if (wantProbabilities)
    result.probabilities = TensorToVectorImage(probabilities, reference);
  // dataset.json's labels; with regions the heads are regions, not labels (labelOfClass empty).
  for (size_t k = 0; k < m_Model.labelValues.size(); ++k)
  {
    const unsigned int value = m_Model.labelValues[k];
    const std::string  name = !m_Model.hasRegions && k < m_Model.labelNames.size() ? m_Model.labelNames[k]
                              : m_Model.hasRegions && k > 0 && k - 1 < m_Model.labelNames.size()
                                ? m_Model.labelNames[k - 1]
                                : std::string();
    result.table.Set({ value, name.empty() ? "label " + std::to_string(value) : name, LabelTable::DefaultColor(value) });
  }
  if (!m_Model.hasRegions)
    result.labelOfClass = m_Model.labelValues;
  report(1.0);
  return result;
}

std::string
NNUNetSegmenter::GetDescription() const
{
  return "nnU-Net " + m_Model.datasetName + " " + m_Model.configuration + " (" + m_Model.networkClass + ", " +
         std::to_string(m_Folds.size()) + " fold" + (m_Folds.size() == 1 ? "" : "s") + ")";
}

} // namespace medseg
