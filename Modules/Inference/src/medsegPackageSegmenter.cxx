#include "medsegPackageSegmenter.h"

#include "medsegDeepSegmentationImageFilter.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegModelSpace.h"

#include "medsegImageFileIO.h"

#include "itkCommand.h"
#include "itkImageRegionSplitterSlowDimension.h"
#include "itkStreamingImageFilter.h"

#include <stdexcept>

namespace medseg
{

PackageSegmenter::PackageSegmenter(ModelPackage package, std::shared_ptr<SegmentationModel> model)
  : m_Package(std::move(package))
  , m_Model(std::move(model))
  , m_Window(m_Package.window)
{
  m_Window.sliceAxis = m_Package.sliceAxis;
}

void
PackageSegmenter::CheckNumberOfClasses(unsigned int classes) const
{
  const size_t expected = m_Package.labels.size();
  if (!(classes == expected || (classes == 1 && expected == 2)))
  {
    throw InputError(m_Package.source, "the model predicts " + std::to_string(classes) +
                                         " classes but model.json lists " + std::to_string(expected) + " labels");
  }
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

PackageSegmentation
PackageSegmenter::Run(const std::vector<FloatImage3::Pointer> & channels, bool wantProbabilities,
                      const ProgressCallback & progress) const
{
  if (channels.size() != m_Package.channels.size())
  {
    throw std::invalid_argument("model '" + m_Package.name + "' takes " + std::to_string(m_Package.channels.size()) +
                                " input channel(s), " + std::to_string(channels.size()) + " given");
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
  const bool onModelGrid = DescribeGeometryDifference(reference, modelSpace.front(), 1e-9).empty();

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
  filter->ProbeNumberOfClassesOff(); // outputs are read after Update(), not through the pipeline
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

  PackageSegmentation result;
  result.classes = filter->GetNumberOfClasses();
  CheckNumberOfClasses(result.classes);

  if (onModelGrid)
  {
    LabelImage3::Pointer labels = filter->GetLabelOutput();
    labels->DisconnectPipeline();
    labels->CopyInformation(reference); // equal within 1e-9: keep the input's exact numbers
    ClassIndicesToLabelValues(labels);
    result.labels = labels;
    if (wantProbabilities)
    {
      result.probabilities = filter->GetProbabilityOutput();
      result.probabilities->DisconnectPipeline();
      // Not CopyInformation: from a scalar image it would reset the number of components.
      result.probabilities->SetOrigin(reference->GetOrigin());
      result.probabilities->SetSpacing(reference->GetSpacing());
      result.probabilities->SetDirection(reference->GetDirection());
    }
    if (progress)
    {
      progress(1.0);
    }
    return result;
  }

  // Back onto the first input's grid, then the arg-max.
  ProbabilityImage3::Pointer probabilities = filter->GetProbabilityOutput();
  filter->GetLabelOutput()->Initialize(); // the package's own arg-max below replaces it
  if (!DescribeGeometryDifference(reference, probabilities, 1e-9).empty())
  {
    probabilities = ResampleProbabilitiesOnto(probabilities, reference);
  }
  else
  {
    probabilities->DisconnectPipeline();
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
    out[i] = static_cast<LabelImage3::PixelType>(m_Package.LabelValue(best));
  }
  result.labels = labels;
  if (wantProbabilities)
  {
    result.probabilities = probabilities;
  }
  if (progress)
  {
    progress(1.0);
  }
  return result;
}

PackageSegmentation
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
  filter->ProbeNumberOfClassesOff();
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
  PackageSegmentation result;
  result.classes = filter->GetNumberOfClasses();
  CheckNumberOfClasses(result.classes);
  result.labels = streamer->GetOutput();
  result.labels->DisconnectPipeline();
  ClassIndicesToLabelValues(result.labels);
  if (progress)
  {
    progress(1.0);
  }
  return result;
}

} // namespace medseg
