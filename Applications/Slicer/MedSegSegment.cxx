// MedSegSegment: the 3D Slicer CLI module of `medseg segment`, from the same parameter table.
#include "medsegCommands.h"
#include "medsegSlicerModule.h"

int
main(int argc, char * argv[])
{
  return medseg::cli::RunSlicerModule("MedSegSegment", medseg::cli::SegmentCommandLine(), &medseg::cli::RunSegment, argc, argv);
}
