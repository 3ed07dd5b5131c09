#ifndef medsegPickleMachine_h
#define medsegPickleMachine_h

// Private header of MedSegNetworks: the pickle virtual machine behind ReadTorchCheckpoint.

#include "medsegTorchCheckpoint.h"

#include <functional>
#include <unordered_set>

namespace medseg::detail
{

/** \brief The pickle machine's access to PickleValue's insides (values are built mutably, then
 * handed out as PickleValuePtr, const). */
class PickleBuilder
{
public:
  using Ptr = std::shared_ptr<PickleValue>;
  using PtrSet = std::unordered_set<Ptr>;
  using Kind = PickleValue::Kind;

  static Ptr
  New(Kind kind);
  static Ptr
  NewBool(bool value);
  static Ptr
  NewInt(int64_t value);
  static Ptr
  NewFloat(double value);
  static Ptr
  NewString(Kind kind, std::string value); //!< String or Bytes
  static Ptr
  NewSequence(Kind kind, std::vector<PickleValuePtr> items); //!< List or Tuple
  static Ptr
  NewObject(std::string className, std::vector<PickleValuePtr> arguments);
  /** A bare GLOBAL "module.qualname": a class or function that REDUCE / NEWOBJ may call. */
  static Ptr
  NewGlobal(std::string name);
  /** A tensor storage of class `className` ("torch.FloatStorage"), held as a 1-D tensor. */
  static Ptr
  NewStorage(std::string className, at::Tensor storage);

  static bool
  IsGlobal(const PickleValue & value);
  static bool
  IsStorage(const PickleValue & value);
  /** The 1-D tensor of a storage. */
  static const at::Tensor &
  StorageTensor(const PickleValue & value);

  /** List items, or an Object's arguments (set elements). */
  static void
  Append(PickleValue & container, PickleValuePtr item);
  static void
  SetItem(PickleValue & dict, PickleValuePtr key, PickleValuePtr value);
  static void
  SetState(PickleValue & object, PickleValuePtr state);
  /** Drops every value `value` refers to (items, dict entries, state): breaks reference cycles. */
  static void
  Clear(PickleValue & value);
  /** Clear() of each of `values`. */
  static void
  Clear(const PtrSet & values);
  /** Whether a value reachable from one of `roots` reaches itself: a
   * reference cycle. Iterative (a fuzzed pickle nests deeper than the call stack allows). */
  static bool
  ReachesItself(const PtrSet & roots);
  /** The values `value` refers to directly (items, dict keys and values, state). */
  static std::vector<const PickleValue *>
  Children(const PickleValue & value);
  /** Sets only what was not known when the value was made (the tensor of a Tensor value). */
  static void
  SetTensor(PickleValue & value, at::Tensor tensor);
};

/** What the pickle's host (torch.load's role) supplies. */
struct PickleHooks
{
  /** BINPERSID: the persistent id -> the value it names. Throws InputError for a bad one. */
  std::function<PickleBuilder::Ptr(const PickleValue & persistentId)> persistentLoad;
  /** REDUCE of the global `callable`: the value, or nullptr when the host does not know it (the
   * machine then tries Python's own reducers, and otherwise makes an Object). */
  std::function<PickleBuilder::Ptr(const std::string & callable, const std::vector<PickleValuePtr> & arguments)> reduce;
};

/** Python's own reducers that checkpoints use (collections.OrderedDict, dict, set, frozenset,
 * bytes, bytearray, _codecs.encode, numpy.core.multiarray.scalar of a plain numeric or bool
 * dtype); nullptr for any other callable or for arguments they do not take. */
PickleBuilder::Ptr
PythonReduce(const std::string & callable, const std::vector<PickleValuePtr> & arguments);

/** \brief Runs the pickle `data[0, size)` (protocols 0-5 as Python 3 writes them for torch.save)
 * and returns the value STOP leaves.
 *
 * Never runs code: globals are names, REDUCE calls only the known reducers (the hooks' and
 * OrderedDict, set, frozenset, bytes, bytearray, _codecs.encode, numpy scalars), anything else
 * is recorded as an Object. A truncated or corrupt pickle (unknown opcode, stack underflow, memo
 * miss, a length past the data) throws InputError(subject, "corrupt checkpoint: <what>: ..."). */
PickleValuePtr
RunPickle(const char * data, size_t size, const PickleHooks & hooks, const std::string & subject,
          const std::string & what);

} // namespace medseg::detail

#endif
