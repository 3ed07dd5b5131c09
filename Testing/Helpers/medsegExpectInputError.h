#ifndef medsegExpectInputError_h
#define medsegExpectInputError_h

#include "medsegError.h"

#include <gtest/gtest.h>

#include <string>

namespace medseg::test
{

/** Expects `fn` to throw a one-line InputError naming `path` whose message contains `problem`. */
template <typename F>
void
ExpectInputError(F && fn, const std::string & path, const std::string & problem)
{
  try
  {
    fn();
    ADD_FAILURE() << "no error for " << path << " (expected '" << problem << "')";
  }
  catch (const InputError & e)
  {
    const std::string what = e.what();
    EXPECT_EQ(e.GetSubject(), path);
    EXPECT_NE(what.find(problem), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
  }
}

/** The message of the InputError `body` throws, or "" if it throws none (other exceptions pass). */
template <typename Body>
std::string
InputErrorOf(Body && body)
{
  try
  {
    body();
  }
  catch (const InputError & e)
  {
    return e.what();
  }
  return {};
}

} // namespace medseg::test

#endif
