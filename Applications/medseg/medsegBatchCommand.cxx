// medseg batch: segments many cases, each in its own `medseg segment` child process, with resume,
// a JSON/CSV report, deterministic shards (Slurm job arrays) and optional MPI work distribution.
#include "medsegBatchCommand.h"
#include "medsegCommandLine.h"
#include "medsegCommands.h"
#include "medsegAtomicFile.h"
#include "medsegError.h"
#include "medsegImageFileIO.h"
#include "medsegModelPackage.h"
#include "medsegProgressLine.h"
#include "medsegSha256.h"
#include "medsegTorchRuntime.h"
#include "medsegVersion.h"

#ifdef MEDSEG_WITH_VISUALIZATION
#  include "medsegOverviewRenderer.h"
#endif

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace medseg::cli
{

namespace
{

using P = Parameter;
using K = ParameterKind;

/** Options handed on to every `medseg segment` child unchanged: {name, is a flag}. */
const std::pair<const char *, bool> forwardedOptions[] = {
  { "patch-size", false }, { "overlap", false },     { "blend", false },   { "batch-size", false },
  { "normalize", false },  { "tta", true },          { "no-tta", true },       { "mirror-axes", false },
  { "postprocess", false },
  { "device", false },     { "no-optimize", true },  { "threads", false },
};

CommandLine
BatchCommandLine()
{
  CommandLine cl("medseg batch", "Batch segmentation",
                 "Segments many cases with one model. Each case runs as its own `medseg segment` process, so\n"
                 "a bad or crashing case fails alone and the batch goes on. Inputs: folders (every image file\n"
                 "and every DICOM series sub-folder is a case), glob patterns, or CSV/JSON manifests. Outputs go\n"
                 "to OUTPUT/<case>/. A journal in OUTPUT/.medseg-batch/ records finished cases keyed by the\n"
                 "SHA-256 of the inputs, of the model and of the options, and the MedSeg version, so a run\n"
                 "that is stopped at any moment redoes only unfinished cases when started again. Exit 0 when\n"
                 "every case succeeded, 1 when some failed, 2 on a usage error. See Documentation/batch.md.");
  cl.Add(P{ "model", K::InputFile, "Model package (folder, model.json, .medseg) or TorchScript file (.pt).", "", {},
            true, false, false, "Model", "Input/output" })
    .Add(P{ "input", K::String,
            "A folder, a glob pattern (quote it), an image file, or a manifest (.csv or .json). Repeatable.", "", {},
            true, true, false, "Inputs", "Input/output" })
    .Add(P{ "output", K::Directory, "Output folder (created if missing); each case writes OUTPUT/<case>/.", "", {},
            true, false, false, "Output folder", "Input/output" })
    .Add(P{ "extension", K::Enumeration, "File type of the label and probability maps.", ".nii.gz",
            { ".nii.gz", ".nii", ".nrrd", ".mha" }, false, false, false, "Extension", "Input/output" })
    .Add(P{ "probabilities", K::Flag, "Also write OUTPUT/<case>/probabilities<ext>.", "", {}, false, false, false,
            "Probabilities", "Input/output" })
    .Add(P{ "mesh", K::Flag, "Also write surface meshes into OUTPUT/<case>/mesh/.", "", {}, false, false, false,
            "Meshes", "Input/output" })
    .Add(P{ "screenshot", K::Flag, "Also write OUTPUT/<case>/overview.png (needs an X display: xvfb-run -a).", "",
            {}, false, false, false, "Pictures", "Input/output" })
    .Add(P{ "overwrite", K::Flag,
            "Replace case folders that exist but that no earlier batch run in OUTPUT wrote.", "", {}, false, false,
            false, "Overwrite", "Input/output" })
    .Add(P{ "report", K::String, "Report path without extension (writes .json and .csv). Default: OUTPUT/report.",
            "", {}, false, false, false, "Report", "Input/output" })
    .Add(P{ "jobs", K::Integer, "Cases run at the same time on this machine (or MPI rank).", "1", {}, false, false,
            false, "Jobs", "Scheduling" })
    .Add(P{ "shard", K::String,
            "I/N: run only the cases whose position in the sorted case list is I modulo N (0 <= I < N).\n"
            "      Default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT when set, else all cases.",
            "", {}, false, false, false, "Shard", "Scheduling" })
    .Add(P{ "case-timeout", K::Float, "Seconds after which a case is killed and recorded as failed (0: none).", "0",
            {}, false, false, false, "Case timeout", "Scheduling" })
    .Add(P{ "patch-size", K::IntegerVector, "Passed on to medseg segment.", "", {}, false, false, false,
            "Patch size", "Segmentation" })
    .Add(P{ "overlap", K::Float, "Passed on to medseg segment.", "", {}, false, false, false, "Overlap",
            "Segmentation" })
    .Add(P{ "blend", K::Enumeration, "Passed on to medseg segment.", "", { "gaussian", "constant" }, false, false,
            false, "Blending", "Segmentation" })
    .Add(P{ "batch-size", K::Integer, "Passed on to medseg segment.", "", {}, false, false, false, "Batch size",
            "Segmentation" })
    .Add(P{ "normalize", K::String, "Passed on to medseg segment.", "", {}, false, false, false, "Normalization",
            "Segmentation" })
    .Add(P{ "tta", K::Flag, "Passed on to medseg segment.", "", {}, false, false, false, "Mirror TTA",
            "Segmentation" })
    .Add(P{ "no-tta", K::Flag, "Passed on to medseg segment.", "", {}, false, false, false, "No TTA",
            "Segmentation" })
    .Add(P{ "mirror-axes", K::IntegerVector, "Passed on to medseg segment.", "", {}, false, false, false,
            "Mirror axes", "Segmentation" })
    .Add(P{ "postprocess", K::String, "Passed on to medseg segment.", "", {}, false, false, false, "Post-processing",
            "Segmentation" })
    .Add(P{ "threads", K::Integer, "LibTorch threads of each case (passed on to medseg segment).", "1", {}, false,
            false, false, "Threads", "Segmentation" })
    .Add(P{ "device", K::Enumeration, "Passed on to medseg segment.", "auto", { "auto", "cpu", "cuda" }, false,
            false, false, "Device", "Segmentation" })
    .Add(P{ "no-optimize", K::Flag, "Passed on to medseg segment.", "", {}, false, false, false, "No optimization",
            "Segmentation" })
    .Add(P{ "quiet", K::Flag, "Print nothing but errors and the summary line.", "", {}, false, false, false, "Quiet",
            "Runtime" });
  return cl;
}

// --- Small helpers ---------------------------------------------------------------------------

bool
EndsWith(const std::string & s, const std::string & suffix)
{
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string
Lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char * const imageExtensions[] = { ".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd" };

/** The image extension `name` ends with, or "". */
std::string
ImageExtension(const std::string & name)
{
  const std::string lower = Lower(name);
  for (const char * e : imageExtensions)
  {
    if (EndsWith(lower, e))
      return e;
  }
  return "";
}

/** A name usable as a folder: letters, digits, '.', '_' and '-'; anything else becomes '_'. */
std::string
SafeCaseId(std::string id)
{
  for (char & c : id)
  {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      c = '_';
  }
  if (id.empty() || id[0] == '.')
    id.insert(0, "case");
  return id;
}

/** The case id of an input path: the file name without its image extension, or the folder name. */
std::string
CaseIdOf(const std::string & path)
{
  std::string name = fs::path(path).lexically_normal().filename().string();
  if (name.empty())
    name = fs::path(path).lexically_normal().parent_path().filename().string();
  const std::string ext = ImageExtension(name);
  if (!ext.empty() && !fs::is_directory(path))
    name.resize(name.size() - ext.size());
  return SafeCaseId(name);
}

double
Seconds(std::chrono::steady_clock::time_point since)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string
UtcNow()
{
  const std::time_t t = std::time(nullptr);
  std::tm           tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

/** Nanoseconds since the epoch: orders journal entries across files and restarts. */
long long
NowNs()
{
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string
ReadWholeFile(const std::string & path)
{
  std::ifstream     in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/** Writes `text` to `path` atomically (temporary file + rename). */
void
WriteTextAtomically(const std::string & path, const std::string & text)
{
  AtomicFile file(path);
  {
    std::ofstream out(file.GetTemporaryPath(), std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out)
      throw InputError(path, "cannot be written");
  }
  file.Commit();
}

// --- Cases -----------------------------------------------------------------------------------

struct BatchCase
{
  std::string              id;
  std::vector<std::string> inputs;
  std::string              key; //!< SHA-256 of inputs + model + options + version (filled by rank 0)
  std::vector<std::string> inputHashes;
};

/** Splits one CSV line (RFC 4180 quoting, no newlines inside fields). */
std::vector<std::string>
SplitCsvLine(const std::string & line)
{
  std::vector<std::string> fields(1);
  bool                     quoted = false;
  for (size_t i = 0; i < line.size(); ++i)
  {
    const char c = line[i];
    if (quoted)
    {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      {
        fields.back() += '"';
        ++i;
      }
      else if (c == '"')
        quoted = false;
      else
        fields.back() += c;
    }
    else if (c == '"')
      quoted = true;
    else if (c == ',')
      fields.emplace_back();
    else if (c != '\r')
      fields.back() += c;
  }
  for (auto & f : fields)
  {
    const auto first = f.find_first_not_of(" \t");
    const auto last = f.find_last_not_of(" \t");
    f = first == std::string::npos ? std::string() : f.substr(first, last - first + 1);
  }
  return fields;
}

/** A manifest path relative to the manifest's folder. */
std::string
ResolveAgainst(const std::string & manifest, const std::string & path)
{
  if (path.empty() || fs::path(path).is_absolute())
    return path;
  return (fs::path(manifest).parent_path() / path).lexically_normal().string();
}

std::vector<BatchCase>
ReadCsvManifest(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
    throw InputError(path, "cannot be read");
  std::string line;
  if (!std::getline(in, line))
    throw InputError(path, "manifest is empty (it needs a header row with an 'input' column)");
  const auto       header = SplitCsvLine(line);
  int              idColumn = -1;
  std::vector<int> inputColumns;
  for (size_t c = 0; c < header.size(); ++c)
  {
    const std::string h = Lower(header[c]);
    if (h == "id" || h == "case")
      idColumn = static_cast<int>(c);
    else if (h.rfind("input", 0) == 0)
      inputColumns.push_back(static_cast<int>(c));
  }
  if (inputColumns.empty())
    throw InputError(path, "manifest header has no 'input' column (got '" + line + "')");
  std::vector<BatchCase> cases;
  for (int row = 2; std::getline(in, line); ++row)
  {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#')
      continue;
    const auto fields = SplitCsvLine(line);
    BatchCase  c;
    for (const int col : inputColumns)
    {
      if (col < static_cast<int>(fields.size()) && !fields[col].empty())
        c.inputs.push_back(ResolveAgainst(path, fields[col]));
    }
    if (c.inputs.empty())
      throw InputError(path, "row " + std::to_string(row) + " names no input");
    c.id = idColumn >= 0 && idColumn < static_cast<int>(fields.size()) && !fields[idColumn].empty()
             ? SafeCaseId(fields[idColumn])
             : CaseIdOf(c.inputs.front());
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<BatchCase>
ReadJsonManifest(const std::string & path)
{
  json document;
  try
  {
    document = json::parse(ReadWholeFile(path));
  }
  catch (const json::exception & e)
  {
    throw InputError(path, std::string("manifest is not valid JSON: ") + e.what());
  }
  const json & list = document.is_object() && document.contains("cases") ? document["cases"] : document;
  if (!list.is_array())
    throw InputError(path, "manifest must be a JSON array of cases or an object with a 'cases' array");
  std::vector<BatchCase> cases;
  for (size_t i = 0; i < list.size(); ++i)
  {
    const json & entry = list[i];
    BatchCase    c;
    const auto   bad = [&](const std::string & what) {
      return InputError(path, "case " + std::to_string(i) + ": " + what);
    };
    if (entry.is_string())
      c.inputs.push_back(ResolveAgainst(path, entry.get<std::string>()));
    else if (entry.is_object())
    {
      const json & in = entry.contains("inputs") ? entry["inputs"] : entry.contains("input") ? entry["input"] : json();
      if (in.is_string())
        c.inputs.push_back(ResolveAgainst(path, in.get<std::string>()));
      else if (in.is_array())
      {
        for (const auto & x : in)
        {
          if (!x.is_string())
            throw bad("'inputs' must hold strings");
          c.inputs.push_back(ResolveAgainst(path, x.get<std::string>()));
        }
      }
      if (entry.contains("id"))
      {
        if (!entry["id"].is_string())
          throw bad("'id' must be a string");
        c.id = SafeCaseId(entry["id"].get<std::string>());
      }
    }
    if (c.inputs.empty())
      throw bad("names no input (use \"input\": \"path\" or \"inputs\": [...])");
    if (c.id.empty())
      c.id = CaseIdOf(c.inputs.front());
    cases.push_back(std::move(c));
  }
  return cases;
}

/** Every image file and every sub-folder (a DICOM series) in `folder`; hidden entries and
 * `skip` (the output folder) are left out. */
std::vector<BatchCase>
ListFolder(const std::string & folder, const fs::path & skip)
{
  std::vector<BatchCase> cases;
  std::error_code        ec;
  for (const auto & entry : fs::directory_iterator(folder, ec))
  {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.')
      continue;
    if (entry.is_directory())
    {
      if (fs::equivalent(entry.path(), skip, ec))
        continue;
      cases.push_back({ CaseIdOf(entry.path().string()), { entry.path().string() }, "", {} });
    }
    else if (!ImageExtension(name).empty() && !EndsWith(Lower(name), ".raw"))
    {
      cases.push_back({ CaseIdOf(entry.path().string()), { entry.path().string() }, "", {} });
    }
  }
  if (ec)
    throw InputError(folder, "cannot be listed: " + ec.message());
  return cases;
}

std::vector<BatchCase>
ExpandGlob(const std::string & pattern)
{
  glob_t     g{};
  const int  rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<BatchCase> cases;
  if (rc == 0)
  {
    for (size_t i = 0; i < g.gl_pathc; ++i)
    {
      const std::string p = g.gl_pathv[i];
      if (fs::is_directory(p) || !ImageExtension(p).empty())
        cases.push_back({ CaseIdOf(p), { p }, "", {} });
    }
  }
  ::globfree(&g);
  if (cases.empty())
    throw InputError(pattern, "pattern matches no image file or folder");
  return cases;
}

/** All cases the --input values name, sorted by id. Ids must be unique. */
std::vector<BatchCase>
CollectCases(const std::vector<std::string> & specs, const fs::path & outputDir)
{
  std::vector<BatchCase> cases;
  for (const auto & spec : specs)
  {
    std::vector<BatchCase> found;
    const std::string      lower = Lower(spec);
    std::error_code        ec;
    if (fs::is_regular_file(spec, ec) && EndsWith(lower, ".csv"))
      found = ReadCsvManifest(spec);
    else if (fs::is_regular_file(spec, ec) && EndsWith(lower, ".json"))
      found = ReadJsonManifest(spec);
    else if (fs::is_directory(spec, ec))
    {
      found = ListFolder(spec, outputDir);
      if (found.empty())
        throw InputError(spec, "folder holds no image file (.nii, .nii.gz, .nrrd, .mha, .mhd) and no DICOM sub-folder");
    }
    else if (fs::exists(spec, ec))
      found.push_back({ CaseIdOf(spec), { spec }, "", {} });
    else if (spec.find_first_of("*?[") != std::string::npos)
      found = ExpandGlob(spec);
    else
      throw InputError(spec, "does not exist");
    cases.insert(cases.end(), found.begin(), found.end());
  }
  std::sort(cases.begin(), cases.end(), [](const BatchCase & a, const BatchCase & b) { return a.id < b.id; });
  for (size_t i = 1; i < cases.size(); ++i)
  {
    if (cases[i].id == cases[i - 1].id)
    {
      throw UsageError("two inputs give case id '" + cases[i].id + "': " + cases[i - 1].inputs.front() + " and " +
                       cases[i].inputs.front() + " (use a manifest with an 'id' column)");
    }
  }
  return cases;
}

/** SHA-256 of a file, or for a folder (DICOM series) of its sorted file names and contents. */
std::string
HashInput(const std::string & path)
{
  std::error_code ec;
  if (!fs::is_directory(path, ec))
  {
    return Sha256OfFile(path);
  }
  std::vector<std::string> files;
  for (const auto & entry : fs::directory_iterator(path, ec))
  {
    if (entry.is_regular_file())
      files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto & f : files)
    listing += f + '\0' + Sha256OfFile((fs::path(path) / f).string()) + '\n';
  return Sha256OfString(listing);
}

/** Parses "I/N". */
std::pair<long, long>
ParseShard(const std::string & text, const std::string & what)
{
  const auto slash = text.find('/');
  try
  {
    if (slash != std::string::npos)
    {
      size_t     used = 0;
      const long i = std::stol(text.substr(0, slash), &used);
      const bool iOk = used == slash;
      const long n = std::stol(text.substr(slash + 1), &used);
      if (iOk && used == text.size() - slash - 1 && n >= 1 && i >= 0 && i < n)
        return { i, n };
    }
  }
  catch (const std::exception &)
  {
  }
  throw UsageError(what + " must be I/N with 0 <= I < N, got '" + text + "'");
}

// --- Journal: one JSON object per line, appended and synced per event ----------------------

class Journal
{
public:
  Journal(fs::path folder, std::string name)
    : m_Folder(std::move(folder))
    , m_Path((m_Folder / name).string())
  {}

  /** The latest entry per case over every journal file in the folder (all shards). A torn last
   * line (a run killed while writing) is not valid JSON and is skipped. */
  std::map<std::string, json>
  Latest() const
  {
    std::map<std::string, json> latest;
    std::error_code             ec;
    for (const auto & entry : fs::directory_iterator(m_Folder, ec))
    {
      const std::string name = entry.path().filename().string();
      if (name.rfind("journal", 0) != 0 || !EndsWith(name, ".jsonl"))
        continue;
      std::ifstream in(entry.path());
      std::string   line;
      while (std::getline(in, line))
      {
        json e = json::parse(line, nullptr, false);
        if (e.is_discarded() || !e.is_object() || !e.contains("case") || !e.contains("time"))
          continue;
        auto & slot = latest[e["case"].get<std::string>()];
        if (slot.is_null() || slot["time"].get<long long>() <= e["time"].get<long long>())
          slot = std::move(e);
      }
    }
    return latest;
  }

  void
  Append(json entry) const
  {
    entry["time"] = NowNs();
    const std::string line = entry.dump() + "\n";
    const int         fd = ::open(m_Path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw InputError(m_Path, std::string("cannot be written: ") + std::strerror(errno));
    // A batch killed while writing leaves a torn last line: end it, so that this entry stays whole.
    struct stat info
    {};
    char last = '\n';
    if (::fstat(fd, &info) == 0 && info.st_size > 0)
      (void)!::pread(fd, &last, 1, info.st_size - 1);
    const std::string text = last == '\n' ? line : "\n" + line;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::fsync(fd);
    ::close(fd);
    if (!ok)
      throw InputError(m_Path, "cannot be written (disk full?)");
  }

private:
  fs::path    m_Folder;
  std::string m_Path;
};

// --- Running one case as a child process ----------------------------------------------------

struct BatchSettings
{
  std::string              model;
  fs::path                 output;
  fs::path                 state; //!< OUTPUT/.medseg-batch
  std::string              extension;
  bool                     probabilities{ false };
  bool                     mesh{ false };
  bool                     screenshot{ false };
  bool                     overwrite{ false };
  bool                     quiet{ false };
  double                   caseTimeout{ 0 };
  std::vector<std::string> forwarded; //!< options for medseg segment
  std::string              device;    //!< resolved, for the report
  std::map<unsigned int, std::string> labelNames;
  std::string              worker; //!< executable run per case
};

/** The files a finished case leaves in OUTPUT/<case>/ (relative names). */
std::vector<std::string>
ExpectedOutputs(const BatchSettings & s)
{
  std::vector<std::string> outputs{ "labels" + s.extension };
  if (s.probabilities)
    outputs.push_back("probabilities" + s.extension);
  if (s.mesh)
    outputs.push_back("mesh");
  if (s.screenshot)
    outputs.push_back("overview.png");
  return outputs;
}

bool
OutputsExist(const BatchSettings & s, const std::string & id)
{
  for (const auto & o : ExpectedOutputs(s))
  {
    if (!fs::exists(s.output / id / o))
      return false;
  }
  return true;
}

struct RunningCase
{
  size_t                                index{ 0 };
  pid_t                                 pid{ -1 };
  std::chrono::steady_clock::time_point start;
  bool                                  timedOut{ false };
  std::string                           error; //!< set when the case could not even start
};

fs::path
StageDir(const BatchSettings & s, const std::string & id)
{
  return s.state / "tmp" / id;
}
fs::path
LogPath(const BatchSettings & s, const std::string & id)
{
  return s.state / "logs" / (id + ".log");
}

/** Starts `medseg segment` for one case, writing into a private staging folder. */
RunningCase
StartCase(const BatchSettings & s, const BatchCase & c, size_t index)
{
  RunningCase r;
  r.index = index;
  r.start = std::chrono::steady_clock::now();
  const fs::path stage = StageDir(s, c.id);
  std::error_code ec;
  fs::remove_all(stage, ec);
  fs::create_directories(stage, ec);
  if (s.mesh)
    fs::create_directories(stage / "mesh", ec);
  fs::create_directories(s.state / "logs", ec);
  if (ec)
  {
    r.error = stage.string() + ": cannot be created: " + ec.message();
    return r;
  }
  std::vector<std::string> args{ s.worker, "segment", "--model", s.model };
  for (const auto & in : c.inputs)
  {
    args.push_back("--input");
    args.push_back(in);
  }
  args.insert(args.end(), { "--output", (stage / ("labels" + s.extension)).string() });
  if (s.probabilities)
    args.insert(args.end(), { "--probabilities", (stage / ("probabilities" + s.extension)).string() });
  if (s.mesh)
    args.insert(args.end(), { "--mesh", (stage / "mesh").string() });
  if (s.screenshot)
    args.insert(args.end(), { "--screenshot", (stage / "overview.png").string() });
  args.insert(args.end(), s.forwarded.begin(), s.forwarded.end());
  args.push_back("--quiet");

  std::vector<char *> argv;
  for (auto & a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = LogPath(s, c.id).string();
  const pid_t       parent = ::getpid();
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0)
  {
    r.error = std::string("cannot start a process: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0)
  {
    // The child dies with the batch: a killed batch leaves no orphan writing into OUTPUT.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = ::open("/dev/null", O_RDONLY);
    if (out >= 0)
    {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    if (in >= 0)
      ::dup2(in, STDIN_FILENO);
    ::execv(argv[0], argv.data());
    const char message[] = "medseg segment: error: cannot execute the worker\n";
    (void)!::write(STDERR_FILENO, message, sizeof(message) - 1);
    ::_exit(127);
  }
  r.pid = pid;
  return r;
}

/** The child's log split into its error (the "...: error: " line) and other lines (warnings). */
void
ReadLog(const std::string & path, std::string & error, std::vector<std::string> & warnings)
{
  std::ifstream in(path);
  std::string   line;
  while (std::getline(in, line))
  {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    const auto at = line.find(": error: ");
    if (at != std::string::npos && error.empty())
      error = line.substr(at + 9);
    else if (warnings.size() < 20)
      warnings.push_back(line.substr(0, 300));
  }
}

/** Label voxel counts and volumes of a written label map. */
json
LabelVolumes(const BatchSettings & s, const std::string & labelsPath)
{
  const LabelImage3::Pointer     labels = ReadLabelImage(labelsPath);
  std::map<unsigned int, size_t> counts;
  const size_t                   n = labels->GetBufferedRegion().GetNumberOfPixels();
  const auto *                   buffer = labels->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
    ++counts[buffer[i]];
  const auto   spacing = labels->GetSpacing();
  const double voxelMl = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  json         list = json::array();
  for (const auto & [label, count] : counts)
  {
    if (label == 0)
      continue;
    json l{ { "label", label }, { "voxels", count }, { "volume_ml", std::round(count * voxelMl * 1e6) / 1e6 } };
    const auto name = s.labelNames.find(label);
    if (name != s.labelNames.end())
      l["name"] = name->second;
    list.push_back(l);
  }
  return list;
}

/** Turns a finished child into a result; on success moves its outputs into OUTPUT/<case>/. */
json
FinishCase(const BatchSettings & s, const BatchCase & c, const RunningCase & r, int status)
{
  json result{ { "case", c.id },      { "inputs", c.inputs },   { "status", "failed" },
               { "error", "" },       { "device", s.device },   { "warnings", json::array() },
               { "labels", json::array() } };
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  result["host"] = host;
  const char * rank = std::getenv("OMPI_COMM_WORLD_RANK");
  result["rank"] = rank ? std::atoi(rank) : 0;
  result["seconds"] = std::round(Seconds(r.start) * 1000.0) / 1000.0;
  const fs::path stage = StageDir(s, c.id);
  std::string    error = r.error;
  std::vector<std::string> warnings;
  if (error.empty())
  {
    std::string logError;
    ReadLog(LogPath(s, c.id).string(), logError, warnings);
    if (r.timedOut)
      error = "killed after the case timeout of " + std::to_string(s.caseTimeout) + " s";
    else if (WIFSIGNALED(status))
    {
      error = "crashed with signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
      if (!logError.empty())
        error += ": " + logError;
    }
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
      error = logError.empty() ? "medseg segment exited with code " + std::to_string(WEXITSTATUS(status)) : logError;
      result["exit_code"] = WEXITSTATUS(status);
    }
  }
  if (error.empty())
  {
    for (const auto & o : ExpectedOutputs(s))
    {
      if (!fs::exists(stage / o))
        error = "medseg segment succeeded but wrote no " + o;
    }
  }
  std::error_code ec;
  if (error.empty())
  {
    // The case folder is replaced in one rename: it holds either nothing or every output.
    const fs::path final = s.output / c.id;
    fs::remove_all(final, ec);
    fs::rename(stage, final, ec);
    if (ec)
      error = final.string() + ": cannot be written: " + ec.message();
  }
  if (error.empty())
  {
    try
    {
      result["labels"] = LabelVolumes(s, (s.output / c.id / ("labels" + s.extension)).string());
      result["status"] = "done";
      json outputs = json::array();
      for (const auto & o : ExpectedOutputs(s))
        outputs.push_back((s.output / c.id / o).string());
      result["outputs"] = outputs;
    }
    catch (const std::exception & e)
    {
      error = OneLine(e.what());
    }
  }
  fs::remove_all(stage, ec);
  result["error"] = OneLine(error);
  result["warnings"] = warnings;
  return result;
}

/** Waits for `r` (blocking), honouring the case timeout. */
int
WaitForCase(const BatchSettings & s, RunningCase & r)
{
  if (r.pid < 0)
    return 0;
  int status = 0;
  for (;;)
  {
    const pid_t done = ::waitpid(r.pid, &status, s.caseTimeout > 0 ? WNOHANG : 0);
    if (done == r.pid)
      return status;
    if (done < 0 && errno != EINTR)
      return status;
    if (s.caseTimeout > 0 && Seconds(r.start) > s.caseTimeout && !r.timedOut)
    {
      ::kill(r.pid, SIGKILL);
      r.timedOut = true;
    }
    if (s.caseTimeout > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// --- The run ---------------------------------------------------------------------------------

/** Rank 0's book-keeping: journal, results, progress and the report. */
class BatchRecorder
{
public:
  BatchRecorder(const BatchSettings & s, std::vector<BatchCase> & cases, const Journal & journal,
                std::string reportBase, json header)
    : m_Settings(s)
    , m_Cases(cases)
    , m_Journal(journal)
    , m_ReportBase(std::move(reportBase))
    , m_Header(std::move(header))
    , m_Results(cases.size())
    , m_Progress("batch", !s.quiet && ProgressLine::IsTerminal())
  {}

  void
  Started(size_t index)
  {
    m_Journal.Append({ { "case", m_Cases[index].id }, { "key", m_Cases[index].key }, { "event", "started" } });
  }

  void
  Reused(size_t index, json previous)
  {
    previous["reused"] = true;
    previous.erase("event");
    previous.erase("time");
    previous.erase("key");
    m_Results[index] = std::move(previous);
    ++m_Finished;
  }

  void
  Finished(size_t index, json result)
  {
    result["key"] = m_Cases[index].key;
    result["event"] = "finished";
    m_Journal.Append(result);
    result.erase("event");
    result.erase("key");
    result["reused"] = false;
    ++m_Finished;
    ++m_Ran;
    if (!m_Settings.quiet)
    {
      std::ostringstream line;
      line << "[" << m_Finished << "/" << m_Cases.size() << "] " << m_Cases[index].id << ": ";
      if (result["status"] == "done")
        line << "done in " << std::fixed << std::setprecision(1) << result["seconds"].get<double>() << " s";
      else
        line << "FAILED: " << result["error"].get<std::string>();
      std::cerr << (ProgressLine::IsTerminal() ? "\r\033[K" : "") << line.str() << std::endl;
    }
    m_Results[index] = std::move(result);
    WriteReport();
  }

  void
  Progress(double runningFraction)
  {
    if (!m_Cases.empty())
      m_Progress.Update((m_Finished + runningFraction) / static_cast<double>(m_Cases.size()));
  }

  /** Writes report.json and report.csv (atomically) from the results so far. */
  void
  WriteReport()
  {
    json report = m_Header;
    report["finished"] = UtcNow();
    json   cases = json::array();
    size_t done = 0, failed = 0, pending = 0;
    std::set<unsigned int> labelValues;
    for (size_t i = 0; i < m_Cases.size(); ++i)
    {
      json r = m_Results[i].is_null() ? json{ { "case", m_Cases[i].id }, { "inputs", m_Cases[i].inputs },
                                                { "status", "pending" } }
                                      : m_Results[i];
      const std::string status = r["status"];
      done += status == "done";
      failed += status == "failed";
      pending += status == "pending";
      if (r.contains("labels"))
      {
        for (const auto & l : r["labels"])
          labelValues.insert(l["label"].get<unsigned int>());
      }
      cases.push_back(std::move(r));
    }
    report["summary"] = { { "cases", m_Cases.size() }, { "done", done }, { "failed", failed }, { "pending", pending } };
    report["cases"] = cases;
    WriteTextAtomically(m_ReportBase + ".json", report.dump(2) + "\n");

    const auto quote = [](const std::string & text) {
      if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
      std::string q = "\"";
      for (const char c : text)
        q += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
      return q + "\"";
    };
    std::ostringstream csv;
    csv << "case,status,reused,seconds,device,host,inputs,error,warnings";
    for (const unsigned int v : labelValues)
    {
      const auto name = m_Settings.labelNames.find(v);
      csv << ",volume_ml_" << v << (name != m_Settings.labelNames.end() ? "_" + SafeCaseId(name->second) : "");
    }
    csv << '\n';
    for (const auto & r : cases)
    {
      std::string inputs, warnings;
      for (const auto & x : r["inputs"])
        inputs += (inputs.empty() ? "" : ";") + x.get<std::string>();
      if (r.contains("warnings"))
      {
        for (const auto & w : r["warnings"])
          warnings += (warnings.empty() ? "" : " | ") + w.get<std::string>();
      }
      csv << quote(r["case"].get<std::string>()) << ',' << r["status"].get<std::string>() << ','
          << (r.value("reused", false) ? "yes" : "no") << ','
          << (r.contains("seconds") ? std::to_string(r["seconds"].get<double>()) : std::string()) << ','
          << r.value("device", std::string()) << ',' << quote(r.value("host", std::string())) << ',' << quote(inputs)
          << ',' << quote(r.value("error", std::string())) << ',' << quote(warnings);
      for (const unsigned int v : labelValues)
      {
        double ml = 0;
        if (r.contains("labels"))
        {
          for (const auto & l : r["labels"])
            if (l["label"].get<unsigned int>() == v)
              ml = l["volume_ml"].get<double>();
        }
        csv << ',' << (r["status"] == "done" ? std::to_string(ml) : std::string());
      }
      csv << '\n';
    }
    WriteTextAtomically(m_ReportBase + ".csv", csv.str());
    m_Done = done;
    m_Failed = failed;
  }

  void
  Summary()
  {
    m_Progress.Finish();
    size_t reused = 0;
    for (const auto & r : m_Results)
      reused += !r.is_null() && r.value("reused", false);
    std::cout << "medseg batch: " << m_Cases.size() << " case(s): " << m_Done << " done (" << reused
              << " from an earlier run), " << m_Failed << " failed; report: " << m_ReportBase << ".json, .csv\n";
  }

  size_t
  Failed() const
  {
    return m_Failed;
  }

private:
  const BatchSettings &    m_Settings;
  std::vector<BatchCase> & m_Cases;
  const Journal &          m_Journal;
  std::string              m_ReportBase;
  json                     m_Header;
  std::vector<json>        m_Results;
  ProgressLine             m_Progress;
  size_t                   m_Finished{ 0 };
  size_t                   m_Ran{ 0 };
  size_t                   m_Done{ 0 };
  size_t                   m_Failed{ 0 };
};

/** Fraction of the running cases' expected time that has passed (a rough ETA aid). */
double
RunningFraction(const std::vector<RunningCase> & running, double meanSeconds)
{
  if (meanSeconds <= 0)
    return 0;
  double f = 0;
  for (const auto & r : running)
    f += std::min(0.95, Seconds(r.start) / meanSeconds);
  return f;
}

} // namespace

// --- The scheduler, shared by the single-process and MPI runs --------------------------------

struct BatchScheduler::Impl
{
  BatchSettings                    settings;
  std::vector<BatchCase>           cases;
  std::deque<size_t>               pending;
  std::unique_ptr<Journal>         journal;
  std::unique_ptr<BatchRecorder>   recorder;
  long                             jobs{ 1 };
  int                              lockFd{ -1 };
  double                           secondsSum{ 0 };
  size_t                           secondsCount{ 0 };
};

BatchScheduler::BatchScheduler()
  : m_Impl(std::make_unique<Impl>())
{}
BatchScheduler::~BatchScheduler()
{
  if (m_Impl->lockFd >= 0)
    ::close(m_Impl->lockFd);
}

int
BatchScheduler::Prepare(const std::vector<std::string> & arguments, bool coordinator)
{
  const CommandLine     cl = BatchCommandLine();
  const ParsedArguments args = cl.Parse(arguments);
  if (args.Flag("help"))
  {
    if (coordinator)
      std::cout << cl.Help();
    return ExitSuccess;
  }
  auto & s = m_Impl->settings;
  m_Impl->jobs = args.GetInteger("jobs");
  if (m_Impl->jobs < 1 || m_Impl->jobs > 256)
    throw UsageError("--jobs must be between 1 and 256");
  s.caseTimeout = args.GetFloat("case-timeout");
  if (!(s.caseTimeout >= 0))
    throw UsageError("--case-timeout must be >= 0");
  if (args.GetInteger("threads") < 0)
    throw UsageError("--threads must be >= 0");
  std::pair<long, long> shard{ 0, 1 };
  if (args.Has("shard"))
    shard = ParseShard(args.Get("shard"), "--shard");
  else if (const char * id = std::getenv("SLURM_ARRAY_TASK_ID"))
  {
    const char * count = std::getenv("SLURM_ARRAY_TASK_COUNT");
    const char * min = std::getenv("SLURM_ARRAY_TASK_MIN");
    if (!count)
      throw UsageError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
    long index = 0;
    try
    {
      index = std::stol(id) - (min ? std::stol(min) : 0);
    }
    catch (const std::exception &)
    {
      throw UsageError(std::string("SLURM_ARRAY_TASK_ID is not a number: '") + id + "'");
    }
    shard = ParseShard(std::to_string(index) + "/" + count, "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN / SLURM_ARRAY_TASK_COUNT");
  }

  s.model = args.Get("model");
  s.output = fs::absolute(args.Get("output")).lexically_normal();
  s.state = s.output / ".medseg-batch";
  s.extension = args.Get("extension");
  s.probabilities = args.Flag("probabilities");
  s.mesh = args.Flag("mesh");
  s.screenshot = args.Flag("screenshot");
  s.overwrite = args.Flag("overwrite");
  s.quiet = args.Flag("quiet") || !coordinator;
#ifdef MEDSEG_WITH_VISUALIZATION
  if (s.screenshot && !HasRenderingDisplay())
    throw UsageError("--screenshot needs an X display; run under xvfb-run -a");
#else
  if (s.screenshot || s.mesh)
    throw UsageError("--mesh and --screenshot need MedSeg built with Visualization (VTK)");
#endif
  for (const auto & [name, flag] : forwardedOptions)
  {
    if (flag ? args.Flag(name) : (args.Has(name) || std::string(name) == "threads"))
    {
      s.forwarded.push_back(std::string("--") + name);
      if (!flag)
        s.forwarded.push_back(args.Get(name));
    }
  }
  if (const char * worker = std::getenv("MEDSEG_BATCH_WORKER"); worker && *worker)
    s.worker = worker;
  else
    s.worker = fs::read_symlink("/proc/self/exe").string();
  try
  {
    s.device = ResolveDevice(args.Get("device")).str();
  }
  catch (const std::exception & e)
  {
    throw UsageError(std::string("--device: ") + e.what());
  }

  // Cases: every rank lists them the same way; a shard keeps positions I, I+N, I+2N, ...
  if (!fs::exists(s.model))
    throw InputError(s.model, "does not exist");
  std::vector<BatchCase> all = CollectCases(args.GetAll("input"), s.output);
  if (all.empty())
    throw InputError(args.GetAll("input").front(), "names no case");
  for (size_t i = 0; i < all.size(); ++i)
  {
    if (static_cast<long>(i % static_cast<size_t>(shard.second)) == shard.first)
      m_Impl->cases.push_back(all[i]);
  }
  const std::string shardSuffix =
    shard.second > 1 ? ".shard-" + std::to_string(shard.first) + "-of-" + std::to_string(shard.second) : "";

  std::error_code ec;
  fs::create_directories(s.state, ec);
  if (ec)
    throw InputError(s.output.string(), "cannot create the output folder: " + ec.message());
  if (!coordinator)
    return -1;

  // One batch per output folder and shard at a time.
  const std::string lockPath = (s.state / ("lock" + shardSuffix)).string();
  m_Impl->lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_Impl->lockFd < 0 || ::flock(m_Impl->lockFd, LOCK_EX | LOCK_NB) != 0)
    throw InputError(s.output.string(), "another medseg batch is writing into this folder (" + lockPath + " is locked)");

  // The model: its hash, and for a package its label names.
  std::string modelHash;
  {
    std::error_code e2;
    const bool      isPackage = fs::is_directory(s.model, e2) || fs::path(s.model).filename() == "model.json" ||
                           EndsWith(Lower(s.model), ".medseg") || EndsWith(Lower(s.model), ".tar.gz") ||
                           EndsWith(Lower(s.model), ".tgz") || EndsWith(Lower(s.model), ".tar");
    if (isPackage)
    {
      const ModelPackage package = ModelPackage::Load(s.model); // validates, checks the weights' hash
      modelHash = Sha256OfString(package.ToJson().dump());
      for (const auto & l : package.labels)
        s.labelNames[l.value] = l.name;
    }
    else
      modelHash = Sha256OfFile(s.model);
  }
  std::string optionsText = "extension=" + s.extension + (s.probabilities ? " probabilities" : "") +
                            (s.mesh ? " mesh" : "") + (s.screenshot ? " screenshot" : "");
  for (size_t i = 0; i < s.forwarded.size(); ++i)
  {
    if (s.forwarded[i] == "--threads")
    {
      ++i; // the thread count does not change the result
      continue;
    }
    optionsText += " " + s.forwarded[i];
  }

  const std::string reportBase = args.Has("report") ? args.Get("report") : (s.output / ("report" + shardSuffix)).string();
  json header{ { "medseg_version", MEDSEG_VERSION }, { "model", s.model },      { "model_sha256", modelHash },
               { "options", optionsText },           { "device", s.device },    { "started", UtcNow() },
               { "output", s.output.string() },      { "shard", std::to_string(shard.first) + "/" + std::to_string(shard.second) },
               { "jobs", m_Impl->jobs } };
  m_Impl->journal = std::make_unique<Journal>(s.state, "journal" + shardSuffix + ".jsonl");
  m_Impl->recorder = std::make_unique<BatchRecorder>(s, m_Impl->cases, *m_Impl->journal, reportBase, header);

  // Resume: a case is done when its latest journal entry is a success with today's key and its
  // outputs are all there. Everything else is (re)done.
  const auto latest = m_Impl->journal->Latest();
  for (size_t i = 0; i < m_Impl->cases.size(); ++i)
  {
    BatchCase & c = m_Impl->cases[i];
    std::string keyText;
    try
    {
      for (const auto & in : c.inputs)
      {
        c.inputHashes.push_back(HashInput(in));
        keyText += c.inputHashes.back() + "\n";
      }
    }
    catch (const std::exception & e)
    {
      // Unreadable input: this case fails alone.
      m_Impl->recorder->Finished(i, { { "case", c.id }, { "inputs", c.inputs }, { "status", "failed" },
                                      { "error", OneLine(e.what()) }, { "device", s.device }, { "seconds", 0.0 } });
      continue;
    }
    keyText += modelHash + "\n" MEDSEG_VERSION "\n" + optionsText;
    c.key = Sha256OfString(keyText);
    const auto previous = latest.find(c.id);
    const bool ours = previous != latest.end();
    if (ours && previous->second.value("event", "") == "finished" && previous->second.value("status", "") == "done" &&
        previous->second.value("key", "") == c.key && OutputsExist(s, c.id))
    {
      m_Impl->recorder->Reused(i, previous->second);
      continue;
    }
    if (!ours && !s.overwrite && fs::exists(s.output / c.id))
    {
      m_Impl->recorder->Finished(i, { { "case", c.id },
                                      { "inputs", c.inputs },
                                      { "status", "failed" },
                                      { "error", (s.output / c.id).string() +
                                                   ": already exists and no batch run here wrote it; pass --overwrite to replace it" },
                                      { "device", s.device },
                                      { "seconds", 0.0 } });
      continue;
    }
    m_Impl->pending.push_back(i);
  }
  m_Impl->recorder->WriteReport();
  return -1;
}

size_t
BatchScheduler::NumberOfCases() const
{
  return m_Impl->cases.size();
}

bool
BatchScheduler::HasPending() const
{
  return !m_Impl->pending.empty();
}

long
BatchScheduler::TakePending()
{
  if (m_Impl->pending.empty())
    return -1;
  const size_t index = m_Impl->pending.front();
  m_Impl->pending.pop_front();
  m_Impl->recorder->Started(index);
  return static_cast<long>(index);
}

void
BatchScheduler::Record(size_t index, const std::string & resultJson)
{
  json result = json::parse(resultJson);
  result["case"] = m_Impl->cases.at(index).id;
  if (!result.contains("inputs"))
    result["inputs"] = m_Impl->cases[index].inputs;
  if (result.contains("labels"))
  {
    for (auto & l : result["labels"])
    {
      const auto name = m_Impl->settings.labelNames.find(l["label"].get<unsigned int>());
      if (!l.contains("name") && name != m_Impl->settings.labelNames.end())
        l["name"] = name->second;
    }
  }
  if (result.contains("seconds"))
  {
    m_Impl->secondsSum += result["seconds"].get<double>();
    ++m_Impl->secondsCount;
  }
  m_Impl->recorder->Finished(index, std::move(result));
}

std::string
BatchScheduler::RunCase(size_t index)
{
  const BatchCase & c = m_Impl->cases.at(index);
  RunningCase       r = StartCase(m_Impl->settings, c, index);
  const int         status = WaitForCase(m_Impl->settings, r);
  return FinishCase(m_Impl->settings, c, r, status).dump();
}

bool
BatchScheduler::RunLocal(const std::function<bool()> & poll, const std::function<bool()> & othersBusy)
{
  auto &                   s = m_Impl->settings;
  std::vector<RunningCase> running;
  for (;;)
  {
    while (static_cast<long>(running.size()) < m_Impl->jobs && HasPending())
    {
      const long index = TakePending();
      RunningCase r = StartCase(s, m_Impl->cases[index], static_cast<size_t>(index));
      if (r.pid < 0)
        Record(r.index, FinishCase(s, m_Impl->cases[r.index], r, 0).dump());
      else
        running.push_back(std::move(r));
    }
    for (auto it = running.begin(); it != running.end();)
    {
      int         status = 0;
      const pid_t done = ::waitpid(it->pid, &status, WNOHANG);
      if (done == it->pid || (done < 0 && errno == ECHILD))
      {
        Record(it->index, FinishCase(s, m_Impl->cases[it->index], *it, status).dump());
        it = running.erase(it);
        continue;
      }
      if (s.caseTimeout > 0 && !it->timedOut && Seconds(it->start) > s.caseTimeout)
      {
        ::kill(it->pid, SIGKILL);
        it->timedOut = true;
      }
      ++it;
    }
    const bool polled = poll && poll();
    if (running.empty() && !HasPending() && !(othersBusy && othersBusy()))
      break;
    m_Impl->recorder->Progress(RunningFraction(running, m_Impl->secondsCount ? m_Impl->secondsSum / m_Impl->secondsCount : 0));
    if (!polled)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

int
BatchScheduler::Finish()
{
  m_Impl->recorder->WriteReport();
  m_Impl->recorder->Summary();
  return m_Impl->recorder->Failed() == 0 ? ExitSuccess : ExitProcessingError;
}

int
RunBatchCommand(const std::vector<std::string> & arguments)
{
#ifdef MEDSEG_WITH_MPI
  if (IsMpiLaunch())
    return RunBatchMpi(arguments);
#endif
  BatchScheduler scheduler;
  const int      early = scheduler.Prepare(arguments, true);
  if (early >= 0)
    return early;
  scheduler.RunLocal({}, {});
  return scheduler.Finish();
}

} // namespace medseg::cli
