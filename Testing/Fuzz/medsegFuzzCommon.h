#ifndef medsegFuzzCommon_h
#define medsegFuzzCommon_h

// Shared by the libFuzzer targets in this folder (never installed, never part of a release build).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <csignal>
#include <pthread.h>
#include <unistd.h>

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    include <sanitizer/common_interface_defs.h>
#    define MEDSEG_FUZZ_WITH_SANITIZER_RUNTIME 1
#  endif
#endif

namespace medseg::fuzz
{

/** A fresh folder under $TMPDIR (or /tmp), removed with everything in it when the object dies. */
class ScratchFolder
{
public:
  ScratchFolder()
  {
    const char * base = std::getenv("TMPDIR");
    std::string  pattern = std::string(base && *base ? base : "/tmp") + "/medseg-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
    {
      throw std::runtime_error("medseg fuzz: cannot create a scratch folder");
    }
    m_Path = pattern;
  }
  ~ScratchFolder()
  {
    std::error_code ec;
    std::filesystem::remove_all(m_Path, ec);
  }
  ScratchFolder(const ScratchFolder &) = delete;
  ScratchFolder &
  operator=(const ScratchFolder &) = delete;

  const std::string &
  Path() const
  {
    return m_Path;
  }

  /** Writes `size` bytes into `name` inside the folder and returns its path. */
  std::string
  Write(const std::string & name, const uint8_t * data, size_t size) const
  {
    const std::string path = m_Path + "/" + name;
    std::ofstream     out(path, std::ios::binary);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out)
    {
      throw std::runtime_error("medseg fuzz: cannot write " + path);
    }
    return path;
  }

private:
  std::string m_Path;
};

/** \brief Gives the child processes that MedSeg's isolated header probe forks the default
 * signal actions, as in a MedSeg tool.
 *
 * A child inherits libFuzzer's crash handlers: without this, a library that aborts in the child
 * (GDCM's assertions, ITK's vnl on a non-finite NIfTI orientation) would be reported by libFuzzer
 * from inside the child, which then exits normally, and MedSeg would go on to read the file in the
 * fuzzing process. With the defaults, the child dies of the signal and MedSeg refuses the file,
 * which is what it does outside the fuzzer.
 *
 * The child also drops libFuzzer's sanitizer death callback. ASan makes a failed `operator new`
 * fatal instead of throwing std::bad_alloc, so a child that reaches the probe's memory cap (the
 * DICOM `regress-oom-4GiB-element-length` input) dies in ASan's report; with the callback it would
 * first write a crash-* file into the parent's artifact folder, a finding the parent never had (it
 * refuses the file). Call once, from LLVMFuzzerInitialize. */
inline void
DefaultSignalsInForkedChildren()
{
  pthread_atfork(nullptr, nullptr, [] {
    for (const int s : { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGALRM })
    {
      std::signal(s, SIG_DFL);
    }
#ifdef MEDSEG_FUZZ_WITH_SANITIZER_RUNTIME
    __sanitizer_set_death_callback(nullptr);
#endif
  });
}

/** With MEDSEG_FUZZ_VERBOSE=1, says on stderr why an input was refused (for checking seeds:
 * `MEDSEG_FUZZ_VERBOSE=1 build-fuzz/bin/fuzz/medsegFuzzImageNifti FILE`). */
inline void
Refused(const char * what)
{
  static const bool verbose = [] {
    const char * v = std::getenv("MEDSEG_FUZZ_VERBOSE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  if (verbose)
  {
    std::fprintf(stderr, "refused: %s\n", what);
  }
}

inline std::string
AsString(const uint8_t * data, size_t size)
{
  return std::string(reinterpret_cast<const char *>(data), size);
}

} // namespace medseg::fuzz

#endif
