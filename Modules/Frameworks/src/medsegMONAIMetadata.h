#ifndef medsegMONAIMetadata_h
#define medsegMONAIMetadata_h

#include "medsegMONAIBundle.h"

namespace medseg::detail
{

/** Fills the bundle's name, version, description, keys, channels and channel_def from
 * bundle.metadataFile (InputError naming it for a missing or malformed field). */
void
ReadMONAIMetadata(MONAIBundle & bundle);

} // namespace medseg::detail

#endif
