import pytest
import torch

from painterly.errors import UserError
from painterly.nets.vgg import (
    CAFFE,
    CONV_NAMES,
    LAYER_NAMES,
    TORCHVISION,
    TORCHVISION_CONV_INDICES,
    check_layers,
    load_vgg19,
)


@pytest.fixture(scope="module")
def vgg():
    return load_vgg19()


def test_layer_names_follow_the_paper():
    assert len(LAYER_NAMES) == 16 + 16 + 5
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-1] == "pool5"
    assert "conv5_4" in LAYER_NAMES and "conv5_5" not in LAYER_NAMES


def test_feature_shapes(vgg):
    image = torch.rand(1, 3, 64, 48)
    out = vgg(image, ["conv1_1", "relu2_1", "pool3", "relu5_1", "pool5"])
    assert out["conv1_1"].shape == (1, 64, 64, 48)
    assert out["relu2_1"].shape == (1, 128, 32, 24)
    assert out["pool3"].shape == (1, 256, 8, 6)
    assert out["relu5_1"].shape == (1, 512, 4, 3)
    assert out["pool5"].shape == (1, 512, 2, 1)


def test_features_are_channels_last_on_the_cpu_and_the_same_as_without(vgg, monkeypatch):
    import painterly.nets.vgg as module

    image = torch.rand(1, 3, 40, 48)
    features = vgg(image, ["relu1_1", "relu3_1"])
    assert all(f.is_contiguous(memory_format=torch.channels_last) for f in features.values())
    monkeypatch.setattr(module, "CHANNELS_LAST_DEVICES", ())
    plain = vgg(image, ["relu1_1", "relu3_1"])
    assert plain["relu3_1"].is_contiguous()
    for name in plain:  # float32 sums in another order: equal to rounding
        scale = plain[name].abs().max()
        assert (features[name] - plain[name]).abs().max() < 1e-4 * scale


def test_conv_output_is_before_the_relu(vgg):
    out = vgg(torch.rand(1, 3, 32, 32), ["conv1_1", "relu1_1"])
    assert (out["conv1_1"] < 0).any()
    assert torch.equal(out["relu1_1"], out["conv1_1"].clamp(min=0))


def test_runs_only_up_to_the_deepest_requested_layer(vgg):
    called = []
    hooks = [vgg.convs[name].register_forward_hook(lambda m, i, o, n=name: called.append(n))
             for name in CONV_NAMES]
    try:
        vgg(torch.rand(1, 3, 32, 32), ["relu2_1"])
    finally:
        for hook in hooks:
            hook.remove()
    assert called == ["conv1_1", "conv1_2", "conv2_1"]


def test_weights_are_frozen_but_input_gradients_flow(vgg):
    assert not any(p.requires_grad for p in vgg.parameters())
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg(image, ["relu3_1"])["relu3_1"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_unknown_layer_lists_the_valid_names():
    with pytest.raises(UserError) as error:
        check_layers(["relu4_2", "conv9_9"])
    message = str(error.value)
    assert "conv9_9" in message and "relu4_2" in message and "pool5" in message


@pytest.mark.parametrize("pooling", ["max", "avg", "l2"])
def test_pooling_kinds(pooling):
    model = load_vgg19(pooling=pooling)
    x = torch.ones(1, 64, 4, 4)
    x[..., 0, 0] = 3.0
    from painterly.nets.layers import pool2d

    pooled = pool2d(x, pooling)
    expected = {"max": 3.0, "avg": 1.5, "l2": (9 + 3) ** 0.5}[pooling]
    assert pooled[0, 0, 0, 0].item() == pytest.approx(expected)
    assert model(torch.rand(1, 3, 32, 32), ["pool1"])["pool1"].shape == (1, 64, 16, 16)


def test_bundled_weights_are_the_caffe_model(vgg):
    assert vgg.preprocessing is CAFFE
    assert vgg.source.startswith("bundled:")
    w = vgg.conv_weight("conv1_1")
    assert w.shape == (64, 3, 3, 3)
    assert len(torch.unique(vgg.conv_weight("conv3_1"))) <= 256  # k-means quantized


@pytest.mark.parametrize("preprocessing", [CAFFE, TORCHVISION])
def test_preprocessing_round_trip(preprocessing):
    image = torch.rand(1, 3, 8, 8)
    assert torch.allclose(preprocessing.invert(preprocessing.apply(image)), image, atol=1e-5)


def test_caffe_preprocessing_is_bgr_0_255_minus_mean():
    image = torch.zeros(1, 3, 1, 1)
    image[0, 0] = 1.0  # pure red
    x = CAFFE.apply(image).flatten().tolist()
    assert x == pytest.approx([-103.939, -116.779, 255 - 123.68])


def _state_dict(vgg, transform=None):
    state = {}
    for name, index in zip(CONV_NAMES, TORCHVISION_CONV_INDICES, strict=True):
        weight, bias = vgg.conv_weight(name).clone(), vgg.convs[name].bias.detach().clone()
        if transform and name == "conv1_1":
            weight, bias = transform(weight, bias)
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = weight, bias
    state["classifier.0.weight"] = torch.zeros(1)  # ignored
    return state


def test_caffe_converted_state_dict_gives_the_same_features(vgg, tmp_path):
    path = tmp_path / "vgg19-d01eb7cb.pth"
    torch.save(_state_dict(vgg), path)
    other = load_vgg19(str(path))
    assert other.preprocessing is CAFFE
    image = torch.rand(1, 3, 32, 32)
    assert torch.allclose(other(image, ["relu3_1"])["relu3_1"],
                          vgg(image, ["relu3_1"])["relu3_1"])


def test_torchvision_layout_gets_imagenet_preprocessing(vgg, tmp_path):
    # Re-express conv1_1 for RGB input normalized by ImageNet mean/std: the same network
    # function, so features agree away from the zero-padded border.
    mean = torch.tensor(TORCHVISION.mean).view(1, 3, 1, 1)
    std = torch.tensor(TORCHVISION.std).view(1, 3, 1, 1)
    caffe_mean = torch.tensor(CAFFE.mean).flip(0).view(1, 3, 1, 1)  # RGB order

    def to_torchvision(weight, bias):
        rgb = weight.flip(1)  # Caffe input channels are BGR
        new_weight = rgb * 255 * std
        offset = 255 * mean - caffe_mean
        return new_weight, bias + (rgb * offset).sum(dim=(1, 2, 3))

    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({"state_dict": _state_dict(vgg, to_torchvision)}, path)
    other = load_vgg19(str(path))
    assert other.preprocessing is TORCHVISION
    image = torch.rand(1, 3, 16, 16)
    a = other(image, ["conv1_1"])["conv1_1"][..., 1:-1, 1:-1]
    b = vgg(image, ["conv1_1"])["conv1_1"][..., 1:-1, 1:-1]
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-2)


def test_bad_weights_file_is_a_user_error(tmp_path):
    path = tmp_path / "not-vgg.pth"
    torch.save({"foo": torch.zeros(2)}, path)
    with pytest.raises(UserError, match="not a VGG-19 state dict"):
        load_vgg19(str(path))
    garbage = tmp_path / "garbage.pth"
    garbage.write_text("hello")
    with pytest.raises(UserError, match="cannot read weights file"):
        load_vgg19(str(garbage))
    with pytest.raises(UserError, match="not found"):
        load_vgg19(str(tmp_path / "missing.pth"))


def test_each_device_gets_its_own_cached_copy_and_the_shared_one_stays_put():
    vgg = load_vgg19()
    elsewhere = load_vgg19(device="meta")
    assert elsewhere is load_vgg19(device=torch.device("meta")) and elsewhere is not vgg
    assert {p.device.type for p in elsewhere.parameters()} == {"meta"}
    assert {p.device.type for p in vgg.parameters()} == {"cpu"}
    assert load_vgg19() is vgg
