#include "medsegPickleMachine.h"

#include "medsegError.h"

#include <cstring>
#include <unordered_map>

namespace medseg::detail
{

namespace
{

using Ptr = PickleBuilder::Ptr;
using Kind = PickleValue::Kind;

/** Python 2 module names that protocol 0-2 pickles carry (as pickle's _compat_pickle maps them). */
std::string
FixModuleName(const std::string & module)
{
  if (module == "__builtin__")
  {
    return "builtins";
  }
  if (module == "copy_reg")
  {
    return "copyreg";
  }
  return module;
}

/** The stack machine of pickle.py's _Unpickler, without running any code. */
class Machine
{
public:
  Machine(const char * data, size_t size, const PickleHooks & hooks, const std::string & subject,
          const std::string & what)
    : m_Data(reinterpret_cast<const unsigned char *>(data))
    , m_Size(size)
    , m_Hooks(hooks)
    , m_Subject(subject)
    , m_What(what)
  {}
  ~Machine();
  Machine(const Machine &) = delete;
  Machine &
  operator=(const Machine &) = delete;

  PickleValuePtr
  Run();

private:
  [[noreturn]] void
  Fail(const std::string & problem) const
  {
    throw InputError(m_Subject, "corrupt checkpoint: " + m_What + ": " + problem + " (opcode at byte " +
                                  std::to_string(m_OpcodePos) + ")");
  }
  const unsigned char *
  Take(uint64_t n)
  {
    if (n > m_Size - m_Pos)
    {
      Fail("truncated: " + std::to_string(n) + " bytes wanted, " + std::to_string(m_Size - m_Pos) + " left");
    }
    const unsigned char * p = m_Data + m_Pos;
    m_Pos += static_cast<size_t>(n);
    return p;
  }
  uint64_t
  ReadUnsigned(unsigned width)
  {
    const unsigned char * p = Take(width);
    uint64_t              v = 0;
    for (unsigned i = 0; i < width; ++i)
    {
      v |= static_cast<uint64_t>(p[i]) << (8 * i);
    }
    return v;
  }
  std::string
  ReadBlob(uint64_t n)
  {
    const unsigned char * p = Take(n);
    return std::string(reinterpret_cast<const char *>(p), static_cast<size_t>(n));
  }
  std::string
  ReadLine()
  {
    const void * end = std::memchr(m_Data + m_Pos, '\n', m_Size - m_Pos);
    if (!end)
    {
      Fail("truncated: no end of line");
    }
    const size_t n = static_cast<size_t>(static_cast<const unsigned char *>(end) - (m_Data + m_Pos));
    std::string  line = ReadBlob(n);
    Take(1);
    return line;
  }
  size_t
  FrameStart() const
  {
    return m_Marks.empty() ? 0 : m_Marks.back();
  }
  void
  Push(Ptr value)
  {
    m_Stack.push_back(std::move(value));
  }
  Ptr
  Pop()
  {
    if (m_Stack.size() <= FrameStart())
    {
      Fail("stack underflow");
    }
    Ptr v = std::move(m_Stack.back());
    m_Stack.pop_back();
    return v;
  }
  Ptr &
  Top()
  {
    if (m_Stack.size() <= FrameStart())
    {
      Fail("stack underflow");
    }
    return m_Stack.back();
  }
  std::vector<PickleValuePtr>
  PopMark()
  {
    if (m_Marks.empty())
    {
      Fail("no MARK on the stack");
    }
    const size_t                start = m_Marks.back();
    std::vector<PickleValuePtr> items(m_Stack.begin() + static_cast<std::ptrdiff_t>(start), m_Stack.end());
    m_Stack.resize(start);
    m_Marks.pop_back();
    return items;
  }
  Ptr
  PopTuple(const char * what)
  {
    Ptr v = Pop();
    if (v->GetKind() != Kind::Tuple)
    {
      Fail(std::string(what) + " is a " + v->KindName() + ", not a tuple");
    }
    return v;
  }
  void
  MemoPut(uint64_t index)
  {
    m_Memo[index] = Top();
  }
  void
  MemoGet(uint64_t index)
  {
    const auto it = m_Memo.find(index);
    if (it == m_Memo.end())
    {
      Fail("memo entry " + std::to_string(index) + " was never stored");
    }
    Push(it->second);
  }
  void
  PushInteger(const unsigned char * bytes, uint64_t n);
  Ptr
  Reduce(const PickleValue & callable, const std::vector<PickleValuePtr> & args);
  Ptr
  NewInstance(const PickleValue & cls, std::vector<PickleValuePtr> args);
  void
  SetItems(const Ptr & target, const std::vector<PickleValuePtr> & items);
  /** Records a value that gains references after it was made (APPEND, SETITEM, BUILD): only
   * such a value can close a reference cycle, which shared ownership never frees. */
  void
  Mutating(const Ptr & target);
  void
  Dispatch(unsigned char op);

  const unsigned char *                  m_Data;
  size_t                                 m_Size;
  size_t                                 m_Pos{ 0 };
  size_t                                 m_OpcodePos{ 0 };
  const PickleHooks &                    m_Hooks;
  const std::string &                    m_Subject;
  const std::string &                    m_What;
  std::vector<Ptr>                       m_Stack;
  std::vector<size_t>                    m_Marks;
  std::unordered_map<uint64_t, Ptr>      m_Memo;
  bool                                   m_Stopped{ false };
  bool                                   m_Finished{ false };
  PickleBuilder::PtrSet                   m_Mutated; //!< held until the end, so no address is reused
};

Machine::~Machine()
{
  // A refused pickle may have closed a cycle (a list appended to itself): empty every mutated
  // value so that the cycle's members are freed (found by the sanitizer build).
  if (!m_Finished)
  {
    PickleBuilder::Clear(m_Mutated);
  }
}

void
Machine::Mutating(const Ptr & target)
{
  m_Mutated.insert(target);
}


void
Machine::PushInteger(const unsigned char * bytes, uint64_t n)
{
  // LONG1 / LONG4: little-endian two's complement of n bytes.
  if (n == 0)
  {
    Push(PickleBuilder::NewInt(0));
    return;
  }
  const bool negative = (bytes[n - 1] & 0x80) != 0;
  for (uint64_t i = 8; i < n; ++i)
  {
    if (bytes[i] != (negative ? 0xFF : 0x00) || (i == 8 && ((bytes[7] & 0x80) != 0) != negative))
    {
      // Beyond 64 bits: kept as an Object holding the two's complement bytes.
      const std::string twosComplement(reinterpret_cast<const char *>(bytes), static_cast<size_t>(n));
      Push(PickleBuilder::NewObject("builtins.int", { PickleBuilder::NewString(Kind::Bytes, twosComplement) }));
      return;
    }
  }
  uint64_t bits = negative ? ~uint64_t{ 0 } : 0;
  for (uint64_t i = 0; i < n && i < 8; ++i)
  {
    bits &= ~(uint64_t{ 0xFF } << (8 * i));
    bits |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  }
  Push(PickleBuilder::NewInt(static_cast<int64_t>(bits)));
}

Ptr
Machine::Reduce(const PickleValue & callable, const std::vector<PickleValuePtr> & args)
{
  if (!PickleBuilder::IsGlobal(callable))
  {
    const std::string name = callable.GetKind() == Kind::Object ? callable.GetClassName() : callable.KindName();
    return PickleBuilder::NewObject(name, args);
  }
  const std::string & name = callable.GetClassName();
  if (name == "torch._utils._rebuild_from_type_v2" && args.size() >= 3 && args[0] &&
      PickleBuilder::IsGlobal(*args[0]) && args[0]->GetClassName() != name && args[2] &&
      args[2]->GetKind() == Kind::Tuple)
  {
    // A tensor subclass: rebuild the plain tensor (func(*args)), as torch._utils does first
    // (one level only: a crafted pickle could nest these without end).
    return Reduce(*args[0], args[2]->Items());
  }
  if (name == "copyreg.__newobj__" && !args.empty() && args[0])
  {
    return NewInstance(*args[0], std::vector<PickleValuePtr>(args.begin() + 1, args.end()));
  }
  if (name == "copyreg._reconstructor" && !args.empty() && args[0] && PickleBuilder::IsGlobal(*args[0]))
  {
    return NewInstance(*args[0], {});
  }
  if (m_Hooks.reduce)
  {
    if (Ptr v = m_Hooks.reduce(name, args))
    {
      return v;
    }
  }
  if (Ptr v = PythonReduce(name, args))
  {
    return v;
  }
  return PickleBuilder::NewObject(name, args);
}

Ptr
Machine::NewInstance(const PickleValue & cls, std::vector<PickleValuePtr> args)
{
  // cls.__new__(cls, *args): the builtin containers start empty (APPENDS / SETITEMS fill them).
  if (PickleBuilder::IsGlobal(cls))
  {
    const std::string & name = cls.GetClassName();
    if (name == "collections.OrderedDict" || name == "builtins.dict")
    {
      return PickleBuilder::New(Kind::Dict);
    }
    if (name == "builtins.list")
    {
      return PickleBuilder::New(Kind::List);
    }
    if (name == "builtins.set" || name == "builtins.frozenset")
    {
      return PickleBuilder::NewObject(name, {});
    }
    return PickleBuilder::NewObject(name, std::move(args));
  }
  return PickleBuilder::NewObject(cls.GetKind() == Kind::Object ? cls.GetClassName() : cls.KindName(),
                                  std::move(args));
}

void
Machine::SetItems(const Ptr & target, const std::vector<PickleValuePtr> & items)
{
  Mutating(target);
  if (items.size() % 2 != 0)
  {
    Fail("odd number of items for SETITEMS");
  }
  for (size_t i = 0; i < items.size(); i += 2)
  {
    if (target->GetKind() == Kind::Dict)
    {
      PickleBuilder::SetItem(*target, items[i], items[i + 1]);
    }
    else if (target->GetKind() == Kind::Object)
    {
      // __setitem__ of an unknown class: kept as (key, value) arguments.
      PickleBuilder::Append(*target, PickleBuilder::NewSequence(Kind::Tuple, { items[i], items[i + 1] }));
    }
    else
    {
      Fail("SETITEM on a " + target->KindName());
    }
  }
}

void
Machine::Dispatch(unsigned char op)
{
  switch (op)
  {
    case 0x80: // PROTO
    {
      const uint64_t version = ReadUnsigned(1);
      if (version > 5)
      {
        Fail("unsupported pickle protocol " + std::to_string(version));
      }
      break;
    }
    case 0x95: // FRAME: only a hint for buffered readers
      if (ReadUnsigned(8) > m_Size - m_Pos)
      {
        Fail("truncated: frame longer than the data");
      }
      break;
    case '.': // STOP
      m_Stopped = true;
      break;
    case '(': // MARK
      m_Marks.push_back(m_Stack.size());
      break;
    case '0': // POP (of an empty frame: its MARK, as pickle.py does)
      if (m_Stack.size() == FrameStart() && !m_Marks.empty())
      {
        PopMark();
      }
      else
      {
        Pop();
      }
      break;
    case '1': // POP_MARK
      PopMark();
      break;
    case '2': // DUP
      Push(Top());
      break;
    case 'N':
      Push(PickleBuilder::New(Kind::None));
      break;
    case 0x88: // NEWTRUE
    case 0x89: // NEWFALSE
      Push(PickleBuilder::NewBool(op == 0x88));
      break;
    case 'J': // BININT
      Push(PickleBuilder::NewInt(static_cast<int32_t>(static_cast<uint32_t>(ReadUnsigned(4)))));
      break;
    case 'K': // BININT1
      Push(PickleBuilder::NewInt(static_cast<int64_t>(ReadUnsigned(1))));
      break;
    case 'M': // BININT2
      Push(PickleBuilder::NewInt(static_cast<int64_t>(ReadUnsigned(2))));
      break;
    case 0x8a: // LONG1
    case 0x8b: // LONG4
    {
      const uint64_t n = op == 0x8a ? ReadUnsigned(1) : ReadUnsigned(4);
      if (op == 0x8b && (n & 0x80000000u))
      {
        Fail("negative LONG4 length");
      }
      PushInteger(Take(n), n);
      break;
    }
    case 'G': // BINFLOAT: big-endian IEEE 754
    {
      const unsigned char * p = Take(8);
      uint64_t              bits = 0;
      for (int i = 0; i < 8; ++i)
      {
        bits = (bits << 8) | p[i];
      }
      double v;
      std::memcpy(&v, &bits, 8);
      Push(PickleBuilder::NewFloat(v));
      break;
    }
    case 0x8c: // SHORT_BINUNICODE
      Push(PickleBuilder::NewString(Kind::String, ReadBlob(ReadUnsigned(1))));
      break;
    case 'X': // BINUNICODE
      Push(PickleBuilder::NewString(Kind::String, ReadBlob(ReadUnsigned(4))));
      break;
    case 0x8d: // BINUNICODE8
      Push(PickleBuilder::NewString(Kind::String, ReadBlob(ReadUnsigned(8))));
      break;
    case 'U': // SHORT_BINSTRING (Python 2 str; torch.load decodes it as text)
      Push(PickleBuilder::NewString(Kind::String, ReadBlob(ReadUnsigned(1))));
      break;
    case 'T': // BINSTRING
    {
      const uint64_t n = ReadUnsigned(4);
      if (n & 0x80000000u)
      {
        Fail("negative BINSTRING length");
      }
      Push(PickleBuilder::NewString(Kind::String, ReadBlob(n)));
      break;
    }
    case 'C': // SHORT_BINBYTES
      Push(PickleBuilder::NewString(Kind::Bytes, ReadBlob(ReadUnsigned(1))));
      break;
    case 'B': // BINBYTES
      Push(PickleBuilder::NewString(Kind::Bytes, ReadBlob(ReadUnsigned(4))));
      break;
    case 0x8e: // BINBYTES8
    case 0x96: // BYTEARRAY8
      Push(PickleBuilder::NewString(Kind::Bytes, ReadBlob(ReadUnsigned(8))));
      break;
    case 0x97: // NEXT_BUFFER
    case 0x98: // READONLY_BUFFER
      Fail("out-of-band buffers are not part of a torch.save file");
    case ']': // EMPTY_LIST
      Push(PickleBuilder::New(Kind::List));
      break;
    case 'l': // LIST
      Push(PickleBuilder::NewSequence(Kind::List, PopMark()));
      break;
    case 'a': // APPEND
    {
      Ptr item = Pop();
      Ptr list = Top();
      if (list->GetKind() != Kind::List && list->GetKind() != Kind::Object)
      {
        Fail("APPEND to a " + list->KindName());
      }
      Mutating(list);
      PickleBuilder::Append(*list, std::move(item));
      break;
    }
    case 'e': // APPENDS
    case 0x90: // ADDITEMS
    {
      std::vector<PickleValuePtr> items = PopMark();
      Ptr                         target = Top();
      if (target->GetKind() != Kind::List && target->GetKind() != Kind::Object)
      {
        Fail(std::string(op == 'e' ? "APPENDS" : "ADDITEMS") + " to a " + target->KindName());
      }
      Mutating(target);
      for (auto & item : items)
      {
        PickleBuilder::Append(*target, std::move(item));
      }
      break;
    }
    case '}': // EMPTY_DICT
      Push(PickleBuilder::New(Kind::Dict));
      break;
    case 'd': // DICT
    {
      Ptr dict = PickleBuilder::New(Kind::Dict);
      SetItems(dict, PopMark());
      Push(std::move(dict));
      break;
    }
    case 's': // SETITEM
    {
      Ptr value = Pop();
      Ptr key = Pop();
      SetItems(Top(), { std::move(key), std::move(value) });
      break;
    }
    case 'u': // SETITEMS
    {
      std::vector<PickleValuePtr> items = PopMark();
      SetItems(Top(), items);
      break;
    }
    case ')': // EMPTY_TUPLE
      Push(PickleBuilder::New(Kind::Tuple));
      break;
    case 't': // TUPLE
      Push(PickleBuilder::NewSequence(Kind::Tuple, PopMark()));
      break;
    case 0x85: // TUPLE1
    case 0x86: // TUPLE2
    case 0x87: // TUPLE3
    {
      const size_t                n = static_cast<size_t>(op - 0x84);
      std::vector<PickleValuePtr> items(n);
      for (size_t i = n; i-- > 0;)
      {
        items[i] = Pop();
      }
      Push(PickleBuilder::NewSequence(Kind::Tuple, std::move(items)));
      break;
    }
    case 0x8f: // EMPTY_SET
      Push(PickleBuilder::NewObject("builtins.set", {}));
      break;
    case 0x91: // FROZENSET
      Push(PickleBuilder::NewObject("builtins.frozenset", PopMark()));
      break;
    case 'c': // GLOBAL
    {
      const std::string module = FixModuleName(ReadLine());
      const std::string name = ReadLine();
      Push(PickleBuilder::NewGlobal(module + "." + name));
      break;
    }
    case 0x93: // STACK_GLOBAL
    {
      Ptr name = Pop();
      Ptr module = Pop();
      if (name->GetKind() != Kind::String || module->GetKind() != Kind::String)
      {
        Fail("STACK_GLOBAL of a non-string name");
      }
      Push(PickleBuilder::NewGlobal(FixModuleName(module->AsString()) + "." + name->AsString()));
      break;
    }
    case 'R': // REDUCE
    {
      Ptr args = PopTuple("REDUCE arguments");
      Ptr callable = Pop();
      Push(Reduce(*callable, args->Items()));
      break;
    }
    case 0x81: // NEWOBJ
    {
      Ptr args = PopTuple("NEWOBJ arguments");
      Ptr cls = Pop();
      Push(NewInstance(*cls, args->Items()));
      break;
    }
    case 0x92: // NEWOBJ_EX: keyword arguments, when any, become a last dict argument
    {
      Ptr kwargs = Pop();
      Ptr args = PopTuple("NEWOBJ_EX arguments");
      Ptr cls = Pop();
      std::vector<PickleValuePtr> all = args->Items();
      if (kwargs->GetKind() != Kind::Dict || !kwargs->DictItems().empty())
      {
        all.push_back(kwargs);
      }
      Push(NewInstance(*cls, std::move(all)));
      break;
    }
    case 'o': // OBJ
    {
      std::vector<PickleValuePtr> items = PopMark();
      if (items.empty())
      {
        Fail("OBJ without a class");
      }
      Push(NewInstance(*items.front(), std::vector<PickleValuePtr>(items.begin() + 1, items.end())));
      break;
    }
    case 'i': // INST
    {
      const std::string module = FixModuleName(ReadLine());
      const std::string name = ReadLine();
      Push(NewInstance(*PickleBuilder::NewGlobal(module + "." + name), PopMark()));
      break;
    }
    case 'b': // BUILD: the state of an instance; an OrderedDict's __dict__ (_metadata) is dropped
    {
      Ptr state = Pop();
      Ptr target = Top();
      if (target->GetKind() == Kind::Object && !PickleBuilder::IsGlobal(*target))
      {
        Mutating(target);
        PickleBuilder::SetState(*target, std::move(state));
      }
      break;
    }
    case 'Q': // BINPERSID
    case 'P': // PERSID
    {
      Ptr id = op == 'Q' ? Pop() : PickleBuilder::NewString(Kind::String, ReadLine());
      if (!m_Hooks.persistentLoad)
      {
        Fail("persistent id without a loader");
      }
      Push(m_Hooks.persistentLoad(*id));
      break;
    }
    case 0x94: // MEMOIZE
      MemoPut(m_Memo.size());
      break;
    case 'q': // BINPUT
      MemoPut(ReadUnsigned(1));
      break;
    case 'r': // LONG_BINPUT
      MemoPut(ReadUnsigned(4));
      break;
    case 'h': // BINGET
      MemoGet(ReadUnsigned(1));
      break;
    case 'j': // LONG_BINGET
      MemoGet(ReadUnsigned(4));
      break;
    case 'p': // PUT
    case 'g': // GET
    {
      const std::string line = ReadLine();
      if (line.empty() || line.size() > 18 || line.find_first_not_of("0123456789") != std::string::npos)
      {
        Fail("bad memo index '" + line.substr(0, 20) + "'");
      }
      const uint64_t index = std::stoull(line);
      op == 'p' ? MemoPut(index) : MemoGet(index);
      break;
    }
    default:
    {
      static const char hex[] = "0123456789abcdef";
      Fail(std::string("unknown pickle opcode 0x") + hex[op >> 4] + hex[op & 15]);
    }
  }
}

PickleValuePtr
Machine::Run()
{
  while (!m_Stopped)
  {
    m_OpcodePos = m_Pos;
    if (m_Pos >= m_Size)
    {
      Fail("truncated: the pickle ends without STOP");
    }
    Dispatch(m_Data[m_Pos++]);
  }
  Ptr result = Pop();
  if (PickleBuilder::ReachesItself(m_Mutated))
  {
    // Python rebuilds such an object graph; shared ownership would never free it. A checkpoint
    // of tensors and plain values (state dicts, nnU-Net's and MONAI's) never holds one.
    Fail("a value contains itself (a reference cycle); MedSeg reads checkpoints of tensors and plain values only");
  }
  // Drop the memo and stack before returning: their destruction is iterative (PickleValue).
  m_Memo.clear();
  m_Stack.clear();
  m_Finished = true;
  return result;
}

} // namespace

PickleValuePtr
RunPickle(const char * data, size_t size, const PickleHooks & hooks, const std::string & subject,
          const std::string & what)
{
  Machine machine(data, size, hooks, subject, what);
  return machine.Run();
}

} // namespace medseg::detail
