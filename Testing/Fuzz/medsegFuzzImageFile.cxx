// libFuzzer target: one image file through medseg::ReadScalarImage, as every MedSeg tool reads it
// (format sniffing, the header probe in a child process, ITK's header parse, MedSeg's header,
// payload, NaN and sform checks, the voxel read).
//
// Built four times with MEDSEG_FUZZ_EXTENSION ".nii", ".nii.gz", ".mha" or ".nrrd". For ".nii.gz"
// the first byte chooses the form: odd writes the rest as it is (corrupt compression), even gzips
// the rest first, so that the NIfTI header checks are reached through the decompressing path.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegImageFileIO.h"

#include "itkMacro.h"
#include "itkObject.h"

#include <zlib.h>

#ifndef MEDSEG_FUZZ_EXTENSION
#  error "define MEDSEG_FUZZ_EXTENSION, e.g. \".nii\""
#endif

namespace
{

std::string
WriteInput(const medseg::fuzz::ScratchFolder & folder, const uint8_t * data, size_t size)
{
  const std::string extension = MEDSEG_FUZZ_EXTENSION;
  const std::string name = "input" + extension;
  if (extension != ".nii.gz" || size == 0)
  {
    return folder.Write(name, data, size);
  }
  if (data[0] & 1u)
  {
    return folder.Write(name, data + 1, size - 1);
  }
  const std::string path = folder.Path() + "/" + name;
  gzFile            out = gzopen(path.c_str(), "wb1");
  if (out == nullptr)
  {
    throw std::runtime_error("medseg fuzz: cannot write " + path);
  }
  if (size > 1)
  {
    gzwrite(out, data + 1, static_cast<unsigned int>(size - 1));
  }
  gzclose(out);
  return path;
}

} // namespace

extern "C" int
LLVMFuzzerInitialize(int *, char ***)
{
  medseg::RegisterImageIOFactories();
  itk::Object::GlobalWarningDisplayOff();
  medseg::fuzz::DefaultSignalsInForkedChildren();
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const medseg::fuzz::ScratchFolder folder;
  const std::string                 path = WriteInput(folder, data, size);
  try
  {
    const medseg::FloatImage3::Pointer image = medseg::ReadScalarImage(path);
  }
  catch (const medseg::InputError & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  catch (const itk::ExceptionObject & e)
  {
    medseg::fuzz::Refused(e.what());
  }
  return 0;
}
