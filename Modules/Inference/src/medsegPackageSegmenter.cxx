#include "medsegPackageSegmenter.h"

#include "medsegDeepSegmentationImageFilter.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegModelSpace.h"

#include "medsegImageFileIO.h"

#include "itkCommand.h"
#include "itkImageRegionSplitterSlowDimension.h"
#include "itkStreamingImageFilter.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace medseg
{

namespace
{

/** An empty label image on `grid` (its largest region), every voxel `value`. */
LabelImage3::Pointer
FilledLabels(const itk::ImageBase<3> * grid, LabelImage3::PixelType value)
{
  auto labels = LabelImage3::New();
  labels->CopyInformation(grid);
  labels->SetRegions(grid->GetLargestPossibleRegion());
  labels->Allocate();
  labels->FillBuffer(value);
  return labels;
}

/** Class probabilities on `grid` that say "background" everywhere: 1 for class 0 and 0 for the
 * others, or, for a single sigmoid output (k == 1), a foreground probability of 0. */
ProbabilityImage3::Pointer
BackgroundProbabilities(const itk::ImageBase<3> * grid, unsigned int k)
{
  auto probabilities = ProbabilityImage3::New();
  // Not CopyInformation: from a scalar image it would reset the number of components.
  probabilities->SetRegions(grid->GetLargestPossibleRegion());
  probabilities->SetOrigin(grid->GetOrigin());
  probabilities->SetSpacing(grid->GetSpacing());
  probabilities->SetDirection(grid->GetDirection());
  probabilities->SetNumberOfComponentsPerPixel(k);
  probabilities->Allocate();
  float *      p = probabilities->GetBufferPointer();
  const size_t n = grid->GetLargestPossibleRegion().GetNumberOfPixels();
  std::fill_n(p, n * k, 0.0f);
  if (k >= 2)
  {
    for (size_t i = 0; i < n; ++i)
      p[i * k] = 1.0f;
  }
  return probabilities;
}

/** Copies the voxels of `part` (an image whose largest region lies inside `whole`'s, same origin,
 * spacing and direction) into `whole` at their own indices; `components` values per voxel. */
template <typename TImage>
void
PasteInto(const TImage * part, TImage * whole, unsigned int components)
{
  const itk::ImageRegion<3> region = part->GetLargestPossibleRegion();
  const size_t              row = region.GetSize(0) * components;
  const auto *              in = part->GetBufferPointer();
  itk::Index<3>             index = region.GetIndex();
  for (itk::SizeValueType z = 0; z < region.GetSize(2); ++z)
  {
    for (itk::SizeValueType y = 0; y < region.GetSize(1); ++y, in += row)
    {
      index[1] = region.GetIndex(1) + static_cast<itk::IndexValueType>(y);
      index[2] = region.GetIndex(2) + static_cast<itk::IndexValueType>(z);
      std::copy_n(in, row, whole->GetBufferPointer() + whole->ComputeOffset(index) * components);
    }
  }
}

} // namespace

PackageSegmenter::PackageSegmenter(ModelPackage package, std::shared_ptr<SegmentationModel> model)
  : m_Package(std::move(package))
  , m_Model(std::move(model))
  , m_Window(m_Package.window)
  , m_CropToNonzero(m_Package.cropToNonzero)
{
  m_Window.sliceAxis = m_Package.sliceAxis;
}

void
PackageSegmenter::CheckNumberOfClasses(unsigned int classes) const
{
  if (m_Package.labels.empty())
  {
    return; // a bare TorchScript file: class k is label value k, whatever K is
  }
  const size_t expected = m_Package.labels.size();
  if (!(classes == expected || (classes == 1 && expected == 2)))
  {
    throw InputError(m_Package.source, "the model predicts " + std::to_string(classes) +
                                         " classes but model.json lists " + std::to_string(expected) + " labels");
  }
}

Segmentation
PackageSegmenter::Described(Segmentation result) const
{
  if (m_Package.labels.empty())
  {
    // A bare TorchScript file: class k is label k, and nothing names them.
    for (unsigned int k = 0; k < std::max(result.classes, 2u); ++k)
      result.labelOfClass.push_back(k);
    return result;
  }
  for (const auto & l : m_Package.labels)
  {
    result.labelOfClass.push_back(l.value);
    result.table.Set({ l.value, l.name, l.color });
  }
  return result;
}

std::string
PackageSegmenter::GetDescription() const
{
  const std::string model = m_Model ? m_Model->GetDescription() : std::string("no model");
  return m_Package.labels.empty() ? model : "package '" + m_Package.name + "' " + m_Package.version + ", " + model;
}

void
PackageSegmenter::ClassIndicesToLabelValues(LabelImage3 * labels) const
{
  auto *       value = labels->GetBufferPointer();
  const size_t n = labels->GetBufferedRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    value[i] = static_cast<LabelImage3::PixelType>(m_Package.LabelValue(value[i]));
  }
}

Segmentation
PackageSegmenter::Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
                      const ProgressCallback & progress) const
{
  if (channels.size() != m_Package.channels.size())
  {
    throw std::invalid_argument("model '" + m_Package.name + "' takes " + std::to_string(m_Package.channels.size()) +
                                " input channel(s), " + std::to_string(channels.size()) + " given");
  }
  if (m_Model->GetNumberOfClasses() > 0)
  {
    CheckNumberOfClasses(m_Model->GetNumberOfClasses()); // before anything runs, when the model knows
  }
  const FloatImage3 * reference = channels.front();

  // Model space: one grid for all channels, the package's orientation and spacing.
  std::vector<FloatImage3::Pointer> modelSpace;
  for (const auto & channel : channels)
  {
    FloatImage3::Pointer image = channel;
    if (!DescribeGeometryDifference(reference, image).empty())
    {
      image = ResampleOnto(image, reference);
    }
    else if (image != reference)
    {
      // Equal within MedSeg's tolerance: share the voxels, take the reference's exact geometry.
      auto aligned = FloatImage3::New();
      aligned->SetRegions(image->GetLargestPossibleRegion());
      aligned->SetPixelContainer(image->GetPixelContainer());
      aligned->CopyInformation(reference);
      image = aligned;
    }
    if (m_Package.orientation != "any")
    {
      image = ReorientImage(image, m_Package.orientation);
    }
    if (m_Package.spacing)
    {
      image = ResampleToSpacing(image, *m_Package.spacing);
    }
    modelSpace.push_back(image);
  }

  // When the scan already is on the model's grid the filter's own slice-by-slice arg-max is the
  // answer and no volume of class probabilities is ever held (unless they are asked for).
  const FloatImage3::Pointer grid = modelSpace.front(); // the whole model grid, before any crop
  const bool                 onModelGrid = DescribeGeometryDifference(reference, grid, 1e-9).empty();

  // nnU-Net's crop_to_nonzero, done on the model grid (after reorientation and resampling, right
  // before normalization): only the box of the voxels nonzero in any channel is normalized (its
  // statistics are the crop's, as nnU-Net's) and segmented; the rest of the grid is background.
  // Windows that see nothing but a constant background give arbitrary answers after z-scoring and
  // instance norm; outside the box there are none. Resampling keeps an exactly zero background
  // exactly zero, so the box is the input's nonzero box widened by at most the interpolation's
  // (and the anti-aliasing Gaussian's) reach.
  std::optional<itk::ImageRegion<3>> crop;
  if (m_CropToNonzero)
  {
    crop = NonzeroBoundingRegion(modelSpace);
    if (!crop)
    {
      return Background(reference, wantProbabilities, progress); // all zero: the model is not run
    }
    if (*crop == grid->GetLargestPossibleRegion())
    {
      crop.reset(); // nothing to cut off: exactly the uncropped run
    }
    else
    {
      for (auto & image : modelSpace)
        image = CropImage(image, *crop);
    }
  }

  using Filter = DeepSegmentationImageFilter<FloatImage3, LabelImage3>;
  auto filter = Filter::New();
  for (unsigned int c = 0; c < modelSpace.size(); ++c)
  {
    filter->SetInput(c, modelSpace[c]);
  }
  std::vector<NormalizationSpec> normalizations;
  for (const auto & c : m_Package.channels)
  {
    normalizations.push_back(c.normalization);
  }
  filter->SetModel(m_Model);
  filter->SetChannelNormalizations(normalizations);
  filter->SetSlidingWindowSettings(m_Window);
  filter->SetProduceProbabilities(wantProbabilities || !onModelGrid);
  filter->SetProduceLabels(onModelGrid); // off the grid: one arg-max, after resampling back
  if (progress)
  {
    auto observer = itk::CStyleCommand::New();
    observer->SetClientData(const_cast<ProgressCallback *>(&progress));
    observer->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
      (*static_cast<ProgressCallback *>(data))(static_cast<itk::ProcessObject *>(caller)->GetProgress() * 0.95);
    });
    filter->AddObserver(itk::ProgressEvent(), observer);
  }
  filter->Update();

  Segmentation result;
  result.classes = filter->GetNumberOfClasses();
  CheckNumberOfClasses(result.classes);

  // The filter's outputs cover the crop; outside it every voxel is class 0.
  const auto uncroppedLabels = [&]() {
    LabelImage3::Pointer labels = filter->GetLabelOutput();
    labels->DisconnectPipeline();
    if (crop)
    {
      LabelImage3::Pointer whole = FilledLabels(grid, 0);
      PasteInto<LabelImage3>(labels, whole, 1);
      labels = whole;
    }
    return labels;
  };
  const auto uncroppedProbabilities = [&]() {
    ProbabilityImage3::Pointer probabilities = filter->GetProbabilityOutput();
    probabilities->DisconnectPipeline();
    if (crop)
    {
      const unsigned int         k = probabilities->GetNumberOfComponentsPerPixel();
      ProbabilityImage3::Pointer whole = BackgroundProbabilities(grid, k);
      PasteInto<ProbabilityImage3>(probabilities, whole, k);
      probabilities = whole;
    }
    return probabilities;
  };

  if (onModelGrid)
  {
    LabelImage3::Pointer labels = uncroppedLabels();
    labels->CopyInformation(reference); // equal within 1e-9: keep the input's exact numbers
    ClassIndicesToLabelValues(labels);
    result.labels = labels;
    if (wantProbabilities)
    {
      result.probabilities = uncroppedProbabilities();
      // Not CopyInformation: from a scalar image it would reset the number of components.
      result.probabilities->SetOrigin(reference->GetOrigin());
      result.probabilities->SetSpacing(reference->GetSpacing());
      result.probabilities->SetDirection(reference->GetDirection());
    }
    if (progress)
    {
      progress(1.0);
    }
    return Described(std::move(result));
  }

  // Back onto the first input's grid, then the arg-max (the filter computed none).
  ProbabilityImage3::Pointer probabilities = uncroppedProbabilities();
  if (!DescribeGeometryDifference(reference, probabilities, 1e-9).empty())
  {
    probabilities = ResampleProbabilitiesOnto(probabilities, reference);
  }
  auto labels = LabelImage3::New();
  labels->CopyInformation(reference);
  labels->SetRegions(reference->GetLargestPossibleRegion());
  labels->Allocate();
  const unsigned int k = probabilities->GetNumberOfComponentsPerPixel();
  const float *      p = probabilities->GetBufferPointer();
  auto *             out = labels->GetBufferPointer();
  const size_t       n = reference->GetLargestPossibleRegion().GetNumberOfPixels();
  for (size_t i = 0; i < n; ++i)
  {
    size_t best = 0;
    if (k == 1)
    {
      best = p[i] >= 0.5f ? 1 : 0;
    }
    else
    {
      const float * v = p + i * k;
      for (unsigned int c = 1; c < k; ++c)
      {
        if (v[c] > v[best])
          best = c;
      }
    }
    out[i] = static_cast<LabelImage3::PixelType>(best);
  }
  ClassIndicesToLabelValues(labels);
  result.labels = labels;
  if (wantProbabilities)
  {
    result.probabilities = probabilities;
  }
  if (progress)
  {
    progress(1.0);
  }
  return Described(std::move(result));
}

Segmentation
PackageSegmenter::Background(const FloatImage3 * reference, bool wantProbabilities,
                             const ProgressCallback & progress) const
{
  Segmentation result;
  result.classes = m_Package.labels.empty() ? std::max(2u, m_Model->GetNumberOfClasses())
                                            : static_cast<unsigned int>(m_Package.labels.size());
  result.labels = FilledLabels(reference, static_cast<LabelImage3::PixelType>(m_Package.LabelValue(0)));
  if (wantProbabilities)
  {
    result.probabilities = BackgroundProbabilities(reference, result.classes);
  }
  if (progress)
  {
    progress(1.0);
  }
  return Described(std::move(result));
}

Segmentation
PackageSegmenter::RunStreamed(const std::vector<std::string> & files, unsigned int divisions,
                              const ProgressCallback & progress) const
{
  if (files.size() != m_Package.channels.size())
  {
    throw std::invalid_argument("model '" + m_Package.name + "' takes " + std::to_string(m_Package.channels.size()) +
                                " input channel(s), " + std::to_string(files.size()) + " given");
  }
  if (divisions < 1)
  {
    throw std::invalid_argument("the number of stream divisions must be >= 1");
  }
  std::vector<itk::ImageFileReader<FloatImage3>::Pointer> readers;
  for (const auto & file : files)
  {
    readers.push_back(OpenStreamedImage(file));
  }
  const FloatImage3 * first = readers.front()->GetOutput();
  for (size_t c = 1; c < files.size(); ++c)
  {
    const std::string difference = DescribeGeometryDifference(first, readers[c]->GetOutput());
    if (!difference.empty())
    {
      throw InputError(files[c], "is not on the grid of " + files.front() + " (" + difference +
                                   "); streaming needs every channel on one grid");
    }
  }
  if (m_Package.orientation != "any" && AxisCodesFromDirection(first->GetDirection()) != m_Package.orientation)
  {
    throw InputError(files.front(), "is stored in " + AxisCodesFromDirection(first->GetDirection()) +
                                      " orientation but model '" + m_Package.name + "' needs " +
                                      m_Package.orientation + "; streaming cannot reorient (save it reoriented, or "
                                      "segment without streaming)");
  }
  if (m_Package.spacing)
  {
    for (unsigned int d = 0; d < 3; ++d)
    {
      if (std::abs(first->GetSpacing()[d] - (*m_Package.spacing)[d]) > 1e-6 * (*m_Package.spacing)[d])
      {
        throw InputError(files.front(), "has spacing " + std::to_string(first->GetSpacing()[d]) + " mm along axis " +
                                          std::to_string(d) + " but model '" + m_Package.name + "' runs at " +
                                          std::to_string((*m_Package.spacing)[d]) +
                                          " mm; streaming cannot resample (resample it first, or segment "
                                          "without streaming)");
      }
    }
  }

  // Pass 1: statistics slab by slab, in voxel order (the same sums as a whole-volume pass).
  const itk::ImageRegion<3> largest = first->GetLargestPossibleRegion();
  const auto                splitter = itk::ImageRegionSplitterSlowDimension::New();
  const unsigned int        pieces = splitter->GetNumberOfSplits(largest, divisions);
  std::vector<IntensityMapping> mappings;
  for (size_t c = 0; c < files.size(); ++c)
  {
    const NormalizationSpec & spec = m_Package.channels[c].normalization;
    if (spec.kind == NormalizationSpec::Kind::PercentileZScore)
    {
      throw InputError(m_Package.source, "channel '" + m_Package.channels[c].name + "' is normalized with " +
                                           spec.ToString() +
                                           ", which needs every voxel at once; streaming works with zscore, "
                                           "minmax, ct and none");
    }
    IntensityStatistics statistics;
    for (unsigned int piece = 0; piece < pieces; ++piece)
    {
      itk::ImageRegion<3> slab = largest;
      splitter->GetSplit(piece, pieces, slab);
      FloatImage3 * image = readers[c]->GetOutput();
      image->SetRequestedRegion(slab);
      try
      {
        readers[c]->Update();
      }
      catch (const itk::ExceptionObject & e)
      {
        throw InputError(files[c], std::string("cannot read the voxel data: ") + e.GetDescription());
      }
      if (image->GetBufferedRegion() != slab)
      {
        throw InputError(files[c], "the reader did not read the slab it was asked for; cannot stream this file");
      }
      ValidateVoxels(image, files[c]);
      statistics.Add(image->GetBufferPointer(), slab.GetNumberOfPixels());
      if (progress)
      {
        progress(0.05 * (c * pieces + piece + 1) / static_cast<double>(files.size() * pieces));
      }
    }
    mappings.push_back(statistics.Finish(spec));
  }

  // Pass 2: the label map, slab by slab.
  using Filter = DeepSegmentationImageFilter<FloatImage3, LabelImage3>;
  auto filter = Filter::New();
  for (unsigned int c = 0; c < readers.size(); ++c)
  {
    readers[c]->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
    filter->SetInput(c, readers[c]->GetOutput());
  }
  filter->SetModel(m_Model);
  filter->SetIntensityMappings(mappings);
  filter->SetSlidingWindowSettings(m_Window);
  auto streamer = itk::StreamingImageFilter<LabelImage3, LabelImage3>::New();
  streamer->SetInput(filter->GetOutput());
  streamer->SetNumberOfStreamDivisions(divisions);
  if (progress)
  {
    // The streamer reports its own progress: the fraction of slabs done.
    auto observer = itk::CStyleCommand::New();
    observer->SetClientData(const_cast<ProgressCallback *>(&progress));
    observer->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
      (*static_cast<ProgressCallback *>(data))(0.05 + 0.95 * static_cast<itk::ProcessObject *>(caller)->GetProgress());
    });
    streamer->AddObserver(itk::ProgressEvent(), observer);
  }
  streamer->Update();
  Segmentation result;
  result.classes = filter->GetNumberOfClasses();
  CheckNumberOfClasses(result.classes);
  result.labels = streamer->GetOutput();
  result.labels->DisconnectPipeline();
  ClassIndicesToLabelValues(result.labels);
  if (progress)
  {
    progress(1.0);
  }
  return Described(std::move(result));
}

} // namespace medseg
