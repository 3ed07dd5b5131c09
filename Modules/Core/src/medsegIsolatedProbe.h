#ifndef medsegIsolatedProbe_h
#define medsegIsolatedProbe_h

// Private to MedSegCore: running a header parse where a library abort cannot take MedSeg down.

#include <cstdint>
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
 * "took longer than 30 s", or "needed more than 512 MiB of memory" (the child's address space is
 * capped: a few hundred bytes of DICOM can claim a 4 GiB element, which GDCM allocates). The
 * child's stderr goes to /dev/null. */
/** How an isolated probe ended: `crash` is "" when the child finished, and then `code` is what
 * `probe` returned. */
struct IsolatedResult
{
  std::string crash;
  int         code{ 0 };
};

/** Runs `probe` in a forked child with `allowance` bytes of new address space (at least 512 MiB)
 * and says how it ended. When no child can be had, `probe` is not run and the result is {"", 0}. */
IsolatedResult
RunIsolated(const std::function<int()> & probe, uint64_t allowance = 0);

} // namespace medseg::detail

#endif
