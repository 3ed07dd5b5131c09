// medseg batch under MPI (Boost.MPI): rank 0 hands case indices to the ranks that ask for work,
// runs cases itself too, and writes the one report; a slow case holds up only its own rank.
#include "medsegBatchCommand.h"
#include "medsegBatchScheduler.h"
#include "medsegError.h"

#include <boost/mpi/communicator.hpp>
#include <nlohmann/json.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace medseg::cli
{

namespace
{

enum Tag : int
{
  TagAsk = 1,   //!< worker -> 0: the index of the case just finished (-1: none) and its result
  TagAssign = 2 //!< 0 -> worker: the next case index, or -1 for "stop"
};
} // namespace

bool
IsMpiLaunch()
{
  for (const char * name : { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE" })
  {
    if (const char * v = std::getenv(name))
      return std::atoi(v) > 1;
  }
  return false;
}

int
RunBatchMpi(const std::vector<std::string> & arguments)
{
  boost::mpi::environment  environment(boost::mpi::threading::single, false);
  boost::mpi::communicator world;
  const bool               coordinator = world.rank() == 0;
  BatchScheduler           scheduler;
  int                      early = -1;
  std::string              prepareError;
  try
  {
    early = scheduler.Prepare(arguments, coordinator);
  }
  catch (const std::exception & e)
  {
    if (coordinator)
    {
      // Release every worker (each asks once), then report the error as usual (exit 1 or 2).
      for (int r = 1; r < world.size(); ++r)
      {
        long        index = -1;
        std::string result;
        const auto  status = world.probe(boost::mpi::any_source, TagAsk);
        world.recv(status.source(), TagAsk, index);
        world.recv(status.source(), TagAsk, result);
        world.send(status.source(), TagAssign, -1L);
      }
      throw;
    }
    prepareError = e.what(); // reported to rank 0 with each case it hands this rank
  }
  if (early >= 0)
    return early;

  if (!coordinator)
  {
    // Worker: ask, run, answer with the result, until told to stop.
    std::string result;
    long        index = -1;
    for (;;)
    {
      world.send(0, TagAsk, index);
      world.send(0, TagAsk, result);
      long next = -1;
      world.recv(0, TagAssign, next);
      if (next < 0)
        return ExitSuccess;
      index = next;
      result = prepareError.empty()
                 ? scheduler.RunCase(static_cast<size_t>(index))
                 : "{\"status\":\"failed\",\"error\":" + nlohmann::json(OneLine(prepareError)).dump() + "}";
    }
  }

  int  stopped = 0;
  auto poll = [&]() {
    const auto status = world.iprobe(boost::mpi::any_source, TagAsk);
    if (!status)
      return false;
    const int   source = status->source();
    long        index = -1;
    std::string result;
    world.recv(source, TagAsk, index);
    world.recv(source, TagAsk, result);
    if (index >= 0)
      scheduler.Record(static_cast<size_t>(index), result);
    const long next = scheduler.TakePending();
    world.send(source, TagAssign, next);
    if (next < 0)
      ++stopped;
    return true;
  };
  scheduler.RunLocal(poll, [&]() { return stopped < world.size() - 1; });
  return scheduler.Finish();
}

} // namespace medseg::cli
