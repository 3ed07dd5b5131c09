#ifndef medsegVisualizationCommandOptions_h
#define medsegVisualizationCommandOptions_h

// Parameters shared by `medseg mesh`, `medseg render` and `medseg view` (and usable by `medseg segment`).
#include "medsegCommandLine.h"
#include "medsegLabelSurface.h"
#include "medsegLabelTable.h"
#include "medsegOverviewRenderer.h"

namespace medseg::cli
{

/** --label-table FILE */
void
AddLabelTableParameter(CommandLine & cl);
/** The table named by --label-table, or an empty table (default names and palette). */
LabelTable
ReadLabelTableOption(const ParsedArguments & args);

/** --smoothing, --pass-band, --decimate, --algorithm, --coordinates, --format */
void
AddMeshParameters(CommandLine & cl, const std::string & group);
MeshOptions
MeshOptionsFromArguments(const ParsedArguments & args);

/** --only, --overlay, --opacity, --window, --level, --focus, --size, --no-legend, --no-surfaces */
void
AddRenderParameters(CommandLine & cl, const std::string & group);
RenderOptions
RenderOptionsFromArguments(const ParsedArguments & args);

/** Non-negative label values from an integer vector option (UsageError otherwise). */
std::vector<unsigned int>
LabelValues(const ParsedArguments & args, const std::string & name);

} // namespace medseg::cli

#endif
