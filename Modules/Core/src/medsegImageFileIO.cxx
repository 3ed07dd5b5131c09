#include "medsegImageFileIO.h"

#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegGeometry.h"
#include "medsegPixelTypeDispatch.h"

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

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <cmath>
#include <cstdint>
#include <limits>
#include <filesystem>
#include <mutex>
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
ValidateHeader(itk::ImageIOBase & io, const std::string & path, bool channels = false)
{
  const unsigned int nd = io.GetNumberOfDimensions();
  if (nd < 2 || nd > 4)
  {
    throw InputError(path, "has " + std::to_string(nd) + " dimensions; MedSeg reads 2D and 3D images");
  }
  if (nd == 4 && io.GetDimensions(3) > 1)
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

bool
EndsWith(const std::string & text, const std::string & suffix)
{
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/** Streams a gzip file through `consume(bytes, count, offset)`; returns the decompressed size.
 * Throws InputError if the stream ends early or is corrupt. */
template <typename TConsumer>
uint64_t
StreamGzip(const std::string & path, TConsumer && consume)
{
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr)
  {
    throw InputError(path, "cannot open the file");
  }
  std::vector<char> buffer(1 << 20);
  uint64_t          total = 0;
  int               got = 0;
  while ((got = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0)
  {
    consume(buffer.data(), static_cast<size_t>(got), total);
    total += static_cast<uint64_t>(got);
  }
  int               code = Z_OK;
  const char *      message = gzerror(file, &code);
  const bool        failed = got < 0 || (code != Z_OK && code != Z_STREAM_END);
  const std::string reason = message ? message : "";
  gzclose(file);
  if (failed)
  {
    throw InputError(path, "the compressed data are truncated or corrupt (" + reason + ")");
  }
  return total;
}

/** Streams a plain file through `consume(bytes, count, offset)`; returns its size. */
template <typename TConsumer>
uint64_t
StreamFile(const std::string & path, TConsumer && consume)
{
  std::ifstream     in(path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  uint64_t          total = 0;
  while (in)
  {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0)
      break;
    consume(buffer.data(), got, total);
    total += got;
  }
  return total;
}

/** What a NIfTI header says about where and how its voxels are stored. */
struct NiftiLayout
{
  uint64_t voxelOffset{ 0 }; // 0: not a single-file NIfTI
  int      datatype{ 0 };
  bool     swapped{ false };
};

/** Counts NaN/Inf values in the float32/float64 voxels of a NIfTI stream as it goes by
 * (NIfTI's reader replaces them with 0 without a word, so the reader cannot see them). */
class NonFiniteScanner
{
public:
  void
  Start(const NiftiLayout & layout, uint64_t payload)
  {
    m_Layout = layout;
    m_Size = layout.datatype == 16 ? 4 : (layout.datatype == 64 ? 8 : 0);
    m_End = layout.voxelOffset + payload; // trailing bytes after the voxels are not voxels
  }
  void
  operator()(const char * data, size_t n, uint64_t offset)
  {
    if (m_Size == 0)
      return;
    for (size_t i = 0; i < n; ++i)
    {
      const uint64_t position = offset + i;
      if (position < m_Layout.voxelOffset)
        continue;
      if (position >= m_End)
        break;
      m_Value[m_Filled++] = data[i];
      if (m_Filled == m_Size)
      {
        m_Filled = 0;
        if (m_Layout.swapped)
          std::reverse(m_Value, m_Value + m_Size);
        bool finite = true;
        if (m_Size == 4)
        {
          float f;
          std::memcpy(&f, m_Value, 4);
          finite = std::isfinite(f);
        }
        else
        {
          double d;
          std::memcpy(&d, m_Value, 8);
          finite = std::isfinite(d);
        }
        if (!finite && m_Count++ == 0)
          m_First = m_Voxel;
        ++m_Voxel;
      }
    }
  }
  uint64_t m_Count{ 0 };
  uint64_t m_First{ 0 };

private:
  NiftiLayout m_Layout;
  uint64_t    m_End{ 0 };
  size_t      m_Size{ 0 };
  char        m_Value[8]{};
  size_t      m_Filled{ 0 };
  uint64_t    m_Voxel{ 0 };
};

/** Where and how the voxels of a NIfTI-1 or NIfTI-2 single file are stored, from its header bytes. */
NiftiLayout
ReadNiftiLayout(const std::string & header, const std::string & path)
{
  NiftiLayout layout;
  if (header.size() < 348)
  {
    throw InputError(path, "the NIfTI header is truncated");
  }
  int32_t sizeofHeader = 0;
  std::memcpy(&sizeofHeader, header.data(), 4);
  const bool swapped = sizeofHeader != 348 && sizeofHeader != 540;
  if (swapped)
  {
    sizeofHeader = static_cast<int32_t>(__builtin_bswap32(static_cast<uint32_t>(sizeofHeader)));
  }
  if (sizeofHeader == 348)
  {
    uint32_t raw = 0;
    std::memcpy(&raw, header.data() + 108, 4);
    if (swapped)
    {
      raw = __builtin_bswap32(raw);
    }
    float offset = 0.0f;
    std::memcpy(&offset, &raw, 4);
    layout.voxelOffset = offset > 0.0f ? static_cast<uint64_t>(offset) : 352u;
    uint16_t type = 0;
    std::memcpy(&type, header.data() + 70, 2);
    layout.datatype = swapped ? __builtin_bswap16(type) : type;
  }
  else if (sizeofHeader == 540 && header.size() >= 176)
  {
    uint64_t offset = 0;
    std::memcpy(&offset, header.data() + 168, 8);
    layout.voxelOffset = swapped ? __builtin_bswap64(offset) : offset;
    uint16_t type = 0;
    std::memcpy(&type, header.data() + 12, 2);
    layout.datatype = swapped ? __builtin_bswap16(type) : type;
  }
  layout.swapped = swapped;
  return layout; // voxelOffset 0: not a single-file NIfTI (e.g. .hdr/.img): ITK checks those itself
}

/** Length of a MetaImage header: up to the end of the ElementDataFile line. */
std::pair<uint64_t, std::string>
MetaHeader(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  std::string   line;
  uint64_t      consumed = 0;
  std::string   compressed;
  std::string   compressedSize;
  while (std::getline(in, line))
  {
    consumed += line.size() + 1;
    if (line.rfind("CompressedData", 0) == 0 && line.rfind("CompressedDataSize", 0) != 0)
    {
      compressed = line;
    }
    if (line.rfind("CompressedDataSize", 0) == 0 && line.find('=') != std::string::npos)
    {
      compressedSize = line.substr(line.find('=') + 1);
    }
    if (line.rfind("ElementDataFile", 0) == 0)
    {
      const auto  eq = line.find('=');
      std::string value = eq == std::string::npos ? "" : line.substr(eq + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t\r") + 1);
      const bool isCompressed = compressed.find("True") != std::string::npos;
      return { consumed, isCompressed ? "(compressed)" + compressedSize : value };
    }
  }
  return { 0, std::string() };
}

/** ITK's NIfTI and MetaImage readers fill missing voxels with zeros and only print a warning, so
 * check that the file holds every byte its header promises before reading it. */
void
CheckPayloadComplete(itk::ImageIOBase & io, const std::string & path)
{
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const uint64_t payload = io.GetImageSizeInBytes();
  std::error_code ec;
  if (EndsWith(lower, ".nii.gz") || EndsWith(lower, ".nii"))
  {
    const bool       compressed = EndsWith(lower, ".gz");
    std::string      header;
    NonFiniteScanner scanner;
    bool             started = false;
    const auto       consume = [&](const char * data, size_t n, uint64_t offset) {
      if (header.size() < 544)
      {
        header.append(data, std::min<size_t>(544 - header.size(), n));
      }
      if (!started && (header.size() >= 544 || offset + n >= 544 || n < 544))
      {
        scanner.Start(ReadNiftiLayout(header, path), payload);
        started = true;
      }
      scanner(data, n, offset);
    };
    const uint64_t    total = compressed ? StreamGzip(path, consume) : StreamFile(path, consume);
    const NiftiLayout layout = ReadNiftiLayout(header, path);
    if (layout.voxelOffset > 0 && total < layout.voxelOffset + payload)
    {
      throw InputError(path, "is truncated: " + std::to_string(total - std::min(total, layout.voxelOffset)) + " of " +
                               std::to_string(payload) + " bytes of voxel data present");
    }
    if (scanner.m_Count > 0)
    {
      const uint64_t nx = io.GetDimensions(0), ny = io.GetDimensions(1);
      const uint64_t f = scanner.m_First;
      throw InputError(path, "contains " + std::to_string(scanner.m_Count) +
                               " NaN or Inf voxel(s), the first at index [" + std::to_string(f % nx) + "," +
                               std::to_string((f / nx) % ny) + "," + std::to_string(f / (nx * ny)) + "]");
    }
  }
  else if (EndsWith(lower, ".hdr") || EndsWith(lower, ".img"))
  {
    // NIfTI/Analyze pairs: the voxels are the whole .img file.
    const fs::path image = fs::path(path).replace_extension(".img");
    if (!fs::exists(image, ec))
    {
      throw InputError(path, "its voxel file " + image.string() + " does not exist");
    }
    const uint64_t size = fs::file_size(image, ec);
    if (size < payload)
    {
      throw InputError(path, "is truncated: " + std::to_string(size) + " of " + std::to_string(payload) +
                               " bytes of voxel data present in " + image.filename().string());
    }
  }
  else if (EndsWith(lower, ".mha") || EndsWith(lower, ".mhd"))
  {
    const auto [headerBytes, dataFile] = MetaHeader(path);
    uint64_t present = 0;
    if (dataFile == "LOCAL")
    {
      present = std::filesystem::file_size(path, ec) - headerBytes;
    }
    else if (dataFile.rfind("(compressed)", 0) == 0)
    {
      // The header states the size of the zlib stream that follows it.
      const std::string stated = dataFile.substr(12);
      if (dataFile.size() > 12 && headerBytes > 0)
      {
        const uint64_t expected = std::strtoull(stated.c_str(), nullptr, 10);
        const uint64_t size = std::filesystem::file_size(path, ec);
        if (expected > 0 && size - std::min(size, headerBytes) < expected)
        {
          throw InputError(path, "is truncated: " + std::to_string(size - std::min(size, headerBytes)) + " of " +
                                   std::to_string(expected) + " bytes of compressed voxel data present");
        }
      }
      return;
    }
    else if (!dataFile.empty() && dataFile.find_first_of(" %") == std::string::npos &&
             dataFile != "LIST")
    {
      const fs::path dataPath = fs::path(path).parent_path() / dataFile;
      if (!fs::exists(dataPath, ec))
      {
        throw InputError(path, "its data file " + dataPath.string() + " does not exist");
      }
      present = fs::file_size(dataPath, ec);
    }
    else
    {
      return; // compressed or multi-file data: left to ITK
    }
    if (present < payload)
    {
      throw InputError(path, "is truncated: " + std::to_string(present) + " of " + std::to_string(payload) +
                               " bytes of voxel data present");
    }
  }
}

template <typename TReader>
typename TReader::OutputImageType::Pointer
UpdateReader(TReader * reader, const std::string & path)
{
  try
  {
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

FloatImage3::Pointer
ReadDicomSeries(const std::string & folder)
{
  auto names = itk::GDCMSeriesFileNames::New();
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
  // ITK only warns about gaps and uneven slice positions; MedSeg refuses them, since the
  // spacing it would report is wrong for part of the volume.
  double deviation = 0.0;
  if (itk::ExposeMetaData<double>(image->GetMetaDataDictionary(), "ITK_non_uniform_sampling_deviation", deviation))
  {
    throw InputError(folder, "DICOM slices are missing or unevenly spaced (deviation " + std::to_string(deviation) +
                               " mm); MedSeg needs a complete, evenly spaced series");
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
/** The checked header of a single image file, ready for a reader; null for a DICOM folder. */
itk::ImageIOBase::Pointer
OpenImageFile(const std::string & path, bool channels)
{
  RegisterImageIOFactories();
  std::error_code ec;
  if (!fs::exists(path, ec))
  {
    throw InputError(path, "no such file or folder");
  }
  if (fs::is_directory(path, ec))
  {
    return nullptr;
  }
  if (fs::file_size(path, ec) == 0)
  {
    throw InputError(path, "is an empty file");
  }
  itk::ImageIOBase::Pointer io =
    itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::CommonEnums::IOFileMode::ReadMode);
  if (!io)
  {
    throw InputError(path, "is not in an image format MedSeg can read (NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, TIFF)");
  }
  io->SetFileName(path);
  try
  {
    io->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError(path, std::string("cannot read the image header: ") + e.GetDescription());
  }
  ValidateHeader(*io, path, channels);
  CheckPayloadComplete(*io, path);
  return io;
}

FloatImage3::Pointer
ReadScalarFile(itk::ImageIOBase * io, const std::string & path)
{
  auto reader = itk::ImageFileReader<FloatImage3>::New();
  reader->SetImageIO(io);
  reader->SetFileName(path);
  FloatImage3::Pointer image = UpdateReader(reader.GetPointer(), path);
  ValidateVoxels(image, path);
  return image;
}
} // namespace

FloatImage3::Pointer
ReadScalarImage(const std::string & path)
{
  itk::ImageIOBase::Pointer io = OpenImageFile(path, false);
  if (!io)
  {
    FloatImage3::Pointer image = ReadDicomSeries(path);
    ValidateVoxels(image, path);
    return image;
  }
  return ReadScalarFile(io, path);
}

std::vector<FloatImage3::Pointer>
ReadChannelImages(const std::string & path)
{
  itk::ImageIOBase::Pointer io = OpenImageFile(path, true);
  if (!io || io->GetNumberOfComponents() == 1)
  {
    return { io ? ReadScalarFile(io, path) : ReadScalarImage(path) };
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
  itk::ImageIOBase::Pointer io = OpenImageFile(path, false);
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

namespace
{
/** Does the file name of `path` end with one of `suffixes` (lower case), ignoring case? */
bool
NameEndsWith(const std::string & path, std::initializer_list<const char *> suffixes)
{
  std::string lower = fs::path(path).filename().string();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string suffix : suffixes)
  {
    if (lower.size() > suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0)
    {
      return true;
    }
  }
  return false;
}

/** Writes a one-slice label map as a 2D image of pixel type TPixel, atomically. */
template <typename TPixel>
void
WriteSliceLabelImage(const LabelImage3 * labels, const std::string & path)
{
  using SliceImage = itk::Image<TPixel, 2>;
  auto                        slice = SliceImage::New();
  typename SliceImage::SizeType size;
  typename SliceImage::SpacingType spacing;
  typename SliceImage::PointType   origin;
  typename SliceImage::DirectionType direction;
  const auto                       region = labels->GetLargestPossibleRegion();
  for (unsigned int i = 0; i < 2; ++i)
  {
    size[i] = region.GetSize(i);
    spacing[i] = labels->GetSpacing()[i];
    origin[i] = labels->GetOrigin()[i];
    for (unsigned int j = 0; j < 2; ++j)
    {
      direction[i][j] = labels->GetDirection()[i][j];
    }
  }
  // The in-plane part of an oblique direction may be singular; PNG and TIFF store no direction anyway.
  if (std::abs(direction[0][0] * direction[1][1] - direction[0][1] * direction[1][0]) < 1e-6)
  {
    direction.SetIdentity();
  }
  slice->SetRegions(size);
  slice->SetSpacing(spacing);
  slice->SetOrigin(origin);
  slice->SetDirection(direction);
  slice->Allocate();
  const auto * in = labels->GetBufferPointer();
  TPixel *     out = slice->GetBufferPointer();
  const size_t n = slice->GetLargestPossibleRegion().GetNumberOfPixels(); // x fastest in both: one z slice
  for (size_t i = 0; i < n; ++i)
  {
    out[i] = static_cast<TPixel>(in[i]);
  }
  detail::WriteThroughTemporaryFile(slice.GetPointer(), path, true);
}
} // namespace

bool
IsAtomicallyWritable(const std::string & path)
{
  return NameEndsWith(path, { ".nii.gz", ".nii", ".nrrd", ".mha" });
}

bool
IsSliceLabelFormat(const std::string & path)
{
  return NameEndsWith(path, { ".png", ".tif", ".tiff" });
}

void
CheckLabelOutputPath(const std::string & path, bool overwrite)
{
  if (NameEndsWith(path, { ".jpg", ".jpeg" }))
  {
    throw InputError(path, "JPEG is lossy and would change label values; write label maps as .png or .tif "
                           "(2D) or .nii.gz, .nii, .nrrd, .mha (3D)");
  }
  if (!IsAtomicallyWritable(path) && !IsSliceLabelFormat(path))
  {
    throw InputError(path, "unsupported label map format; use .nii.gz, .nii, .nrrd or .mha, or .png or .tif for a "
                           "2D image");
  }
  CheckOutputFile(path, overwrite);
}

void
CheckLabelMapFitsFormat(const std::string & path, const itk::ImageRegion<3> & region, unsigned long maxLabel)
{
  if (!IsSliceLabelFormat(path))
  {
    return;
  }
  if (region.GetSize(2) != 1)
  {
    throw InputError(path, "a 2D label image holds one slice, but the label map has " +
                             std::to_string(region.GetSize(2)) +
                             " slices along z; write it as .nii.gz, .nii, .nrrd or .mha");
  }
  if (maxLabel > std::numeric_limits<uint16_t>::max())
  {
    throw InputError(path, "label value " + std::to_string(maxLabel) +
                             " does not fit a 16-bit 2D label image; write it as .nii.gz, .nii, .nrrd or .mha");
  }
}

void
WriteLabelMapFile(const LabelImage3 * labels, const std::string & path, unsigned long maxLabel)
{
  if (NameEndsWith(path, { ".jpg", ".jpeg" }) || (!IsAtomicallyWritable(path) && !IsSliceLabelFormat(path)))
  {
    CheckLabelOutputPath(path, true); // throws the format's refusal
  }
  maxLabel = std::max(maxLabel, 1ul);
  RegisterImageIOFactories();
  if (IsSliceLabelFormat(path))
  {
    CheckLabelMapFitsFormat(path, labels->GetLargestPossibleRegion(), maxLabel); // at most 16 bits
    DispatchLabelPixelType(maxLabel, [&](auto tag) { WriteSliceLabelImage<typename decltype(tag)::type>(labels, path); });
    return;
  }
  DispatchLabelPixelType(maxLabel, [&](auto tag) {
    using OutputImage = itk::Image<typename decltype(tag)::type, 3>;
    auto cast = itk::CastImageFilter<LabelImage3, OutputImage>::New();
    cast->SetInput(labels);
    cast->Update();
    WriteImageFile(cast->GetOutput(), path);
  });
}

void
CheckOutputPath(const std::string & path, bool overwrite)
{
  if (!IsAtomicallyWritable(path))
  {
    throw InputError(path, "unsupported output format; use .nii.gz, .nii, .nrrd or .mha");
  }
  CheckOutputFile(path, overwrite);
}

bool
IsSameFile(const std::string & a, const std::string & b)
{
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec))
  {
    return fs::equivalent(a, b, ec);
  }
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

void
CheckOutputFile(const std::string & path, bool overwrite)
{
  std::error_code ec;
  fs::path        parent = fs::path(path).parent_path();
  if (parent.empty())
  {
    parent = ".";
  }
  if (!fs::is_directory(parent, ec))
  {
    throw InputError(path, "its folder " + parent.string() + " does not exist");
  }
  if (fs::is_directory(path, ec))
  {
    throw InputError(path, "is a folder, not a file name");
  }
  if (fs::exists(path, ec) && !overwrite)
  {
    throw InputError(path, "already exists; pass --overwrite to replace it");
  }
}

} // namespace medseg
