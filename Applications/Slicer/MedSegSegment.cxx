// MedSegSegment: the 3D Slicer CLI module of `medseg segment`, from the same parameter table.
#include "medsegCommands.h"
#include "medsegSlicerModule.h"
#include "medsegTorchRuntime.h"

int
main(int argc, char * argv[])
{
  medseg::KeepFreedMemoryForReuse();
  return medseg::cli::RunSlicerModule("MedSegSegment", medseg::cli::SegmentCommandLine(), &medseg::cli::RunSegment, argc, argv);
}
