// Faults in `medseg batch`, each run on the real executable: a full disk (RLIMIT_FSIZE, so writes
// fail with EFBIG) for the cases and for the journal, SIGKILL and SIGTERM while cases run, a torn
// last journal line, and two batches on one output folder. After each fault every case folder
// holds all of its outputs or none, the journal parses line by line (a torn last line allowed),
// and a resume finishes the rest with outputs byte-identical to an uninterrupted run.
#include "medsegFixtureModels.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace medseg;

namespace
{

const std::vector<std::string> caseIds{ "c1", "c2", "c3", "c4" };

/** Counts the occurrences of `what` in `text`. */
size_t
Count(const std::string & text, const std::string & what)
{
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size())
    ++n;
  return n;
}

class BatchFaults : public ::testing::Test
{
protected:
  /** Inputs, the fixture model, and two uninterrupted reference runs, shared by every test. */
  static void
  SetUpTestSuite()
  {
    s_Dir = std::make_unique<test::TemporaryDirectory>();
    fs::create_directories(Inputs());
    auto model = test::MakeThresholdModule(50.0);
    test::SaveModule(model, Model());
    for (size_t i = 0; i < caseIds.size(); ++i)
    {
      // A noisy ball: its label map hardly compresses, so it is larger than the journal and the
      // report (the full-disk test puts a file size limit between them).
      test::Geometry g;
      g.size = { 48, 48, 48 };
      g.spacing = { 1.0, 1.0, 2.0 };
      const auto   image = test::MakeBallPhantom(g, { 24, 22, 24 }, 8.0 + i, 100.0f, 0.0f);
      std::mt19937 random(static_cast<unsigned int>(i));
      std::uniform_real_distribution<float> noise(-60.0f, 60.0f);
      for (size_t v = 0; v < image->GetBufferedRegion().GetNumberOfPixels(); ++v)
        image->GetBufferPointer()[v] += noise(random);
      WriteImageFile(image.GetPointer(), Inputs() + "/" + caseIds[i] + ".nii.gz");
    }
    const auto reference = Run(Reference(), {});
    ASSERT_EQ(reference.exitCode, 0) << reference.err;
  }
  static void
  TearDownTestSuite()
  {
    s_Dir.reset();
  }

  static std::string
  Inputs()
  {
    return *s_Dir / "in";
  }
  static std::string
  Model()
  {
    return *s_Dir / "threshold.pt";
  }
  static std::string
  Reference()
  {
    return *s_Dir / "reference";
  }
  static std::vector<std::string>
  Arguments(const std::string & output, const std::vector<std::string> & extra)
  {
    std::vector<std::string> args{ "batch",    "--model",  Model(),        "--input", Inputs(), "--output",
                                   output,     "--quiet",  "--patch-size", "16",      "--normalize", "none" };
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  static test::ProcessResult
  Run(const std::string & output, const std::vector<std::string> & extra, const test::ProcessOptions & options = {})
  {
    return test::RunProcess(MEDSEG_EXECUTABLE, Arguments(output, extra), options);
  }
  static std::string
  JournalOf(const std::string & output)
  {
    return output + "/.medseg-batch/journal.jsonl";
  }

  /** Every case folder in `output` holds exactly the reference's files, byte for byte, or does not
   * exist; hidden `.medseg-*` temporaries are allowed. Returns the ids of the complete cases. */
  static std::set<std::string>
  ExpectCompleteOrAbsent(const std::string & output)
  {
    std::set<std::string> complete;
    for (const auto & e : fs::directory_iterator(output))
    {
      const std::string name = e.path().filename().string();
      if (name[0] == '.' || !e.is_directory())
        continue;
      EXPECT_NE(std::find(caseIds.begin(), caseIds.end(), name), caseIds.end()) << "unexpected folder " << name;
      std::set<std::string> files;
      for (const auto & f : fs::directory_iterator(e.path()))
      {
        const std::string file = f.path().filename().string();
        if (file.rfind(".medseg-", 0) == 0)
          continue; // a writer's hidden temporary: never under a final name
        files.insert(file);
        const std::string reference = Reference() + "/" + name + "/" + file;
        EXPECT_TRUE(fs::exists(reference)) << name << "/" << file << " is not an output";
        if (fs::exists(reference))
          EXPECT_EQ(test::ReadText(f.path()), test::ReadText(reference)) << name << "/" << file << " differs";
      }
      EXPECT_EQ(files, std::set<std::string>{ "labels.nii.gz" }) << "case folder " << name << " is partial";
      complete.insert(name);
    }
    return complete;
  }

  /** Every journal line is one JSON object with case, event and time; a torn last line (no
   * final newline) is allowed when `tornTailAllowed`. Returns the entries. */
  static std::vector<json>
  ExpectJournalParses(const std::string & output, bool tornTailAllowed)
  {
    const std::string text = fs::exists(JournalOf(output)) ? test::ReadText(JournalOf(output)) : "";
    std::vector<json> entries;
    size_t            start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    {
      const json e = json::parse(text.substr(start, end - start), nullptr, false);
      EXPECT_TRUE(e.is_object() && e.contains("case") && e.contains("event") && e.contains("time"))
        << "journal line: " << text.substr(start, end - start);
      entries.push_back(e);
    }
    if (!tornTailAllowed)
      EXPECT_EQ(start, text.size()) << "torn last journal line: " << text.substr(start);
    return entries;
  }

  /** Runs the same batch again without a fault: every case done, byte-identical to the reference,
   * the journal whole, the staging area empty. Returns how many cases it had to redo. */
  static size_t
  ExpectResumeCompletes(const std::string & output)
  {
    const auto r = Run(output, {});
    EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
    EXPECT_EQ(ExpectCompleteOrAbsent(output), std::set<std::string>(caseIds.begin(), caseIds.end()));
    ExpectJournalParses(output, false);
    const std::string tmp = output + "/.medseg-batch/tmp";
    EXPECT_TRUE(!fs::exists(tmp) || fs::is_empty(tmp)) << "staging area left behind";
    const json report = json::parse(test::ReadText(output + "/report.json"));
    EXPECT_EQ(report["summary"]["done"], caseIds.size()) << report.dump(1);
    size_t redone = 0;
    for (const auto & c : report["cases"])
      redone += !c.value("reused", true);
    return redone;
  }

  /** Waits (up to 2 minutes) until the journal in `output` holds `started` "started" events. */
  static bool
  WaitForStarted(const std::string & output, size_t started)
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (std::chrono::steady_clock::now() < deadline)
    {
      if (fs::exists(JournalOf(output)) && Count(test::ReadText(JournalOf(output)), "\"event\":\"started\"") >= started)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  /** Processes other than this one whose command line names `output` (a case still writing). */
  static size_t
  ProcessesWriting(const std::string & output)
  {
    size_t n = 0;
    for (const auto & e : fs::directory_iterator("/proc"))
    {
      const std::string pid = e.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(::getpid()))
        continue;
      std::ifstream in(e.path() / "cmdline", std::ios::binary);
      std::string   cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      n += cmdline.find(output + "/") != std::string::npos || cmdline.find(output + '\0') != std::string::npos;
    }
    return n;
  }
  static bool
  NoProcessWritesWithin(const std::string & output, std::chrono::seconds limit)
  {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (ProcessesWriting(output) > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return ProcessesWriting(output) == 0;
  }

  test::TemporaryDirectory m_Dir;

private:
  static std::unique_ptr<test::TemporaryDirectory> s_Dir;
};

std::unique_ptr<test::TemporaryDirectory> BatchFaults::s_Dir;

TEST_F(BatchFaults, AFullDiskFailsTheCasesItHitsAndResumeFinishesThem)
{
  // RLIMIT_FSIZE between the small files (logs, journal, report) and the label maps: every case's
  // segment fails to write its labels (EFBIG) and fails alone; the batch itself goes on.
  uintmax_t labels = UINTMAX_MAX;
  for (const auto & id : caseIds)
    labels = std::min(labels, fs::file_size(Reference() + "/" + id + "/labels.nii.gz"));
  const uintmax_t small = std::max(fs::file_size(JournalOf(Reference())), fs::file_size(Reference() + "/report.json"));
  ASSERT_LT(2 * small, labels) << "the fixture no longer separates small files from label maps";

  const std::string    out = m_Dir / "out";
  test::ProcessOptions full;
  full.fileSizeLimit = static_cast<long long>((small + labels) / 2);
  const auto r = Run(out, {}, full);
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("4 case(s): 0 done"), std::string::npos) << r.out;
  const json report = json::parse(test::ReadText(out + "/report.json"));
  for (const auto & c : report["cases"])
  {
    EXPECT_EQ(c["status"], "failed") << c.dump();
    EXPECT_NE(c["error"].get<std::string>().find("labels.nii.gz"), std::string::npos) << c.dump();
  }
  EXPECT_TRUE(ExpectCompleteOrAbsent(out).empty());
  EXPECT_EQ(ExpectJournalParses(out, true).size(), 2 * caseIds.size());
  EXPECT_EQ(ExpectResumeCompletes(out), caseIds.size());
}

TEST_F(BatchFaults, AFullDiskForTheJournalStopsTheBatchInOneLineAndResumeFinishes)
{
  // A limit the journal outgrows after a case or two: the batch stops with one error line.
  const auto        journalSize = fs::file_size(JournalOf(Reference()));
  const std::string out = m_Dir / "out";
  test::ProcessOptions full;
  full.fileSizeLimit = static_cast<long long>(journalSize / 2);
  const auto r = Run(out, {}, full);
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
  EXPECT_NE(r.err.find(": cannot be written: File too large"), std::string::npos) << r.err;
  ExpectCompleteOrAbsent(out);
  const auto entries = ExpectJournalParses(out, true);
  EXPECT_LT(Count(test::ReadText(JournalOf(out)), "\"event\":\"finished\""), caseIds.size());
  EXPECT_TRUE(NoProcessWritesWithin(out, std::chrono::seconds(10)));
  EXPECT_GE(ExpectResumeCompletes(out), 1u);
}

TEST_F(BatchFaults, SigkillWhileCasesRunLeavesThemAbsentAndTheLockDoesNotBlockResume)
{
  const std::string out = m_Dir / "out";
  {
    test::BackgroundProcess batch(MEDSEG_EXECUTABLE, Arguments(out, { "--jobs", "2" }));
    ASSERT_TRUE(WaitForStarted(out, 2));
    batch.Signal(SIGKILL);
    EXPECT_EQ(batch.Wait().exitCode, 128 + SIGKILL);
  }
  EXPECT_TRUE(NoProcessWritesWithin(out, std::chrono::seconds(10))) << "a case outlived the killed batch";
  const auto complete = ExpectCompleteOrAbsent(out);
  EXPECT_LT(complete.size(), caseIds.size());
  ExpectJournalParses(out, true);
  EXPECT_TRUE(fs::exists(out + "/.medseg-batch/lock")) << "the lock file stays; its flock went with the process";
  EXPECT_EQ(ExpectResumeCompletes(out), caseIds.size() - complete.size());
}

TEST_F(BatchFaults, SigtermStopsCleanlyJournalsTheRunningCaseAndResumeFinishes)
{
  const std::string   out = m_Dir / "out";
  test::ProcessResult stopped;
  {
    test::BackgroundProcess batch(MEDSEG_EXECUTABLE, Arguments(out, {}));
    ASSERT_TRUE(WaitForStarted(out, 1));
    batch.Signal(SIGTERM);
    stopped = batch.Wait();
  }
  EXPECT_EQ(stopped.exitCode, 128 + SIGTERM) << stopped.out << stopped.err;
  EXPECT_NE(stopped.err.find("medseg batch: stopped by SIGTERM"), std::string::npos) << stopped.err;
  EXPECT_TRUE(NoProcessWritesWithin(out, std::chrono::seconds(2))) << "the running case was not stopped";
  // Stopped, not torn: every started case has its finished entry, the interrupted one says so.
  const auto      entries = ExpectJournalParses(out, false);
  std::set<std::string> open;
  size_t                interrupted = 0;
  for (const auto & e : entries)
  {
    if (e["event"] == "started")
      open.insert(e["case"].get<std::string>());
    else
    {
      open.erase(e["case"].get<std::string>());
      interrupted += e.value("error", "").rfind("interrupted: medseg batch received SIGTERM", 0) == 0;
    }
  }
  EXPECT_TRUE(open.empty()) << "cases journaled as started and never finished";
  EXPECT_EQ(interrupted, 1u) << test::ReadText(JournalOf(out));
  const std::string tmp = out + "/.medseg-batch/tmp";
  EXPECT_TRUE(!fs::exists(tmp) || fs::is_empty(tmp)) << "staging area left behind";
  const json report = json::parse(test::ReadText(out + "/report.json"));
  EXPECT_EQ(report["summary"]["failed"], 1) << report.dump(1);
  EXPECT_GE(report["summary"]["pending"].get<int>(), 1) << report.dump(1);
  const auto complete = ExpectCompleteOrAbsent(out);
  EXPECT_EQ(ExpectResumeCompletes(out), caseIds.size() - complete.size());
}

TEST_F(BatchFaults, ATornLastJournalLineIsCutAndOnlyThatCaseIsRedone)
{
  const std::string out = m_Dir / "out";
  fs::copy(Reference(), out, fs::copy_options::recursive);
  // Tear the last line (the last case's "finished" entry) in half, as a kill mid-write would.
  std::string text = test::ReadText(JournalOf(out));
  ASSERT_EQ(text.back(), '\n');
  const size_t lastStart = text.rfind('\n', text.size() - 2) + 1;
  const std::string torn = text.substr(0, lastStart + (text.size() - lastStart) / 2);
  test::WriteText(JournalOf(out), torn);
  const size_t whole = ExpectJournalParses(out, true).size();
  EXPECT_EQ(ExpectResumeCompletes(out), 1u);
  // The whole lines are kept, the fragment is cut off, the redone case adds started + finished.
  const std::string repaired = test::ReadText(JournalOf(out));
  EXPECT_EQ(repaired.find(text.substr(0, lastStart)), 0u);
  EXPECT_EQ(ExpectJournalParses(out, false).size(), whole + 2) << repaired;
}

TEST_F(BatchFaults, ASecondBatchOnTheSameFolderIsRefusedInOneLine)
{
  const std::string out = m_Dir / "out";
  {
    test::BackgroundProcess first(MEDSEG_EXECUTABLE, Arguments(out, {}));
    ASSERT_TRUE(WaitForStarted(out, 1));
    for (const std::vector<std::string> & extra : { std::vector<std::string>{}, { "--shard", "0/2" } })
    {
      const auto second = Run(out, extra);
      EXPECT_EQ(second.exitCode, 1) << second.out << second.err;
      EXPECT_EQ(Count(second.err, "\n"), 1u) << second.err;
      EXPECT_NE(second.err.find(out + ": another medseg batch is writing into this folder"), std::string::npos)
        << second.err;
      EXPECT_TRUE(second.out.empty()) << second.out;
    }
    const auto done = first.Wait();
    EXPECT_EQ(done.exitCode, 0) << done.err;
  }
  EXPECT_FALSE(fs::exists(out + "/report.shard-0-of-2.json")) << "the refused shard wrote a report";
  // The first run's lock file stays behind, unlocked: the next run is not blocked.
  EXPECT_EQ(ExpectResumeCompletes(out), 0u);
}

} // namespace
