// libFuzzer target: the DICOM folder checks. The input is written as the one file of a fresh
// folder, and medseg::ReadScalarImage reads the folder: GDCM's series scan in a child process
// (GDCM aborts on some malformed files), the series checks, the first slice's header checks,
// the slice-spacing check and the voxel read.

#include "medsegFuzzCommon.h"

#include "medsegError.h"
#include "medsegImageFileIO.h"

#include "itkMacro.h"
#include "itkObject.h"

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
  folder.Write("slice0001.dcm", data, size);
  try
  {
    const medseg::FloatImage3::Pointer image = medseg::ReadScalarImage(folder.Path());
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
