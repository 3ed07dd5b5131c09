#ifndef medsegJsonFields_h
#define medsegJsonFields_h

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace medseg
{

/** \brief Reads the fields of one JSON object strictly, with errors that name the field.
 *
 * MedSeg's one reader of JSON documents people write by hand (model.json, training configs,
 * network hyper-parameters). Every problem is InputError(subject, "field '<path>' <problem>"),
 * where <path> is the dotted path from the document's root ("inference.patch_size",
 * "augmentation.rotation.degrees", "labels[1].value"). Keys may be dotted to reach into nested
 * objects ("inference.overlap"); a key whose value is null counts as absent.
 *
 * The optional readers leave `value` as it is when the key is absent (its default), and refuse a
 * present value of the wrong type or out of range. */
class JsonFields
{
public:
  /** `path`: where `object` sits in the document ("" for the root). Refuses a non-object. */
  JsonFields(const nlohmann::json & object, std::string subject, std::string path = "");

  /** Refuses keys other than `known`: "field '<key>' is not a known key (known: a, b, c)". */
  void
  AllowOnly(const std::set<std::string> & known) const;

  [[noreturn]] void
  Fail(const std::string & key, const std::string & problem) const;

  /** The value at `key` (dotted), or null when it is absent or null. */
  const nlohmann::json *
  Find(const std::string & key) const;
  bool
  Has(const std::string & key) const
  {
    return Find(key) != nullptr;
  }
  /** The value at `key`; "is missing" when absent. */
  const nlohmann::json &
  Required(const std::string & key) const;
  /** The object at `key` as fields of its own (its path prefixed); "must be an object". */
  JsonFields
  Object(const std::string & key) const;
  /** "<path>.<key>": how messages name `key`. */
  std::string
  PathOf(const std::string & key) const;
  const std::string &
  GetSubject() const
  {
    return m_Subject;
  }

  void
  Boolean(const std::string & key, bool & value) const;
  /** A finite number in [low, high] (high = infinity: no upper bound). */
  void
  Number(const std::string & key, double & value, double low, double high) const;
  /** An integer in [low, high], into any integer type that holds the range. */
  template <typename TInteger>
  void
  Integer(const std::string & key, TInteger & value, int64_t low, int64_t high) const
  {
    int64_t wide = static_cast<int64_t>(value);
    if (ReadInteger(key, wide, low, high))
      value = static_cast<TInteger>(wide);
  }
  /** A string, one of `choices` when they are given. */
  void
  String(const std::string & key, std::string & value, const std::set<std::string> & choices = {}) const;
  /** A list of `count` finite numbers in [low, high] (high = infinity: no upper bound). */
  void
  Numbers(const std::string & key, std::vector<double> & value, size_t count, double low, double high) const;
  template <size_t N>
  void
  Numbers(const std::string & key, std::array<double, N> & value, double low, double high) const
  {
    std::vector<double> v(value.begin(), value.end());
    Numbers(key, v, N, low, high);
    std::copy(v.begin(), v.end(), value.begin());
  }
  /** A list of integers in [low, high] with between `minimum` and `maximum` entries. */
  void
  Integers(const std::string & key, std::vector<int64_t> & value, size_t minimum, size_t maximum, int64_t low,
           int64_t high) const;

  /** How a number is shown in messages: as short as it reads ("0.5", "1e-05", "4096"). */
  static std::string
  Show(double value);

private:
  bool
  ReadInteger(const std::string & key, int64_t & value, int64_t low, int64_t high) const;

  const nlohmann::json & m_Object;
  std::string            m_Subject;
  std::string            m_Path;
};

} // namespace medseg

#endif
