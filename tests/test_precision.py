import pytest
import torch

from painterly.cli import main
from painterly.errors import UserError
from painterly.nets.devices import resolve_precision
from painterly.nets.vgg import DEFAULT_STYLE_LAYERS, load_vgg19
from painterly.style.losses import PerceptualLoss, gram_matrix
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo


def test_explicit_precisions_are_kept_and_auto_falls_back_to_float32():
    assert resolve_precision("float32", "cpu") == "float32"
    assert resolve_precision("bfloat16", "cpu") == "bfloat16"
    assert resolve_precision("auto", "cpu") in ("float32", "bfloat16")
    if not torch.cuda.is_available():
        assert resolve_precision("auto", "cuda") == "float32"
    assert resolve_precision("auto", "mps") == "float32"


def test_bfloat16_network_gives_nearly_the_same_loss_and_gradient_as_float32():
    from painterly.io.images import to_tensor

    content, style = to_tensor(synthetic_photo(64, 48)), to_tensor(synthetic_painting(64, 48))
    image = (content * 0.7 + style * 0.3).requires_grad_(True)
    values = {}
    for precision in ("float32", "bfloat16"):
        loss = PerceptualLoss(load_vgg19(), content_layer="relu4_2",
                              style_layers=DEFAULT_STYLE_LAYERS, style_weight=1e3,
                              precision=precision)
        loss.set_content(content)
        loss.set_style([style])
        features = loss.features(content, ["relu1_1"])["relu1_1"]
        assert features.dtype == getattr(torch, precision)
        assert gram_matrix(features).dtype == torch.float32
        value, _ = loss(image)
        (gradient,) = torch.autograd.grad(value, image)
        values[precision] = (float(value.detach()), gradient.flatten())
    (v32, g32), (v16, g16) = values["float32"], values["bfloat16"]
    assert v16 == pytest.approx(v32, rel=0.1)
    assert torch.nn.functional.cosine_similarity(g32, g16, dim=0) > 0.9


def test_unknown_precision_is_a_user_error(capsys, content_file, style_file, tmp_path):
    code = main(["transfer", str(content_file), str(style_file), "-o", str(tmp_path / "o.png"),
                 "--precision", "float8", "--quiet"])
    assert code == 2 and "--precision must be one of" in capsys.readouterr().err
    with pytest.raises(UserError, match="precision must be one of"):
        transfer(synthetic_photo(), synthetic_painting(), size=32, precision="float8")
    with pytest.raises(ValueError, match="precision"):
        PerceptualLoss(load_vgg19(), content_layer=None, style_layers=["relu1_1"],
                       precision="half")


def test_bfloat16_loss_uses_its_own_copy_of_the_weights_in_bfloat16():
    vgg = load_vgg19()
    loss = PerceptualLoss(vgg, content_layer="relu4_2", style_layers=["relu1_1"],
                          precision="bfloat16")
    assert loss.network.conv_weight("conv1_1").dtype == torch.bfloat16
    assert vgg.conv_weight("conv1_1").dtype == torch.float32  # the shared network is untouched
    image = torch.rand(1, 3, 32, 40)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = vgg(image, ["relu2_1"])["relu2_1"]
    assert torch.equal(loss.features(image, ["relu2_1"])["relu2_1"], autocast)
