#include "medsegPickleMachine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace medseg
{

// ---------------------------------------------------------------------------------------------
// PickleValue

namespace
{

/** The key a Dict indexes `key` under (Python's equality: True == 1 == 1.0), empty if unhashable. */
std::string
HashKey(const PickleValue & key)
{
  switch (key.GetKind())
  {
    case PickleValue::Kind::None:
      return "n";
    case PickleValue::Kind::Bool:
      return "i" + std::to_string(key.AsBool() ? 1 : 0);
    case PickleValue::Kind::Int:
      return "i" + std::to_string(key.AsInt());
    case PickleValue::Kind::Float:
    {
      const double v = key.AsFloat();
      if (std::isfinite(v) && v > -9.2e18 && v < 9.2e18 && v == std::trunc(v))
      {
        return "i" + std::to_string(static_cast<int64_t>(v));
      }
      std::string bits(sizeof v, '\0');
      std::memcpy(&bits[0], &v, sizeof v);
      return "f" + bits;
    }
    case PickleValue::Kind::String:
      return "s" + key.AsString();
    case PickleValue::Kind::Bytes:
      return "b" + key.AsString();
    default:
      return std::string(); // tuples, objects...: not indexed (kept in order, never merged)
  }
}

} // namespace

PickleValue::~PickleValue()
{
  // Deeply nested values (a crafted pickle can nest a million lists) are released iteratively.
  std::vector<PickleValuePtr> pending;
  auto                        takeChildren = [&pending](PickleValue & v) {
    for (auto & item : v.m_Items)
    {
      pending.push_back(std::move(item));
    }
    for (auto & item : v.m_DictItems)
    {
      pending.push_back(std::move(item.first));
      pending.push_back(std::move(item.second));
    }
    pending.push_back(std::move(v.m_State));
    v.m_Items.clear();
    v.m_DictItems.clear();
  };
  takeChildren(*this);
  while (!pending.empty())
  {
    PickleValuePtr value = std::move(pending.back());
    pending.pop_back();
    if (value && value.use_count() == 1)
    {
      takeChildren(const_cast<PickleValue &>(*value));
    }
  }
}

PickleValuePtr
PickleValue::MakeNone()
{
  return detail::PickleBuilder::New(Kind::None);
}
PickleValuePtr
PickleValue::MakeBool(bool value)
{
  return detail::PickleBuilder::NewBool(value);
}
PickleValuePtr
PickleValue::MakeInt(int64_t value)
{
  return detail::PickleBuilder::NewInt(value);
}
PickleValuePtr
PickleValue::MakeFloat(double value)
{
  return detail::PickleBuilder::NewFloat(value);
}
PickleValuePtr
PickleValue::MakeString(std::string value)
{
  return detail::PickleBuilder::NewString(Kind::String, std::move(value));
}
PickleValuePtr
PickleValue::MakeBytes(std::string value)
{
  return detail::PickleBuilder::NewString(Kind::Bytes, std::move(value));
}
PickleValuePtr
PickleValue::MakeList(std::vector<PickleValuePtr> items)
{
  return detail::PickleBuilder::NewSequence(Kind::List, std::move(items));
}
PickleValuePtr
PickleValue::MakeTuple(std::vector<PickleValuePtr> items)
{
  return detail::PickleBuilder::NewSequence(Kind::Tuple, std::move(items));
}
PickleValuePtr
PickleValue::MakeDict(const std::vector<DictItem> & items)
{
  auto dict = detail::PickleBuilder::New(Kind::Dict);
  for (const auto & item : items)
  {
    dict->SetDictItem(item.first, item.second);
  }
  return dict;
}
PickleValuePtr
PickleValue::MakeTensor(at::Tensor tensor)
{
  auto value = detail::PickleBuilder::New(Kind::Tensor);
  value->m_Tensor = std::move(tensor);
  return value;
}
PickleValuePtr
PickleValue::MakeObject(std::string className, std::vector<PickleValuePtr> arguments, PickleValuePtr state)
{
  auto value = detail::PickleBuilder::NewObject(std::move(className), std::move(arguments));
  value->m_State = std::move(state);
  return value;
}

void
PickleValue::Require(Kind kind, const char * wanted) const
{
  if (m_Kind != kind)
  {
    throw std::logic_error("pickle value is a " + KindName() + ", not a " + wanted);
  }
}

bool
PickleValue::AsBool() const
{
  Require(Kind::Bool, "bool");
  return m_Bool;
}
int64_t
PickleValue::AsInt() const
{
  Require(Kind::Int, "int");
  return m_Int;
}
double
PickleValue::AsFloat() const
{
  if (m_Kind == Kind::Int)
  {
    return static_cast<double>(m_Int);
  }
  Require(Kind::Float, "float");
  return m_Float;
}
const std::string &
PickleValue::AsString() const
{
  if (m_Kind != Kind::Bytes)
  {
    Require(Kind::String, "str");
  }
  return m_String;
}
const std::vector<PickleValuePtr> &
PickleValue::Items() const
{
  if (m_Kind != Kind::Tuple)
  {
    Require(Kind::List, "list or tuple");
  }
  return m_Items;
}
const std::vector<PickleValue::DictItem> &
PickleValue::DictItems() const
{
  Require(Kind::Dict, "dict");
  return m_DictItems;
}
const PickleValue *
PickleValue::Find(const std::string & key) const
{
  if (m_Kind != Kind::Dict)
  {
    return nullptr;
  }
  const auto it = m_DictIndex.find("s" + key);
  return it == m_DictIndex.end() ? nullptr : m_DictItems[it->second].second.get();
}
const at::Tensor &
PickleValue::AsTensor() const
{
  Require(Kind::Tensor, "tensor");
  return m_Tensor;
}
const std::string &
PickleValue::GetClassName() const
{
  Require(Kind::Object, "object");
  return m_String;
}
const std::vector<PickleValuePtr> &
PickleValue::GetArguments() const
{
  Require(Kind::Object, "object");
  return m_Items;
}
PickleValuePtr
PickleValue::GetState() const
{
  Require(Kind::Object, "object");
  return m_State;
}

std::string
PickleValue::KindName() const
{
  switch (m_Kind)
  {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Dict:
      return "dict";
    case Kind::Tensor:
      return "tensor";
    case Kind::Object:
      break;
  }
  return m_Role == Role::Global ? "global " + m_String : m_String + " object";
}

void
PickleValue::SetDictItem(PickleValuePtr key, PickleValuePtr value)
{
  const std::string hash = key ? HashKey(*key) : std::string();
  if (!hash.empty())
  {
    const auto found = m_DictIndex.find(hash);
    if (found != m_DictIndex.end())
    {
      m_DictItems[found->second].second = std::move(value); // Python keeps the first key's place
      return;
    }
    m_DictIndex.emplace(hash, m_DictItems.size());
  }
  m_DictItems.emplace_back(std::move(key), std::move(value));
}

// ---------------------------------------------------------------------------------------------
// PickleBuilder

namespace detail
{

PickleBuilder::Ptr
PickleBuilder::New(Kind kind)
{
  return Ptr(new PickleValue(kind));
}
PickleBuilder::Ptr
PickleBuilder::NewBool(bool value)
{
  Ptr v = New(Kind::Bool);
  v->m_Bool = value;
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewInt(int64_t value)
{
  Ptr v = New(Kind::Int);
  v->m_Int = value;
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewFloat(double value)
{
  Ptr v = New(Kind::Float);
  v->m_Float = value;
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewString(Kind kind, std::string value)
{
  Ptr v = New(kind);
  v->m_String = std::move(value);
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewSequence(Kind kind, std::vector<PickleValuePtr> items)
{
  Ptr v = New(kind);
  v->m_Items = std::move(items);
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewObject(std::string className, std::vector<PickleValuePtr> arguments)
{
  Ptr v = New(Kind::Object);
  v->m_String = std::move(className);
  v->m_Items = std::move(arguments);
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewGlobal(std::string name)
{
  Ptr v = NewObject(std::move(name), {});
  v->m_Role = PickleValue::Role::Global;
  return v;
}
PickleBuilder::Ptr
PickleBuilder::NewStorage(std::string className, at::Tensor storage)
{
  Ptr v = NewObject(std::move(className), {});
  v->m_Role = PickleValue::Role::Storage;
  v->m_Tensor = std::move(storage);
  return v;
}
bool
PickleBuilder::IsGlobal(const PickleValue & value)
{
  return value.m_Kind == Kind::Object && value.m_Role == PickleValue::Role::Global;
}
bool
PickleBuilder::IsStorage(const PickleValue & value)
{
  return value.m_Kind == Kind::Object && value.m_Role == PickleValue::Role::Storage;
}
const at::Tensor &
PickleBuilder::StorageTensor(const PickleValue & value)
{
  return value.m_Tensor;
}
void
PickleBuilder::Append(PickleValue & container, PickleValuePtr item)
{
  container.m_Items.push_back(std::move(item));
}
void
PickleBuilder::SetItem(PickleValue & dict, PickleValuePtr key, PickleValuePtr value)
{
  dict.SetDictItem(std::move(key), std::move(value));
}
void
PickleBuilder::SetState(PickleValue & object, PickleValuePtr state)
{
  object.m_State = std::move(state);
}
void
PickleBuilder::Clear(const PtrSet & values)
{
  for (const Ptr & value : values)
  {
    Clear(*value);
  }
}
void
PickleBuilder::Clear(PickleValue & value)
{
  // Moved out first: freeing the children may free values whose destructors look at this one.
  std::vector<PickleValuePtr>       items = std::move(value.m_Items);
  std::vector<PickleValue::DictItem> dict = std::move(value.m_DictItems);
  PickleValuePtr                     state = std::move(value.m_State);
  value.m_Items.clear();
  value.m_DictItems.clear();
  value.m_DictIndex.clear();
  value.m_State.reset();
}
bool
PickleBuilder::ReachesItself(const PtrSet & roots)
{
  // Iterative depth-first search (a fuzzed pickle nests deeper than the call stack allows).
  enum class Mark
  {
    Open,
    Done
  };
  std::unordered_map<const PickleValue *, Mark>                  marks;
  std::vector<std::pair<const PickleValue *, std::vector<const PickleValue *>>> path;
  for (const Ptr & root : roots)
  {
    if (marks.count(root.get()))
    {
      continue;
    }
    marks[root.get()] = Mark::Open;
    path.emplace_back(root.get(), PickleBuilder::Children(*root));
    while (!path.empty())
    {
      auto & [node, pending] = path.back();
      if (pending.empty())
      {
        marks[node] = Mark::Done;
        path.pop_back();
        continue;
      }
      const PickleValue * child = pending.back();
      pending.pop_back();
      const auto found = marks.find(child);
      if (found != marks.end())
      {
        if (found->second == Mark::Open)
        {
          return true;
        }
        continue;
      }
      marks[child] = Mark::Open;
      path.emplace_back(child, PickleBuilder::Children(*child));
    }
  }
  return false;
}

std::vector<const PickleValue *>
PickleBuilder::Children(const PickleValue & value)
{
  std::vector<const PickleValue *> children;
  for (const auto & item : value.m_Items)
  {
    children.push_back(item.get());
  }
  for (const auto & [key, item] : value.m_DictItems)
  {
    children.push_back(key.get());
    children.push_back(item.get());
  }
  children.push_back(value.m_State.get());
  children.erase(std::remove(children.begin(), children.end(), nullptr), children.end());
  return children;
}
void
PickleBuilder::SetTensor(PickleValue & value, at::Tensor tensor)
{
  value.m_Tensor = std::move(tensor);
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Python's own reducers (builtins, collections, _codecs, numpy scalars)

namespace detail
{

namespace
{

using Ptr = PickleBuilder::Ptr;
using Kind = PickleValue::Kind;

/** UTF-8 text -> the bytes of its code points (Python's str.encode('latin1')); false if a code
 * point is above 255 or the text is not UTF-8. */
bool
Latin1Bytes(const std::string & text, std::string & bytes)
{
  bytes.clear();
  for (size_t i = 0; i < text.size(); ++i)
  {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80)
    {
      bytes.push_back(static_cast<char>(c));
    }
    else if ((c & 0xE0) == 0xC0 && i + 1 < text.size() && (text[i + 1] & 0xC0) == 0x80)
    {
      const unsigned codePoint = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      if (codePoint > 0xFF)
      {
        return false;
      }
      bytes.push_back(static_cast<char>(codePoint));
      ++i;
    }
    else
    {
      return false;
    }
  }
  return true;
}

const std::string *
StringArgument(const std::vector<PickleValuePtr> & args, size_t i)
{
  if (i >= args.size() || !args[i] ||
      (args[i]->GetKind() != Kind::String && args[i]->GetKind() != Kind::Bytes))
  {
    return nullptr;
  }
  return &args[i]->AsString();
}

/** numpy.core.multiarray.scalar(dtype, bytes) for plain numeric and bool dtypes (numpy pickles a
 * dtype as numpy.dtype('f8', False, True) with BUILD state (3, '<', ...)); nullptr otherwise. */
Ptr
NumpyScalar(const std::vector<PickleValuePtr> & args)
{
  const std::string * raw = StringArgument(args, 1);
  if (args.size() != 2 || !raw || !args[0] || args[0]->GetKind() != Kind::Object ||
      args[0]->GetClassName() != "numpy.dtype")
  {
    return nullptr;
  }
  const std::string * code = StringArgument(args[0]->GetArguments(), 0);
  if (!code || code->size() != 2)
  {
    return nullptr;
  }
  const PickleValuePtr state = args[0]->GetState();
  bool                 swap = false;
  if (state && state->GetKind() == Kind::Tuple && state->Items().size() > 1)
  {
    const std::string * order = StringArgument(state->Items(), 1);
    swap = order && *order == ">"; // MedSeg runs on little-endian hosts
  }
  const char   type = (*code)[0];
  const size_t width = static_cast<size_t>((*code)[1] - '0');
  if (raw->size() != width || (width != 1 && width != 2 && width != 4 && width != 8))
  {
    return nullptr;
  }
  unsigned char b[8] = {};
  for (size_t i = 0; i < width; ++i)
  {
    b[i] = static_cast<unsigned char>((*raw)[swap ? width - 1 - i : i]);
  }
  uint64_t bits = 0;
  for (size_t i = 0; i < width; ++i)
  {
    bits |= static_cast<uint64_t>(b[i]) << (8 * i);
  }
  if (type == 'b' && width == 1)
  {
    return PickleBuilder::NewBool(bits != 0);
  }
  if (type == 'f' && width == 8)
  {
    double v;
    std::memcpy(&v, &bits, 8);
    return PickleBuilder::NewFloat(v);
  }
  if (type == 'f' && width == 4)
  {
    const auto u = static_cast<uint32_t>(bits);
    float      v;
    std::memcpy(&v, &u, 4);
    return PickleBuilder::NewFloat(v);
  }
  if (type == 'i')
  {
    const unsigned shift = static_cast<unsigned>(64 - 8 * width);
    return PickleBuilder::NewInt(static_cast<int64_t>(bits << shift) >> shift); // sign-extend
  }
  if (type == 'u' && (width < 8 || bits <= static_cast<uint64_t>(INT64_MAX)))
  {
    return PickleBuilder::NewInt(static_cast<int64_t>(bits));
  }
  return nullptr;
}

} // namespace

PickleBuilder::Ptr
PythonReduce(const std::string & name, const std::vector<PickleValuePtr> & args)
{
  if (name == "collections.OrderedDict" || name == "builtins.dict")
  {
    auto dict = PickleBuilder::New(Kind::Dict);
    if (args.empty())
    {
      return dict;
    }
    if (args.size() == 1 && args[0] && (args[0]->GetKind() == Kind::List || args[0]->GetKind() == Kind::Tuple))
    {
      for (const auto & pair : args[0]->Items())
      {
        if (!pair || (pair->GetKind() != Kind::List && pair->GetKind() != Kind::Tuple) || pair->Items().size() != 2)
        {
          return nullptr;
        }
        PickleBuilder::SetItem(*dict, pair->Items()[0], pair->Items()[1]);
      }
      return dict;
    }
    return nullptr;
  }
  if (name == "builtins.set" || name == "builtins.frozenset")
  {
    if (args.empty())
    {
      return PickleBuilder::NewObject(name, {});
    }
    if (args.size() == 1 && args[0] && (args[0]->GetKind() == Kind::List || args[0]->GetKind() == Kind::Tuple))
    {
      return PickleBuilder::NewObject(name, args[0]->Items());
    }
    return nullptr;
  }
  if (name == "_codecs.encode" || name == "builtins.bytes" || name == "builtins.bytearray")
  {
    // Protocol 2 writes bytes b as _codecs.encode(b.decode('latin1'), 'latin1').
    if (args.empty() && name != "_codecs.encode")
    {
      return PickleBuilder::NewString(Kind::Bytes, std::string());
    }
    const std::string * text = StringArgument(args, 0);
    if (args.size() == 1 && text && args[0]->GetKind() == Kind::Bytes)
    {
      return PickleBuilder::NewString(Kind::Bytes, *text);
    }
    const std::string * encoding = StringArgument(args, 1);
    std::string         bytes;
    if (args.size() == 2 && text && encoding && args[0]->GetKind() == Kind::String)
    {
      if (*encoding == "utf-8" || *encoding == "utf8")
      {
        return PickleBuilder::NewString(Kind::Bytes, *text);
      }
      if ((*encoding == "latin1" || *encoding == "latin-1" || *encoding == "iso-8859-1") && Latin1Bytes(*text, bytes))
      {
        return PickleBuilder::NewString(Kind::Bytes, bytes);
      }
    }
    return nullptr;
  }
  if (name == "numpy.core.multiarray.scalar" || name == "numpy._core.multiarray.scalar")
  {
    return NumpyScalar(args);
  }
  return nullptr;
}

} // namespace detail

} // namespace medseg
