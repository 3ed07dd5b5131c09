#ifndef medsegCommandLine_h
#define medsegCommandLine_h

#include "medsegUsageError.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace medseg::cli
{

/** What a parameter's value is. Drives parsing, --help and the Slicer XML description. */
enum class ParameterKind
{
  Flag,          //!< present or not, no value
  String,        //!< free text
  Integer,       //!< one integer
  Float,         //!< one number
  IntegerVector, //!< comma-separated integers, e.g. 96,96,96
  FloatVector,   //!< comma-separated numbers
  Enumeration,   //!< one of `choices`
  InputImage,    //!< an image file (or DICOM folder) to read
  InputLabelMap, //!< a label map to read
  OutputImage,   //!< an image file to write
  OutputLabelMap,//!< a label map to write
  InputFile,     //!< another file to read (model, manifest, ...)
  OutputFile,    //!< another file to write (CSV, JSON, PNG, ...)
  Directory      //!< a folder
};

/** One command-line parameter: `--name VALUE`, or a positional argument. */
struct Parameter
{
  std::string              name;      //!< long option without dashes ("patch-size"), or the positional's name
  ParameterKind            kind{ ParameterKind::String };
  std::string              help;      //!< one or two sentences
  std::string              defaultValue;
  std::vector<std::string> choices;   //!< for Enumeration
  bool                     required{ false };
  bool                     repeatable{ false };
  bool                     positional{ false };
  std::string              label;     //!< short human title (Slicer GUI); derived from name when empty
  std::string              group{ "Parameters" }; //!< section in --help and in Slicer's GUI
};

/** \brief Builds one row of a command's table, saying only what differs from the defaults:
 *
 *     cl.Add(Option("model", ParameterKind::InputFile, "Model package or TorchScript file.")
 *              .Required().Label("Model").Group("Input/output"));
 *
 * The same table gives parsing, `--help`, `--xml` and Slicer's argument form. */
class Option
{
public:
  Option(std::string name, ParameterKind kind, std::string help)
  {
    m_Parameter.name = std::move(name);
    m_Parameter.kind = kind;
    m_Parameter.help = std::move(help);
  }
  Option &
  Default(std::string value)
  {
    m_Parameter.defaultValue = std::move(value);
    return *this;
  }
  /** The values an Enumeration takes. */
  Option &
  Choices(std::vector<std::string> choices)
  {
    m_Parameter.choices = std::move(choices);
    return *this;
  }
  Option &
  Required()
  {
    m_Parameter.required = true;
    return *this;
  }
  /** May be given several times (GetAll). */
  Option &
  Repeatable()
  {
    m_Parameter.repeatable = true;
    return *this;
  }
  /** Given without `--name`, in table order. */
  Option &
  Positional()
  {
    m_Parameter.positional = true;
    return *this;
  }
  /** Short title in Slicer's GUI; derived from the name when not given. */
  Option &
  Label(std::string label)
  {
    m_Parameter.label = std::move(label);
    return *this;
  }
  /** Section in `--help` and in Slicer's GUI ("Parameters" when not given). */
  Option &
  Group(std::string group)
  {
    m_Parameter.group = std::move(group);
    return *this;
  }

  operator Parameter() const
  {
    return m_Parameter;
  }

private:
  Parameter m_Parameter;
};

/** Output values a tool reports for Slicer's `--returnparameterfile` (`name = value` lines), in order. */
using ReturnParameters = std::vector<std::pair<std::string, std::string>>;

/** What a 3D Slicer module description says beyond the parameter table. */
struct SlicerModuleInfo
{
  std::string category;         //!< e.g. "Segmentation.MedSeg"; the table's category + ".MedSeg" when empty
  std::string version;
  std::string documentationUrl;
  std::string license;
  std::string contributor;
};

/** The values of one parsed command line. Getters throw UsageError naming the option. */
class ParsedArguments
{
public:
  bool
  Has(const std::string & name) const;
  bool
  Flag(const std::string & name) const;
  std::string
  Get(const std::string & name) const; //!< the value, else the default, else ""
  std::vector<std::string>
  GetAll(const std::string & name) const;
  long
  GetInteger(const std::string & name) const;
  double
  GetFloat(const std::string & name) const;
  std::vector<long>
  GetIntegerVector(const std::string & name) const;
  std::vector<double>
  GetFloatVector(const std::string & name) const;

private:
  friend class CommandLine;
  std::map<std::string, std::vector<std::string>> m_Values;
  std::map<std::string, std::string>              m_Defaults;
};

/** \brief The interface of one tool: parses arguments and prints --help (and Slicer XML) from one table. */
class CommandLine
{
public:
  CommandLine(std::string program, std::string title, std::string description, std::string category = "Segmentation");

  CommandLine &
  Add(Parameter parameter);

  const std::vector<Parameter> &
  GetParameters() const
  {
    return m_Parameters;
  }
  const std::string &
  GetProgram() const
  {
    return m_Program;
  }

  /** Parses `arguments` (without the program name). Throws UsageError on anything unknown,
   * missing or malformed. `--help` and `--xml` are reported through the returned flags. */
  ParsedArguments
  Parse(const std::vector<std::string> & arguments) const;

  /** The --help text: usage line, description, and each parameter with its default. */
  std::string
  Help() const;

  void
  SetProgram(std::string program)
  {
    m_Program = std::move(program);
  }

  /** \brief The same table in 3D Slicer's argument form (see Documentation/slicer.md).
   *
   * File-like parameters (images, label maps, files) become positional, in declaration order:
   * first the required ones, then at most one optional image. Every other parameter, including
   * optional non-image files, takes `--<identifier>` where the identifier is the name in
   * camelCase (`patch-size` -> `patchSize`); flags stay bare flags (Slicer passes a boolean
   * only when it is true). Positional names are unchanged. */
  CommandLine
  SlicerCommandLine() const;

  /** Parses arguments as Slicer passes them (SlicerCommandLine's form) and returns them under
   * this table's names, so the code that runs a `medseg` command runs the Slicer module too.
   * Options with an empty value (`--overlap ""`) count as not given; the dashed `medseg`
   * spellings (`--patch-size`) are accepted as well. */
  ParsedArguments
  ParseSlicer(const std::vector<std::string> & arguments) const;

  /** The module description for `--xml`, valid against SlicerExecutionModel's ModuleDescription.xsd.
   * Label maps are `<image type="label">`; enumerations are `<string>` listing the choices (the
   * schema allows one `<element>` only); integers and numbers without a default are `<string>`
   * so that an empty field means "not given" rather than 0. */
  std::string
  SlicerXml(const SlicerModuleInfo & info) const;

  /** `patch-size` -> `patchSize`: a valid identifier for Slicer's `<name>` and `<longflag>`. */
  static std::string
  SlicerIdentifier(const std::string & name);

private:
  const Parameter *
  Find(const std::string & name) const;

  std::string            m_Program;
  std::string            m_Title;
  std::string            m_Description;
  std::string            m_Category;
  std::vector<Parameter> m_Parameters;
};

} // namespace medseg::cli

#endif
