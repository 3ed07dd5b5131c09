#!/usr/bin/python3
"""Writes sample PyTorch checkpoints for MedSeg's checkpoint reader tests (medsegTorchCheckpointGTest).

Usage: /usr/bin/python3 make_checkpoint_samples.py OUTDIR

Writes into OUTDIR:
  nnunet.pth            a checkpoint with the structure of nnU-Net v2's
                        nnUNetTrainer.save_checkpoint (network_weights, optimizer_state,
                        grad_scaler_state, logging, _best_ema, current_epoch, init_args,
                        trainer_name, inference_allowed_mirroring_axes)
  tensors_p{2,3,4,5}.pth  the same object of test tensors and Python values, pickle protocol 2-5
  cuda_location.pth     tensors whose storages say they were saved from 'cuda:0'
  deflated.pth          tensors_p2.pth re-zipped with compression
  big_endian.pth        cuda_location.pth with a 'byteorder' record 'big' and byte-swapped storages
  expected.json         what the C++ side must read back (values, shapes, strides, dtypes)
  refusals: legacy.pth (_use_new_zipfile_serialization=False), torchscript.pt (torch.jit.save),
  no_data_pkl.zip, truncated.pth, missing_storage.pth, short_storage.pth (record smaller than
  its persistent id says), overreach.pth (tensor past its storage), bad_opcode.pth,
  underflow.pth, memo_miss.pth.
Exits 77 when torch or numpy cannot be imported.
"""
import collections
import io
import json
import os
import pickle
import sys
import types
import zipfile

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(77)


def describe(t):
    """What the C++ test compares: dtype, shape, stride, offset, values in row-major order."""
    values = t.detach().flatten()
    if t.dtype in (torch.float16, torch.bfloat16):
        values = values.float()
    if t.dtype == torch.bool:
        values = values.to(torch.int64)
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'stride': list(t.stride()),
            'offset': t.storage_offset(), 'values': values.tolist()}


class ConvNormReLU(torch.nn.Module):
    """Named like dynamic_network_architectures' ConvDropoutNormReLU (conv, norm, nonlin)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = torch.nn.Conv3d(cin, cout, 3, stride, 1)
        self.norm = torch.nn.InstanceNorm3d(cout, affine=True)
        self.nonlin = torch.nn.LeakyReLU(0.01)

    def forward(self, x):
        return self.nonlin(self.norm(self.conv(x)))


class TinyNet(torch.nn.Module):
    """Parameter names in nnU-Net's style; 'encoder' before 'decoder' (not alphabetical)."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Module()
        self.encoder.stages = torch.nn.Sequential(torch.nn.Sequential(ConvNormReLU(1, 4, 1)),
                                                  torch.nn.Sequential(ConvNormReLU(4, 8, 2)))
        self.decoder = torch.nn.Module()
        self.decoder.transpconvs = torch.nn.ModuleList([torch.nn.ConvTranspose3d(8, 4, 2, 2)])
        self.decoder.bn = torch.nn.BatchNorm3d(4)
        self.decoder.seg_layers = torch.nn.ModuleList([torch.nn.Conv3d(4, 3, 1)])

    def forward(self, x):
        skip = self.encoder.stages[0](x)
        y = self.decoder.transpconvs[0](self.encoder.stages[1](skip))
        return self.decoder.seg_layers[0](self.decoder.bn(y + skip))


def nnunet_checkpoint():
    torch.manual_seed(0)
    net = TinyNet()
    optimizer = torch.optim.SGD(net.parameters(), 0.01, weight_decay=3e-5, momentum=0.99, nesterov=True)
    loss = net(torch.randn(2, 1, 8, 8, 8)).square().mean()
    loss.backward()
    optimizer.step()
    plans = {
        'dataset_name': 'Dataset042_Tiny',
        'plans_name': 'nnUNetPlans',
        'original_median_spacing_after_transp': [2.5, 0.8, 0.8],
        'transpose_forward': [0, 1, 2],
        'configurations': {'3d_fullres': {
            'patch_size': [8, 8, 8], 'spacing': [2.5, 0.8, 0.8], 'batch_dice': False,
            'architecture': {'network_class_name': 'dynamic_network_architectures.architectures.unet.PlainConvUNet',
                             'arch_kwargs': {'n_stages': 2, 'features_per_stage': [4, 8], 'conv_bias': True,
                                             'norm_op_kwargs': {'eps': 1e-05, 'affine': True},
                                             'dropout_op': None, 'nonlin_kwargs': {'inplace': True}},
                             '_kw_requires_import': ['conv_op', 'norm_op']}}},
        'foreground_intensity_properties_per_channel': {'0': {'mean': 101.25, 'std': 33.5, 'max': 3071.0,
                                                              'percentile_00_5': -12.0, 'percentile_99_5': 250.0}},
        'experiment_planner_used': 'ExperimentPlanner',
        'total_voxels': 2 ** 33 + 5,  # an int > 2^31
    }
    dataset_json = {'channel_names': {'0': 'CT'}, 'labels': {'background': 0, 'liver': 1, 'tumour': 2},
                    'numTraining': 3, 'file_ending': '.nii.gz', 'name': 'Łódź ünïcødé ✓', 'overwrite_image_reader_writer': None}
    logging = {
        'mean_fg_dice': [np.float64(0.25), np.float64(0.5)],
        'ema_fg_dice': [np.float64(0.25), np.float64(0.275)],
        'dice_per_class_or_region': [[np.float64(0.2), np.float64(0.3)], [np.float64(0.4), np.float64(0.6)]],
        'train_losses': [np.float64(-0.125), np.float64(-0.5)],
        'val_losses': [np.float64(-0.0625), np.float64(-0.25)],
        'lrs': [0.01, 0.00999],
        'epoch_start_timestamps': [1700000000.125, 1700000100.5],
        'epoch_end_timestamps': [1700000099.25, 1700000199.75],
    }
    checkpoint = {
        'network_weights': net.state_dict(),
        'optimizer_state': optimizer.state_dict(),
        'grad_scaler_state': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5,
                              'growth_interval': 2000, '_growth_tracker': 0},
        'logging': logging,
        '_best_ema': np.float64(0.275),
        'current_epoch': 2,
        'init_args': {'plans': plans, 'configuration': '3d_fullres', 'fold': 0, 'dataset_json': dataset_json,
                      'device': torch.device('cuda')},
        'trainer_name': 'nnUNetTrainer',
        'inference_allowed_mirroring_axes': (0, 1, 2),
    }
    expected = {
        'network_weights': [[k, describe(v)] for k, v in net.state_dict().items()],
        'momentum_buffers': [describe(s['momentum_buffer']) for s in optimizer.state_dict()['state'].values()],
        'param_group': {k: v for k, v in optimizer.state_dict()['param_groups'][0].items()},
    }
    return checkpoint, expected


def tensor_object():
    torch.manual_seed(1)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    tensors = collections.OrderedDict([
        ('f32', torch.randn(2, 3, 4)),
        ('f64', torch.randn(3, dtype=torch.float64)),
        ('f16', torch.randn(5).half()),
        ('bf16', torch.tensor([1.5, -2.0, 3.25]).bfloat16()),
        ('i64', torch.tensor([-(2 ** 40), 0, 2 ** 40 + 1, 7])),
        ('i32', torch.tensor([-3, 2 ** 31 - 1], dtype=torch.int32)),
        ('u8', torch.tensor([0, 255, 7], dtype=torch.uint8)),
        ('bool', torch.tensor([True, False, True])),
        ('base', base),
        ('transposed', base.t()),
        ('slice', base[1:3, 2:5]),
        ('column', base[:, 3]),
        ('param', torch.nn.Parameter(torch.randn(3))),
        ('empty', torch.zeros(0, 3)),
        ('scalar', torch.tensor(3.5)),
    ])
    values = {
        'list': [1, 2.5, 'x', None, True, False, b'\x00\xffbytes'],
        'tuple': (1,),
        'set': {3},
        'frozenset': frozenset({4}),
        'big': 2 ** 62,
        'neg': -(2 ** 40),
        'huge': 2 ** 70,
        'unicode': 'ünïcødé ✓',
        'empty_bytes': b'',
        'bytearray': bytearray(b'ab\x00'),
        'np_f32': np.float32(1.25),
        'np_i64': np.int64(-5),
        'np_i32': np.int32(7),
        'np_bool': np.bool_(True),
        'np_array': np.arange(3),
        'dtype': torch.float32,
        'od': collections.OrderedDict([('z', 1), ('a', 2)]),
    }
    expected = [[k, describe(v)] for k, v in tensors.items()]
    return {'tensors': tensors, 'values': values}, expected


class LocationPickleModule(types.SimpleNamespace):
    """A pickle_module for torch.save whose persistent ids carry another location / numel."""

    def __init__(self, location=None, numel_factor=1):
        outer_self = self

        class Wrapper:
            def __init__(self, f, protocol):
                self.f, self.protocol, self.persistent_id = f, protocol, None

            def dump(self, obj):
                torch_persistent_id = self.persistent_id

                class P(pickle.Pickler):
                    def persistent_id(self, o):
                        r = torch_persistent_id(o)
                        if isinstance(r, tuple) and r[0] == 'storage':
                            r = (r[0], r[1], r[2], outer_self.location or r[3], r[4] * outer_self.numel_factor)
                        return r

                P(self.f, protocol=self.protocol).dump(obj)

        super().__init__(__name__='medseg_location_pickle', Pickler=Wrapper, location=location,
                         numel_factor=numel_factor)


class Overreach:
    """Pickles as _rebuild_tensor_v2 of a 4-element storage with a 100-element size."""

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (torch.zeros(4).storage(), 0, (100,), (1,), False, collections.OrderedDict()))


def rewrite_zip(source, target, change, compression=zipfile.ZIP_STORED, extra=()):
    """Copies the zip `source` to `target`, passing each (name, data) through change (None drops
    it), then adds the (name, data) pairs of `extra`."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, 'w', compression) as zout:
        for name in zin.namelist():
            data = change(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
        for name, data in extra:
            zout.writestr(name, data)


def hand_made_archive(target, pickle_bytes):
    with zipfile.ZipFile(target, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pickle_bytes)
        z.writestr('archive/version', b'3\n')


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    expected = {}

    checkpoint, expected['nnunet'] = nnunet_checkpoint()
    torch.save(checkpoint, os.path.join(out, 'nnunet.pth'))
    reread = torch.load(os.path.join(out, 'nnunet.pth'), map_location='cpu')
    assert reread['trainer_name'] == 'nnUNetTrainer'

    obj, expected['tensors'] = tensor_object()
    for protocol in (2, 3, 4, 5):
        torch.save(obj, os.path.join(out, 'tensors_p%d.pth' % protocol), pickle_protocol=protocol)
    cuda = os.path.join(out, 'cuda_location.pth')
    torch.save({'weight': obj['tensors']['f32'], 'half': obj['tensors']['f16']}, cuda,
               pickle_module=LocationPickleModule(location='cuda:0'))
    assert torch.equal(torch.load(cuda, map_location='cpu')['weight'], obj['tensors']['f32'])
    with zipfile.ZipFile(cuda) as z:
        assert b'cuda:0' in z.read([n for n in z.namelist() if n.endswith('/data.pkl')][0])

    # The same archive compressed (a re-zipped checkpoint), and as PyTorch >= 2.1 writes it on a
    # big-endian host: a byteorder record and byte-swapped storages ('0' is weight, '1' half).
    rewrite_zip(os.path.join(out, 'tensors_p2.pth'), os.path.join(out, 'deflated.pth'), lambda n, d: d,
                zipfile.ZIP_DEFLATED)

    def swap(name, data):
        if name.endswith('/data/0'):
            return np.frombuffer(data, '<f4').byteswap().tobytes()
        if name.endswith('/data/1'):
            return np.frombuffer(data, '<f2').byteswap().tobytes()
        return data

    rewrite_zip(cuda, os.path.join(out, 'big_endian.pth'), swap, extra=[('cuda_location/byteorder', b'big')])

    # Refusals.
    torch.save(obj, os.path.join(out, 'legacy.pth'), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(ConvNormReLU(1, 2, 1)), os.path.join(out, 'torchscript.pt'))
    with zipfile.ZipFile(os.path.join(out, 'no_data_pkl.zip'), 'w') as z:
        z.writestr('archive/version', b'3\n')
        z.writestr('archive/data/0', b'\0' * 16)
    p2 = os.path.join(out, 'tensors_p2.pth')
    rewrite_zip(p2, os.path.join(out, 'truncated.pth'),
                lambda n, d: d[:len(d) // 2] if n.endswith('/data.pkl') else d)
    rewrite_zip(p2, os.path.join(out, 'missing_storage.pth'), lambda n, d: None if n.endswith('/data/0') else d)
    torch.save({'w': torch.zeros(4)}, os.path.join(out, 'short_storage.pth'),
               pickle_module=LocationPickleModule(numel_factor=1000))
    torch.save({'w': Overreach()}, os.path.join(out, 'overreach.pth'))
    hand_made_archive(os.path.join(out, 'bad_opcode.pth'), b'\x80\x02}q\x00\xff.')
    hand_made_archive(os.path.join(out, 'underflow.pth'), b'\x80\x02)R.')
    hand_made_archive(os.path.join(out, 'memo_miss.pth'), b'\x80\x02h\x07.')

    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump(expected, f)


if __name__ == '__main__':
    main()
