#include "medsegMONAIConfig.h"

#include "medsegError.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

namespace fs = std::filesystem;
using json = nlohmann::json;
using medseg::InputError;
using medseg::MONAIConfig;

namespace
{

/** Writes `text` to a file of this test process's own temporary folder. */
std::string
WriteFile(const std::string & name, const std::string & text)
{
  const fs::path folder = fs::path(testing::TempDir()) / ("medseg-monai-config-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const fs::path path = folder / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

/** The what() of the InputError `run` throws, or a text saying it threw none. */
std::string
ErrorOf(const std::function<void()> & run)
{
  try
  {
    run();
  }
  catch (const InputError & e)
  {
    return e.what();
  }
  return "<no InputError>";
}

bool
Contains(const std::string & text, const std::string & part)
{
  return text.find(part) != std::string::npos;
}

/** A config {"x": expression, ...} resolved at x. */
json
Evaluate(const std::string & expression, json others = json::object())
{
  others["x"] = expression;
  return MONAIConfig("test.json", others).Resolve("x");
}

/** Value and Python type: 2 and 2.0 are different results. */
void
ExpectSame(const json & expected, const json & actual, const std::string & what)
{
  EXPECT_EQ(expected, actual) << what;
  EXPECT_EQ(expected.is_number_float(), actual.is_number_float()) << what << " gave " << actual.dump();
  EXPECT_EQ(expected.is_boolean(), actual.is_boolean()) << what << " gave " << actual.dump();
}

} // namespace

TEST(MONAIConfig, ReadsJsonAndNormalisesHashInStringValues)
{
  const std::string path = WriteFile("inference.json", R"({
    "network_def": {"_target_": "UNet", "out_channels": 3},
    "x": "@network_def#out_channels",
    "note": "a#b#c",
    "k#1": 5,
    "list": ["@network_def#out_channels", 2]
  })");
  const MONAIConfig config = MONAIConfig::ReadFile(path);
  EXPECT_EQ(config.File(), path);
  EXPECT_EQ(config.Raw("x"), "@network_def::out_channels");
  EXPECT_EQ(config.Raw("note"), "a::b::c");
  EXPECT_TRUE(config.Raw().contains("k#1")); // keys are not changed
  EXPECT_EQ(config.Raw().at("k#1"), 5);
  EXPECT_TRUE(config.Has("network_def#out_channels")); // ids are normalised
  EXPECT_TRUE(config.Has("list::1"));
  EXPECT_FALSE(config.Has("list::2"));
  EXPECT_FALSE(config.Has("network_def::in_channels"));
  EXPECT_EQ(config.Resolve("x"), 3);
  EXPECT_EQ(config.Resolve("list"), json::parse("[3, 2]"));
  EXPECT_EQ(config.Resolve("network_def"), json::parse(R"({"_target_": "UNet", "out_channels": 3})"));
  EXPECT_EQ(config.Resolve("note"), "a::b::c");
}

TEST(MONAIConfig, ReportsInvalidJsonAndWrongFiles)
{
  const std::string bad = WriteFile("bad.json", "{\"a\": 1,\n \"b\": }\n");
  const std::string error = ErrorOf([&] { MONAIConfig::ReadFile(bad); });
  EXPECT_EQ(error.rfind(bad + ": is not valid JSON: parse error at line 2", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;

  const std::string list = WriteFile("list.json", "[1, 2]");
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(list); }),
            list + ": is not a MONAI config: its top level is not a mapping");
  const std::string missing = (fs::path(testing::TempDir()) / "medseg-no-such-config.json").string();
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(missing); }), missing + ": does not exist");
  const std::string text = WriteFile("config.txt", "{}");
  EXPECT_TRUE(Contains(ErrorOf([&] { MONAIConfig::ReadFile(text); }), ".json, .yaml or .yml"));
  EXPECT_TRUE(Contains(ErrorOf([] { MONAIConfig("c.json", json::array()); }), "top level is not a mapping"));
}

TEST(MONAIConfigYaml, TypesPlainScalarsAsPyYAMLSafeLoader)
{
  // Expected values checked against PyYAML 6.0 yaml.safe_load.
  const std::string path = WriteFile("typing.yaml", R"(b_yes: yes
b_No: No
b_on: on
b_OFF: OFF
b_True: True
s_quoted_true: "true"
s_quoted_yes: 'yes'
s_y: y
s_exp: 1e-3
f_exp: 1.0e-3
s_exp_nosign: 1.0e3
f_half: .5
s_neg_half: -.5
f_one_dot: 1.
i_int: 42
i_neg: -7
i_plus: +5
i_hex: 0x1F
i_octal: 017
s_0o: 0o17
i_bin: 0b101
i_under: 1_000
s_leading: 08
i_sexa: 1:30
f_sexa: 1:30.5
n_tilde: ~
n_null: null
n_Null: Null
n_empty:
s_quoted_null: 'null'
f_inf: .inf
f_neginf: -.Inf
s_date: 2024-01-01
s_block: |
  text
s_expr: $1 + 1
s_ref: "@i_int"
t_str: !!str 12
t_float: !!float 3
list: [1, two, 3.5, null]
yes: key_true
)");
  const MONAIConfig config = MONAIConfig::ReadFile(path);
  const json &      raw = config.Raw();
  const std::vector<std::pair<std::string, json>> expected = {
    { "b_yes", true },
    { "b_No", false },
    { "b_on", true },
    { "b_OFF", false },
    { "b_True", true },
    { "s_quoted_true", "true" },
    { "s_quoted_yes", "yes" },
    { "s_y", "y" },
    { "s_exp", "1e-3" },
    { "f_exp", 0.001 },
    { "s_exp_nosign", "1.0e3" },
    { "f_half", 0.5 },
    { "s_neg_half", "-.5" },
    { "f_one_dot", 1.0 },
    { "i_int", 42 },
    { "i_neg", -7 },
    { "i_plus", 5 },
    { "i_hex", 31 },
    { "i_octal", 15 },
    { "s_0o", "0o17" },
    { "i_bin", 5 },
    { "i_under", 1000 },
    { "s_leading", "08" },
    { "i_sexa", 90 },
    { "f_sexa", 90.5 },
    { "n_tilde", nullptr },
    { "n_null", nullptr },
    { "n_Null", nullptr },
    { "n_empty", nullptr },
    { "s_quoted_null", "null" },
    { "s_date", "2024-01-01" },
    { "s_block", "text\n" },
    { "s_expr", "$1 + 1" },
    { "s_ref", "@i_int" },
    { "t_str", "12" },
    { "t_float", 3.0 },
    { "list", json::parse(R"([1, "two", 3.5, null])") },
    { "True", "key_true" }, // PyYAML's key is True; MONAI's ids are str(key)
  };
  for (const auto & [key, value] : expected)
  {
    ASSERT_TRUE(raw.contains(key)) << key;
    ExpectSame(value, raw.at(key), key);
    EXPECT_EQ(value.is_string(), raw.at(key).is_string()) << key;
  }
  EXPECT_EQ(raw.size(), expected.size() + 2);
  ASSERT_TRUE(raw.at("f_inf").is_number_float());
  EXPECT_TRUE(std::isinf(raw.at("f_inf").get<double>()) && raw.at("f_inf").get<double>() > 0);
  EXPECT_TRUE(std::isinf(raw.at("f_neginf").get<double>()) && raw.at("f_neginf").get<double>() < 0);
  EXPECT_EQ(config.Resolve("s_expr"), 2);
  EXPECT_EQ(config.Resolve("s_ref"), 42);
}

TEST(MONAIConfigYaml, MergeKeysAnchorsAndHashes)
{
  const std::string path = WriteFile("merge.yaml", R"(base: &base
  spatial_dims: 3
  in_channels: 1
other: &other
  in_channels: 4
  out_channels: 2
network_def:
  <<: [*base, *other]
  _target_: UNet
  spatial_dims: 2
roi: &roi [32, 32, 32]
inferer:
  roi_size: *roi
  channels: "$@network_def#out_channels + 1"
)");
  const MONAIConfig config = MONAIConfig::ReadFile(path);
  EXPECT_EQ(config.Raw("network_def"),
            json::parse(R"({"_target_": "UNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 2})"));
  EXPECT_EQ(config.Resolve("inferer"), json::parse(R"({"roi_size": [32, 32, 32], "channels": 3})"));
}

TEST(MONAIConfigYaml, ReportsInvalidYamlNamingTheFile)
{
  const std::string bad = WriteFile("bad.yaml", "a: [1, 2\nb: 3\n");
  const std::string error = ErrorOf([&] { MONAIConfig::ReadFile(bad); });
  EXPECT_EQ(error.rfind(bad + ": is not valid YAML: line ", 0), 0u) << error;
  const std::string at = WriteFile("at.yml", "keys: @image_key\n"); // @ is reserved in YAML
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(at); }).rfind(at + ": is not valid YAML: line 1", 0), 0u);
  const std::string empty = WriteFile("empty.yaml", "");
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(empty); }),
            empty + ": is not a MONAI config: its top level is not a mapping");
  const std::string two = WriteFile("two.yaml", "a: 1\n---\nb: 2\n");
  EXPECT_TRUE(Contains(ErrorOf([&] { MONAIConfig::ReadFile(two); }), two + ": is not valid YAML for MONAI"));
}

TEST(MONAIConfig, ResolvesAbsoluteReferencesAndListIndices)
{
  const MONAIConfig config("configs/inference.json", json::parse(R"json({
    "image_key": "image",
    "roi": [32, 32, 32],
    "inferer": {"_target_": "SlidingWindowInferer", "roi_size": "@roi", "sw_batch_size": 4},
    "preprocessing": {"transforms": [{"_target_": "LoadImaged", "keys": "@image_key"},
                                     {"keys": "@preprocessing#transforms#0#keys"}]},
    "first": "@roi::0",
    "mail": "mail@host",
    "not_a_ref": "@roi + 1"
  })json"));
  EXPECT_EQ(config.Resolve("inferer"),
            json::parse(R"({"_target_": "SlidingWindowInferer", "roi_size": [32, 32, 32], "sw_batch_size": 4})"));
  EXPECT_EQ(config.Resolve("first"), 32);
  EXPECT_EQ(config.Resolve("preprocessing::transforms::1::keys"), "image");
  EXPECT_EQ(config.Resolve("preprocessing#transforms#0"), json::parse(R"({"_target_": "LoadImaged", "keys": "image"})"));
  EXPECT_EQ(config.Resolve("mail"), "mail@host");
  EXPECT_EQ(config.Resolve("not_a_ref"), "@roi + 1"); // only a whole "@id" string is a reference
  EXPECT_EQ(config.Raw("inferer::roi_size"), "@roi");  // Raw is unresolved
}

TEST(MONAIConfig, ResolvesRelativeReferences)
{
  // ConfigParser.resolve_relative_ids' own example, plus an expression and a list.
  const MONAIConfig config("c.json", json::parse(R"json({
    "A": 1,
    "B": {"key": "@::::A", "value1": 2, "value2": "@#value1", "value3": [3, 4, "@::1", "$@::0 + @::::value1"]},
    "C": {"up": "@::::::A"}
  })json"));
  EXPECT_EQ(config.Resolve("B"), json::parse(R"({"key": 1, "value1": 2, "value2": 2, "value3": [3, 4, 4, 5]})"));
  EXPECT_EQ(config.Resolve("B::value3::3"), 5);
  const std::string error = ErrorOf([&] { config.Resolve("C"); });
  EXPECT_EQ(error, "c.json: C::up: the relative reference in '@::::::A' goes above the top of the file");
}

TEST(MONAIConfigExpression, EvaluatesTheExamplesOfTheNotes)
{
  MONAIConfig config("configs/inference.json", json::parse(R"json({
    "bundle_root": ".",
    "network_def": {"_target_": "UNet", "out_channels": 3},
    "num_classes": "$max(1, @network_def#out_channels - 1)",
    "half": "$0.5 / 2",
    "model_path": "$@bundle_root + '/models/model.ts'",
    "joined": "$os.path.join(@bundle_root, 'models', 'model.ts')",
    "mode": "$'sliding' if @network_def#out_channels > 2 else 'whole'"
  })json"));
  config.Set("bundle_root", "/b");
  const json classes = config.Resolve("num_classes");
  EXPECT_EQ(classes, 2);
  EXPECT_TRUE(classes.is_number_integer());
  ExpectSame(0.25, config.Resolve("half"), "half");
  EXPECT_EQ(config.Resolve("model_path"), "/b/models/model.ts");
  EXPECT_EQ(config.Resolve("joined"), "/b/models/model.ts");
  EXPECT_EQ(config.Resolve("mode"), "sliding");
}

TEST(MONAIConfigExpression, FollowsPythonSemantics)
{
  const json others = json::parse(R"({"n": 3, "flag": false, "a": 1, "a_b": 10, "net": {"ch": [16, 32]}})");
  const std::vector<std::pair<std::string, json>> cases = {
    { "$7 // 2", 3 },
    { "$-7 // 2", -4 },
    { "$-7 % 3", 2 },
    { "$7 % -3", -2 },
    { "$-7.5 // 2", -4.0 },
    { "$7 / 2", 3.5 },
    { "$10 / 5", 2.0 },
    { "$2 ** 10", 1024 },
    { "$2 ** -1", 0.5 },
    { "$-2 ** 2", -4 },
    { "$[1,2] + [3]", json::parse("[1, 2, 3]") },
    { "$(1, 2) + (3,)", json::parse("[1, 2, 3]") },
    { "$'ab' * 2 + 'c'", "ababc" },
    { "$[0] * 3", json::parse("[0, 0, 0]") },
    { "$[1, 2, 3][-1]", 3 },
    { "$'abc'[::-1]", "cba" },
    { "$[1, 2, 3, 4][1:3]", json::parse("[2, 3]") },
    { "$@net#ch[0] * 2", 32 },
    { "$@net['ch'][-1]", 32 },
    { "$len(@net#ch)", 2 },
    { "$@a_b + @a", 11 }, // longest id first: @a_b is not @a followed by _b
    { "$str(0.1)", "0.1" },
    { "$str(1e-05)", "1e-05" },
    { "$str(2.0) + str(@n)", "2.03" },
    { "$str([1, 'a', None, True])", "[1, 'a', None, True]" },
    { "$round(2.5)", 2 },
    { "$round(3.5)", 4 },
    { "$round(-2.5)", -2 },
    { "$round(2.675, 2)", 2.67 },
    { "$int('42') + int(3.9)", 45 },
    { "$float(2)", 2.0 },
    { "$abs(-3)", 3 },
    { "$min(4, 2, 9)", 2 },
    { "$max([1.5, 2])", 2 },
    { "$list('ab')", json::parse(R"(["a", "b"])") },
    { "$tuple([1, 2])", json::parse("[1, 2]") },
    { "$bool([])", false },
    { "$True + True", 2 },
    { "$1 if @flag else 2", 2 },
    { "$'big' if @n > 2 else 'small'", "big" },
    { "$1 if True else 1 // 0", 1 }, // only the branch taken is evaluated
    { "$0 or 'x'", "x" },
    { "$@flag and 1 // 0", false },
    { "$not @flag", true },
    { "$1 < 2 < 3", true },
    { "$1 < 3 < 2", false },
    { "$1 == 1.0", true },
    { "$2 in [1, 2]", true },
    { "$'b' not in 'abc'", false },
    { "$None is None", true },
    { "$0x10 + 0o10 + 0b10 + 1_000", 1026 },
    { "$'it''s'", "its" },
    { "$\"a\\tb\"", "a\tb" },
    { "$'mail@host'", "mail@host" }, // '@' inside a string literal is text
  };
  for (const auto & [expression, expected] : cases)
  {
    json actual;
    const std::string error = ErrorOf([&] { actual = Evaluate(expression, others); });
    EXPECT_EQ(error, "<no InputError>") << expression;
    ExpectSame(expected, actual, expression);
  }
}

TEST(MONAIConfigExpression, RefusesPythonCodeOnlyWhenAskedFor)
{
  const MONAIConfig config("configs/inference.json", json::parse(R"json({
    "imports": ["$import glob"],
    "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
    "network_def": {"_target_": "UNet", "out_channels": 2},
    "network": "$@network_def.to(@device)",
    "roi": [8, 8, 8],
    "inferer": {"roi_size": "@roi"}
  })json"));
  EXPECT_EQ(config.Resolve("inferer"), json::parse(R"({"roi_size": [8, 8, 8]})"));
  EXPECT_EQ(config.Resolve("network_def::out_channels"), 2);
  EXPECT_EQ(ErrorOf([&] { config.Resolve("device"); }),
            "configs/inference.json: device: is Python code MedSeg does not run: "
            "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')");
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Resolve("imports"); }), "imports::0: is Python code"));
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Resolve("network"); }), "network: is Python code"));

  for (const std::string code : { "$monai.transforms.Compose", "$np.float32", "$lambda x: x + 1", "$foo(1)",
                                  "$'%d' % 3", "$[i for i in range(3)]", "$f'{1}'", "$max(1, key=abs)", "$x",
                                  "$1 +", "${'a': 1}", "$os.path.exists('a')", "$(-8) ** 0.5" })
    EXPECT_EQ(ErrorOf([&] { Evaluate(code); }), "test.json: x: is Python code MedSeg does not run: " + code);
}

TEST(MONAIConfigExpression, ReportsFailuresAsPythonWould)
{
  EXPECT_EQ(ErrorOf([] { Evaluate("$1 / 0"); }), "test.json: x: cannot evaluate $1 / 0: division by zero");
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$[1][3]"); }), "list index out of range"));
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$'a' + 1"); }), "unsupported operand type(s) for +: 'str' and 'int'"));
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$int('x')"); }), "invalid literal for int()"));
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$2 ** 64"); }), "64-bit"));
}

TEST(MONAIConfig, DropsDisabledComponentsAndKeepsSpecialKeys)
{
  const MONAIConfig config("c.json", json::parse(R"json({
    "off": true,
    "transforms": [
      {"_target_": "LoadImaged", "keys": "image"},
      {"_target_": "Spacingd", "_disabled_": true},
      {"_target_": "Orientationd", "_disabled_": " True "},
      {"_target_": "ScaleIntensityd", "_disabled_": "@off"},
      {"_target_": "EnsureTyped", "_disabled_": "$1 > 2", "_requires_": "@missing", "_desc_": "a#b",
       "_mode_": "default"},
      {"_target_": "Flipd", "_disabled_": "false"}
    ],
    "postprocessing": {"a": {"_target_": "Activationsd", "_disabled_": 1}, "b": 2, "c": {"_disabled_": true}},
    "only": {"_target_": "X", "_disabled_": true}
  })json"));
  const json transforms = config.Resolve("transforms");
  ASSERT_EQ(transforms.size(), 3u) << transforms.dump();
  EXPECT_EQ(transforms[0].at("_target_"), "LoadImaged");
  EXPECT_EQ(transforms[1], json::parse(R"({"_target_": "EnsureTyped", "_disabled_": false, "_requires_": "@missing",
                                          "_desc_": "a::b", "_mode_": "default"})"));
  EXPECT_EQ(transforms[2].at("_target_"), "Flipd");
  // Only components (dicts with _target_) are dropped, as in MONAI.
  EXPECT_EQ(config.Resolve("postprocessing"), json::parse(R"({"b": 2, "c": {"_disabled_": true}})"));
  EXPECT_TRUE(config.Resolve("only").is_null());
}

TEST(MONAIConfig, ReportsMissingReferencesCyclesAndMacros)
{
  const MONAIConfig config("configs/inference.json", json::parse(R"json({
    "preprocessing": {"transforms": [{}, {}, {"_target_": "LoadImaged", "keys": "@image_key"}]},
    "expr": "$@nothing#here + 1",
    "branch": "$1 if True else @absent",
    "a": "@b",
    "b": {"c": "$@a + 1"},
    "self": {"d": "@self"},
    "macro": "%other.json::net",
    "ok": 1
  })json"));
  EXPECT_EQ(ErrorOf([&] { config.Resolve("preprocessing"); }),
            "configs/inference.json: preprocessing::transforms::2::keys: refers to 'image_key', which is not in "
            "the file");
  EXPECT_EQ(ErrorOf([&] { config.Resolve("expr"); }),
            "configs/inference.json: expr: refers to 'nothing::here', which is not in the file");
  // MONAI resolves every reference of an expression before eval, taken branch or not.
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Resolve("branch"); }), "branch: refers to 'absent'"));
  EXPECT_EQ(ErrorOf([&] { config.Resolve("nope"); }), "configs/inference.json: nope: is not in the file");
  EXPECT_EQ(ErrorOf([&] { config.Raw("nope::x"); }), "configs/inference.json: nope::x: is not in the file");

  EXPECT_EQ(ErrorOf([&] { config.Resolve("a"); }),
            "configs/inference.json: b::c: refers to 'a', a reference cycle (a -> b -> b::c -> a)");
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Resolve("self"); }), "self::d: refers to 'self', a reference cycle"));
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Resolve("macro"); }), "macro: is a MONAI macro (%other.json::net)"));
  EXPECT_EQ(config.Resolve("ok"), 1);
}

TEST(MONAIConfig, SetAddsParentsOverridesAndNormalises)
{
  MONAIConfig config("c.json", json::parse(R"({"bundle_root": ".", "list": [1, 2], "n": 5,
                                               "path": "$@bundle_root + '/x'"})"));
  config.Set("bundle_root", "/bundle");
  EXPECT_EQ(config.Resolve("path"), "/bundle/x");
  config.Set("a::b#c", "x#y");
  EXPECT_EQ(config.Raw("a"), json::parse(R"({"b": {"c": "x::y"}})"));
  config.Set("list::1", json::parse(R"({"k": "@n"})"));
  EXPECT_EQ(config.Resolve("list"), json::parse(R"([1, {"k": 5}])"));
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Set("list::5", 1); }), "list::5: cannot be set"));
  EXPECT_TRUE(Contains(ErrorOf([&] { config.Set("n::m", 1); }), "n::m: cannot be set, n is not a mapping"));
  EXPECT_EQ(config.Raw("n"), 5);
}

TEST(MONAIConfigExpression, CommonKeysAreTheKeyNamesTheZoosTemplatesUse)
{
  EXPECT_EQ(Evaluate("$monai.utils.CommonKeys.IMAGE"), "image");
  EXPECT_EQ(Evaluate("$[monai.utils.CommonKeys.PRED, monai.utils.CommonKeys.LABEL]"), json::parse(R"(["pred", "label"])"));
  EXPECT_THROW(Evaluate("$monai.utils.CommonKeys.NOT_A_KEY"), medseg::InputError);
  EXPECT_THROW(Evaluate("$monai.utils.set_determinism(seed=0)"), medseg::InputError);
}

// Regressions found by fuzzing (Testing/Fuzz, MONAIExpression / MONAIConfigJson / MONAIConfigYaml):
// each refused with an InputError, quickly, where it used to take the memory, the stack or the time.

TEST(MONAIConfigExpression, RefusesResultsTooLargeToMakeBeforeMakingThem)
{
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$'a' * 10**12"); }), "cannot evaluate $'a' * 10**12: the result would hold more than"));
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$[@b] * 600000", { { "b", { 1, 2 } } }); }), "the result would hold more than"));
  EXPECT_TRUE(Contains(ErrorOf([] { Evaluate("$9**9**9"); }), "integer overflow"));
  EXPECT_EQ(Evaluate("$'' * 10**18"), "");
  EXPECT_EQ(Evaluate("$[] * 10**18"), json::array());
  EXPECT_EQ(Evaluate("$'ab' * 3"), "ababab");
  std::string copies = "$[1] * 30000";
  for (int i = 0; i < 100; ++i)
    copies += " + []";
  EXPECT_TRUE(Contains(ErrorOf([&] { Evaluate(copies); }), "the expression makes more than"));
  std::string doubling = "$@s";
  json        others = { { "s", "$'x' * 1000" } };
  for (int i = 0; i < 80; ++i)
    doubling += " + @s";
  EXPECT_TRUE(Contains(ErrorOf([&] { Evaluate(doubling, others); }), "makes more than"));
}

TEST(MONAIConfigExpression, RefusesNestingDeeperThanPythonsParser)
{
  for (const auto & [open, close] : std::vector<std::pair<std::string, std::string>>{
         { "(", ")" }, { "[", "]" }, { "-", "" }, { "not ", "" }, { "2**", "" }, { "abs(", ")" } })
  {
    std::string deep;
    for (int i = 0; i < 3000; ++i)
      deep = open + deep;
    deep = "$" + deep + "1";
    for (int i = 0; i < 3000; ++i)
      deep += close;
    EXPECT_TRUE(Contains(ErrorOf([&] { Evaluate(deep); }), "nests more than 200 levels deep")) << open;
  }
  EXPECT_EQ(Evaluate("$((((1))))"), 1);
}

TEST(MONAIConfigExpression, SlicesWithHugeStepsWithoutOverflow)
{
  EXPECT_EQ(Evaluate("$'abc'[2::9223372036854775807]"), "c");
  EXPECT_EQ(Evaluate("$[1, 2, 3][1::9223372036854775807]"), json::parse("[2]"));
  EXPECT_EQ(Evaluate("$'abc'[::-9223372036854775807 - 1]"), "c");
}

TEST(MONAIConfig, RefusesReferencesThatExpandExponentiallyOrChainTooDeep)
{
  json root = { { "a0", { 1, 1, 1, 1 } } };
  for (int i = 1; i < 30; ++i)
    root["a" + std::to_string(i)] = std::vector<std::string>(4, "@a" + std::to_string(i - 1));
  const MONAIConfig doubling("c.json", root);
  EXPECT_EQ(doubling.Resolve("a2").size(), 4u);
  const std::string expanding = ErrorOf([&] { doubling.Resolve("a29"); });
  EXPECT_TRUE(Contains(expanding, "its references expand to more than 65536 values")) << expanding;

  json chain = { { "c200", 1 } };
  for (int i = 0; i < 200; ++i)
    chain["c" + std::to_string(i)] = (i % 2 ? "@c" : "$@c") + std::to_string(i + 1);
  const MONAIConfig deep("c.json", chain);
  EXPECT_EQ(deep.Resolve("c150"), 1);
  EXPECT_TRUE(Contains(ErrorOf([&] { deep.Resolve("c0"); }), "through a chain of more than 100 references"));
}

TEST(MONAIConfigYaml, RefusesAliasBombsSelfAliasesAndHugeBase60)
{
  std::string bomb = "a0: &a0 [1, 1, 1, 1]\n";
  for (int i = 1; i < 30; ++i)
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  const std::string bombFile = WriteFile("bomb.yaml", bomb);
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(bombFile); }),
            bombFile + ": is not valid YAML for MONAI: its aliases expand to more than 32768 values");
  const std::string self = WriteFile("self.yaml", "a: &a [1, *a]\n");
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(self); }),
            self + ": a: nests more than 1000 levels deep (an alias inside its own anchor?)");
  const std::string merge = WriteFile("merge-self.yaml", "a: &a {b: 1, <<: *a}\n");
  EXPECT_TRUE(Contains(ErrorOf([&] { MONAIConfig::ReadFile(merge); }), "nests more than 1000 levels deep"));
  const std::string base60 = WriteFile("base60.yaml", "a: 99999999999999999999999999:30\nb: 1:30\n");
  EXPECT_EQ(ErrorOf([&] { MONAIConfig::ReadFile(base60); }),
            base60 + ": a: the integer 99999999999999999999999999:30 is larger than MedSeg's 64-bit integers");
  const std::string shared = WriteFile("shared.yaml", "k: &k {keys: image}\nt: [*k, *k]\n");
  EXPECT_EQ(MONAIConfig::ReadFile(shared).Resolve("t"), json::parse(R"([{"keys": "image"}, {"keys": "image"}])"));
}

TEST(MONAIConfigYaml, RefusesBytesPyYAMLRefusesBeforeYamlCppSeesThem)
{
  // yaml-cpp 0.7 loops without end on some files with NUL or invalid bytes (found by fuzzing).
  const std::string nul = WriteFile("nul.yaml", std::string("a: 1\nb: x\0y\n", 12));
  const std::string invalid = WriteFile("invalid.yaml", "a: 1\nb: \xFF\n");
  const std::string overlong = WriteFile("overlong.yaml", "a: \xC0\x80\n");
  for (const std::string & path : { nul, invalid, overlong })
  {
    try
    {
      MONAIConfig::ReadFile(path);
      ADD_FAILURE() << path << " was read";
    }
    catch (const medseg::InputError & e)
    {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("not UTF-8 of a printable character"), std::string::npos) << e.what();
    }
  }
  // Printable UTF-8 beyond ASCII is read.
  EXPECT_EQ(MONAIConfig::ReadFile(WriteFile("utf8.yaml", "name: \xC3\xA9t\xC3\xA9\n")).Resolve("name"), "\xC3\xA9t\xC3\xA9");
}

TEST(MONAIConfigYaml, OneDocumentAndNoLoopOnAStrayComma)
{
  // yaml-cpp 0.7's LoadAll loops without end on a stray "," (jbeder/yaml-cpp#1040; found by fuzzing).
  for (const char * text : { ",", ",:ransfl\rl", ", b" })
    EXPECT_THROW(MONAIConfig::ReadFile(WriteFile("comma.yaml", text)), medseg::InputError) << text;
  // yaml.load reads one document: a "---" start and a "..." end around it are fine, a second is not.
  EXPECT_EQ(MONAIConfig::ReadFile(WriteFile("one.yaml", "# c\n---\na: 1\n...\n")).Resolve("a"), 1);
  for (const char * text : { "a: 1\n---\nb: 2\n", "a: 1\n...\nb: 2\n", "---\na: 1\n--- \n" })
  {
    try
    {
      MONAIConfig::ReadFile(WriteFile("two.yaml", text));
      ADD_FAILURE() << text;
    }
    catch (const medseg::InputError & e)
    {
      EXPECT_NE(std::string(e.what()).find("starts another document"), std::string::npos) << e.what();
    }
  }
}
