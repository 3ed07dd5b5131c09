#include "medsegImageFileIO.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegImagePayload.h"
#include "medsegIsolatedProbe.h"
#include "medsegLibraryMessages.h"

#include "itkCastImageFilter.h"
#include "itkGDCMImageIO.h"
#include "itkGDCMImageIOFactory.h"
#include "itkGDCMSeriesFileNames.h"
#include "itkImageFileReader.h"
#include "itkImageIOFactory.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageSeriesReader.h"
#include "itkVectorImage.h"
#include "itkMetaDataObject.h"
#include "itkJPEGImageIOFactory.h"
#include "itkMetaImageIOFactory.h"
#include "itkNiftiImageIOFactory.h"
#include "itkNrrdImageIOFactory.h"
#include "itkPNGImageIOFactory.h"
#include "itkTIFFImageIOFactory.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <cmath>
#include <cstdint>
#include <limits>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>

namespace medseg
{
namespace fs = std::filesystem;

namespace
{
/** Registers a factory unless one of its class is registered already (e.g. by a program that
 * uses ITK's own generated registration). */
template <typename TFactory>
void
RegisterIfAbsent(const std::list<itk::ObjectFactoryBase *> & registered)
{
  auto factory = TFactory::New();
  for (const auto * existing : registered)
  {
    if (std::string(existing->GetNameOfClass()) == factory->GetNameOfClass())
    {
      return;
    }
  }
  itk::ObjectFactoryBase::RegisterFactory(factory);
}
} // namespace

void
RegisterImageIOFactories()
{
  static std::once_flag once;
  std::call_once(once, [] {
    // Initialize the factory list first: factories registered "internally" before ITK's own
    // initialization were observed to be dropped (ITK 5.2), leaving writers without any IO.
    const std::list<itk::ObjectFactoryBase *> registered = itk::ObjectFactoryBase::GetRegisteredFactories();
    RegisterIfAbsent<itk::NiftiImageIOFactory>(registered);
    RegisterIfAbsent<itk::NrrdImageIOFactory>(registered);
    RegisterIfAbsent<itk::MetaImageIOFactory>(registered);
    RegisterIfAbsent<itk::GDCMImageIOFactory>(registered);
    RegisterIfAbsent<itk::PNGImageIOFactory>(registered);
    RegisterIfAbsent<itk::JPEGImageIOFactory>(registered);
    RegisterIfAbsent<itk::TIFFImageIOFactory>(registered);
  });
}

namespace
{

std::string
FormatIndex(const FloatImage3::IndexType & index)
{
  std::ostringstream os;
  os << '[' << index[0] << ',' << index[1] << ',' << index[2] << ']';
  return os.str();
}

/** Why the header's components per pixel cannot be read, or "" when they can: one (scalar), or,
 * when `channels` is set, three (RGB) in a 2D image. */
std::string
DescribeComponentProblem(const itk::ImageIOBase & io, bool channels)
{
  const unsigned int components = io.GetNumberOfComponents();
  const std::string  stated = std::to_string(components) + " components per voxel (" +
                             itk::ImageIOBase::GetPixelTypeAsString(io.GetPixelType()) + ")";
  if (components == 1)
  {
    return "";
  }
  if (!channels)
  {
    return "has " + stated + "; expected a scalar image";
  }
  const unsigned int nd = io.GetNumberOfDimensions();
  const bool         oneSlice = nd == 2 || (io.GetDimensions(2) == 1 && (nd < 4 || io.GetDimensions(3) == 1));
  if (components == 2 || components == 4)
  {
    return "has " + stated + ", i.e. an alpha channel; model inputs are grey (1 channel) or RGB (3 channels): "
           "save the image without alpha";
  }
  if (components != 3)
  {
    return "has " + stated + "; model inputs are grey (1 channel) or RGB (3 channels)";
  }
  if (!oneSlice)
  {
    return "is a 3D volume with " + stated + "; only 2D images are read as RGB channels: give each channel as "
           "its own scalar volume";
  }
  return "";
}

/** Checks what the file's header says, before any voxel is read. `channels`: three components
 * (RGB) are allowed in a 2D image. */
void
ValidateHeader(itk::ImageIOBase & io, const std::string & path, bool channels = false, bool volumes = false)
{
  const unsigned int nd = io.GetNumberOfDimensions();
  if (nd < 2 || nd > 4)
  {
    throw InputError(path, "has " + std::to_string(nd) + " dimensions; MedSeg reads 2D and 3D images");
  }
  if (nd == 4 && io.GetDimensions(3) > 1 && !volumes)
  {
    throw InputError(path,
                     "is 4D with " + std::to_string(io.GetDimensions(3)) +
                       " volumes; MedSeg needs a single 3D volume (extract one volume first)");
  }
  if (const std::string problem = DescribeComponentProblem(io, channels); !problem.empty())
  {
    throw InputError(path, problem);
  }
  for (unsigned int i = 0; i < nd; ++i)
  {
    if (io.GetDimensions(i) == 0)
    {
      throw InputError(path, "is empty (size 0 along axis " + std::to_string(i) + ")");
    }
  }
  const unsigned int spatial = std::min(nd, 3u);
  Spacing3           spacing;
  Origin3            origin;
  Direction3         direction;
  spacing.Fill(1.0);
  origin.Fill(0.0);
  direction.SetIdentity();
  for (unsigned int i = 0; i < spatial; ++i)
  {
    spacing[i] = io.GetSpacing(i);
    origin[i] = io.GetOrigin(i);
    const std::vector<double> axis = io.GetDirection(i);
    for (unsigned int r = 0; r < spatial && r < axis.size(); ++r)
    {
      direction[r][i] = axis[r];
    }
  }
  ValidateGeometry(spacing, origin, direction, path);
}

template <typename TReader>
typename TReader::OutputImageType::Pointer
UpdateReader(TReader * reader, const std::string & path)
{
  try
  {
    ScopedStderrCapture quiet("ITK IO");
    reader->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError(path, std::string("cannot read the voxel data (truncated or corrupt file?): ") +
                             e.GetDescription());
  }
  typename TReader::OutputImageType::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

/** The largest deviation of a DICOM slice distance from the series' spacing that is taken as
 * round-off, as a fraction of the spacing. */
constexpr double DicomSpacingTolerance = 0.01;

/** What a header probe's child found; 0 is also what no child gives (the checks then run here). */
enum ProbeOutcome : int
{
  HeaderRead = 0,
  NoImageIO = 1,      //!< no IO for the file; for a folder: no DICOM series
  DicomPixelsFine = 2 //!< every DICOM file's pixels passed DicomPixelDataProblem and decoded
};

FloatImage3::Pointer
ReadDicomSeries(const std::string & folder)
{
  // GDCM aborts on some malformed files (assertions in Debian's build): look at every file of
  // the folder once in a child process, then for real.
  uint64_t        folderBytes = 0;
  std::error_code ec;
  for (const auto & entry : fs::directory_iterator(folder, ec))
  {
    folderBytes += entry.is_regular_file(ec) ? entry.file_size(ec) : 0;
  }
  const detail::IsolatedResult scanned = detail::RunIsolated(
    [&] {
      auto scan = itk::GDCMSeriesFileNames::New();
      scan->SetUseSeriesDetails(true);
      scan->SetDirectory(folder);
      const std::vector<std::string> & uids = scan->GetSeriesUIDs();
      for (const std::string & uid : uids)
      {
        for (const std::string & file : scan->GetFileNames(uid))
        {
          auto io = itk::GDCMImageIO::New();
          io->SetFileName(file);
          io->ReadImageInformation();
          if (!detail::DicomPixelDataProblem(file, true).empty())
          {
            return 0; // named below, by this process
          }
        }
      }
      return uids.empty() ? int(NoImageIO) : int(DicomPixelsFine);
    },
    4 * folderBytes);
  if (!scanned.crash.empty())
  {
    throw InputError(folder, "holds a malformed DICOM file: GDCM reading the folder's files " + scanned.crash +
                               "; MedSeg refuses the folder");
  }
  if (scanned.code == NoImageIO)
  {
    throw InputError(folder, "is a folder without a DICOM series"); // decided in the child (see above)
  }
  ScopedStderrCapture quiet("GDCM");
  auto                names = itk::GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(true);
  names->SetDirectory(folder);
  const std::vector<std::string> & uids = names->GetSeriesUIDs();
  if (uids.empty())
  {
    throw InputError(folder, "is a folder without a DICOM series");
  }
  if (uids.size() > 1)
  {
    throw InputError(folder,
                     "holds " + std::to_string(uids.size()) +
                       " DICOM series; point MedSeg at a folder that holds exactly one");
  }
  const std::vector<std::string> files = names->GetFileNames(uids.front());
  for (size_t i = 0; i < files.size() && scanned.code != DicomPixelsFine; ++i) // the child found a problem
  {
    if (const std::string problem = detail::DicomPixelDataProblem(files[i]); !problem.empty())
    {
      throw InputError(folder, "holds a DICOM file, " + fs::path(files[i]).filename().string() + ", that " + problem);
    }
  }
  {
    // The header checks of single files (components, size, spacing) on the first slice.
    auto first = itk::GDCMImageIO::New();
    first->SetFileName(files.front());
    try
    {
      first->ReadImageInformation();
    }
    catch (const itk::ExceptionObject & e)
    {
      throw InputError(folder, "cannot read the DICOM header of " + files.front() + ": " + e.GetDescription());
    }
    ValidateHeader(*first, folder);
  }
  auto reader = itk::ImageSeriesReader<FloatImage3>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());
  reader->SetFileNames(files);
  FloatImage3::Pointer image = UpdateReader(reader.GetPointer(), folder);
  // ITK records the largest deviation of a slice distance from the series' mean spacing (and
  // warns from 1e-4 of it). Image Position (Patient) is a decimal string of at most 16
  // characters, so an oblique series deviates by round-off (~1e-6 mm); a missing slice deviates
  // by a whole spacing. MedSeg accepts up to DicomSpacingTolerance of the spacing and refuses
  // more, since the spacing it would report would be wrong for part of the volume.
  double deviation = 0.0;
  if (itk::ExposeMetaData<double>(image->GetMetaDataDictionary(), "ITK_non_uniform_sampling_deviation", deviation))
  {
    const double spacing = image->GetSpacing()[2];
    if (!(deviation <= DicomSpacingTolerance * spacing))
    {
      std::ostringstream os;
      os.precision(4);
      os << "DICOM slices are missing or unevenly spaced: a slice distance deviates by " << deviation
         << " mm from the mean spacing of " << spacing << " mm (more than " << DicomSpacingTolerance * 100
         << " %); MedSeg needs a complete, evenly spaced series";
      throw InputError(folder, os.str());
    }
  }
  ValidateGeometry(image->GetSpacing(), image->GetOrigin(), image->GetDirection(), folder);
  return image;
}

} // namespace

void
ValidateVoxels(const FloatImage3 * image, const std::string & subject)
{
  const auto region = image->GetBufferedRegion();
  if (region.GetNumberOfPixels() == 0)
  {
    throw InputError(subject, "is empty (no voxels)");
  }
  size_t                         bad = 0;
  FloatImage3::IndexType         first{};
  itk::ImageRegionConstIterator<FloatImage3> it(image, region);
  for (; !it.IsAtEnd(); ++it)
  {
    if (!std::isfinite(it.Get()))
    {
      if (bad++ == 0)
      {
        first = it.GetIndex();
      }
    }
  }
  if (bad > 0)
  {
    throw InputError(subject,
                     "contains " + std::to_string(bad) + " NaN or Inf voxel(s), the first at index " +
                       FormatIndex(first));
  }
}

namespace
{
/** A checked image file header, ready for a reader (null `io` for a DICOM folder), and the
 * geometry the image gets when it is not the one ITK's reader gives (a NIfTI sform, see
 * detail::ReadNiftiSform). */
struct OpenedImageFile
{
  /** An image's geometry in ITK's types. */
  struct Geometry
  {
    Spacing3   spacing;
    Origin3    origin;
    Direction3 direction;
  };
  itk::ImageIOBase::Pointer io;
  std::optional<Geometry>   geometry;
};

/** Every header-reading step ITK takes for `path` (choosing the IO, reading the header), in a
 * child process first: a library that aborts on a malformed file (GDCM's assertions) then ends
 * the child, not MedSeg. */
/** Returns whether the child found a DICOM file's pixels fine (then they need no second look). */
bool
ProbeHeaderInIsolation(const std::string & path)
{
  std::error_code ec;
  const uint64_t  size = fs::file_size(path, ec);
  // GDCM's CanReadFile reads the pixel data too: allow a few times the file's size.
  const detail::IsolatedResult result = detail::RunIsolated(
    [&] {
      itk::ImageIOBase::Pointer io =
        itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
      if (!io)
      {
        return int(NoImageIO);
      }
      io->SetFileName(path);
      io->ReadImageInformation();
      if (std::string(io->GetNameOfClass()) == "GDCMImageIO" && detail::DicomPixelDataProblem(path, true).empty())
      {
        return int(DicomPixelsFine);
      }
      return int(HeaderRead); // a problem in a DICOM file's pixels is named by the caller
    },
    ec ? 0 : 4 * size);
  if (!result.crash.empty())
  {
    throw InputError(path, "is malformed: the image library parsing its header " + result.crash +
                             " (GDCM and ITK do on some malformed headers); MedSeg refuses it");
  }
  if (result.code == NoImageIO)
  {
    // Decided in the child, which may have run out of its memory allowance on a lying length
    // field (GDCM catches that): parsing again here would allocate it for real.
    throw InputError(path, "is not in an image format MedSeg can read (NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, TIFF)");
  }
  return result.code == DicomPixelsFine;
}

OpenedImageFile
OpenImageFile(const std::string & path, bool channels, bool volumes = false)
{
  RegisterImageIOFactories();
  std::error_code ec;
  if (!fs::exists(path, ec))
  {
    throw InputError(path, "no such file or folder");
  }
  if (fs::is_directory(path, ec))
  {
    return {};
  }
  if (fs::file_size(path, ec) == 0)
  {
    throw InputError(path, "is an empty file");
  }
  if (const std::string problem = detail::DescribeUnreadableFormat(path); !problem.empty())
  {
    throw InputError(path, problem);
  }
  detail::CheckHeaderText(path);
  const bool      pixelsChecked = ProbeHeaderInIsolation(path);
  OpenedImageFile opened;
  {
    ScopedStderrCapture quiet("ITK IO"); // each IO's CanReadFile may print (the NIfTI library does)
    opened.io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
  }
  itk::ImageIOBase * io = opened.io.GetPointer();
  if (!io)
  {
    throw InputError(path, "is not in an image format MedSeg can read (NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, TIFF)");
  }
  io->SetFileName(path);
  try
  {
    ScopedStderrCapture quiet("ITK IO");
    io->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError(path, std::string("cannot read the image header: ") + e.GetDescription());
  }
  ValidateHeader(*io, path, channels, volumes);
  detail::CheckPayloadComplete(*io, path);
  if (std::string(io->GetNameOfClass()) == "GDCMImageIO" && !pixelsChecked)
  {
    ScopedStderrCapture quiet("GDCM");
    if (const std::string problem = detail::DicomPixelDataProblem(path); !problem.empty())
    {
      throw InputError(path, problem);
    }
  }
  if (std::string(io->GetNameOfClass()) == "NiftiImageIO" && io->GetNumberOfDimensions() >= 3)
  {
    if (const auto sform = detail::ReadNiftiSform(path))
    {
      const auto & g = *sform;
      double       difference = 0.0;
      OpenedImageFile::Geometry geometry;
      for (unsigned int i = 0; i < 3; ++i)
      {
        difference = std::max(difference, std::abs(io->GetSpacing(i) - g.spacing[i]) / g.spacing[i]);
        difference = std::max(difference, std::abs(io->GetOrigin(i) - g.origin[i]) * 1e-3);
        geometry.spacing[i] = g.spacing[i];
        geometry.origin[i] = g.origin[i];
        for (unsigned int r = 0; r < 3; ++r)
        {
          difference = std::max(difference, std::abs(io->GetDirection(i)[r] - g.direction[3 * r + i]));
          geometry.direction[r][i] = g.direction[3 * r + i];
        }
      }
      if (difference >= 1e-5) // else qform and sform agree: ITK's geometry is the sform's
      {
        ValidateGeometry(geometry.spacing, geometry.origin, geometry.direction, path);
        opened.geometry = geometry;
      }
    }
  }
  return opened;
}

/** Gives `image` the geometry `opened` says it has, when that is not ITK's. */
void
ApplyGeometry(const OpenedImageFile & opened, FloatImage3 * image)
{
  if (!opened.geometry)
  {
    return;
  }
  image->SetSpacing(opened.geometry->spacing);
  image->SetOrigin(opened.geometry->origin);
  image->SetDirection(opened.geometry->direction);
}

FloatImage3::Pointer
ReadScalarFile(const OpenedImageFile & opened, const std::string & path)
{
  auto reader = itk::ImageFileReader<FloatImage3>::New();
  reader->SetImageIO(opened.io);
  reader->SetFileName(path);
  FloatImage3::Pointer image = UpdateReader(reader.GetPointer(), path);
  ValidateVoxels(image, path);
  ApplyGeometry(opened, image);
  return image;
}
} // namespace

void
detail::VerifyWrittenImage(const std::string & temporary, const std::string & path)
{
  try
  {
    itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(temporary.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
    if (!io)
    {
      throw InputError(temporary, "is not readable as an image");
    }
    io->SetFileName(temporary);
    {
      ScopedStderrCapture quiet("ITK IO");
      io->ReadImageInformation();
    }
    detail::CheckPayloadComplete(*io, temporary, /*refuseNonFinite=*/false); // what was asked to be written
  }
  catch (const InputError & e)
  {
    throw InputError(path, "was not written completely (disk full or a file size limit?): " + e.GetProblem());
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError(path, std::string("was not written completely (disk full or a file size limit?): ") +
                             e.GetDescription());
  }
}

FloatImage3::Pointer
ReadScalarImage(const std::string & path)
{
  const OpenedImageFile opened = OpenImageFile(path, false);
  if (!opened.io)
  {
    FloatImage3::Pointer image = ReadDicomSeries(path);
    ValidateVoxels(image, path);
    return image;
  }
  return ReadScalarFile(opened, path);
}

std::vector<FloatImage3::Pointer>
ReadChannelImages(const std::string & path)
{
  const OpenedImageFile opened = OpenImageFile(path, true);
  itk::ImageIOBase *    io = opened.io.GetPointer();
  if (!io || io->GetNumberOfComponents() == 1)
  {
    return { io ? ReadScalarFile(opened, path) : ReadScalarImage(path) };
  }
  // Three components (RGB) of a 2D image: read as one vector image, then one volume per component.
  using VectorImage3 = itk::VectorImage<float, 3>;
  auto reader = itk::ImageFileReader<VectorImage3>::New();
  reader->SetImageIO(io);
  reader->SetFileName(path);
  VectorImage3::Pointer    pixels = UpdateReader(reader.GetPointer(), path);
  const unsigned int       components = pixels->GetNumberOfComponentsPerPixel();
  const size_t             n = pixels->GetBufferedRegion().GetNumberOfPixels();
  const float *            in = pixels->GetBufferPointer();
  std::vector<FloatImage3::Pointer> channels;
  for (unsigned int c = 0; c < components; ++c)
  {
    auto channel = FloatImage3::New();
    channel->CopyInformation(pixels);
    channel->SetRegions(pixels->GetBufferedRegion());
    channel->Allocate();
    float * out = channel->GetBufferPointer();
    for (size_t i = 0; i < n; ++i)
    {
      out[i] = in[i * components + c];
    }
    ValidateVoxels(channel, path);
    channels.push_back(channel);
  }
  return channels;
}

std::vector<FloatImage3::Pointer>
ReadVolumeChannels(const std::string & path)
{
  const OpenedImageFile opened = OpenImageFile(path, true, true);
  itk::ImageIOBase *    io = opened.io.GetPointer();
  if (!io || io->GetNumberOfDimensions() != 4 || io->GetDimensions(3) < 2)
  {
    return ReadChannelImages(path);
  }
  // The volumes of a 4D file, each with the file's 3D geometry (nibabel's affine is 3D too).
  using FloatImage4 = itk::Image<float, 4>;
  auto reader = itk::ImageFileReader<FloatImage4>::New();
  reader->SetImageIO(io);
  reader->SetFileName(path);
  FloatImage4::Pointer              volumes = UpdateReader(reader.GetPointer(), path);
  const auto                        size4 = volumes->GetLargestPossibleRegion().GetSize();
  FloatImage3::SizeType             size{ { size4[0], size4[1], size4[2] } };
  const size_t                      n = size[0] * size[1] * size[2];
  std::vector<FloatImage3::Pointer> channels;
  for (size_t v = 0; v < size4[3]; ++v)
  {
    auto channel = FloatImage3::New();
    channel->SetRegions(FloatImage3::RegionType(size));
    Spacing3   spacing;
    Origin3    origin;
    Direction3 direction;
    for (unsigned int i = 0; i < 3; ++i)
    {
      spacing[i] = volumes->GetSpacing()[i];
      origin[i] = volumes->GetOrigin()[i];
      for (unsigned int j = 0; j < 3; ++j)
        direction[i][j] = volumes->GetDirection()[i][j];
    }
    channel->SetSpacing(spacing);
    channel->SetOrigin(origin);
    channel->SetDirection(direction);
    channel->Allocate();
    std::copy_n(volumes->GetBufferPointer() + v * n, n, channel->GetBufferPointer());
    ValidateVoxels(channel, path);
    ApplyGeometry(opened, channel);
    channels.push_back(channel);
  }
  return channels;
}

itk::ImageFileReader<FloatImage3>::Pointer
OpenStreamedImage(const std::string & path)
{
  RegisterImageIOFactories();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
  {
    throw InputError(path, fs::exists(path, ec) ? "is not a single image file; streaming reads one uncompressed file"
                                                : "no such file");
  }
  const OpenedImageFile opened = OpenImageFile(path, false);
  if (opened.geometry)
  {
    throw InputError(path, "its NIfTI qform and sform disagree, and streaming reads the qform as ITK does; read it "
                           "whole (without --stream-divisions), which uses the sform");
  }
  itk::ImageIOBase::Pointer io = opened.io;
  io->SetUseStreamedReading(true);
  if (!io->CanStreamRead() || io->GetNumberOfDimensions() < 3)
  {
    throw InputError(path, "cannot be read in parts (compressed or not a 3D volume format); streaming needs an "
                           "uncompressed MetaImage (.mha/.mhd), NRRD or NIfTI (.nii) volume");
  }
  auto reader = itk::ImageFileReader<FloatImage3>::New();
  reader->SetImageIO(io);
  reader->SetFileName(path);
  try
  {
    reader->UpdateOutputInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError(path, std::string("cannot read the image header: ") + e.GetDescription());
  }
  return reader;
}

LabelImage3::Pointer
ReadLabelImage(const std::string & path)
{
  FloatImage3::Pointer values = ReadScalarImage(path);
  auto                 labels = LabelImage3::New();
  labels->CopyInformation(values);
  labels->SetRegions(values->GetLargestPossibleRegion());
  labels->Allocate();
  const float *   in = values->GetBufferPointer();
  auto *          out = labels->GetBufferPointer();
  const size_t    n = values->GetBufferedRegion().GetNumberOfPixels();
  constexpr float maxLabel = std::numeric_limits<LabelImage3::PixelType>::max();
  for (size_t i = 0; i < n; ++i)
  {
    const float v = in[i];
    if (v < 0.0f || v > maxLabel || v != std::floor(v))
    {
      const FloatImage3::IndexType index = values->ComputeIndex(static_cast<FloatImage3::OffsetValueType>(i));
      std::ostringstream           os;
      os << "voxel " << FormatIndex(index) << " holds " << v
         << "; a label map holds integers from 0 to " << maxLabel;
      throw InputError(path, os.str());
    }
    out[i] = static_cast<LabelImage3::PixelType>(v);
  }
  return labels;
}

} // namespace medseg
