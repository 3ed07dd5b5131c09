// End-to-end tests of `medseg batch`: per-case isolation, exit codes, report, resume after
// SIGKILL, shards and Slurm variables, manifests, and (when built with MPI) two MPI ranks.
#include "medsegFixtureModels.h"
#include "medsegImageFileIO.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace medseg;
using test::RunProcess;

namespace
{

class BatchCommand : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    fs::create_directories(Inputs());
    auto model = test::MakeThresholdModule(50.0);
    test::SaveModule(model, Model());
  }

  std::string
  Inputs() const
  {
    return m_Dir / "in";
  }
  std::string
  Model() const
  {
    return m_Dir / "threshold.pt";
  }

  /** A 24^3 ball phantom whose radius depends on `radius`; returns its foreground voxel count. */
  size_t
  AddCase(const std::string & name, double radius, const std::string & folder = "")
  {
    test::Geometry g;
    g.size = { 24, 24, 24 };
    g.spacing = { 1.0, 1.0, 2.0 };
    const auto image = test::MakeBallPhantom(g, { 12, 11, 12 }, radius, 100.0f, 0.0f);
    WriteImageFile(image.GetPointer(), (folder.empty() ? Inputs() : folder) + "/" + name);
    size_t n = 0;
    for (size_t i = 0; i < image->GetBufferedRegion().GetNumberOfPixels(); ++i)
      n += image->GetBufferPointer()[i] > 50.0f;
    return n;
  }

  std::vector<std::string>
  BatchArguments(const std::string & output, std::vector<std::string> extra = {}) const
  {
    std::vector<std::string> args{ "batch",       "--model",     Model(), "--input",   Inputs(), "--output",
                                   output,        "--patch-size", "16",   "--normalize", "none" };
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  test::ProcessResult
  Batch(const std::string & output, std::vector<std::string> extra = {})
  {
    return RunProcess(MEDSEG_EXECUTABLE, BatchArguments(output, std::move(extra)));
  }

  static json
  Report(const std::string & path)
  {
    return json::parse(test::ReadText(path));
  }

  static const json &
  CaseOf(const json & report, const std::string & id)
  {
    for (const auto & c : report["cases"])
    {
      if (c["case"] == id)
        return c;
    }
    throw std::runtime_error("no case " + id + " in the report");
  }

  static std::set<std::string>
  CaseFolders(const std::string & output)
  {
    std::set<std::string> names;
    for (const auto & e : fs::directory_iterator(output))
    {
      if (e.is_directory() && e.path().filename().string()[0] != '.')
        names.insert(e.path().filename().string());
    }
    return names;
  }

  test::TemporaryDirectory m_Dir;
};

TEST_F(BatchCommand, CorruptAnd4DFilesFailAloneAndGoodCasesAreCorrect)
{
  const size_t ballA = AddCase("a.nii.gz", 5.0);
  const size_t ballB = AddCase("b.nrrd", 7.0);
  test::WriteText(Inputs() + "/corrupt.nii.gz", "this is not a NIfTI file");
  {
    using Image4 = itk::Image<float, 4>;
    auto                image = Image4::New();
    Image4::RegionType  region;
    Image4::SizeType    size{ { 8, 8, 8, 2 } };
    region.SetSize(size);
    image->SetRegions(region);
    image->Allocate();
    image->FillBuffer(1.0f);
    WriteImageFile(image.GetPointer(), Inputs() + "/fourd.nii.gz");
  }
  test::WriteText(Inputs() + "/notes.txt", "not an image: ignored");

  const std::string out = m_Dir / "out";
  const auto        r = Batch(out);
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_NE(r.out.find("4 case(s): 2 done"), std::string::npos) << r.out;
  EXPECT_EQ(CaseFolders(out), (std::set<std::string>{ "a", "b" }));

  for (const auto & [id, expected] : { std::pair<std::string, size_t>{ "a", ballA }, { "b", ballB } })
  {
    const auto labels = ReadLabelImage(out + "/" + id + "/labels.nii.gz");
    size_t     n = 0;
    for (size_t i = 0; i < labels->GetBufferedRegion().GetNumberOfPixels(); ++i)
      n += labels->GetBufferPointer()[i] == 1;
    EXPECT_EQ(n, expected) << id;
  }

  const json report = Report(out + "/report.json");
  EXPECT_EQ(report["summary"]["done"], 2);
  EXPECT_EQ(report["summary"]["failed"], 2);
  EXPECT_EQ(report["medseg_version"].get<std::string>().empty(), false);
  const json & a = CaseOf(report, "a");
  EXPECT_EQ(a["status"], "done");
  EXPECT_EQ(a["device"], "cpu");
  ASSERT_EQ(a["labels"].size(), 1u);
  EXPECT_EQ(a["labels"][0]["voxels"], ballA);
  EXPECT_NEAR(a["labels"][0]["volume_ml"].get<double>(), ballA * 2.0 / 1000.0, 1e-6);
  EXPECT_GT(a["seconds"].get<double>(), 0.0);
  for (const std::string id : { "corrupt", "fourd" })
  {
    const json &      c = CaseOf(report, id);
    const std::string error = c["error"];
    EXPECT_EQ(c["status"], "failed");
    EXPECT_NE(error.find(id + ".nii.gz"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  EXPECT_NE(CaseOf(report, "fourd")["error"].get<std::string>().find("4D"), std::string::npos)
    << CaseOf(report, "fourd")["error"];

  const std::string csv = test::ReadText(out + "/report.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5) << csv;
  EXPECT_EQ(csv.rfind("case,status,reused,seconds,device,host,inputs,error,warnings,volume_ml_1\n", 0), 0u) << csv;
  EXPECT_NE(csv.find("\na,done,no,"), std::string::npos) << csv;

  // Nothing is left in the staging area.
  EXPECT_TRUE(!fs::exists(out + "/.medseg-batch/tmp") || fs::is_empty(out + "/.medseg-batch/tmp"));
}

TEST_F(BatchCommand, ACrashingCaseFailsAloneWithItsSignal)
{
  AddCase("good.nii.gz", 5.0);
  AddCase("crash.nii.gz", 6.0);
  // A worker that crashes (SIGSEGV) on one case and runs medseg on the others.
  const std::string worker = m_Dir / "worker.sh";
  test::WriteText(worker, "#!/bin/sh\ncase \"$*\" in *crash.nii.gz*) echo 'about to crash' >&2; kill -SEGV $$;; esac\n"
                          "exec '" MEDSEG_EXECUTABLE "' \"$@\"\n");
  fs::permissions(worker, fs::perms::owner_all);
  ::setenv("MEDSEG_BATCH_WORKER", worker.c_str(), 1);
  const auto r = Batch(m_Dir / "out");
  ::unsetenv("MEDSEG_BATCH_WORKER");
  EXPECT_EQ(r.exitCode, 1) << r.err;
  const json report = Report(m_Dir / "out/report.json");
  EXPECT_EQ(CaseOf(report, "good")["status"], "done");
  const std::string error = CaseOf(report, "crash")["error"];
  EXPECT_NE(error.find("crashed with signal 11"), std::string::npos) << error;
  EXPECT_TRUE(fs::exists(m_Dir / "out/good/labels.nii.gz"));
  EXPECT_FALSE(fs::exists(m_Dir / "out/crash"));
  EXPECT_EQ(CaseOf(report, "crash")["warnings"], json::array({ "about to crash" }));
}

TEST_F(BatchCommand, KilledWithSigkillAndResumedGivesTheSameOutputs)
{
  const std::vector<std::string> ids{ "c1", "c2", "c3", "c4", "c5" };
  for (size_t i = 0; i < ids.size(); ++i)
    AddCase(ids[i] + ".nii.gz", 4.0 + i);

  // The reference: one uninterrupted run.
  const std::string reference = m_Dir / "reference";
  ASSERT_EQ(Batch(reference, { "--probabilities" }).exitCode, 0);

  // The same run, killed with SIGKILL as soon as the first case is journaled as finished.
  const std::string out = m_Dir / "out";
  test::BackgroundProcess batch(MEDSEG_EXECUTABLE, BatchArguments(out, { "--probabilities", "--quiet" }));
  const std::string journal = out + "/.medseg-batch/journal.jsonl";
  size_t            finishedBeforeKill = 0;
  const auto        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline)
  {
    if (fs::exists(journal))
    {
      const std::string text = test::ReadText(journal);
      size_t            at = 0;
      finishedBeforeKill = 0;
      while ((at = text.find("\"event\":\"finished\"", at)) != std::string::npos)
      {
        ++finishedBeforeKill;
        ++at;
      }
      if (finishedBeforeKill > 0)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  batch.Signal(SIGKILL);
  ASSERT_EQ(batch.Wait().exitCode, 128 + SIGKILL);
  ASSERT_GE(finishedBeforeKill, 1u);
  // Journal lines written before the kill, to tell what the resumed run redid.
  const std::string before = test::ReadText(journal);
  size_t            finishedAtKill = 0;
  for (size_t at = 0; (at = before.find("\"event\":\"finished\"", at)) != std::string::npos; ++at)
    ++finishedAtKill;
  ASSERT_LT(finishedAtKill, ids.size()) << "the batch finished before it could be killed";

  const auto resumed = Batch(out, { "--probabilities" });
  ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
  const json report = Report(out + "/report.json");
  size_t     reused = 0;
  for (const auto & c : report["cases"])
  {
    EXPECT_EQ(c["status"], "done") << c.dump();
    reused += c["reused"].get<bool>();
  }
  EXPECT_EQ(reused, finishedAtKill) << "only the unfinished cases are redone";
  EXPECT_EQ(test::ReadText(journal).find(before), 0u) << "the journal is only appended to";

  for (const auto & id : ids)
  {
    for (const std::string file : { "labels.nii.gz", "probabilities.nii.gz" })
    {
      ASSERT_TRUE(fs::exists(out + "/" + id + "/" + file)) << id << "/" << file;
      EXPECT_EQ(test::ReadText(out + "/" + id + "/" + file), test::ReadText(reference + "/" + id + "/" + file))
        << id << "/" << file << " differs from the uninterrupted run";
    }
    // No temporary or partial file anywhere in the case folder.
    for (const auto & e : fs::directory_iterator(out + "/" + id))
      EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  }
  EXPECT_EQ(CaseFolders(out), CaseFolders(reference));

  // A third run has nothing left to do.
  const auto again = Batch(out, { "--probabilities" });
  EXPECT_EQ(again.exitCode, 0);
  EXPECT_NE(again.out.find("5 done (5 from an earlier run)"), std::string::npos) << again.out;
  // Other options are another result: everything is redone.
  const auto changed = Batch(out);
  EXPECT_NE(changed.out.find("5 done (0 from an earlier run)"), std::string::npos) << changed.out;
}

TEST_F(BatchCommand, ShardsSplitTheCasesDeterministicallyAndTheSlurmVariablesChooseOne)
{
  for (const std::string id : { "e", "a", "d", "b", "c" })
    AddCase(id + ".nii.gz", 5.0);
  const std::string out = m_Dir / "out";
  const auto        r0 = Batch(out, { "--shard", "0/2" });
  ASSERT_EQ(r0.exitCode, 0) << r0.err;
  EXPECT_EQ(CaseFolders(out), (std::set<std::string>{ "a", "c", "e" }));
  const auto r1 = Batch(out, { "--shard", "1/2" });
  ASSERT_EQ(r1.exitCode, 0) << r1.err;
  EXPECT_EQ(CaseFolders(out), (std::set<std::string>{ "a", "b", "c", "d", "e" }));
  EXPECT_EQ(Report(out + "/report.shard-0-of-2.json")["cases"].size(), 3u);
  EXPECT_EQ(Report(out + "/report.shard-1-of-2.json")["cases"].size(), 2u);
  EXPECT_EQ(CaseOf(Report(out + "/report.shard-1-of-2.json"), "d")["status"], "done");

  // Slurm: task 2 of 3 in an array numbered from 1 (so shard 1/3) -> positions 1, 4: b and e.
  const std::string slurmOut = m_Dir / "slurm";
  ::setenv("SLURM_ARRAY_TASK_ID", "2", 1);
  ::setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
  ::setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
  const auto rs = Batch(slurmOut);
  ::setenv("SLURM_ARRAY_TASK_ID", "9", 1);
  const auto bad = Batch(m_Dir / "slurm-bad");
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  ::unsetenv("SLURM_ARRAY_TASK_MIN");
  ::unsetenv("SLURM_ARRAY_TASK_COUNT");
  ASSERT_EQ(rs.exitCode, 0) << rs.err;
  EXPECT_EQ(CaseFolders(slurmOut), (std::set<std::string>{ "b", "e" }));
  EXPECT_TRUE(fs::exists(slurmOut + "/report.shard-1-of-3.json"));
  EXPECT_EQ(bad.exitCode, 2) << bad.err;
  EXPECT_NE(bad.err.find("SLURM_ARRAY_TASK"), std::string::npos) << bad.err;
}

TEST_F(BatchCommand, ReadsCsvAndJsonManifestsAndGlobs)
{
  const std::string other = m_Dir / "elsewhere";
  fs::create_directories(other);
  AddCase("scan1.nii.gz", 5.0, other);
  AddCase("scan2.mha", 6.0, other);
  test::WriteText(m_Dir / "cases.csv", "id,input\npatient-1,elsewhere/scan1.nii.gz\n\"patient 2\",elsewhere/scan2.mha\n");
  test::WriteText(m_Dir / "cases.json", R"({"cases": [{"id": "j1", "input": "elsewhere/scan1.nii.gz"},
                                                       {"inputs": ["elsewhere/scan2.mha"]}]})");
  const std::string outCsv = m_Dir / "out-csv";
  auto              r = RunProcess(MEDSEG_EXECUTABLE, { "batch", "--model", Model(), "--input", m_Dir / "cases.csv",
                                           "--output", outCsv, "--normalize", "none", "--extension", ".nrrd" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(CaseFolders(outCsv), (std::set<std::string>{ "patient-1", "patient_2" }));
  EXPECT_TRUE(fs::exists(outCsv + "/patient_2/labels.nrrd"));

  const std::string outJson = m_Dir / "out-json";
  r = RunProcess(MEDSEG_EXECUTABLE,
                 { "batch", "--model", Model(), "--input", m_Dir / "cases.json", "--output", outJson, "--quiet" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(CaseFolders(outJson), (std::set<std::string>{ "j1", "scan2" }));

  const std::string outGlob = m_Dir / "out-glob";
  r = RunProcess(MEDSEG_EXECUTABLE,
                 { "batch", "--model", Model(), "--input", other + "/*.nii.gz", "--output", outGlob, "--quiet" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(CaseFolders(outGlob), (std::set<std::string>{ "scan1" }));

  test::WriteText(m_Dir / "broken.json", "{ not json");
  r = RunProcess(MEDSEG_EXECUTABLE,
                 { "batch", "--model", Model(), "--input", m_Dir / "broken.json", "--output", m_Dir / "o" });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("broken.json: manifest is not valid JSON"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(BatchCommand, UsageErrorsExitWith2AndOneLine)
{
  AddCase("a.nii.gz", 5.0);
  AddCase("a.nrrd", 5.0); // the same case id twice
  const std::string out = m_Dir / "out";
  const std::vector<std::vector<std::string>> bad{
    { "batch", "--model", Model(), "--input", Inputs() },                                  // no --output
    { "batch", "--model", Model(), "--input", Inputs(), "--output", out, "--shard", "2/2" }, // bad shard
    { "batch", "--model", Model(), "--input", Inputs(), "--output", out, "--jobs", "0" },
    { "batch", "--model", Model(), "--input", Inputs(), "--output", out, "--frobnicate" },
    { "batch", "--model", Model(), "--input", Inputs(), "--output", out },                  // duplicate ids
  };
  for (const auto & args : bad)
  {
    const auto r = RunProcess(MEDSEG_EXECUTABLE, args);
    EXPECT_EQ(r.exitCode, 2) << args.back() << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(out + "/a"));
}

TEST_F(BatchCommand, AFolderItDidNotWriteIsKeptUnlessOverwrite)
{
  AddCase("a.nii.gz", 5.0);
  const std::string out = m_Dir / "out";
  fs::create_directories(out + "/a");
  test::WriteText(out + "/a/mine.txt", "user data");
  auto r = Batch(out);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(CaseOf(Report(out + "/report.json"), "a")["error"].get<std::string>().find("--overwrite"), std::string::npos);
  EXPECT_EQ(test::ReadText(out + "/a/mine.txt"), "user data");
  r = Batch(out, { "--overwrite", "--jobs", "2" });
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/a/labels.nii.gz"));
}

#ifdef MEDSEG_MPIEXEC
TEST_F(BatchCommand, TwoMpiRanksShareTheCasesAndRankZeroWritesOneReport)
{
  for (const std::string id : { "m1", "m2", "m3", "m4" })
    AddCase(id + ".nii.gz", 5.0);
  // CI runs as root; OpenMPI refuses that unless told. Shared-memory copies need ptrace rights
  // that containers often lack, so they are turned off.
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  ::setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
  const std::string out = m_Dir / "out";
  auto              args = BatchArguments(out);
  args.insert(args.begin(), { "-np", "2", "--oversubscribe", MEDSEG_EXECUTABLE });
  const auto r = RunProcess(MEDSEG_MPIEXEC, args);
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  const json report = Report(out + "/report.json");
  EXPECT_EQ(report["summary"]["done"], 4);
  std::set<int> ranks;
  for (const auto & c : report["cases"])
    ranks.insert(c.value("rank", -1));
  EXPECT_EQ(ranks, (std::set<int>{ 0, 1 })) << report.dump(1);
  EXPECT_EQ(CaseFolders(out), (std::set<std::string>{ "m1", "m2", "m3", "m4" }));
  EXPECT_FALSE(fs::exists(out + "/report.shard-0-of-2.json"));
}
#endif

} // namespace
