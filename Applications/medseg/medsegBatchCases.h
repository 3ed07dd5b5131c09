#ifndef medsegBatchCases_h
#define medsegBatchCases_h

#include <filesystem>
#include <string>
#include <vector>

namespace medseg::cli::batch
{

/** One case of a batch: its id (the name of its output folder) and its input channels. */
struct BatchCase
{
  std::string              id;
  std::vector<std::string> inputs;
  std::string              key; //!< SHA-256 of inputs + model + options + version (filled by rank 0)
  std::vector<std::string> inputHashes;
};

/** A name usable as a folder: letters, digits, '.', '_' and '-'; anything else becomes '_'. */
std::string
SafeCaseId(std::string id);

/** All cases the --input values name (folders, globs, image files, CSV/JSON manifests), sorted by
 * id; `outputDir` is never a case. Two cases with one id are a UsageError. */
std::vector<BatchCase>
CollectCases(const std::vector<std::string> & specs, const std::filesystem::path & outputDir);

/** SHA-256 of a file, or for a folder (DICOM series) of its sorted file names and contents. */
std::string
HashInput(const std::string & path);

} // namespace medseg::cli::batch

#endif
