#ifndef medsegSegmentFrameworks_h
#define medsegSegmentFrameworks_h

#include "medsegCommandLine.h"
#include "medsegNNUNetFolder.h"
#include "medsegSegmenter.h"

#include <memory>
#include <string>

namespace medseg::cli
{

/** The folder options `--folds` and `--checkpoint` say; refuses options the plans fix. */
NNUNetFolderOptions
NNUNetOptionsFrom(const ParsedArguments & args);

/** The bundle options the command line may change; refuses what the bundle's config fixes. */
void
CheckMONAIOptions(const ParsedArguments & args);

/** A MONAI bundle folder (`--model DIR` holding configs/metadata.json) made runnable on `channels`
 * channels read from --input (a 4D file gives one channel per volume), with the options the command
 * line may change (--overlap, --batch-size, --device, --no-optimize). */
std::unique_ptr<Segmenter>
OpenMONAISegmenter(const ParsedArguments & args, const std::string & folder, size_t channels);

/** An nnU-Net v2 trained-model folder (`--model DIR`, or a packed one unpacked to `folder`) made
 * runnable on `channels` channels, with the folder options NNUNetOptionsFrom(args) gave and the tile
 * step, mirroring and batch options of the command line. */
std::unique_ptr<Segmenter>
OpenNNUNetSegmenter(const ParsedArguments & args, const std::string & folder, const NNUNetFolderOptions & options,
                    size_t channels);

} // namespace medseg::cli

#endif
