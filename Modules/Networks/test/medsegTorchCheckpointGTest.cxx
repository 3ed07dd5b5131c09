#include "medsegTorchCheckpoint.h"

#include "medsegExpectInputError.h"
#include "medsegProcess.h"
#include "medsegTestHelpers.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <memory>
#include <random>
#include <unistd.h>

namespace
{

using medseg::PickleValue;
using medseg::PickleValuePtr;
using medseg::test::ExpectInputError;
using Kind = PickleValue::Kind;

/** The source tree: MEDSEG_SOURCE_DIR when the build defines it, else three folders above this file. */
std::string
SourceDirectory()
{
#ifdef MEDSEG_SOURCE_DIR
  return MEDSEG_SOURCE_DIR;
#else
  std::string file = __FILE__; // .../Modules/Networks/test/medsegTorchCheckpointGTest.cxx
  for (int i = 0; i < 4; ++i)
  {
    file = file.substr(0, file.find_last_of('/'));
  }
  return file;
#endif
}

/** Samples written once per run by Testing/NNUNet/make_checkpoint_samples.py. */
class TorchCheckpoint : public ::testing::Test
{
protected:
  static void
  SetUpTestSuite()
  {
    if (access("/usr/bin/python3", X_OK) != 0)
    {
      s_Skip = "/usr/bin/python3 is absent";
      return;
    }
    s_Directory = std::make_unique<medseg::test::TemporaryDirectory>();
    const std::string script = SourceDirectory() + "/Testing/NNUNet/make_checkpoint_samples.py";
    const auto        result = medseg::test::RunProcess("/usr/bin/python3", { script, s_Directory->Path() });
    if (result.exitCode == 77)
    {
      s_Skip = "/usr/bin/python3 cannot import torch and numpy";
      return;
    }
    if (result.exitCode != 0)
    {
      s_Error = script + " failed (" + std::to_string(result.exitCode) + "): " + result.err;
      return;
    }
    std::ifstream in(Sample("expected.json"));
    s_Expected = nlohmann::json::parse(in);
  }
  static void
  TearDownTestSuite()
  {
    s_Directory.reset();
  }
  void
  SetUp() override
  {
    if (!s_Skip.empty())
    {
      GTEST_SKIP() << s_Skip;
    }
    ASSERT_TRUE(s_Error.empty()) << s_Error;
  }
  static std::string
  Sample(const std::string & name)
  {
    return *s_Directory / name;
  }

  static inline std::unique_ptr<medseg::test::TemporaryDirectory> s_Directory;
  static inline std::string                                       s_Skip;
  static inline std::string                                       s_Error;
  static inline nlohmann::json                                    s_Expected;
};

const PickleValue &
At(const PickleValue & dict, const std::string & key)
{
  const PickleValue * value = dict.Find(key);
  if (!value)
  {
    throw std::runtime_error("no key '" + key + "' in a " + dict.KindName());
  }
  return *value;
}

at::ScalarType
DtypeNamed(const std::string & name)
{
  static const std::map<std::string, at::ScalarType> table = {
    { "float32", at::kFloat }, { "float64", at::kDouble }, { "float16", at::kHalf }, { "bfloat16", at::kBFloat16 },
    { "int64", at::kLong },    { "int32", at::kInt },      { "uint8", at::kByte },   { "bool", at::kBool }
  };
  return table.at(name);
}

/** dtype, shape, stride, offset and every value as Python's describe() wrote them. */
void
ExpectTensor(const at::Tensor & tensor, const nlohmann::json & expected)
{
  ASSERT_TRUE(tensor.defined());
  EXPECT_EQ(tensor.device(), c10::Device(c10::kCPU));
  EXPECT_FALSE(tensor.requires_grad());
  ASSERT_EQ(tensor.scalar_type(), DtypeNamed(expected["dtype"]));
  EXPECT_EQ(tensor.sizes().vec(), expected["shape"].get<std::vector<int64_t>>());
  EXPECT_EQ(tensor.strides().vec(), expected["stride"].get<std::vector<int64_t>>());
  EXPECT_EQ(tensor.storage_offset(), expected["offset"].get<int64_t>());
  const auto & values = expected["values"];
  ASSERT_EQ(static_cast<size_t>(tensor.numel()), values.size());
  if (tensor.scalar_type() == at::kLong || tensor.scalar_type() == at::kInt || tensor.scalar_type() == at::kByte ||
      tensor.scalar_type() == at::kBool)
  {
    const at::Tensor flat = tensor.flatten().to(at::kLong).contiguous();
    for (size_t i = 0; i < values.size(); ++i)
    {
      ASSERT_EQ(flat.data_ptr<int64_t>()[i], values[i].get<int64_t>()) << "element " << i;
    }
    return;
  }
  const at::Tensor flat = tensor.flatten().to(at::kDouble).contiguous();
  for (size_t i = 0; i < values.size(); ++i)
  {
    ASSERT_EQ(flat.data_ptr<double>()[i], values[i].get<double>()) << "element " << i; // bit-exact
  }
}

std::vector<std::string>
Keys(const PickleValue & dict)
{
  std::vector<std::string> keys;
  for (const auto & item : dict.DictItems())
  {
    keys.push_back(item.first->AsString());
  }
  return keys;
}

TEST_F(TorchCheckpoint, ReadsTheStructureNNUNetSaves)
{
  const PickleValuePtr checkpoint = medseg::ReadTorchCheckpoint(Sample("nnunet.pth"));
  ASSERT_EQ(checkpoint->GetKind(), Kind::Dict);
  EXPECT_EQ(Keys(*checkpoint),
            (std::vector<std::string>{ "network_weights", "optimizer_state", "grad_scaler_state", "logging",
                                       "_best_ema", "current_epoch", "init_args", "trainer_name",
                                       "inference_allowed_mirroring_axes" }));

  // network_weights: an OrderedDict (with _metadata, dropped), in module order, values bit-exact.
  const auto weights = medseg::StateDictFromPickle(At(*checkpoint, "network_weights"), "nnunet.pth");
  const auto & expected = s_Expected["nnunet"]["network_weights"];
  ASSERT_EQ(weights.size(), expected.size());
  for (size_t i = 0; i < weights.size(); ++i)
  {
    SCOPED_TRACE(weights[i].first);
    EXPECT_EQ(weights[i].first, expected[i][0].get<std::string>());
    ExpectTensor(weights[i].second, expected[i][1]);
  }
  EXPECT_EQ(weights.front().first, "encoder.stages.0.0.conv.weight");
  EXPECT_EQ(weights.back().first, "decoder.seg_layers.0.bias");

  // optimizer_state: torch.optim.SGD's state_dict (int keys, momentum buffers, param_groups).
  const PickleValue & optimizer = At(*checkpoint, "optimizer_state");
  const PickleValue & state = At(optimizer, "state");
  const auto &        buffers = s_Expected["nnunet"]["momentum_buffers"];
  ASSERT_EQ(state.DictItems().size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
  {
    EXPECT_EQ(state.DictItems()[i].first->AsInt(), static_cast<int64_t>(i));
    ExpectTensor(At(*state.DictItems()[i].second, "momentum_buffer").AsTensor(), buffers[i]);
  }
  const PickleValue & group = *At(optimizer, "param_groups").Items().at(0);
  EXPECT_EQ(At(group, "lr").AsFloat(), 0.01);
  EXPECT_EQ(At(group, "momentum").AsFloat(), 0.99);
  EXPECT_EQ(At(group, "weight_decay").AsFloat(), 3e-5);
  EXPECT_TRUE(At(group, "nesterov").AsBool());
  EXPECT_EQ(At(group, "dampening").AsInt(), 0);
  EXPECT_EQ(At(group, "params").Items().size(), buffers.size());
  EXPECT_EQ(At(group, "params").Items().back()->AsInt(), static_cast<int64_t>(buffers.size() - 1));

  const PickleValue & scaler = At(*checkpoint, "grad_scaler_state");
  EXPECT_EQ(At(scaler, "scale").AsFloat(), 65536.0);
  EXPECT_EQ(At(scaler, "growth_interval").AsInt(), 2000);

  // logging: lists of numpy.float64 scalars, decoded.
  const PickleValue & logging = At(*checkpoint, "logging");
  const auto &        ema = At(logging, "ema_fg_dice").Items();
  ASSERT_EQ(ema.size(), 2u);
  EXPECT_EQ(ema[1]->GetKind(), Kind::Float);
  EXPECT_EQ(ema[1]->AsFloat(), 0.275);
  EXPECT_EQ(At(logging, "train_losses").Items()[1]->AsFloat(), -0.5);
  EXPECT_EQ(At(logging, "dice_per_class_or_region").Items()[1]->Items()[1]->AsFloat(), 0.6);
  EXPECT_EQ(At(logging, "epoch_end_timestamps").Items()[1]->AsFloat(), 1700000199.75);
  EXPECT_EQ(At(*checkpoint, "_best_ema").AsFloat(), 0.275);
  EXPECT_EQ(At(*checkpoint, "current_epoch").AsInt(), 2);
  EXPECT_EQ(At(*checkpoint, "trainer_name").AsString(), "nnUNetTrainer");
  const auto & axes = At(*checkpoint, "inference_allowed_mirroring_axes");
  ASSERT_EQ(axes.GetKind(), Kind::Tuple);
  ASSERT_EQ(axes.Items().size(), 3u);
  EXPECT_EQ(axes.Items()[2]->AsInt(), 2);

  // init_args: plans and dataset.json as nested dicts, and a torch.device.
  const PickleValue & init = At(*checkpoint, "init_args");
  EXPECT_EQ(Keys(init), (std::vector<std::string>{ "plans", "configuration", "fold", "dataset_json", "device" }));
  const PickleValue & plans = At(init, "plans");
  EXPECT_EQ(At(plans, "total_voxels").AsInt(), (int64_t{ 1 } << 33) + 5);
  const PickleValue & configuration = At(At(plans, "configurations"), "3d_fullres");
  EXPECT_EQ(At(configuration, "patch_size").Items().size(), 3u);
  EXPECT_EQ(At(configuration, "spacing").Items()[0]->AsFloat(), 2.5);
  EXPECT_FALSE(At(configuration, "batch_dice").AsBool());
  const PickleValue & kwargs = At(At(configuration, "architecture"), "arch_kwargs");
  EXPECT_EQ(At(kwargs, "dropout_op").GetKind(), Kind::None);
  EXPECT_EQ(At(At(kwargs, "norm_op_kwargs"), "eps").AsFloat(), 1e-5);
  EXPECT_EQ(At(At(At(plans, "foreground_intensity_properties_per_channel"), "0"), "mean").AsFloat(), 101.25);
  EXPECT_EQ(At(init, "configuration").AsString(), "3d_fullres");
  EXPECT_EQ(At(init, "fold").AsInt(), 0);
  const PickleValue & dataset = At(init, "dataset_json");
  EXPECT_EQ(At(dataset, "name").AsString(),
            "\xC5\x81\xC3\xB3\x64\xC5\xBA \xC3\xBCn\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9 \xE2\x9C\x93"); // Łódź ünïcødé ✓
  EXPECT_EQ(Keys(At(dataset, "labels")), (std::vector<std::string>{ "background", "liver", "tumour" }));
  const PickleValue & device = At(init, "device");
  ASSERT_EQ(device.GetKind(), Kind::Object);
  EXPECT_EQ(device.GetClassName(), "torch.device");
  EXPECT_EQ(device.KindName(), "torch.device object");
  ASSERT_EQ(device.GetArguments().size(), 1u);
  EXPECT_EQ(device.GetArguments()[0]->AsString(), "cuda");
}

TEST_F(TorchCheckpoint, ReadsTensorsAndPythonValuesInEveryProtocol)
{
  for (int protocol = 2; protocol <= 5; ++protocol)
  {
    SCOPED_TRACE("pickle protocol " + std::to_string(protocol));
    const PickleValuePtr value = medseg::ReadTorchCheckpoint(Sample("tensors_p" + std::to_string(protocol) + ".pth"));
    const PickleValue &  tensors = At(*value, "tensors");
    const auto &         expected = s_Expected["tensors"];
    ASSERT_EQ(tensors.DictItems().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
    {
      SCOPED_TRACE(expected[i][0].get<std::string>());
      EXPECT_EQ(tensors.DictItems()[i].first->AsString(), expected[i][0].get<std::string>());
      ExpectTensor(tensors.DictItems()[i].second->AsTensor(), expected[i][1]);
    }
    // Views share their base's storage, as in Python.
    const at::Tensor & base = At(tensors, "base").AsTensor();
    EXPECT_TRUE(At(tensors, "transposed").AsTensor().is_alias_of(base));
    EXPECT_TRUE(At(tensors, "slice").AsTensor().is_alias_of(base));
    EXPECT_TRUE(At(tensors, "column").AsTensor().is_alias_of(base));
    EXPECT_FALSE(At(tensors, "transposed").AsTensor().is_contiguous());
    EXPECT_FALSE(At(tensors, "f32").AsTensor().is_alias_of(base));

    const PickleValue & values = At(*value, "values");
    const auto &        list = At(values, "list").Items();
    ASSERT_EQ(list.size(), 7u);
    EXPECT_EQ(list[0]->AsInt(), 1);
    EXPECT_EQ(list[1]->AsFloat(), 2.5);
    EXPECT_EQ(list[2]->AsString(), "x");
    EXPECT_EQ(list[3]->GetKind(), Kind::None);
    EXPECT_TRUE(list[4]->AsBool());
    EXPECT_FALSE(list[5]->AsBool());
    EXPECT_EQ(list[6]->GetKind(), Kind::Bytes);
    EXPECT_EQ(list[6]->AsString(), std::string("\0\xff" "bytes", 7));
    EXPECT_EQ(At(values, "tuple").GetKind(), Kind::Tuple);
    EXPECT_EQ(At(values, "set").GetClassName(), "builtins.set");
    EXPECT_EQ(At(values, "set").GetArguments().at(0)->AsInt(), 3);
    EXPECT_EQ(At(values, "frozenset").GetClassName(), "builtins.frozenset");
    EXPECT_EQ(At(values, "frozenset").GetArguments().at(0)->AsInt(), 4);
    EXPECT_EQ(At(values, "big").AsInt(), int64_t{ 1 } << 62);
    EXPECT_EQ(At(values, "neg").AsInt(), -(int64_t{ 1 } << 40));
    EXPECT_EQ(At(values, "huge").GetClassName(), "builtins.int"); // 2^70: beyond int64
    EXPECT_EQ(At(values, "unicode").AsString(), "\xC3\xBCn\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9 \xE2\x9C\x93");
    EXPECT_EQ(At(values, "empty_bytes").GetKind(), Kind::Bytes);
    EXPECT_EQ(At(values, "empty_bytes").AsString(), "");
    EXPECT_EQ(At(values, "bytearray").AsString(), std::string("ab\0", 3));
    EXPECT_EQ(At(values, "np_f32").AsFloat(), 1.25);
    EXPECT_EQ(At(values, "np_i64").AsInt(), -5);
    EXPECT_EQ(At(values, "np_i32").AsInt(), 7);
    EXPECT_TRUE(At(values, "np_bool").AsBool());
    const PickleValue & array = At(values, "np_array"); // numpy arrays stay objects
    if (protocol < 5)
    {
      EXPECT_EQ(array.GetClassName(), "numpy.core.multiarray._reconstruct");
      EXPECT_NE(array.GetState(), nullptr);
    }
    else // numpy's protocol-5 form: _frombuffer(bytearray, dtype, shape, order)
    {
      EXPECT_EQ(array.GetClassName(), "numpy.core.numeric._frombuffer");
      EXPECT_EQ(array.GetArguments().at(0)->AsString().size(), 24u);
    }
    EXPECT_EQ(At(values, "dtype").GetClassName(), "torch.float32");
    EXPECT_EQ(Keys(At(values, "od")), (std::vector<std::string>{ "z", "a" }));
  }
}

TEST_F(TorchCheckpoint, LoadsStoragesSavedOnAGPUOnTheCPU)
{
  const PickleValuePtr value = medseg::ReadTorchCheckpoint(Sample("cuda_location.pth"));
  const auto &         expected = s_Expected["tensors"];
  ExpectTensor(At(*value, "weight").AsTensor(), expected[0][1]); // f32
  ExpectTensor(At(*value, "half").AsTensor(), expected[2][1]);   // f16
}

TEST_F(TorchCheckpoint, ReadsCompressedAndBigEndianArchives)
{
  const auto & expected = s_Expected["tensors"];
  const PickleValuePtr deflated = medseg::ReadTorchCheckpoint(Sample("deflated.pth"));
  ExpectTensor(At(At(*deflated, "tensors"), "f32").AsTensor(), expected[0][1]);
  ExpectTensor(At(At(*deflated, "tensors"), "column").AsTensor(), expected[11][1]);
  const PickleValuePtr big = medseg::ReadTorchCheckpoint(Sample("big_endian.pth"));
  ExpectTensor(At(*big, "weight").AsTensor(), expected[0][1]);
  ExpectTensor(At(*big, "half").AsTensor(), expected[2][1]);
}

TEST_F(TorchCheckpoint, RefusesWhatIsNotACheckpointInOneLine)
{
  const std::string empty = Sample("empty.pth");
  medseg::test::WriteText(empty, "");
  ExpectInputError([&] { medseg::ReadTorchCheckpoint(empty); }, empty, "not a PyTorch checkpoint");
  std::mt19937 random(7);
  std::string  noise(4096, '\0');
  for (char & c : noise)
  {
    c = static_cast<char>(random());
  }
  const std::string noiseFile = Sample("noise.pth");
  medseg::test::WriteText(noiseFile, "Z" + noise);
  ExpectInputError([&] { medseg::ReadTorchCheckpoint(noiseFile); }, noiseFile, "not a PyTorch checkpoint");
  const std::string fakeZip = Sample("fake_zip.pth");
  medseg::test::WriteText(fakeZip, "PK\x03\x04" + noise);
  ExpectInputError([&] { medseg::ReadTorchCheckpoint(fakeZip); }, fakeZip, "not a PyTorch checkpoint");
  ExpectInputError([&] { medseg::ReadTorchCheckpoint(s_Directory->Path()); }, s_Directory->Path(), "a folder");
  const std::string missing = Sample("absent.pth");
  ExpectInputError([&] { medseg::ReadTorchCheckpoint(missing); }, missing, "cannot open");

  const std::vector<std::pair<std::string, std::string>> refusals = {
    { "no_data_pkl.zip", "not a PyTorch checkpoint (torch.save zip archive): no data.pkl" },
    { "legacy.pth", "legacy (non-zip) torch.save file" },
    { "torchscript.pt", "TorchScript archive (torch.jit.save)" },
    { "truncated.pth", "corrupt checkpoint: data.pkl: truncated" },
    { "missing_storage.pth", "missing storage record data/0" },
    { "short_storage.pth", "storage record data/0 has 16 bytes" },
    { "overreach.pth", "a tensor reaches past its storage (4 elements)" },
    { "bad_opcode.pth", "unknown pickle opcode 0xff" },
    { "underflow.pth", "stack underflow" },
    { "memo_miss.pth", "memo entry 7 was never stored" },
  };
  for (const auto & [name, problem] : refusals)
  {
    SCOPED_TRACE(name);
    ExpectInputError([&] { medseg::ReadTorchCheckpoint(Sample(name)); }, Sample(name), problem);
  }
}

/** The records of a torch.save archive, names without the top folder. */
std::vector<std::pair<std::string, std::string>>
ReadRecords(const std::string & path)
{
  caffe2::serialize::PyTorchStreamReader                  reader(path);
  std::vector<std::pair<std::string, std::string>>        records;
  for (std::string name : reader.getAllRecords())
  {
    name = name.substr(name.find('/') == std::string::npos || reader.hasRecord(name) ? 0 : name.find('/') + 1);
    if (name == "version")
    {
      continue; // the writer adds its own
    }
    const auto record = reader.getRecord(name);
    records.emplace_back(name, std::string(static_cast<const char *>(std::get<0>(record).get()), std::get<1>(record)));
  }
  return records;
}

void
WriteArchive(const std::string & path, const std::vector<std::pair<std::string, std::string>> & records)
{
  caffe2::serialize::PyTorchStreamWriter writer(path);
  for (const auto & [name, data] : records)
  {
    writer.writeRecord(name, data.data(), data.size());
  }
  writer.writeEndOfFile();
}

TEST_F(TorchCheckpoint, CorruptPicklesAreRefusedNeverFatal)
{
  // Every truncation and many byte flips of a real data.pkl: a value or an InputError, no crash.
  auto records = ReadRecords(Sample("tensors_p4.pth"));
  auto pickle = std::find_if(records.begin(), records.end(), [](const auto & r) { return r.first == "data.pkl"; });
  ASSERT_NE(pickle, records.end());
  const std::string original = pickle->second;
  const std::string path = Sample("mutant.pth");
  int               refused = 0;
  for (size_t length = 0; length < original.size(); length += 7)
  {
    pickle->second = original.substr(0, length);
    WriteArchive(path, records);
    ExpectInputError([&] { medseg::ReadTorchCheckpoint(path); }, path, "corrupt checkpoint: data.pkl");
  }
  std::mt19937 random(11);
  for (int trial = 0; trial < 300; ++trial)
  {
    pickle->second = original;
    for (int flips = 0; flips < 3; ++flips)
    {
      pickle->second[random() % original.size()] = static_cast<char>(random());
    }
    WriteArchive(path, records);
    try
    {
      medseg::ReadTorchCheckpoint(path);
    }
    catch (const medseg::InputError & e)
    {
      ++refused;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(TorchCheckpointPickle, DeeplyNestedValuesAreReleasedWithoutRecursion)
{
  const medseg::test::TemporaryDirectory directory;
  const int                              depth = 1000000;
  std::string                            pickle = "\x80\x02";
  pickle += std::string(depth, ']') + std::string(depth - 1, 'a') + ".";
  const std::string path = directory / "deep.pth";
  WriteArchive(path, { { "data.pkl", pickle } });
  PickleValuePtr value = medseg::ReadTorchCheckpoint(path);
  ASSERT_EQ(value->GetKind(), Kind::List);
  EXPECT_EQ(value->Items().size(), 1u);
  value.reset(); // must not overflow the stack
}

TEST(TorchCheckpointPickle, ReferenceCyclesAreRefusedAndFreed)
{
  // A list appended to itself, a dict that is its own value, an object whose state is itself:
  // refused in one line. The same cycles in a pickle refused later for another reason must be
  // freed too (the sanitizer build's leak check sees it; found there).
  using namespace std::string_literals;
  const medseg::test::TemporaryDirectory directory;
  const std::string                      path = directory / "cycle.pth";
  const std::string list = "\x80\x02]q\x00h\x00" "a"s;
  const std::string dict = "\x80\x02}q\x00X\x01\x00\x00\x00kh\x00s"s;
  const std::string object = "\x80\x02" "c__main__\nThing\n)\x81q\x00h\x00" "b"s;
  for (const std::string & pickle : { list, dict, object })
  {
    WriteArchive(path, { { "data.pkl", pickle + "." } });
    ExpectInputError([&] { medseg::ReadTorchCheckpoint(path); }, path, "reference cycle");
    WriteArchive(path, { { "data.pkl", pickle + "\xff" } });
    ExpectInputError([&] { medseg::ReadTorchCheckpoint(path); }, path, "unknown pickle opcode 0xff");
  }
  // Sharing without a cycle stays legal: a list holding the same dict twice.
  WriteArchive(path, { { "data.pkl", "\x80\x02](}q\x00h\x00" "e."s } });
  const PickleValuePtr shared = medseg::ReadTorchCheckpoint(path);
  ASSERT_EQ(shared->Items().size(), 2u);
  EXPECT_EQ(shared->Items()[0], shared->Items()[1]);
}

TEST(TorchCheckpointStateDict, KeepsOrderAndRefusesNonTensorsNamingTheKey)
{
  const auto t = [](float v) { return PickleValue::MakeTensor(torch::full({ 2 }, v)); };
  const auto s = [](const char * text) { return PickleValue::MakeString(text); };
  const PickleValuePtr dict = PickleValue::MakeDict({ { s("z.weight"), t(1) }, { s("a.bias"), t(2) },
                                                      { s("m.weight"), t(3) }, { s("a.bias"), t(4) } });
  const auto           state = medseg::StateDictFromPickle(*dict, "model.pth");
  ASSERT_EQ(state.size(), 3u); // a repeated key replaces the value in its first place, as in Python
  EXPECT_EQ(state[0].first, "z.weight");
  EXPECT_EQ(state[1].first, "a.bias");
  EXPECT_EQ(state[1].second[0].item<float>(), 4.0f);
  EXPECT_EQ(state[2].first, "m.weight");
  EXPECT_EQ(dict->Find("m.weight")->AsTensor()[0].item<float>(), 3.0f);
  EXPECT_EQ(dict->Find("absent"), nullptr);

  const PickleValuePtr withDevice =
    PickleValue::MakeDict({ { s("w"), t(1) }, { s("conv.device"), PickleValue::MakeObject("torch.device", {}) } });
  ExpectInputError([&] { medseg::StateDictFromPickle(*withDevice, "model.pth"); }, "model.pth",
                   "state dict entry 'conv.device' is a torch.device object, not a tensor");
  const PickleValuePtr intKey = PickleValue::MakeDict({ { PickleValue::MakeInt(3), t(1) } });
  ExpectInputError([&] { medseg::StateDictFromPickle(*intKey, "model.pth"); }, "model.pth",
                   "a state dict key is an int, not a str");
  ExpectInputError([&] { medseg::StateDictFromPickle(*PickleValue::MakeList({}), "model.pth"); }, "model.pth",
                   "the state dict is a list, not a dict");
}

TEST(TorchCheckpointStateDict, AccessorsCheckTheKind)
{
  const PickleValuePtr number = PickleValue::MakeInt(5);
  EXPECT_EQ(number->AsFloat(), 5.0);
  EXPECT_THROW(number->AsString(), std::logic_error);
  EXPECT_THROW(number->Items(), std::logic_error);
  EXPECT_THROW(number->GetClassName(), std::logic_error);
  EXPECT_EQ(number->Find("x"), nullptr);
  EXPECT_THROW(PickleValue::MakeFloat(1.5)->AsInt(), std::logic_error);
  EXPECT_EQ(PickleValue::MakeBytes("b")->AsString(), "b");
  // Python's dict equality: 1, 1.0 and True are one key.
  const PickleValuePtr dict = PickleValue::MakeDict({ { PickleValue::MakeInt(1), PickleValue::MakeString("a") },
                                                      { PickleValue::MakeFloat(1.0), PickleValue::MakeString("b") },
                                                      { PickleValue::MakeBool(true), PickleValue::MakeString("c") } });
  ASSERT_EQ(dict->DictItems().size(), 1u);
  EXPECT_EQ(dict->DictItems()[0].second->AsString(), "c");
}

} // namespace
