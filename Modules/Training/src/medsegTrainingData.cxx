#include "medsegTrainingData.h"

#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegIntensityNormalization.h"
#include "medsegModelSpace.h"
#include "medsegSha256.h"

#include <filesystem>
#include <map>
#include <sstream>

namespace medseg
{

namespace
{
at::Tensor
ToTensor(const FloatImage3 * image)
{
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const auto t = at::from_blob(const_cast<float *>(image->GetBufferPointer()),
                               { static_cast<int64_t>(size[2]), static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]) },
                               at::kFloat);
  return t.clone();
}

FloatImage3::Pointer
FromTensor(const at::Tensor & t, const FloatImage3 * reference)
{
  auto image = FloatImage3::New();
  image->CopyInformation(reference);
  image->SetRegions(reference->GetLargestPossibleRegion());
  image->Allocate();
  const at::Tensor c = t.to(at::kFloat).contiguous();
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), image->GetBufferPointer());
  return image;
}

std::string
FileStamp(const std::string & path)
{
  std::error_code ec;
  std::ostringstream s;
  const auto absolute = std::filesystem::absolute(path, ec).string();
  s << absolute << '|';
  if (std::filesystem::is_regular_file(path, ec))
    s << std::filesystem::file_size(path, ec) << '|'
      << std::filesystem::last_write_time(path, ec).time_since_epoch().count();
  return s.str();
}

FloatImage3::Pointer
ToModelSpace(FloatImage3::Pointer image, const TrainingConfig & config)
{
  if (config.orientation != "any")
    image = ReorientImage(image, config.orientation);
  if (config.spacing)
    image = ResampleToSpacing(image, *config.spacing);
  return image;
}
} // namespace

PreprocessedCase
MakePreprocessedCase(std::string id, at::Tensor image, at::Tensor label, std::array<double, 3> spacing, int64_t classes)
{
  PreprocessedCase c;
  c.id = std::move(id);
  c.image = image.dim() == 3 ? image.unsqueeze(0).contiguous() : image.contiguous();
  c.label = label.to(at::kLong).contiguous();
  c.spacing = spacing;
  const at::Tensor flat = c.label.reshape({ -1 });
  for (int64_t k = 1; k < classes; ++k)
    c.foreground.push_back(at::nonzero(flat == k).reshape({ -1 }).contiguous());
  return c;
}

namespace
{
PreprocessedCase
PreprocessCaseImages(const TrainingCase & trainingCase, const TrainingConfig & config, const std::string & cacheDir)
{
  const auto classes = static_cast<int64_t>(config.labels.size());
  std::string imagePath;
  std::string labelPath;
  if (!cacheDir.empty())
  {
    std::ostringstream key;
    key << "medseg-train-cache-v1|" << FileStamp(trainingCase.image) << '|' << FileStamp(trainingCase.label) << '|'
        << (trainingCase.labelThreshold ? std::to_string(*trainingCase.labelThreshold) : "labels") << '|'
        << config.orientation << '|' << (config.spacing ? nlohmann::json(*config.spacing).dump() : "native") << '|'
        << config.channels.front().normalization.ToString() << '|';
    for (const auto & l : config.labels)
      key << l.value << ',';
    const std::string hash = Sha256OfString(key.str()).substr(0, 24);
    std::filesystem::create_directories(cacheDir);
    imagePath = cacheDir + "/" + hash + ".image.nrrd";
    labelPath = cacheDir + "/" + hash + ".label.nrrd";
    std::error_code ec;
    if (std::filesystem::is_regular_file(imagePath, ec) && std::filesystem::is_regular_file(labelPath, ec))
    {
      const auto image = ReadScalarImage(imagePath);
      const auto label = ReadScalarImage(labelPath);
      const auto sp = image->GetSpacing();
      return MakePreprocessedCase(trainingCase.id, ToTensor(image), ToTensor(label).round().to(at::kLong),
                                  { { sp[0], sp[1], sp[2] } }, classes);
    }
  }

  FloatImage3::Pointer image = ReadScalarImage(trainingCase.image);
  FloatImage3::Pointer labelImage = ReadScalarImage(trainingCase.label);
  std::map<unsigned int, int64_t> classOf;
  for (size_t k = 0; k < config.labels.size(); ++k)
    classOf[config.labels[k].value] = static_cast<int64_t>(k);

  // Class indices on the label file's own grid.
  at::Tensor raw = ToTensor(labelImage);
  at::Tensor classes0;
  if (trainingCase.labelThreshold)
  {
    classes0 = (raw > *trainingCase.labelThreshold).to(at::kLong);
  }
  else
  {
    if (!at::equal(raw, raw.round()) || raw.min().item<float>() < 0)
      throw InputError(trainingCase.label, "is not a label map (non-integer or negative voxels); give label_threshold "
                                           "in the manifest to threshold an intensity image");
    classes0 = at::full(raw.sizes(), -1, at::kLong);
    const at::Tensor values = std::get<0>(at::_unique(raw.round().to(at::kLong)));
    for (int64_t i = 0; i < values.numel(); ++i)
    {
      const auto v = values[i].item<int64_t>();
      const auto it = classOf.find(static_cast<unsigned int>(v));
      if (it == classOf.end())
        throw InputError(trainingCase.label, "holds label value " + std::to_string(v) +
                                               ", which the config's labels do not list");
      classes0.masked_fill_(raw == static_cast<float>(v), it->second);
    }
  }

  // Each class indicator through the same geometry steps as the image, then arg-max.
  const bool sameGrid = DescribeGeometryDifference(image, labelImage).empty();
  FloatImage3::Pointer modelImage = ToModelSpace(image, config);
  std::vector<at::Tensor> indicators;
  for (int64_t k = 0; k < classes; ++k)
  {
    FloatImage3::Pointer indicator = FromTensor((classes0 == k).to(at::kFloat), labelImage);
    if (!sameGrid)
      indicator = ResampleOnto(indicator, image);
    indicators.push_back(ToTensor(ToModelSpace(indicator, config)));
  }
  at::Tensor label = at::stack(indicators).argmax(0);

  NormalizeIntensities(modelImage, config.channels.front().normalization);
  const auto sp = modelImage->GetSpacing();
  PreprocessedCase result =
    MakePreprocessedCase(trainingCase.id, ToTensor(modelImage), label, { { sp[0], sp[1], sp[2] } }, classes);

  if (!imagePath.empty())
  {
    WriteImageFile(modelImage.GetPointer(), imagePath, false);
    WriteImageFile(FromTensor(label, modelImage).GetPointer(), labelPath, true);
  }
  return result;
}
} // namespace

PreprocessedCase
PreprocessCase(const TrainingCase & trainingCase, const TrainingConfig & config, const std::string & cacheDir)
{
  PreprocessedCase result = PreprocessCaseImages(trainingCase, config, cacheDir);
  const AugmentationSettings & a = config.augmentation;
  if (a.enabled && a.synthesisProbability > 0.0 && trainingCase.split == "train") // validation: real images only
    result.tissue = ClusterTissueClasses(result.image, result.label, a.synthesisClassesInside, a.synthesisClassesOutside);
  return result;
}

} // namespace medseg
