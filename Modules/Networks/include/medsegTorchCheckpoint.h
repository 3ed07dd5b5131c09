#ifndef medsegTorchCheckpoint_h
#define medsegTorchCheckpoint_h

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace medseg
{

class PickleValue;
/** A value read from a pickle; values are shared, as the pickle's memo shares them. */
using PickleValuePtr = std::shared_ptr<const PickleValue>;

namespace detail
{
class PickleBuilder;
}

/** \brief One Python value of an unpickled PyTorch checkpoint.
 *
 * Python's built-in types map to their kinds (int -> Int (64 bit), float -> Float, str -> String,
 * bytes and bytearray -> Bytes, dict and collections.OrderedDict -> Dict in insertion order).
 * torch tensors and parameters are Tensor (on the CPU, requires_grad off, possibly views sharing
 * one storage, as in Python). numpy scalars of a plain numeric or bool dtype become Int, Float or
 * Bool. Everything else is an Object: a class name ("torch.device", "builtins.set",
 * "numpy.dtype", the callable of an unknown REDUCE, a bare GLOBAL) with the arguments it was built
 * from (a set's elements for builtins.set / frozenset; NEWOBJ_EX keyword arguments as a last dict;
 * items that APPENDS / SETITEMS give an unknown class, the latter as (key, value) tuples) and the
 * state BUILD gave it. Integers beyond 64 bits are "builtins.int" objects holding their
 * little-endian two's complement bytes. */
class PickleValue
{
public:
  enum class Kind
  {
    None,
    Bool,
    Int,
    Float,
    String,
    Bytes,
    List,
    Tuple,
    Dict,
    Tensor,
    Object
  };
  using DictItem = std::pair<PickleValuePtr, PickleValuePtr>;

  ~PickleValue();
  PickleValue(const PickleValue &) = delete;
  PickleValue &
  operator=(const PickleValue &) = delete;

  /** \name Factories (for callers that build values, e.g. tests) */
  ///@{
  static PickleValuePtr
  MakeNone();
  static PickleValuePtr
  MakeBool(bool value);
  static PickleValuePtr
  MakeInt(int64_t value);
  static PickleValuePtr
  MakeFloat(double value);
  static PickleValuePtr
  MakeString(std::string value);
  static PickleValuePtr
  MakeBytes(std::string value);
  static PickleValuePtr
  MakeList(std::vector<PickleValuePtr> items);
  static PickleValuePtr
  MakeTuple(std::vector<PickleValuePtr> items);
  /** Later duplicates of a key replace the earlier value in its place, as in Python. */
  static PickleValuePtr
  MakeDict(const std::vector<DictItem> & items);
  static PickleValuePtr
  MakeTensor(at::Tensor tensor);
  static PickleValuePtr
  MakeObject(std::string className, std::vector<PickleValuePtr> arguments, PickleValuePtr state = nullptr);
  ///@}

  Kind
  GetKind() const
  {
    return m_Kind;
  }
  /** The accessors below throw std::logic_error when the value is of another kind. */
  bool
  AsBool() const;
  int64_t
  AsInt() const;
  /** Float, or Int converted. */
  double
  AsFloat() const;
  /** String (UTF-8) or Bytes. */
  const std::string &
  AsString() const;
  /** List or Tuple. */
  const std::vector<PickleValuePtr> &
  Items() const;
  /** Dict, in pickle (insertion) order. */
  const std::vector<DictItem> &
  DictItems() const;
  /** The value of a string key of a Dict; nullptr if absent or if this is not a Dict. */
  const PickleValue *
  Find(const std::string & key) const;
  const at::Tensor &
  AsTensor() const;
  /** Object: "module.qualname", e.g. "torch.device". */
  const std::string &
  GetClassName() const;
  /** Object: the constructor / REDUCE arguments (may be empty). */
  const std::vector<PickleValuePtr> &
  GetArguments() const;
  /** Object: the BUILD state, or nullptr. */
  PickleValuePtr
  GetState() const;
  /** For messages: "None", "bool", "int", "float", "str", "bytes", "list", "tuple", "dict",
   * "tensor", "<class name> object". */
  std::string
  KindName() const;

private:
  friend class detail::PickleBuilder;
  /** How an Object came about (the pickle machine treats them differently). */
  enum class Role
  {
    Instance, //!< built by REDUCE / NEWOBJ / a known reducer
    Global,   //!< a bare GLOBAL: a class or function, callable by REDUCE
    Storage   //!< a tensor storage (persistent id); m_Tensor holds it as a 1-D tensor
  };

  explicit PickleValue(Kind kind)
    : m_Kind(kind)
  {}
  void
  Require(Kind kind, const char * wanted) const;
  void
  SetDictItem(PickleValuePtr key, PickleValuePtr value);

  Kind    m_Kind;
  Role    m_Role{ Role::Instance };
  bool    m_Bool{ false };
  int64_t m_Int{ 0 };
  double  m_Float{ 0.0 };
  /** String / Bytes contents, or an Object's class name. */
  std::string m_String;
  /** List / Tuple items, or an Object's arguments. */
  std::vector<PickleValuePtr> m_Items;
  std::vector<DictItem>       m_DictItems;
  /** Dict: hashable key (kind tag + value) -> position in m_DictItems. */
  std::unordered_map<std::string, size_t> m_DictIndex;
  at::Tensor                              m_Tensor;
  PickleValuePtr                          m_State;
};

/** \brief Reads a file written by torch.save (zip format, pickle protocol 2-5), natively.
 *
 * The archive (PyTorchStreamReader) holds `<top>/data.pkl` and the storages `<top>/data/<key>`;
 * the pickle is run by MedSeg's own machine, so unknown globals (numpy scalars, custom classes)
 * become Object values instead of errors. Storages load on the CPU whatever location they were
 * saved from ("cuda:0"). Throws InputError(path, ...) for a file that is not a torch.save zip
 * archive (a legacy non-zip torch.save file and a TorchScript archive are named as such) and for a
 * truncated or corrupt pickle or storage record. */
PickleValuePtr
ReadTorchCheckpoint(const std::string & path);

/** \brief The tensors of a state dict (dict or OrderedDict of str -> tensor), in order.
 *
 * Throws InputError(subject, ...) when `value` is not a dict, a key is not a string or a value is
 * not a tensor (naming the key). */
std::vector<std::pair<std::string, at::Tensor>>
StateDictFromPickle(const PickleValue & value, const std::string & subject);

} // namespace medseg

#endif
