#ifndef medsegIsolatedProbe_h
#define medsegIsolatedProbe_h

// Private to MedSegCore: running a header parse where a library abort cannot take MedSeg down.

#include <functional>
#include <string>

namespace medseg::detail
{

/** \brief Runs `probe` in a forked child process and says how it ended.
 *
 * Debian's GDCM is built with assertions on: a malformed DICOM header (pydicom's own test files
 * have some) makes it call abort() inside ITK's CanReadFile, which no exception handler can catch.
 * The readers therefore parse headers once in a child first. Returns "" when the child finished
 * (whatever `probe` did, exceptions included), else what ended it, e.g. "aborted (SIGABRT)" or
 * "took longer than 30 s". The child's stderr goes to /dev/null. */
std::string
RunIsolated(const std::function<void()> & probe);

} // namespace medseg::detail

#endif
