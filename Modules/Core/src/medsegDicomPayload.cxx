// The DICOM counterpart of the payload checks in medsegImagePayload.cxx: what a slice's header
// says about its pixels against what its Pixel Data element holds, before ITK decodes it.

#include "medsegImagePayload.h"

#include <gdcmAttribute.h>
#include <gdcmImageReader.h>
#include <gdcmPixelFormat.h>

#include <sstream>
#include <vector>

namespace medseg::detail
{

std::string
DicomPixelDataProblem(const std::string & file, bool decode)
{
  gdcm::ImageReader reader;
  reader.SetFileName(file.c_str());
  if (!reader.Read())
  {
    return "cannot be read as an image by GDCM (its pixel module or Pixel Data is missing or malformed)";
  }
  const gdcm::Image &       image = reader.GetImage();
  const gdcm::PixelFormat & format = image.GetPixelFormat();
  // GDCM reads any nonzero Pixel Representation as 1 (signed); DICOM allows only 0 and 1.
  unsigned short               representation = 0;
  const gdcm::DataSet &        dataSet = reader.GetFile().GetDataSet();
  const gdcm::Tag              representationTag(0x0028, 0x0103);
  if (dataSet.FindDataElement(representationTag))
  {
    gdcm::Attribute<0x0028, 0x0103> attribute;
    attribute.SetFromDataElement(dataSet.GetDataElement(representationTag));
    representation = attribute.GetValue();
  }
  // Found by fuzzing: GDCM decodes a scalar type it does not know into buffers of the wrong size
  // (a stack-buffer-underflow in ASan's words).
  const unsigned short bits = format.GetBitsAllocated();
  if (format.GetScalarType() == gdcm::PixelFormat::UNKNOWN || !format.IsValid() ||
      representation > 1 || (bits != 8 && bits != 16 && bits != 32 && bits != 64) ||
      format.GetBitsStored() == 0 || format.GetBitsStored() > bits || format.GetHighBit() >= bits ||
      (format.GetSamplesPerPixel() != 1 && format.GetSamplesPerPixel() != 3))
  {
    std::ostringstream os;
    os << "has a pixel format MedSeg does not support (Samples per Pixel " << format.GetSamplesPerPixel()
       << ", Bits Allocated " << bits << ", Bits Stored " << format.GetBitsStored() << ", High Bit "
       << format.GetHighBit() << ", Pixel Representation " << representation << ")";
    return os.str();
  }
  // Found by fuzzing: ITK turns MONOCHROME1 into MONOCHROME2 with GDCM, which aborts (an
  // assertion) on signed 16-bit pixels with 12 bits stored.
  if (image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::MONOCHROME1 && representation == 1 &&
      bits == 16 && format.GetBitsStored() == 12)
  {
    return "is MONOCHROME1 with signed 12-bit pixels, which GDCM (the DICOM library of ITK) cannot invert";
  }
  // Native (uncompressed) Pixel Data is copied as it is: GDCM's raw codec copies as many bytes
  // as the rows, columns, frames and bits ask for, also past the end of a shorter element (a
  // heap-buffer-overflow found by fuzzing). Encapsulated (compressed) data is decoded by codecs
  // that check their own lengths.
  const gdcm::DataElement & pixels = image.GetDataElement();
  if (pixels.GetSequenceOfFragments() != nullptr)
  {
    return "";
  }
  const gdcm::ByteValue * value = pixels.GetByteValue();
  const uint64_t          present = value ? static_cast<uint64_t>(static_cast<uint32_t>(value->GetLength())) : 0;
  // What GDCM's GetBufferLength() says, in 64 bits (it multiplies in 32); YBR_FULL_422 stores
  // two samples' worth per pixel for three.
  const uint64_t frames = image.GetNumberOfDimensions() > 2 ? image.GetDimension(2) : 1;
  const uint64_t samples = format.GetSamplesPerPixel();
  uint64_t       needed = uint64_t{ image.GetColumns() } * image.GetRows() * frames * samples * (bits / 8);
  if (image.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::YBR_FULL_422)
  {
    needed = needed / 3 * 2;
  }
  if (present < needed)
  {
    std::ostringstream os;
    os << "is truncated: its Pixel Data holds " << present << " bytes, its header (" << image.GetColumns()
       << " columns, " << image.GetRows() << " rows, " << frames << " frame(s), " << samples << " sample(s), "
       << bits << " bits) needs " << needed;
    return os.str();
  }
  if (decode)
  {
    // Found by fuzzing: GDCM asserts (aborts) inside its raw codec on some pixel formats
    // (RAWCodec::DecodeBytes, when its stream decoding fails). Decoding here, in the probe child,
    // turns that into a refusal instead of an abort of MedSeg when ITK decodes the same bytes.
    std::vector<char> buffer(image.GetBufferLength());
    image.GetBuffer(buffer.data());
  }
  return "";
}

} // namespace medseg::detail
