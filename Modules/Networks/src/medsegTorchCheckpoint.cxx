#include "medsegTorchCheckpoint.h"

#include "medsegError.h"
#include "medsegPickleMachine.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

namespace medseg
{

// ---------------------------------------------------------------------------------------------
// torch.load's side: storages (persistent ids) and tensor reducers, as torch.serialization._load

namespace
{

using detail::PickleBuilder;
using Kind = PickleValue::Kind;

/** torch.<X>Storage -> dtype (torch/storage.py's legacy storage classes). */
bool
StorageDtype(const std::string & className, at::ScalarType & dtype)
{
  static const std::map<std::string, at::ScalarType> table = {
    { "torch.FloatStorage", at::kFloat },      { "torch.DoubleStorage", at::kDouble },
    { "torch.HalfStorage", at::kHalf },        { "torch.BFloat16Storage", at::kBFloat16 },
    { "torch.LongStorage", at::kLong },        { "torch.IntStorage", at::kInt },
    { "torch.ShortStorage", at::kShort },      { "torch.CharStorage", at::kChar },
    { "torch.ByteStorage", at::kByte },        { "torch.BoolStorage", at::kBool },
    { "torch.ComplexFloatStorage", at::kComplexFloat }, { "torch.ComplexDoubleStorage", at::kComplexDouble },
    { "torch.UntypedStorage", at::kByte }
  };
  const auto it = table.find(className);
  if (it == table.end())
  {
    return false;
  }
  dtype = it->second;
  return true;
}

/** The archive and the storages loaded from it so far (shared by key, as torch.load does). */
class CheckpointLoader
{
public:
  CheckpointLoader(caffe2::serialize::PyTorchStreamReader & reader, const std::string & path, bool bigEndian)
    : m_Reader(reader)
    , m_Path(path)
    , m_BigEndian(bigEndian)
  {}

  [[noreturn]] void
  Fail(const std::string & problem) const
  {
    throw InputError(m_Path, "corrupt checkpoint: " + problem);
  }

  /** ('storage', storage class, key, location, numel) -> the storage (location ignored: CPU). */
  PickleBuilder::Ptr
  LoadStorage(const PickleValue & id)
  {
    if (id.GetKind() != Kind::Tuple || id.Items().size() != 5 || id.Items()[0]->GetKind() != Kind::String ||
        id.Items()[0]->AsString() != "storage" || id.Items()[2]->GetKind() != Kind::String ||
        id.Items()[4]->GetKind() != Kind::Int || id.Items()[1]->GetKind() != Kind::Object)
    {
      Fail("data.pkl: a persistent id is not ('storage', class, key, location, numel)");
    }
    const std::string & className = id.Items()[1]->GetClassName();
    const std::string & key = id.Items()[2]->AsString();
    const int64_t       numel = id.Items()[4]->AsInt();
    at::ScalarType      dtype{};
    if (!StorageDtype(className, dtype))
    {
      return PickleBuilder::NewObject(className, id.Items()); // e.g. a quantized storage
    }
    const std::string cacheKey = key + "/" + className;
    if (const auto it = m_Storages.find(cacheKey); it != m_Storages.end())
    {
      return it->second;
    }
    const std::shared_ptr<at::DataPtr> & bytes = Record(key);
    const size_t                         recordSize = m_RecordSizes[key];
    const auto                           itemSize = static_cast<int64_t>(at::elementSize(dtype));
    if (numel < 0 || numel > static_cast<int64_t>(recordSize) / itemSize)
    {
      Fail("storage record data/" + key + " has " + std::to_string(recordSize) + " bytes, " +
           std::to_string(numel) + " elements of " + std::to_string(itemSize) + " bytes are wanted");
    }
    at::Tensor storage;
    if (numel == 0)
    {
      storage = at::empty({ 0 }, at::TensorOptions().dtype(dtype));
    }
    else
    {
      if (m_BigEndian && itemSize > 1 && m_Swapped.insert(key).second)
      {
        const int64_t parts = at::isComplexType(dtype) ? 2 : 1; // real and imaginary swap apart
        SwapBytes(static_cast<unsigned char *>(bytes->get()), static_cast<size_t>(numel * parts),
                  static_cast<size_t>(itemSize / parts));
      }
      storage = at::from_blob(bytes->get(), { numel }, [bytes](void *) {}, at::TensorOptions().dtype(dtype));
    }
    auto value = PickleBuilder::NewStorage(className, storage);
    m_Storages.emplace(cacheKey, value);
    return value;
  }

private:
  const std::shared_ptr<at::DataPtr> &
  Record(const std::string & key)
  {
    if (const auto it = m_Records.find(key); it != m_Records.end())
    {
      return it->second;
    }
    const std::string name = "data/" + key;
    if (key.empty() || !m_Reader.hasRecord(name))
    {
      Fail("missing storage record " + name);
    }
    try
    {
      auto record = m_Reader.getRecord(name);
      m_RecordSizes[key] = std::get<1>(record);
      return m_Records.emplace(key, std::make_shared<at::DataPtr>(std::move(std::get<0>(record)))).first->second;
    }
    catch (const c10::Error & e)
    {
      Fail("storage record " + name + " is unreadable (" + e.what_without_backtrace() + ")");
    }
  }
  static void
  SwapBytes(unsigned char * data, size_t count, size_t width)
  {
    for (size_t i = 0; i < count; ++i)
    {
      std::reverse(data + i * width, data + (i + 1) * width);
    }
  }

  caffe2::serialize::PyTorchStreamReader &                       m_Reader;
  const std::string &                                            m_Path;
  bool                                                           m_BigEndian;
  std::map<std::string, std::shared_ptr<at::DataPtr>>            m_Records;
  std::map<std::string, size_t>                                  m_RecordSizes;
  std::map<std::string, PickleBuilder::Ptr>                      m_Storages;
  std::set<std::string>                                          m_Swapped;
};

/** A tuple of ints (a tensor's size or stride), or false. */
bool
IntTuple(const PickleValuePtr & value, std::vector<int64_t> & out)
{
  if (!value || (value->GetKind() != Kind::Tuple && value->GetKind() != Kind::List))
  {
    return false;
  }
  out.clear();
  for (const auto & item : value->Items())
  {
    if (!item || item->GetKind() != Kind::Int)
    {
      return false;
    }
    out.push_back(item->AsInt());
  }
  return true;
}

/** torch._utils._rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...): a view of the
 * storage, after checking that it lies inside it. nullptr if `storage` is not a known storage. */
PickleBuilder::Ptr
RebuildTensor(const std::vector<PickleValuePtr> & args, const std::string & path)
{
  if (args.size() < 4 || !args[0] || !PickleBuilder::IsStorage(*args[0]))
  {
    return nullptr;
  }
  std::vector<int64_t> size, stride;
  if (!args[1] || args[1]->GetKind() != Kind::Int || !IntTuple(args[2], size) || !IntTuple(args[3], stride) ||
      size.size() != stride.size())
  {
    throw InputError(path, "corrupt checkpoint: data.pkl: a tensor's offset, size or stride is malformed");
  }
  const at::Tensor & storage = PickleBuilder::StorageTensor(*args[0]);
  const int64_t      offset = args[1]->AsInt();
  const int64_t      numel = storage.numel();
  bool               ok = offset >= 0 && offset <= numel;
  int64_t            last = offset; // index of the last element the view reaches
  bool               empty = false;
  for (size_t d = 0; d < size.size() && ok; ++d)
  {
    ok = size[d] >= 0 && stride[d] >= 0;
    empty = empty || size[d] == 0;
    int64_t reach = 0;
    ok = ok && (size[d] == 0 || (!__builtin_mul_overflow(size[d] - 1, stride[d], &reach) &&
                                 !__builtin_add_overflow(last, reach, &last)));
  }
  if (!ok || (!empty && last >= numel))
  {
    throw InputError(path, "corrupt checkpoint: data.pkl: a tensor reaches past its storage (" +
                             std::to_string(numel) + " elements)");
  }
  return std::const_pointer_cast<PickleValue>(PickleValue::MakeTensor(storage.as_strided(size, stride, offset)));
}

PickleBuilder::Ptr
TorchReduce(const std::string & name, const std::vector<PickleValuePtr> & args, const std::string & path)
{
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
  {
    return RebuildTensor(args, path);
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state")
  {
    // (data, requires_grad, backward_hooks[, state]): the data; MedSeg keeps no autograd state.
    if (!args.empty() && args[0] && args[0]->GetKind() == Kind::Tensor)
    {
      return std::const_pointer_cast<PickleValue>(args[0]);
    }
    return nullptr;
  }
  if (name == "torch.Size" && args.size() == 1 && args[0] && args[0]->GetKind() == Kind::Tuple)
  {
    return std::const_pointer_cast<PickleValue>(args[0]);
  }
  return nullptr;
}

/** True if the file starts like a legacy (pre-1.6 or _use_new_zipfile_serialization=False)
 * torch.save file: the pickled magic number 0x1950a86a20f9469cfc6c, or a tar archive. */
bool
LooksLegacy(const std::string & head)
{
  static const char magic[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
  if (head.compare(0, sizeof magic - 1, magic, sizeof magic - 1) == 0)
  {
    return true;
  }
  return head.size() >= 262 && head.compare(257, 5, "ustar") == 0;
}

/** "an int", "a dict", "a torch.device object", "None": a value's kind in a sentence. */
std::string
Described(const PickleValue & value)
{
  const std::string name = value.KindName();
  if (name == "None")
  {
    return name;
  }
  return (std::strchr("aeiou", name[0]) ? "an " : "a ") + name;
}

} // namespace

PickleValuePtr
ReadTorchCheckpoint(const std::string & path)
{
  static const std::string notCheckpoint = "not a PyTorch checkpoint (torch.save zip archive)";
  std::string              head(512, '\0');
  std::error_code          error;
  if (std::filesystem::is_directory(path, error))
  {
    throw InputError(path, "a folder, not a checkpoint file");
  }
  {
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
      throw InputError(path, "cannot open the checkpoint: " + std::string(std::strerror(errno)));
    }
    in.read(&head[0], static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
  }
  if (head.empty())
  {
    throw InputError(path, notCheckpoint + ": the file is empty");
  }
  if (head.compare(0, 4, "PK\x03\x04") != 0)
  {
    if (LooksLegacy(head))
    {
      throw InputError(path, "a legacy (non-zip) torch.save file, which MedSeg does not read: re-save it with "
                             "torch.save(torch.load(f), f) from PyTorch >= 1.6");
    }
    throw InputError(path, notCheckpoint);
  }

  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try
  {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  }
  catch (const c10::Error & e)
  {
    throw InputError(path, notCheckpoint + ": " + e.what_without_backtrace());
  }
  catch (const std::exception & e) // a version record that is not a number
  {
    throw InputError(path, notCheckpoint + ": " + e.what());
  }
  if (reader->hasRecord("constants.pkl") || reader->hasRecord("bytecode.pkl"))
  {
    throw InputError(path, "a TorchScript archive (torch.jit.save), not a torch.save checkpoint");
  }
  if (!reader->hasRecord("data.pkl"))
  {
    throw InputError(path, notCheckpoint + ": no data.pkl in the archive");
  }
  bool bigEndian = false;
  try
  {
    if (reader->hasRecord("byteorder")) // written by PyTorch >= 2.1
    {
      const auto        record = reader->getRecord("byteorder");
      const std::string order(static_cast<const char *>(std::get<0>(record).get()), std::get<1>(record));
      bigEndian = order == "big";
    }
    const auto pickle = reader->getRecord("data.pkl");

    CheckpointLoader    loader(*reader, path, bigEndian);
    detail::PickleHooks hooks;
    hooks.persistentLoad = [&loader](const PickleValue & id) { return loader.LoadStorage(id); };
    hooks.reduce = [&path](const std::string & name, const std::vector<PickleValuePtr> & args) {
      return TorchReduce(name, args, path);
    };
    return detail::RunPickle(static_cast<const char *>(std::get<0>(pickle).get()), std::get<1>(pickle), hooks,
                             path, "data.pkl");
  }
  catch (const c10::Error & e)
  {
    throw InputError(path, "corrupt checkpoint: " + std::string(e.what_without_backtrace()));
  }
}

std::vector<std::pair<std::string, at::Tensor>>
StateDictFromPickle(const PickleValue & value, const std::string & subject)
{
  if (value.GetKind() != Kind::Dict)
  {
    throw InputError(subject, "the state dict is " + Described(value) + ", not a dict");
  }
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  tensors.reserve(value.DictItems().size());
  for (const auto & [key, item] : value.DictItems())
  {
    if (key->GetKind() != Kind::String)
    {
      throw InputError(subject, "a state dict key is " + Described(*key) + ", not a str");
    }
    if (item->GetKind() != Kind::Tensor)
    {
      throw InputError(subject, "state dict entry '" + key->AsString() + "' is " + Described(*item) + ", not a tensor");
    }
    tensors.emplace_back(key->AsString(), item->AsTensor());
  }
  return tensors;
}

} // namespace medseg
