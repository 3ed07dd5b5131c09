#include "medsegError.h"
#include "medsegModelPackage.h"
#include "medsegSha256.h"
#include "medsegTestHelpers.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace medseg;
using nlohmann::json;

namespace
{
json
ValidDocument()
{
  return json::parse(R"({
    "format": "medseg-model", "format_version": 1,
    "name": "ball", "version": "1.2.0", "description": "finds balls",
    "architecture": { "plugin": "torchscript", "hyper_parameters": { "optimize": true } },
    "weights": { "file": "weights.pt", "sha256": "0000000000000000000000000000000000000000000000000000000000000000" },
    "input": { "channels": [ { "name": "T1", "normalization": "percentile:0.5,99.5" } ],
               "orientation": "RAS", "spacing": [1.0, 1.0, 1.5] },
    "inference": { "patch_size": [64, 64, 32], "overlap": 0.25, "blend": "constant", "mirror_axes": [0, 2],
                   "batch_size": 4, "tta": true, "postprocess": "largest-component;fill-holes" },
    "labels": [ { "value": 0, "name": "background", "color": [0, 0, 0] },
                { "value": 7, "name": "ball", "color": [255, 128, 0] } ],
    "training": { "command": "medseg train ..." }
  })");
}

/** Expects Parse to refuse `document` with a message naming `field`. */
void
ExpectRefused(const json & document, const std::string & field)
{
  try
  {
    ModelPackage::Parse(document, "model.json");
    ADD_FAILURE() << "accepted; expected a complaint about " << field;
  }
  catch (const InputError & e)
  {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}
} // namespace

TEST(ModelPackage, ParsesEveryFieldAndRoundTrips)
{
  const ModelPackage p = ModelPackage::Parse(ValidDocument(), "model.json");
  EXPECT_EQ(p.name, "ball");
  EXPECT_EQ(p.plugin, "torchscript");
  EXPECT_EQ(p.channels.size(), 1u);
  EXPECT_EQ(p.channels[0].normalization.ToString(), "percentile:0.5,99.5");
  EXPECT_EQ(p.orientation, "RAS");
  ASSERT_TRUE(p.spacing.has_value());
  EXPECT_DOUBLE_EQ((*p.spacing)[2], 1.5);
  EXPECT_EQ(p.window.patchSize, (std::array<int64_t, 3>{ { 64, 64, 32 } }));
  EXPECT_DOUBLE_EQ(p.window.overlap, 0.25);
  EXPECT_EQ(p.window.blend, BlendMode::Constant);
  EXPECT_EQ(p.window.mirrorAxes, (std::vector<int>{ 0, 2 }));
  EXPECT_EQ(p.window.batchSize, 4);
  EXPECT_TRUE(p.tta);
  EXPECT_EQ(p.postprocess, "largest-component;fill-holes");
  EXPECT_EQ(p.LabelValue(1), 7u);
  EXPECT_EQ(p.labels[1].color[1], 128);
  const ModelPackage again = ModelPackage::Parse(p.ToJson(), "again");
  EXPECT_EQ(again.ToJson(), p.ToJson());
}

TEST(ModelPackage, RefusesUnknownVersionsAndBadFieldsNamingThem)
{
  json d = ValidDocument();
  d["format_version"] = 2;
  ExpectRefused(d, "format_version");
  d = ValidDocument();
  d.erase("labels");
  ExpectRefused(d, "'labels' is missing");
  d = ValidDocument();
  d["weights"].erase("sha256");
  ExpectRefused(d, "weights.sha256");
  d = ValidDocument();
  d["inference"]["patch_size"] = { 64, 64 };
  ExpectRefused(d, "inference.patch_size");
  d = ValidDocument();
  d["input"]["orientation"] = "RRS";
  ExpectRefused(d, "input.orientation");
  d = ValidDocument();
  d["labels"][1]["value"] = 0;
  ExpectRefused(d, "labels[1].value");
  d = ValidDocument();
  d["input"]["channels"][0]["normalization"] = "zscored";
  ExpectRefused(d, "input.channels[0].normalization");
  d = ValidDocument();
  d["input"]["spatial_dims"] = 2;
  ExpectRefused(d, "inference.patch_size"); // 2D needs patch size 1 across the slice axis
  d = ValidDocument();
  d["inference"]["mirror_axes"] = nlohmann::json::array();
  ExpectRefused(d, "inference.tta");
  d = ValidDocument();
  d["weights"]["file"] = "../weights.pt";
  ExpectRefused(d, "weights.file");
}

TEST(ModelPackage, PackThenLoadAnArchiveAndRefuseAHashMismatch)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "weights.pt", std::string(4096, 'w'));
  json d = ValidDocument();
  d.erase("weights"); // pack fills it in
  test::WriteText(dir / "meta.json", d.dump());
  PackModel(dir / "meta.json", dir / "weights.pt", dir / "ball.medseg");

  std::string extractedTo;
  {
    const ModelPackage p = ModelPackage::Load(dir / "ball.medseg");
    EXPECT_EQ(p.weightsSha256, Sha256OfString(std::string(4096, 'w')));
    EXPECT_EQ(test::ReadText(p.WeightsPath()), std::string(4096, 'w'));
    extractedTo = p.directory;
    EXPECT_TRUE(fs::exists(extractedTo));
  }
  EXPECT_FALSE(fs::exists(extractedTo)) << "the unpacked archive outlived its package";

  // A folder package whose weights changed after packing is refused before they are read.
  fs::create_directory(dir / "folder");
  json withHash = ValidDocument();
  withHash["weights"]["sha256"] = Sha256OfString(std::string(4096, 'w'));
  test::WriteText(dir / "folder/model.json", withHash.dump());
  test::WriteText(dir / "folder/weights.pt", std::string(4096, 'w'));
  EXPECT_NO_THROW(ModelPackage::Load(dir / "folder"));
  test::WriteText(dir / "folder/weights.pt", std::string(4095, 'w') + "X");
  try
  {
    ModelPackage::Load(dir / "folder");
    ADD_FAILURE() << "tampered weights accepted";
  }
  catch (const InputError & e)
  {
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << e.what();
  }
  fs::remove(dir / "folder/weights.pt");
  EXPECT_THROW(ModelPackage::Load(dir / "folder"), InputError);
  EXPECT_THROW(ModelPackage::Load(dir / "nothing-here"), InputError);
}

TEST(ModelPackage, CropToNonzeroIsABooleanAbsentMeaningFalse)
{
  json d = ValidDocument();
  EXPECT_FALSE(ModelPackage::Parse(d, "model.json").cropToNonzero) << "packages written before the field crop nothing";
  d["inference"]["crop_to_nonzero"] = true;
  const ModelPackage on = ModelPackage::Parse(d, "model.json");
  EXPECT_TRUE(on.cropToNonzero);
  EXPECT_EQ(on.ToJson()["inference"]["crop_to_nonzero"], true);
  EXPECT_TRUE(ModelPackage::Parse(on.ToJson(), "again").cropToNonzero);
  d["inference"]["crop_to_nonzero"] = false;
  EXPECT_FALSE(ModelPackage::Parse(d, "model.json").cropToNonzero);
  EXPECT_EQ(ModelPackage::Parse(d, "model.json").ToJson()["inference"]["crop_to_nonzero"], false);
  for (const json & wrong : { json("yes"), json(1), json::array({ true }) })
  {
    d["inference"]["crop_to_nonzero"] = wrong;
    ExpectRefused(d, "field 'inference.crop_to_nonzero' must be true or false");
  }
}

TEST(ModelPackage, WindowPositionsChooseNNUNetsOrMONAIsPlacement)
{
  json d = ValidDocument();
  const ModelPackage plain = ModelPackage::Parse(d, "model.json");
  EXPECT_EQ(plain.window.windowPositions, WindowPositions::NNUNet) << "absent means nnU-Net's placement";
  EXPECT_FALSE(plain.ToJson()["inference"].contains("window_positions")) << "not written when it is the default";
  d["inference"]["window_positions"] = "monai";
  const ModelPackage monai = ModelPackage::Parse(d, "model.json");
  EXPECT_EQ(monai.window.windowPositions, WindowPositions::MONAI);
  EXPECT_EQ(monai.ToJson()["inference"]["window_positions"], "monai");
  EXPECT_EQ(ModelPackage::Parse(monai.ToJson(), "again").window.windowPositions, WindowPositions::MONAI);
  d["inference"]["window_positions"] = "centred";
  ExpectRefused(d, "field 'inference.window_positions' unknown window positions 'centred'; use nnunet or monai");
  d["inference"]["window_positions"] = 1;
  ExpectRefused(d, "field 'inference.window_positions' must be a string");
}

TEST(ModelPackage, PackTurnsCropToNonzeroOnUnlessTheMetadataSayOtherwise)
{
  test::TemporaryDirectory dir;
  test::WriteText(dir / "weights.pt", std::string(64, 'w'));
  json d = ValidDocument();
  d.erase("weights");
  test::WriteText(dir / "meta.json", d.dump());
  PackModel(dir / "meta.json", dir / "weights.pt", dir / "new.medseg");
  EXPECT_TRUE(ModelPackage::Load(dir / "new.medseg").cropToNonzero);

  d["inference"]["crop_to_nonzero"] = false;
  test::WriteText(dir / "meta.json", d.dump());
  PackModel(dir / "meta.json", dir / "weights.pt", dir / "off.medseg");
  EXPECT_FALSE(ModelPackage::Load(dir / "off.medseg").cropToNonzero);

  d["inference"]["crop_to_nonzero"] = "no";
  test::WriteText(dir / "meta.json", d.dump());
  EXPECT_THROW(PackModel(dir / "meta.json", dir / "weights.pt", dir / "bad.medseg"), InputError);
  EXPECT_FALSE(fs::exists(dir / "bad.medseg"));
}
