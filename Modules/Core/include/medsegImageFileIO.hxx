#ifndef medsegImageFileIO_hxx
#define medsegImageFileIO_hxx

#include "medsegAtomicFile.h"
#include "medsegError.h"

#include "itkImageFileWriter.h"

namespace medseg
{

namespace detail
{
/** Reads back the header of the file ITK just wrote at `temporary` and checks that it holds every
 * voxel byte it promises: ITK's NIfTI writer reports no error when a write fails (a full disk, a
 * file size limit), and would leave a truncated file. Throws InputError(path, ...). */
void
VerifyWrittenImage(const std::string & temporary, const std::string & path);

/** Writes `image` with ITK into a hidden temporary file beside `path`, checks that it reads back
 * complete, then renames it into place. */
template <typename TImage>
void
WriteThroughTemporaryFile(const TImage * image, const std::string & path, bool useCompression)
{
  AtomicFile file(path);
  auto       writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(file.GetTemporaryPath());
  writer->SetUseCompression(useCompression);
  try
  {
    writer->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError(path, std::string("cannot write: ") + e.GetDescription());
  }
  VerifyWrittenImage(file.GetTemporaryPath(), path);
  file.Commit();
}
} // namespace detail

template <typename TImage>
void
WriteImageFile(const TImage * image, const std::string & path, bool useCompression)
{
  if (!IsAtomicallyWritable(path))
  {
    throw InputError(path, "unsupported output format; use .nii.gz, .nii, .nrrd or .mha");
  }
  RegisterImageIOFactories();
  detail::WriteThroughTemporaryFile(image, path, useCompression);
}

} // namespace medseg

#endif
