// JsonFields: MedSeg's one strict reader of hand-written JSON (model.json, training configs,
// network hyper-parameters): every refusal names the subject and the field's dotted path.
#include "medsegError.h"
#include "medsegJsonFields.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>

using namespace medseg;
using nlohmann::json;

namespace
{
/** The problem of the InputError `body` throws, "" when it throws none. */
std::string
Refusal(const std::function<void()> & body)
{
  try
  {
    body();
  }
  catch (const InputError & e)
  {
    EXPECT_EQ(e.GetSubject(), "config.json");
    return e.GetProblem();
  }
  return "";
}
} // namespace

TEST(JsonFields, ReadsPresentValuesAndLeavesDefaultsForAbsentOrNullOnes)
{
  const json document = json::parse(R"({"a": {"b": 0.25, "n": 7, "flag": true, "name": "x", "nothing": null},
                                        "list": [1, 2, 3], "ints": [4, 5]})");
  const JsonFields f(document, "config.json");
  double           b = -1, missing = 42;
  int              n = 0;
  int64_t          big = 0;
  bool             flag = false;
  std::string      name, none = "kept";
  f.Number("a.b", b, 0, 1);
  f.Number("a.c", missing, 0, 100);
  f.Integer("a.n", n, 0, 10);
  f.Integer("a.n", big, 0, 10);
  f.Boolean("a.flag", flag);
  f.String("a.name", name, { "x", "y" });
  f.String("a.nothing", none);
  EXPECT_EQ(b, 0.25);
  EXPECT_EQ(missing, 42);
  EXPECT_EQ(n, 7);
  EXPECT_EQ(big, 7);
  EXPECT_TRUE(flag);
  EXPECT_EQ(name, "x");
  EXPECT_EQ(none, "kept");
  EXPECT_FALSE(f.Has("a.nothing"));
  std::array<double, 3> list{};
  f.Numbers("list", list, 0, std::numeric_limits<double>::infinity());
  EXPECT_EQ(list, (std::array<double, 3>{ { 1, 2, 3 } }));
  std::vector<int64_t> ints;
  f.Integers("ints", ints, 1, 4, 0, 9);
  EXPECT_EQ(ints, (std::vector<int64_t>{ 4, 5 }));
  const JsonFields a = f.Object("a");
  EXPECT_EQ(a.PathOf("b"), "a.b");
}

TEST(JsonFields, EveryRefusalNamesTheFieldByItsPath)
{
  const json document = json::parse(R"({"a": {"b": "text", "n": 2.5, "big": 18446744073709551615, "flag": 1},
                                        "list": [1, -2], "extra": 0})");
  const JsonFields f(document, "config.json");
  double           d = 0;
  int64_t          i = 0;
  bool             flag = false;
  std::string      s;
  std::vector<int64_t> ints;
  EXPECT_EQ(Refusal([&] { f.Number("a.b", d, 0, 1); }), "field 'a.b' must be a number in [0, 1]");
  EXPECT_EQ(Refusal([&] { f.Integer("a.n", i, 0, 10); }), "field 'a.n' must be an integer in [0, 10]");
  EXPECT_EQ(Refusal([&] { f.Integer("a.big", i, 0, 10); }), "field 'a.big' must be an integer in [0, 10]");
  EXPECT_EQ(Refusal([&] { f.Boolean("a.flag", flag); }), "field 'a.flag' must be true or false");
  EXPECT_EQ(Refusal([&] { f.String("a.n", s); }), "field 'a.n' must be a string");
  EXPECT_EQ(Refusal([&] { f.String("a.b", s, { "x", "y" }); }), "field 'a.b' is 'text'; expected one of x, y");
  EXPECT_EQ(Refusal([&] { f.Required("a.missing"); }), "field 'a.missing' is missing");
  EXPECT_EQ(Refusal([&] {
              std::vector<double> v;
              f.Numbers("list", v, 2, 0, std::numeric_limits<double>::infinity());
            }),
            "field 'list' must hold numbers >= 0");
  EXPECT_EQ(Refusal([&] { f.Integers("list", ints, 3, 3, -9, 9); }),
            "field 'list' must be a list of 3 integers in [-9, 9]");
  EXPECT_EQ(Refusal([&] { f.AllowOnly({ "a", "list" }); }), "field 'extra' is not a known key (known: a, list)");
  EXPECT_EQ(Refusal([&] { f.Object("list"); }), "field 'list' must be an object");
  EXPECT_EQ(Refusal([&] { f.Object("a").Fail("b", "is wrong"); }), "field 'a.b' is wrong");
  EXPECT_EQ(Refusal([] { JsonFields(json::array(), "config.json"); }), "must be a JSON object, not array");
  // Nothing was written by a refused read.
  EXPECT_EQ(d, 0);
  EXPECT_EQ(i, 0);
  EXPECT_TRUE(ints.empty());
}
