#include "medsegMONAISegmenter.h"

#include "medsegError.h"
#include "medsegMONAITransforms.h"
#include "medsegSlidingWindowInferer.h"
#include "medsegTensorBridge.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <filesystem>

namespace medseg
{

namespace
{

using Kind = MONAITransform::Kind;

/** [C, I, J, K] (MONAI's order) as [C, Z, Y, X] (ITK's buffer order). */
at::Tensor
ToBufferOrder(const at::Tensor & t)
{
  return t.permute({ 0, 3, 2, 1 }).contiguous();
}

} // namespace

std::shared_ptr<TorchScriptModel>
LoadMONAINetwork(const MONAIBundle & bundle, TorchScriptModelOptions options)
{
  options.inputChannels = bundle.inputChannels;
  options.spatialDims = 3;
  auto          network = TorchScriptModel::Load(bundle.modelFile, options);
  const int64_t channels = network->GetFirstConvolutionInputChannels();
  if (channels > 0 && channels != bundle.inputChannels)
  {
    throw InputError(bundle.modelFile, "its first convolution takes " + std::to_string(channels) +
                                         " channel(s), but metadata.json says the network takes " +
                                         std::to_string(bundle.inputChannels));
  }
  return network;
}

MONAISegmenter::MONAISegmenter(MONAIBundle bundle, std::shared_ptr<SegmentationModel> network)
  : m_Bundle(std::move(bundle))
  , m_Network(std::move(network))
{
  if (!m_Network)
    throw std::invalid_argument("MONAISegmenter needs a network");
}

Segmentation
MONAISegmenter::Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
                    const ProgressCallback & progress) const
{
  const auto report = [&](double f) {
    if (progress)
      progress(std::clamp(f, 0.0, 1.0));
  };
  if (static_cast<int64_t>(channels.size()) != m_Bundle.inputChannels)
  {
    throw InputError(m_Bundle.metadataFile, "the bundle's network takes " + std::to_string(m_Bundle.inputChannels) +
                                              " channel(s); " + std::to_string(channels.size()) + " given");
  }
  c10::InferenceMode guard;

  // Preprocessing, in the config's order.
  MONAIImage image = MONAIImageFromChannels(channels);
  if (m_LoadedAffine.defined() && m_LoadedAffine.sizes() == image.affine.sizes() &&
      at::allclose(m_LoadedAffine, image.affine, 0.0, 1e-4))
    image.affine = m_LoadedAffine.to(at::kDouble).clone(); // the file's own numbers, as nibabel reads them
  const at::Tensor                   loadedAffine = image.affine.clone();
  const std::array<int64_t, 3>       loadedShape = image.SpatialShape();
  std::vector<MONAIAppliedOperation> applied;
  for (const MONAITransform & t : m_Bundle.preprocessing)
  {
    MONAIAppliedOperation op;
    try
    {
      switch (t.kind)
      {
        case Kind::Orientation:
          image = MONAIOrientation(image, t.axcodes, &op);
          applied.push_back(op);
          break;
        case Kind::Spacing:
          image = MONAISpacing(image, t.pixdim, t.mode, t.paddingMode, &op);
          applied.push_back(op);
          break;
        case Kind::ScaleIntensityRange:
          MONAIScaleIntensityRange(image, t.aMin, t.aMax, t.bMin, t.bMax, t.clip);
          break;
        case Kind::ScaleIntensity:
          MONAIScaleIntensity(image, t.bMin, t.bMax, t.factor, t.channelWise);
          break;
        case Kind::NormalizeIntensity:
          MONAINormalizeIntensity(image, t.nonzero, t.channelWise);
          break;
        case Kind::CropForeground:
          image = MONAICropForeground(image, t.margin, t.allowSmaller, t.kDivisible, &op);
          applied.push_back(op);
          break;
        default: // LoadImaged, EnsureChannelFirstd (done by MONAIImageFromChannels), EnsureTyped
          break;
      }
    }
    catch (const std::invalid_argument & e)
    {
      throw InputError(m_Bundle.configFile, t.id + " (" + t.name + "): " + e.what());
    }
  }
  report(0.05);

  // The inferer: MONAI's array [C, I, J, K] is run as MedSeg's [C, Z, Y, X] (see MONAIBundle::window).
  // An axis shorter than roi_size is padded diff // 2 before, the rest after; the sliding window
  // pads with `cval` itself, other modes are applied here and cropped off afterwards.
  const std::array<int64_t, 3> shape = image.SpatialShape();
  std::array<int64_t, 3>       before{};
  std::vector<int64_t>         pad; // torch order: last axis first
  for (int d = 2; d >= 0; --d)
  {
    const int64_t diff = m_Bundle.wholeImage ? 0 : std::max<int64_t>(0, m_Bundle.roiSize[d] - shape[d]);
    before[d] = diff / 2;
    pad.insert(pad.end(), { diff / 2, diff - diff / 2 });
  }
  at::Tensor input = image.data;
  const bool selfPadded = m_Bundle.paddingMode != "constant" && std::any_of(pad.begin(), pad.end(), [](int64_t p) { return p > 0; });
  if (selfPadded)
  {
    input = m_Bundle.paddingMode == "replicate" ? at::replication_pad3d(input.unsqueeze(0), pad)[0]
                                                 : at::reflection_pad3d(input.unsqueeze(0), pad)[0];
  }
  SlidingWindowSettings window = m_Bundle.window;
  if (m_Bundle.wholeImage) // SimpleInferer: one window, the image itself
  {
    window.patchSize = { { shape[2], shape[1], shape[0] } };
    window.overlap = 0.0;
    try
    {
      window.Validate();
    }
    catch (const std::invalid_argument & e)
    {
      throw InputError(m_Bundle.configFile, std::string("inferer (SimpleInferer): the image is too large to run at once: ") +
                                              e.what());
    }
  }
  const SlidingWindowInferer inferer(window);
  MONAIImage                 pred;
  pred.data = inferer.Run(input, *m_Network, [&](double f) { report(0.05 + 0.85 * f); });
  if (selfPadded)
  {
    using at::indexing::Slice;
    pred.data = pred.data
                  .index({ Slice(), Slice(before[0], before[0] + shape[0]), Slice(before[1], before[1] + shape[1]),
                           Slice(before[2], before[2] + shape[2]) })
                  .contiguous();
  }
  pred.affine = image.affine;
  image.data = at::Tensor(); // the preprocessed image is not needed any more
  if (pred.data.size(0) != m_Bundle.outputChannels)
  {
    throw InputError(m_Bundle.modelFile, "the network returns " + std::to_string(pred.data.size(0)) +
                                           " channel(s), but metadata.json says " +
                                           std::to_string(m_Bundle.outputChannels));
  }
  const auto classes = static_cast<unsigned int>(pred.data.size(0));

  // Postprocessing, in the config's order.
  MONAIImage scores; // what AsDiscreted received, for --probabilities (inverted too by a later Invertd)
  for (const MONAITransform & t : m_Bundle.postprocessing)
  {
    switch (t.kind)
    {
      case Kind::Activations:
        if (t.softmax)
          pred.data = at::softmax(pred.data, 0);
        else if (t.sigmoid)
          pred.data = at::sigmoid(pred.data);
        break;
      case Kind::Invert:
        if (scores.data.defined()) // scores taken before: brought back as Invertd brings back the scores it gets
          scores = MONAIInvert(scores, applied, false);
        pred = MONAIInvert(pred, applied, t.nearestInterp);
        break;
      case Kind::AsDiscrete:
        if (pred.data.size(0) != 1 && !t.argmax)
          throw InputError(m_Bundle.configFile, t.id + " (" + t.name + "): a threshold over " +
                                                  std::to_string(pred.data.size(0)) +
                                                  " channels gives no label map; use argmax");
        if (wantProbabilities && !scores.data.defined())
          scores = pred;
        pred.data = t.argmax ? pred.data.argmax(0, /*keepdim=*/true).to(at::kFloat)
                             : (pred.data >= *t.threshold).to(at::kFloat);
        break;
      case Kind::KeepLargestComponent:
        if (pred.data.size(0) != 1)
          throw InputError(m_Bundle.configFile, t.id + " (" + t.name + "): comes before AsDiscreted; MedSeg keeps "
                                                                         "components of label maps only");
        pred.data = MONAIKeepLargestConnectedComponent(pred.data[0], t.appliedLabels, t.connectivity).unsqueeze(0);
        break;
      default: // SaveImaged: MedSeg writes the result itself
        break;
    }
  }
  report(0.95);

  Segmentation result;
  result.classes = classes;
  const bool onInputGrid = pred.SpatialShape() == loadedShape && at::allclose(pred.affine, loadedAffine, 0.0, 1e-4);
  const at::Tensor labels = pred.data[0].round().clamp(0, 65535);
  if (onInputGrid) // Invertd brought it back: the input's geometry exactly, not its float affine
  {
    result.labels = TensorToImage<LabelImage3>(labels.permute({ 2, 1, 0 }).contiguous(), channels.front());
    if (scores.data.defined() && scores.SpatialShape() == loadedShape)
      result.probabilities = TensorToVectorImage(ToBufferOrder(scores.data), channels.front());
  }
  else
  {
    result.labels = MONAILabelsToImage(labels, pred.affine);
    if (scores.data.defined() && scores.SpatialShape() == pred.SpatialShape())
      result.probabilities = TensorToVectorImage(ToBufferOrder(scores.data), result.labels);
  }
  // The class index is the label value (AsDiscreted's arg-max); metadata.json's channel_def names them.
  for (unsigned int k = 0; k < std::max(classes, 2u); ++k)
  {
    const auto found = m_Bundle.channelDef.find(k);
    result.table.Set(
      { k, found != m_Bundle.channelDef.end() ? found->second : "label " + std::to_string(k), LabelTable::DefaultColor(k) });
    result.labelOfClass.push_back(k);
  }
  report(1.0);
  return result;
}

std::string
MONAISegmenter::GetDescription() const
{
  return "MONAI bundle " + m_Bundle.name + (m_Bundle.version.empty() ? "" : " " + m_Bundle.version);
}

} // namespace medseg
