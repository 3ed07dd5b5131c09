#ifndef medsegBatchUtilities_h
#define medsegBatchUtilities_h

#include <chrono>
#include <string>

/** Small helpers shared by the files of `medseg batch` (namespace medseg::cli::batch). */
namespace medseg::cli::batch
{

bool
EndsWith(const std::string & s, const std::string & suffix);
/** ASCII lower case. */
std::string
Lower(std::string s);
/** Seconds since `since`. */
double
Seconds(std::chrono::steady_clock::time_point since);
/** "YYYY-MM-DDTHH:MM:SSZ" */
std::string
UtcNow();
/** Nanoseconds since the epoch: orders journal entries across files and restarts. */
long long
NowNs();
/** The whole file, or "" when it cannot be read. */
std::string
ReadWholeFile(const std::string & path);
/** Writes `text` to `path` atomically (temporary file + rename); throws InputError on failure. */
void
WriteTextAtomically(const std::string & path, const std::string & text);

} // namespace medseg::cli::batch

#endif
