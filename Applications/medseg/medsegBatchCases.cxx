// medseg batch: the case list. Folders, glob patterns, image files and CSV/JSON manifests become
// cases with ids; input hashes for the resume key.
#include "medsegBatchCases.h"
#include "medsegBatchUtilities.h"
#include "medsegError.h"
#include "medsegUsageError.h"
#include "medsegSha256.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <glob.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace medseg::cli::batch
{

namespace
{

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


} // namespace

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


} // namespace medseg::cli::batch
